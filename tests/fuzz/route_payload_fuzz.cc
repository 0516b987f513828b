// Fuzz target for the routing payloads between supernodes (docs/protocol.md section 14.6:
// stack/federation/route_messages.h, 0x10-0x12, and route_handshake.h, 0x13-0x18). Each input
// is checked as it is (its first byte folded into that range so it reaches a body) and as an
// edit of a valid payload of each type (pairs of position and xor, and a cut), so the body
// decoders see nearly valid fields. Each payload:
//  1. decodes, or is refused with a reason; an instant-message route re-encodes to the same
//     bytes, a handshake route to a payload within kMaxPayload that decodes and re-encodes to
//     itself (encode may cut a punch's plan to its budget);
//  2. is handed to a federated supernode core as a payload from a member, so the routing and
//     negotiation handlers see arbitrary attempts, peers, verdicts and plans.
// Never a crash.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "stack/federation/route_handshake.h"
#include "stack/federation/route_messages.h"
#include "stack/supernode/supernode_core.h"

namespace {

using namespace qp2p;
using namespace qp2p::federation;

void require(bool condition) {
  if (!condition) std::abort();
}

SupernodeCore& core() {
  static SupernodeCore c = [] {
    SupernodeConfig config;
    config.primary = *Endpoint::parse("192.0.2.1:3478");
    config.alternate = *Endpoint::parse("192.0.2.1:3479");
    config.network_secret = "fuzzing federation secret 0123";
    config.seeds = {*Endpoint::parse("192.0.2.2:3478")};
    return SupernodeCore(config, Identity::from_seed(Identity::Seed{1}), Random::from_u64(1));
  }();
  return c;
}

Endpoint ep(const char* text) { return *Endpoint::parse(text); }

PeerId key_of(std::uint8_t b) {
  PeerId id;
  id.key.fill(b);
  return id;
}

// One valid payload of every routing type.
const std::vector<Bytes>& valid_payloads() {
  static const std::vector<Bytes> out = [] {
    std::vector<Bytes> v;
    for (RouteType t : {RouteType::kDeliver, RouteType::kDelivered, RouteType::kUndeliverable})
      v.push_back(encode(RouteMessage{t, key_of(1), key_of(2), 77, "hello"}));
    auto header = [](HandshakeRouteType t) { return route_handshake(t, 9, key_of(1), key_of(2)); };
    RouteHandshake offer = header(HandshakeRouteType::kOffer);
    offer.caller_mapped = ep("203.0.113.9:61000");
    RouteHandshake answer = header(HandshakeRouteType::kAnswer);
    answer.verdict = AnswerVerdict::kAccepted;
    answer.host = {ep("198.51.100.7:4000"), ep("[2001:db8::7]:4000")};
    answer.rtt_ms = 42;
    answer.reflexive = ep("203.0.113.9:61000");
    RouteHandshake punch = header(HandshakeRouteType::kPunch);
    punch.nonce.fill(0x5a);
    punch.plan.strategy = wire::PlanStrategy::kPortPrediction;
    punch.plan.local_sockets = 1;
    punch.plan.start_after_ms = 35;
    punch.plan.deadline_ms = 10000;
    punch.plan.remote_candidates = {{ep("203.0.113.1:40000"), 2}, {ep("203.0.113.1:40001"), 1}};
    punch.plan.prediction_base = ep("203.0.113.1:40000");
    punch.plan.prediction_delta = 1;
    punch.plan.prediction_after = 16;
    RouteHandshake relayed = header(HandshakeRouteType::kRelayed);
    relayed.relayed = ep("192.0.2.1:50000");
    RouteHandshake cancel = header(HandshakeRouteType::kCancel);
    cancel.cancel_reason = CancelReason::kCallerOffline;
    for (const RouteHandshake* m : {&offer, &answer, &punch, &relayed, &cancel})
      v.push_back(encode(*m));
    v.push_back(encode(ack_of(relayed)));
    for (const Bytes& b : v)  // the seeds themselves decode, or the edits test nothing
      require(decode_route(b, nullptr).has_value() || decode_handshake_route(b, nullptr).has_value());
    return v;
  }();
  return out;
}

void check(const Bytes& payload) {
  if (is_handshake_route_payload(payload)) {
    HandshakeRouteError error = HandshakeRouteError::kNone;
    if (auto m = decode_handshake_route(payload, &error)) {
      const Bytes again = encode(*m);
      require(again.size() <= kMaxPayload);
      auto back = decode_handshake_route(again, nullptr);
      require(back.has_value() && encode(*back) == again);
    } else {
      require(error != HandshakeRouteError::kNone);
    }
  } else {
    RouteDecodeError error = RouteDecodeError::kNone;
    if (auto m = decode_route(payload, &error)) {
      require(encode(*m) == payload);
    } else {
      require(error != RouteDecodeError::kNone);
    }
  }
  // From a member the core may or may not know (the sender's key follows the payload's size).
  PeerId from;
  from.key.fill(static_cast<std::uint8_t>(payload.size() % 3));
  static Instant now = instant_from_us(1'000'000);
  now += std::chrono::milliseconds(10);
  SupernodeCore& c = core();
  if (is_handshake_route_payload(payload))
    c.on_handshake_route_payload(now, from, payload);
  else
    c.on_route_payload(now, from, payload);
  c.handle_timeout(now);
  for (int i = 0; i < 10'000 && c.poll_transmit(); ++i) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  spdlog::set_level(spdlog::level::off);
  if (size == 0) return 0;
  Bytes raw(data, data + size);
  raw[0] = static_cast<std::uint8_t>(0x10 + raw[0] % 9);
  check(raw);
  const std::vector<Bytes>& valid = valid_payloads();
  Bytes edited = valid[data[0] % valid.size()];
  // Pairs (position, xor) after the type byte; an input of even length below 17 bytes also
  // cuts the payload to (last byte / 255) of its length.
  for (std::size_t i = 1; i + 1 < size && i < 17; i += 2)
    edited[1 + (std::size_t{data[i]} * 7) % (edited.size() - 1)] ^= data[i + 1];
  if (size % 2 == 0 && size < 17) edited.resize(edited.size() * data[size - 1] / 255 + 1);
  check(edited);
  return 0;
}
