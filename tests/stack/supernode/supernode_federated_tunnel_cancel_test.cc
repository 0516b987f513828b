// A negotiation between peers on different supernodes that ends at the caller's supernode (S1)
// before the callee's answer reached it (docs/protocol.md section 14.6, "Cancel"): the caller
// logs out, or the offer times out; S1 tells the callee's supernode (S2) with a cancel, sent
// again until acknowledged, so that the callee sees what it would on one supernode: an answer
// after the end is refused 404, and an acceptance that crossed the cancel is refused to it
// instead of leaving it waiting for a punch-start. A cancel from a member that is not the
// attempt's supernode changes nothing and is counted. On the federated_tunnel.h fixture.
#include <string>

#include "tests/stack/supernode/federated_tunnel.h"

namespace qp2p::scenario {
namespace {

using federation::HandshakeRouteType;

std::string no_offer_from(const PeerSession& caller) {
  return "no tunnel offer from " + caller.id().to_string() + " to you";
}

struct FederatedTunnelCancel : FederatedTunnel {
  // carol's accept of `caller`'s offer, and the failure it ends with (within `max`).
  std::optional<ev::RequestFailed> accept_fails(const PeerSession& caller, Duration max) {
    const std::uint64_t request = carol.accept(now(), caller.id());
    return f.sc.wait_for<ev::RequestFailed>(
        carol, max, [&](const ev::RequestFailed& e) { return e.request == request; });
  }
  // alice asks for a tunnel to carol; the attempt carol is offered.
  std::optional<std::uint64_t> offered() {
    alice.connect(now(), carol.id());
    auto offer = f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2));
    if (!offer) return std::nullopt;
    return offer->attempt;
  }
};

TEST_F(FederatedTunnelCancel, CallerLeavingAfterTheOfferEndsItAsOnOneSupernode) {
  // On one supernode first: bob, also at S2, offers carol a tunnel and logs out; carol's
  // answer is refused 404.
  PeerSession& bob = f.add_peer("bob", 1, 3);
  bob.start(now());
  ASSERT_TRUE(f.run_until([&] { return bob.registered(); }, seconds(2))) << f.sc.transcript();
  bob.connect(now(), carol.id());
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2))) << f.sc.transcript();
  bob.logout(now());
  f.sc.run_for(milliseconds(200));
  auto local = accept_fails(bob, seconds(2));
  ASSERT_TRUE(local) << f.sc.transcript();
  EXPECT_EQ(local->reason, no_offer_from(bob));

  // Across supernodes: S1 tells S2, and carol sees the same.
  ASSERT_TRUE(offered()) << f.sc.transcript();
  alice.logout(now());
  ASSERT_TRUE(f.run_until([&] { return s2->handshake_counters().routed_cancels == 1; },
                          seconds(2)))
      << f.sc.transcript();
  EXPECT_EQ(s1->handshake_counters().routed_cancels_sent, 1u);
  EXPECT_EQ(s1->handshake_counters().caller_offline, 1u);
  auto routed = accept_fails(alice, seconds(2));
  ASSERT_TRUE(routed) << f.sc.transcript();
  EXPECT_EQ(routed->reason, no_offer_from(alice)) << "as on one supernode";
  EXPECT_EQ(s2->handshake_counters().answers_unexpected, 2u) << "bob's and alice's";
  f.sc.run_for(seconds(12));  // past every retransmission
  EXPECT_EQ(f.sc.count<ev::PunchStarted>(carol), 0u);
  EXPECT_EQ(s2->handshake_counters().routed_cancels_refused, 0u);
  expect_no_routing_drops();
}

TEST_F(FederatedTunnelCancel, AcceptanceCrossingTheCancelIsRefusedToTheCallee) {
  ASSERT_TRUE(offered()) << f.sc.transcript();
  // At the same instant: carol's answer reaches S2 after 30 ms, S1's cancel after 10 + 25 ms.
  // S2 acknowledges carol's answer and sends it to S1, which has ended the negotiation.
  alice.logout(now());
  const Instant asked = now();
  auto failed = accept_fails(alice, seconds(5));
  ASSERT_TRUE(failed) << f.sc.transcript();
  EXPECT_EQ(failed->reason, "tunnel refused: caller offline");
  EXPECT_LT(now() - asked, milliseconds(200)) << "not after the 90 s negotiation deadline";
  EXPECT_EQ(s2->handshake_counters().routed_cancels, 1u);
  EXPECT_EQ(s2->handshake_counters().routed_cancels_refused, 1u);
  f.sc.run_for(seconds(12));
  EXPECT_EQ(f.sc.count<ev::PunchStarted>(carol), 0u);
  EXPECT_EQ(f.sc.count<ev::RequestFailed>(carol), 1u) << "failed once";
  // S1 took the crossing answer as the cancel's counterpart: acknowledged, not a stray.
  expect_no_routing_drops();
}

