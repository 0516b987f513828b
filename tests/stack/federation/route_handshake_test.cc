// Tunnel negotiation payloads between supernodes (stack/federation/route_handshake.h,
// docs/protocol.md section 14.6): the documented bytes of an offer and a cancel, round trips of every type,
// the largest punch fitting a payload, and malformed payloads (every truncation, values out of
// range, trailing bytes, random bytes) refused with their reason, never a crash.
#include "stack/federation/route_handshake.h"

#include <gtest/gtest.h>

#include "tests/stack/federation/payload_bytes.h"

#include "stack/core/random.h"

namespace qp2p::federation {
namespace {

using test::hex;
using test::key_of;
using test::repeat;

Endpoint ep(const char* text) { return Endpoint::parse(text).value(); }

RouteHandshake header(HandshakeRouteType type) {
  return route_handshake(type, 0x0102030405060708, key_of(0xaa), key_of(0xbb));
}

RouteHandshake answer() {
  RouteHandshake m = header(HandshakeRouteType::kAnswer);
  m.verdict = AnswerVerdict::kAccepted;
  m.reason = "";
  m.host = {ep("198.51.100.7:4000"), ep("[2001:db8::7]:4000")};
  m.rtt_ms = 42;
  m.reflexive = ep("203.0.113.9:61000");
  return m;
}

RouteHandshake punch(std::size_t candidates, bool v6) {
  RouteHandshake m = header(HandshakeRouteType::kPunch);
  m.nonce.fill(0x5a);
  m.direct_feasible = true;
  m.plan.strategy = wire::PlanStrategy::kPortPrediction;
  m.plan.local_sockets = 1;
  m.plan.start_after_ms = 35;
  m.plan.deadline_ms = 10000;
  for (std::size_t i = 0; i < candidates; ++i) {
    const std::string port = std::to_string(40000 + i);
    m.plan.remote_candidates.push_back(
        {ep(v6 ? ("[2001:db8::1]:" + port).c_str() : ("203.0.113.1:" + port).c_str()), 2});
  }
  m.plan.prediction_base = v6 ? ep("[2001:db8::1]:40000") : ep("203.0.113.1:40000");
  m.plan.prediction_delta = 1;
  m.plan.prediction_after = 16;
  return m;
}

TEST(RouteHandshake, OfferBytesAreAsDocumented) {
  RouteHandshake m = header(HandshakeRouteType::kOffer);
  m.caller_mapped = ep("203.0.113.9:61000");
  const Bytes expected = hex("13" "0102030405060708" + repeat("aa", 32) + repeat("bb", 32) +
                             "04" "cb007109" "ee48");
  EXPECT_EQ(encode(m), expected);
  HandshakeRouteError error = HandshakeRouteError::kCount;
  auto back = decode_handshake_route(expected, &error);
  ASSERT_TRUE(back);
  EXPECT_EQ(error, HandshakeRouteError::kNone);
  EXPECT_EQ(back->type, HandshakeRouteType::kOffer);
  EXPECT_EQ(back->attempt, 0x0102030405060708u);
  EXPECT_EQ(back->caller, key_of(0xaa));
  EXPECT_EQ(back->callee, key_of(0xbb));
  EXPECT_EQ(back->caller_mapped, ep("203.0.113.9:61000"));
}

TEST(RouteHandshake, CancelAndItsAckBytesAreAsDocumented) {
  RouteHandshake m = header(HandshakeRouteType::kCancel);
  m.cancel_reason = CancelReason::kCallerOffline;
  const std::string head = "0102030405060708" + repeat("aa", 32) + repeat("bb", 32);
  const Bytes expected = hex("18" + head + "01");
  EXPECT_EQ(encode(m), expected);
  auto back = decode_handshake_route(expected, nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->type, HandshakeRouteType::kCancel);
  EXPECT_EQ(back->cancel_reason, CancelReason::kCallerOffline);
  EXPECT_EQ(encode(ack_of(m)), hex("17" + head + "18"));
  back = decode_handshake_route(encode(ack_of(m)), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->acked, HandshakeRouteType::kCancel);
  EXPECT_STREQ(to_string(CancelReason::kTimeout), "timeout");
}

TEST(RouteHandshake, EveryTypeRoundTrips) {
  const RouteHandshake a = answer();
  auto back = decode_handshake_route(encode(a), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->verdict, AnswerVerdict::kAccepted);
  EXPECT_EQ(back->host, a.host);
  EXPECT_EQ(back->rtt_ms, 42u);
  EXPECT_EQ(back->reflexive, a.reflexive);

  RouteHandshake refused = header(HandshakeRouteType::kAnswer);
  refused.verdict = AnswerVerdict::kRefused;
  refused.reason = "busy";
  back = decode_handshake_route(encode(refused), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->verdict, AnswerVerdict::kRefused);
  EXPECT_EQ(back->reason, "busy");
  EXPECT_TRUE(back->host.empty());

  const RouteHandshake p = punch(3, false);
  back = decode_handshake_route(encode(p), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->nonce, p.nonce);
  EXPECT_TRUE(back->direct_feasible);
  EXPECT_EQ(back->plan.start_after_ms, 35u);
  EXPECT_EQ(back->plan.remote_candidates.size(), 3u);
  EXPECT_EQ(back->plan.prediction_after, 16u);

  RouteHandshake relayed = header(HandshakeRouteType::kRelayed);
  relayed.relayed = ep("192.0.2.2:50001");
  back = decode_handshake_route(encode(relayed), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->relayed, relayed.relayed);

  const RouteHandshake ack = ack_of(relayed);
  EXPECT_EQ(ack.type, HandshakeRouteType::kAck);
  back = decode_handshake_route(encode(ack), nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->acked, HandshakeRouteType::kRelayed);
  EXPECT_EQ(back->relayed, relayed.relayed);
  EXPECT_EQ(encode(ack_of(answer())).size(), 73u + 1) << "an ack of other types has no address";
}

TEST(RouteHandshake, LargestPunchFitsAPayload) {
  // All 64 IPv4 candidates fit; IPv6 ones are cut to what 1000 bytes hold.
  const Bytes v4 = encode(punch(64, false));
  EXPECT_LE(v4.size(), 1000u);
  EXPECT_EQ(decode_handshake_route(v4, nullptr)->plan.remote_candidates.size(), 64u);
  const Bytes v6 = encode(punch(64, true));
  EXPECT_LE(v6.size(), 1000u);
  auto back = decode_handshake_route(v6, nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->plan.remote_candidates.size(), 42u);
  EXPECT_EQ(back->plan.remote_candidates.front().endpoint, ep("[2001:db8::1]:40000"))
      << "the first (highest priority) candidates are kept";
  // The largest answer (8 IPv6 hosts, the longest reason) fits too.
  RouteHandshake a = answer();
  a.host.assign(wire::kMaxHostCandidates, ep("[2001:db8::7]:4000"));
  a.reason = std::string(wire::kMaxTunnelReasonBytes + 50, 'r');
  const Bytes b = encode(a);
  EXPECT_LE(b.size(), 1000u);
  EXPECT_EQ(decode_handshake_route(b, nullptr)->reason.size(), wire::kMaxTunnelReasonBytes);
}

HandshakeRouteError reason(const Bytes& b) {
  HandshakeRouteError e = HandshakeRouteError::kNone;
  EXPECT_FALSE(decode_handshake_route(b, &e));
  return e;
}

TEST(RouteHandshake, MalformedPayloadsAreRefusedWithTheirReason) {
  EXPECT_EQ(reason({}), HandshakeRouteError::kTruncated);
  for (const Bytes& good : {encode(answer()), encode(punch(2, false))}) {
    for (std::size_t n = 1; n < good.size(); ++n) {
      const HandshakeRouteError e = reason(Bytes(good.begin(), good.begin() + n));
      EXPECT_TRUE(e == HandshakeRouteError::kTruncated || e == HandshakeRouteError::kBadPlan)
          << n << ": " << to_string(e);
    }
    Bytes trailing = good;
    trailing.push_back(0);
    EXPECT_EQ(reason(trailing), HandshakeRouteError::kTrailing);
  }
  Bytes unknown = encode(answer());
  for (std::uint8_t t : {0x10, 0x12, 0x19, 0x01}) {  // messages', reserved and directory's
    unknown[0] = t;
    EXPECT_EQ(reason(unknown), HandshakeRouteError::kUnknownType) << int(t);
  }
  constexpr std::size_t kBody = 73;  // where every body starts
  Bytes verdict = encode(answer());
  verdict[kBody] = 3;
  EXPECT_EQ(reason(verdict), HandshakeRouteError::kBadValue);
  Bytes long_reason = encode(answer());
  long_reason[kBody + 1] = 0x00;
  long_reason[kBody + 2] = static_cast<std::uint8_t>(wire::kMaxTunnelReasonBytes + 1);
  EXPECT_EQ(reason(long_reason), HandshakeRouteError::kBadValue);
  Bytes hosts = encode(answer());
  hosts[kBody + 3] = static_cast<std::uint8_t>(wire::kMaxHostCandidates + 1);
  EXPECT_EQ(reason(hosts), HandshakeRouteError::kBadValue);
  Bytes family = encode(header(HandshakeRouteType::kOffer));
  family[kBody] = 5;
  EXPECT_EQ(reason(family), HandshakeRouteError::kBadValue);
  Bytes feasible = encode(punch(1, false));
  feasible[kBody + 32] = 2;
  EXPECT_EQ(reason(feasible), HandshakeRouteError::kBadValue);
  Bytes plan = encode(punch(1, false));
  plan[kBody + 33] = 7;  // strategy
  EXPECT_EQ(reason(plan), HandshakeRouteError::kBadPlan);
  Bytes acked = encode(ack_of(answer()));
  acked[kBody] = 0x17;  // an ack of an ack
  EXPECT_EQ(reason(acked), HandshakeRouteError::kBadValue);
  Bytes cancel = encode(header(HandshakeRouteType::kCancel));
  cancel[kBody] = 4;  // no such reason
  EXPECT_EQ(reason(cancel), HandshakeRouteError::kBadValue);
  cancel.pop_back();
  EXPECT_EQ(reason(cancel), HandshakeRouteError::kTruncated);
}

TEST(RouteHandshake, RandomBytesNeverCrash) {
  // Bounded fuzzing: mutations of valid payloads and random ones; every decode that succeeds
  // encodes back to the same bytes (a punch's plan within its budget).
  Random random = Random::from_u64(1406);
  const std::vector<Bytes> seeds = {encode(answer()), encode(punch(5, true)),
                                    encode(ack_of(header(HandshakeRouteType::kRelayed))),
                                    encode(header(HandshakeRouteType::kOffer)),
                                    encode(header(HandshakeRouteType::kCancel))};
  std::size_t decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = seeds[random.uniform(seeds.size())];
    if (i % 4 == 0) b.resize(random.uniform(200));
    for (std::size_t k = 0, flips = 1 + random.uniform(4); k < flips && !b.empty(); ++k)
      b[random.uniform(b.size())] = static_cast<std::uint8_t>(random.uniform(256));
    HandshakeRouteError e = HandshakeRouteError::kCount;
    auto m = decode_handshake_route(b, &e);
    EXPECT_EQ(m.has_value(), e == HandshakeRouteError::kNone);
    if (m) {
      ++decoded;
      EXPECT_EQ(encode(*m), b);
    }
  }
  EXPECT_GT(decoded, 100u) << "the mutations should keep some payloads valid";
}

}  // namespace
}  // namespace qp2p::federation
