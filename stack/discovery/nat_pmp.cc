// NAT-PMP external address codec (RFC 6886 sections 3.2 and 3.5; layouts in nat_pmp.h).
#include "stack/discovery/nat_pmp.h"

#include <algorithm>

#include "stack/core/byte_io.h"

namespace qp2p::nat_pmp {

const char* describe(std::uint16_t result) {
  switch (static_cast<ResultCode>(result)) {
    case ResultCode::kSuccess:
      return "success";
    case ResultCode::kUnsupportedVersion:
      return "unsupported version";
    case ResultCode::kNotAuthorized:
      return "not authorized/refused";
    case ResultCode::kNetworkFailure:
      return "network failure";
    case ResultCode::kOutOfResources:
      return "out of resources";
    case ResultCode::kUnsupportedOpcode:
      return "unsupported opcode";
  }
  return "unknown result code";
}

void append_external_address_request(Bytes& out) {
  ByteWriter w(out);
  w.u8(kVersion);
  w.u8(kOpExternalAddress);
}

std::optional<ExternalAddressResponse> parse_external_address_response(const std::uint8_t* data,
                                                                       std::size_t size) {
  if (size != kErrorResponseSize && size != kExternalAddressResponseSize) return std::nullopt;
  ByteReader r(data, size);
  const std::uint8_t version = r.u8();
  const std::uint8_t opcode = r.u8();
  ExternalAddressResponse out;
  out.result = r.u16();
  out.epoch_seconds = r.u32();
  if (!r.ok() || version != kVersion || opcode != (kResponseBit | kOpExternalAddress)) {
    return std::nullopt;
  }
  const bool success = out.result == static_cast<std::uint16_t>(ResultCode::kSuccess);
  if (success && size != kExternalAddressResponseSize) return std::nullopt;
  if (size == kExternalAddressResponseSize) {
    const std::uint32_t address = r.u32();
    if (!r.ok()) return std::nullopt;
    // Undefined with an error result (section 3.2): ignored.
    if (success) out.external = IpAddress::v4(address);
  }
  return out;
}

std::optional<Request> parse_request(const std::uint8_t* data, std::size_t size) {
  if (size < kRequestSize || size > kMaxRequestSize) return std::nullopt;
  Request r{data[0], data[1]};
  if (r.opcode & kResponseBit) return std::nullopt;
  return r;
}

void append_external_address_response(Bytes& out, ResultCode result, std::uint32_t epoch_seconds,
                                      const IpAddress& external) {
  ByteWriter w(out);
  w.u8(kVersion);
  w.u8(kResponseBit | kOpExternalAddress);
  w.u16(static_cast<std::uint16_t>(result));
  w.u32(epoch_seconds);
  const bool known = result == ResultCode::kSuccess && external.is_v4();
  w.u32(known ? external.v4_host_order() : 0);
}

void append_unsupported_version_response(Bytes& out, std::uint8_t opcode,
                                         std::uint32_t epoch_seconds) {
  ByteWriter w(out);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(kResponseBit | opcode));
  w.u16(static_cast<std::uint16_t>(ResultCode::kUnsupportedVersion));
  w.u32(epoch_seconds);
}

void append_unsupported_opcode_response(Bytes& out, const std::uint8_t* request, std::size_t size) {
  const std::size_t start = out.size();
  const std::size_t n = std::min(size, kMaxRequestSize);
  out.insert(out.end(), request, request + n);
  if (n < 4) out.resize(start + 4, 0);
  out[start + 1] = static_cast<std::uint8_t>(out[start + 1] | kResponseBit);
  const auto code = static_cast<std::uint16_t>(ResultCode::kUnsupportedOpcode);
  out[start + 2] = static_cast<std::uint8_t>(code >> 8);
  out[start + 3] = static_cast<std::uint8_t>(code);
}

}  // namespace qp2p::nat_pmp
