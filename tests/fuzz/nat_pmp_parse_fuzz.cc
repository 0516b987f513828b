// Fuzz target for the NAT-PMP codec (RFC 6886 sections 3.2 and 3.5, stack/discovery/nat_pmp.h):
// the client's response parser and the gateway's request parser on arbitrary bytes. What parses
// must re-encode to the same bytes (responses) and every answer a gateway builds from a parsed
// request must be a well-formed response.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "stack/discovery/nat_pmp.h"

namespace {

using namespace qp2p;

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (auto r = nat_pmp::parse_external_address_response(data, size)) {
    require(size == nat_pmp::kErrorResponseSize || size == nat_pmp::kExternalAddressResponseSize);
    require(nat_pmp::describe(r->result) != nullptr);
    if (r->result == 0) {
      Bytes again;
      nat_pmp::append_external_address_response(again, nat_pmp::ResultCode::kSuccess,
                                                r->epoch_seconds, r->external);
      require(again.size() == size && std::memcmp(again.data(), data, size) == 0);
    } else {
      require(r->external.is_unspecified());
    }
  }
  if (auto q = nat_pmp::parse_request(data, size)) {
    require(size >= nat_pmp::kRequestSize && size <= nat_pmp::kMaxRequestSize);
    require((q->opcode & nat_pmp::kResponseBit) == 0);
    Bytes answer;
    nat_pmp::append_unsupported_opcode_response(answer, data, size);
    require(answer.size() == (size < 4 ? 4 : size));
    require(answer[1] == (q->opcode | nat_pmp::kResponseBit) && answer[2] == 0 && answer[3] == 5);
    // An answer is never taken for a request by another gateway.
    require(!nat_pmp::parse_request(answer.data(), answer.size()));
  }
  return 0;
}
