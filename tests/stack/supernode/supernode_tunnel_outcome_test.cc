// Tunnel outcomes at the handshake service (docs/protocol.md section 8.9) against the wire
// format: the caller's report of an accepted attempt is counted once under the pair of NAT
// profiles the plan was made for (path and setup time); the same report retransmitted is
// acknowledged again but not counted again; a second report, a report by the callee, by a
// stranger, for an unknown or a refused attempt are refused and counted by reason.
#include <gtest/gtest.h>

#include "stack/discovery/nat_profile.h"
#include "stack/supernode/handshake_service.h"
#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

NatProfile profile(NatProfile::Behaviour mapping) {
  NatProfile p;
  p.mapping = mapping;
  p.filtering = NatProfile::Behaviour::kAddressAndPortDependent;
  p.allocation = NatProfile::Allocation::kPreserving;
  p.nat_levels = 1;
  return p;
}

struct TunnelOutcomeFixture : ::testing::Test {
  TestNetwork net;
  TestClient alice{1, ep("203.0.113.10:40000"), net.primary()};
  TestClient bob{2, ep("198.51.100.20:41000"), net.primary()};
  TestClient carol{3, ep("198.51.100.30:42000"), net.primary()};
  // alice EIM/APDF, bob APDM/APDF: the pair sorted by name.
  const HandshakeStats::Pair pair{"APDM/APDF", "EIM/APDF"};

  void SetUp() override {
    ASSERT_TRUE(net.login(alice));
    ASSERT_TRUE(net.login(bob));
    ASSERT_TRUE(net.login(carol));
    publish(alice, profile(NatProfile::Behaviour::kEndpointIndependent));
    publish(bob, profile(NatProfile::Behaviour::kAddressAndPortDependent));
  }

  void publish(TestClient& c, const NatProfile& p) {
    auto ack = net.request(c, wire::Publish{wire::SignedRecord::make(c.identity(), 1, p.to_meta())});
    ASSERT_TRUE(ack && std::holds_alternative<wire::PublishAck>(*ack));
  }

  // Alice asks for a tunnel to Bob, Bob answers; returns the attempt (0 on failure).
  std::uint64_t negotiate(bool accept) {
    auto r = net.request(alice, wire::TunnelConnect{bob.id(), {}, 20});
    if (!r || !std::holds_alternative<wire::TunnelConnectAccepted>(*r)) return 0;
    const std::uint64_t attempt = std::get<wire::TunnelConnectAccepted>(*r).attempt;
    auto ack = net.request(bob, wire::TunnelAnswer{alice.id(), attempt, accept, {}, 20, ""});
    EXPECT_TRUE(ack && std::holds_alternative<wire::TunnelAnswerAck>(*ack));
    return attempt;
  }

  // Sends a report from `c` with transaction `txn`; returns the answer.
  std::optional<wire::Body> report(TestClient& c, std::uint64_t txn, wire::TunnelOutcome m) {
    net.send(c, c.seal(txn, std::move(m)));
    auto r = c.take_response(txn);
    if (!r) return std::nullopt;
    EXPECT_TRUE(r->sealed);
    return r->message.body;
  }

  const NatPairCounters& counted() { return net.supernode.handshake_stats().by_pair().at(pair); }
  const HandshakeCounters& counters() { return net.supernode.handshake_counters(); }
};

bool acked(const std::optional<wire::Body>& b, std::uint64_t attempt) {
  return b && std::holds_alternative<wire::TunnelOutcomeAck>(*b) &&
         std::get<wire::TunnelOutcomeAck>(*b).attempt == attempt;
}

