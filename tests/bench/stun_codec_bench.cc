// Per-message cost of the STUN codec on the Binding path (RFC 8489, RFC 5780): parsing a
// request, building a NAT-discovery success response, and checking MESSAGE-INTEGRITY.
#include <benchmark/benchmark.h>

#include <string_view>

#include "stack/stun/stun_message.h"

namespace {

using namespace qp2p;
using namespace qp2p::stun;

const TransactionId kTid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
constexpr std::string_view kPassword = "VOkJxbRl1RmTxUk/WvJxBt";

const std::uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

// The RFC 5769 section 2.1 request: an ICE connectivity check with six attributes.
Bytes ice_request() {
  Bytes out;
  const std::uint8_t tie_breaker[8] = {0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36};
  MessageBuilder(out, Method::kBinding, Class::kRequest, kTid)
      .add_string(attr::kSoftware, "STUN test client")
      .add_u32(0x0024, 0x6e0001ff)
      .add(0x8029, tie_breaker, sizeof tie_breaker)
      .add_string(attr::kUsername, "evtj:h6vY")
      .add_message_integrity(bytes(kPassword), kPassword.size())
      .add_fingerprint();
  return out;
}

// What a NAT-classification client sends: CHANGE-REQUEST and FINGERPRINT (RFC 5780 4.2).
Bytes discovery_request() {
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kRequest, kTid)
      .add_u32(attr::kChangeRequest, 0)
      .add_fingerprint();
  return out;
}

void BM_ParseBindingRequestPlain(benchmark::State& state) {
  Bytes msg;
  MessageBuilder(msg, Method::kBinding, Class::kRequest, kTid);
  for (auto _ : state) {
    auto m = MessageView::parse(msg.data(), msg.size());
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_ParseBindingRequestPlain);

void BM_ParseBindingRequestDiscovery(benchmark::State& state) {
  Bytes msg = discovery_request();
  for (auto _ : state) {
    auto m = MessageView::parse(msg.data(), msg.size());
    benchmark::DoNotOptimize(m->u32(attr::kChangeRequest));
    benchmark::DoNotOptimize(m->check_fingerprint());
  }
}
BENCHMARK(BM_ParseBindingRequestDiscovery);

void BM_ParseBindingRequestIce(benchmark::State& state) {
  Bytes msg = ice_request();
  for (auto _ : state) {
    auto m = MessageView::parse(msg.data(), msg.size());
    benchmark::DoNotOptimize(m->string(attr::kUsername));
  }
}
BENCHMARK(BM_ParseBindingRequestIce);

template <bool kReuseBuffer>
void BM_BuildBindingResponse(benchmark::State& state) {
  const Endpoint mapped = *Endpoint::parse("198.51.100.23:40123");
  const Endpoint origin = *Endpoint::parse("203.0.113.1:3478");
  const Endpoint other = *Endpoint::parse("203.0.113.2:3479");
  Bytes reused;
  for (auto _ : state) {
    Bytes fresh;
    Bytes& out = kReuseBuffer ? reused : fresh;
    out.clear();
    MessageBuilder(out, Method::kBinding, Class::kSuccess, kTid)
        .add_xor_address(attr::kXorMappedAddress, mapped)
        .add_address(attr::kResponseOrigin, origin)
        .add_address(attr::kOtherAddress, other)
        .add_fingerprint();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK_TEMPLATE(BM_BuildBindingResponse, true)->Name("BM_BuildBindingResponse/reused_buffer");
BENCHMARK_TEMPLATE(BM_BuildBindingResponse, false)->Name("BM_BuildBindingResponse/new_buffer");

void BM_CheckMessageIntegrity(benchmark::State& state) {
  Bytes msg = ice_request();
  auto m = MessageView::parse(msg.data(), msg.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(m->check_message_integrity(bytes(kPassword), kPassword.size()));
  }
}
BENCHMARK(BM_CheckMessageIntegrity);

void BM_CheckMessageIntegritySha256(benchmark::State& state) {
  Bytes msg;
  MessageBuilder(msg, Method::kBinding, Class::kRequest, kTid)
      .add_string(attr::kUsername, "evtj:h6vY")
      .add_message_integrity_sha256(bytes(kPassword), kPassword.size());
  auto m = MessageView::parse(msg.data(), msg.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(m->check_message_integrity_sha256(bytes(kPassword), kPassword.size()));
  }
}
BENCHMARK(BM_CheckMessageIntegritySha256);

// The whole server step for an ICE check: parse, verify, answer with integrity and fingerprint.
void BM_IceBindingRoundTrip(benchmark::State& state) {
  Bytes request = ice_request();
  const Endpoint mapped = *Endpoint::parse("198.51.100.23:40123");
  Bytes out;
  for (auto _ : state) {
    auto m = MessageView::parse(request.data(), request.size());
    bool ok = m && m->check_fingerprint() &&
              m->check_message_integrity(bytes(kPassword), kPassword.size());
    out.clear();
    MessageBuilder(out, Method::kBinding, Class::kSuccess, m->transaction_id())
        .add_xor_address(attr::kXorMappedAddress, mapped)
        .add_message_integrity(bytes(kPassword), kPassword.size())
        .add_fingerprint();
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_IceBindingRoundTrip);

}  // namespace