TEST_F(FederatedTunnelCancel, TimeoutAtTheCallersSupernodeEndsItAtTheCallees) {
  ASSERT_TRUE(offered()) << f.sc.transcript();
  auto refused = f.sc.wait_for<ev::TunnelRefused>(alice, seconds(35));
  ASSERT_TRUE(refused) << f.sc.transcript();
  EXPECT_EQ(refused->reason, "timeout");
  // S2's own 30 s started later (the offer took 35 ms to come): the cancel ends it first.
  ASSERT_TRUE(f.run_until([&] { return s2->handshake_counters().routed_cancels == 1; },
                          milliseconds(100)))
      << f.sc.transcript();
  auto late = accept_fails(alice, seconds(2));
  ASSERT_TRUE(late) << f.sc.transcript();
  EXPECT_EQ(late->reason, no_offer_from(alice));
  EXPECT_EQ(s1->handshake_counters().timeouts, 1u);
  expect_no_routing_drops();
}

TEST_F(FederatedTunnelCancel, LostCancelIsSentAgainUntilAcknowledged) {
  lose_s1_to_s2();  // everything S1 sends S2 for 600 ms: the cancel's copies at 0 and 250 ms
  ASSERT_TRUE(offered()) << f.sc.transcript();
  const Instant left = now();
  lose_from = left;
  lose_until = left + milliseconds(600);
  alice.logout(now());
  ASSERT_TRUE(f.run_until([&] { return s2->handshake_counters().routed_cancels == 1; },
                          seconds(3)))
      << f.sc.transcript();
  EXPECT_GE(now() - left, milliseconds(600)) << "a later copy got through";
  auto late = accept_fails(alice, seconds(2));
  ASSERT_TRUE(late) << f.sc.transcript();
  EXPECT_EQ(late->reason, no_offer_from(alice));
  f.sc.run_for(seconds(12));
  EXPECT_EQ(s2->handshake_counters().routed_cancels, 1u) << "acted on once";
  expect_no_routing_drops();
}

TEST_F(FederatedTunnelCancel, ForgedCancelFromAThirdMemberIsDroppedAndCounted) {
  federation::Membership* rogue = add_rogue();
  ASSERT_TRUE(rogue) << "the rogue member did not join";
  const auto attempt = offered();
  ASSERT_TRUE(attempt) << f.sc.transcript();
  const PeerId s2_id = s2->identity().id();
  auto cancel =
      federation::route_handshake(HandshakeRouteType::kCancel, *attempt, alice.id(), carol.id());
  cancel.cancel_reason = federation::CancelReason::kCallerOffline;
  ASSERT_TRUE(rogue->send_payload(now(), s2_id, federation::encode(cancel)));
  auto stray = cancel;
  stray.attempt = 12345;
  ASSERT_TRUE(rogue->send_payload(now(), s2_id, federation::encode(stray)));
  f.sc.run_for(seconds(1));
  EXPECT_EQ(s2->handshake_counters().route_wrong_supernode, 1u);
  EXPECT_EQ(s2->handshake_counters().route_unknown_attempt, 1u);
  EXPECT_EQ(s2->handshake_counters().routed_cancels, 0u);

  // The real negotiation goes on.
  carol.accept(now(), alice.id());
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelEstablished>(alice, seconds(5))) << f.sc.transcript();
}

// The reverse direction: a callee that leaves its supernode after accepting. On one supernode
// both punch-starts leave with the answer, so the caller punches towards a peer that is gone and
// falls back to the relay; across supernodes S1 has the answer, and the caller sees the same.
TEST_F(FederatedTunnelCancel, CalleeLeavingAfterItsAcceptanceLeavesTheCallerAsOnOneSupernode) {
  ASSERT_TRUE(offered()) << f.sc.transcript();
  carol.accept(now(), alice.id());
  f.sc.run_for(milliseconds(40));  // the answer is at S2 (30 ms) and on its way to S1
  carol.logout(now());
  auto started = f.sc.wait_for<ev::PunchStarted>(alice, seconds(2));
  ASSERT_TRUE(started) << f.sc.transcript();
  EXPECT_EQ(started->peer, carol.id());
  EXPECT_EQ(s1->handshake_counters().callee_offline, 0u);
  EXPECT_EQ(s1->handshake_counters().routed_cancels_sent, 0u);
  EXPECT_FALSE(f.sc.find<ev::TunnelRefused>(alice));
}

}  // namespace
}  // namespace qp2p::scenario
