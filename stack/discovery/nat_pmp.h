// NAT-PMP (RFC 6886) external address messages: the one question NAT discovery asks the local
// gateway ("what is your external address?"), and the gateway's side of it for the simulated NAT
// (sim/model/nat-gateway). Pure functions over byte buffers; no I/O. Every message is UDP
// between a client port and the gateway's inside address, port 5351 (section 3.1).
//
// External address request, client -> gateway (section 3.2), 2 bytes:
//
//    0                   1
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Vers = 0     |   OP = 0      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// External address response, gateway -> client (section 3.2), 12 bytes:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Vers = 0     |  OP = 128 + 0 |  Result Code (net byte order)  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Seconds Since Start of Epoch (in seconds)                     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  External IPv4 Address (a.b.c.d)                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// With a non-zero result code the address is undefined (sent as zero, ignored on reception,
// section 3.2); such a response may also arrive as its first 8 bytes, which parse accepts.
//
// Errors a gateway returns (section 3.5): a request whose version is not 0 gets an 8-byte
// "unsupported version" response (Vers 0, OP = request OP + 128, result 1, epoch); a request
// opcode below 128 that the gateway does not support comes back whole with the top bit of the
// opcode set and result code 5 in bytes 2-3; an opcode of 128 or more is a response and is
// ignored.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/core/datagram.h"
#include "stack/core/endpoint.h"

namespace qp2p::nat_pmp {

inline constexpr std::uint16_t kServerPort = 5351;  // section 3.1
inline constexpr std::uint8_t kVersion = 0;
inline constexpr std::uint8_t kOpExternalAddress = 0;
inline constexpr std::uint8_t kOpMapUdp = 1;  // not implemented here (mapping requests)
inline constexpr std::uint8_t kOpMapTcp = 2;
inline constexpr std::uint8_t kResponseBit = 128;
inline constexpr std::size_t kRequestSize = 2;
inline constexpr std::size_t kErrorResponseSize = 8;
inline constexpr std::size_t kExternalAddressResponseSize = 12;
// Largest datagram a gateway looks at (PCP's maximum, RFC 6887 section 7, which shares port
// 5351); anything longer is ignored rather than echoed back.
inline constexpr std::size_t kMaxRequestSize = 1100;

// Section 3.5.
enum class ResultCode : std::uint16_t {
  kSuccess = 0,
  kUnsupportedVersion = 1,
  kNotAuthorized = 2,   // "Not Authorized/Refused": e.g. the user turned NAT-PMP off
  kNetworkFailure = 3,  // e.g. the gateway has no external address yet
  kOutOfResources = 4,
  kUnsupportedOpcode = 5,
};

// "success", "unsupported version", ..., or "result code N" for unknown values.
const char* describe(std::uint16_t result);

// --- client side -------------------------------------------------------------------------------

// Appends the 2-byte external address request.
void append_external_address_request(Bytes& out);

struct ExternalAddressResponse {
  std::uint16_t result = 0;  // ResultCode value (unknown values are kept as sent)
  std::uint32_t epoch_seconds = 0;
  IpAddress external;  // 0.0.0.0 unless result is kSuccess
};

// A response to the external address request: version 0, opcode 128, and 12 bytes (8 are
// accepted when the result code is not success). nullopt for anything else (other versions or
// opcodes, short, or longer than 12 bytes).
std::optional<ExternalAddressResponse> parse_external_address_response(const std::uint8_t* data,
                                                                       std::size_t size);

// --- gateway side ------------------------------------------------------------------------------

struct Request {
  std::uint8_t version = 0;
  std::uint8_t opcode = 0;
};

// The first two bytes of a datagram sent to port 5351, if it is a request a gateway must answer:
// nullopt when shorter than 2 bytes, longer than kMaxRequestSize, or when the opcode has the
// response bit set (section 3.5: silently ignored).
std::optional<Request> parse_request(const std::uint8_t* data, std::size_t size);

// Appends the 12-byte external address response. `external` must be IPv4 (0.0.0.0 is written
// for any other address, and whenever result is not success).
void append_external_address_response(Bytes& out, ResultCode result, std::uint32_t epoch_seconds,
                                      const IpAddress& external);

// Appends the 8-byte "unsupported version" response to a request with opcode `opcode`.
void append_unsupported_version_response(Bytes& out, std::uint8_t opcode,
                                         std::uint32_t epoch_seconds);

// Appends the "unsupported opcode" answer: the whole request (which parse_request accepted)
// with the response bit set in its opcode and result code 5 in bytes 2-3 (padded with zeros to
// 4 bytes when shorter).
void append_unsupported_opcode_response(Bytes& out, const std::uint8_t* request, std::size_t size);

}  // namespace qp2p::nat_pmp