TEST_F(TunnelOutcomeFixture, CallersReportIsCountedOnceUnderItsNatPair) {
  const std::uint64_t direct = negotiate(true), relayed = negotiate(true), failed = negotiate(true);
  ASSERT_TRUE(direct && relayed && failed);
  const std::uint64_t txn = alice.new_txn();
  ASSERT_TRUE(acked(report(alice, txn, {direct, wire::OutcomePath::kDirect, 240, 21, ""}), direct));
  // The same report again (its ack lost): acknowledged, not counted twice.
  ASSERT_TRUE(acked(report(alice, txn, {direct, wire::OutcomePath::kDirect, 240, 21, ""}), direct));
  ASSERT_TRUE(acked(report(alice, alice.new_txn(),
                           {relayed, wire::OutcomePath::kRelay, 10600, 48, ""}),
                    relayed));
  ASSERT_TRUE(acked(report(alice, alice.new_txn(),
                           {failed, wire::OutcomePath::kFailed, 52000, 0, "relay fallback failed"}),
                    failed));

  const NatPairCounters& c = counted();
  EXPECT_EQ(c.accepted, 3u);
  EXPECT_EQ(c.outcome_direct, 1u);
  EXPECT_EQ(c.outcome_relay, 1u);
  EXPECT_EQ(c.outcome_failed, 1u);
  EXPECT_EQ(c.direct_setup.count, 1u);
  EXPECT_EQ(c.direct_setup.sum_ms, 240u);
  EXPECT_EQ(c.relay_setup.count, 1u);
  EXPECT_EQ(c.relay_setup.sum_ms, 10600u);
  EXPECT_EQ(c.tunnel_rtt_ms_sum, 21u + 48u) << "failures have no round trip";
  // 240 ms lies in the (200, 300] bucket: the median is interpolated inside it.
  EXPECT_GT(c.direct_setup.quantile(0.5), 200.0);
  EXPECT_LE(c.direct_setup.quantile(0.5), 300.0);
  EXPECT_EQ(counters().outcomes, 3u);
  EXPECT_EQ(counters().outcomes_duplicate + counters().outcomes_unknown, 0u);
}

TEST_F(TunnelOutcomeFixture, ForgedAndDuplicateReportsAreRefusedAndCounted) {
  const std::uint64_t attempt = negotiate(true);
  const std::uint64_t refused = negotiate(false);
  ASSERT_TRUE(attempt && refused);
  const wire::TunnelOutcome direct{attempt, wire::OutcomePath::kDirect, 300, 20, ""};

  // The callee: only the caller reports (each tunnel counted once).
  EXPECT_EQ(error_code(report(bob, bob.new_txn(), direct)), 400);
  EXPECT_EQ(counters().outcomes_not_caller, 1u);
  // A stranger, an attempt that never was, a refused attempt: all "no such attempt of yours".
  EXPECT_EQ(error_code(report(carol, carol.new_txn(), direct)), 404);
  EXPECT_EQ(error_code(report(alice, alice.new_txn(), {attempt + 1, wire::OutcomePath::kFailed,
                                                       1, 0, "x"})),
            404);
  EXPECT_EQ(error_code(report(alice, alice.new_txn(), {refused, wire::OutcomePath::kDirect,
                                                       1, 1, ""})),
            404);
  EXPECT_EQ(counters().outcomes_unknown, 3u);

  ASSERT_TRUE(acked(report(alice, alice.new_txn(), direct), attempt));
  // A second report of the same attempt (another transaction), even claiming another path.
  auto again = report(alice, alice.new_txn(), {attempt, wire::OutcomePath::kRelay, 9000, 30, ""});
  ASSERT_EQ(error_code(again), 400);
  EXPECT_NE(std::get<wire::Error>(*again).reason.find("already reported"), std::string::npos);
  EXPECT_EQ(counters().outcomes_duplicate, 1u);

  const NatPairCounters& c = counted();
  EXPECT_EQ(c.outcome_direct, 1u);
  EXPECT_EQ(c.outcome_relay + c.outcome_failed, 0u);
  EXPECT_EQ(counters().outcomes, 1u);
}

TEST_F(TunnelOutcomeFixture, ReportsOutliveTheNegotiationButNotTheAnsweredMemory) {
  const std::uint64_t late = negotiate(true), too_late = negotiate(true);
  ASSERT_TRUE(late && too_late);
  // A relay fallback takes well under a minute; the attempt is remembered for kAnsweredMemory.
  net.advance_keeping_alive(std::chrono::seconds(60), {&alice, &bob, &carol});
  EXPECT_TRUE(acked(report(alice, alice.new_txn(), {late, wire::OutcomePath::kRelay, 55000, 40, ""}),
                    late));
  net.advance_keeping_alive(kAnsweredMemory, {&alice, &bob, &carol});
  EXPECT_EQ(error_code(report(alice, alice.new_txn(),
                              {too_late, wire::OutcomePath::kRelay, 55000, 40, ""})),
            404);
  EXPECT_EQ(counted().outcome_relay, 1u);
}

}  // namespace
}  // namespace qp2p::test
