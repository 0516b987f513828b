// Tunnels between peers on different supernodes (issue 5, "Routing": the handshake for a pair
// whose peers sit on different supernodes works the same as on one; docs/protocol.md section
// 14.6), on the federated_tunnel.h fixture: direct and relayed tunnels, refusal, timeout, the
// callee leaving, forged payloads, loss between the supernodes, a late punch copy.
#include <string>

#include "tests/stack/supernode/federated_tunnel.h"

namespace qp2p::scenario {
namespace {

TEST_F(FederatedTunnel, DirectTunnelAcrossSupernodesStartsBothSidesTogether) {
  alice.connect(now(), carol.id());
  auto offer = f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2));
  ASSERT_TRUE(offer) << f.sc.transcript();
  EXPECT_EQ(offer->from, alice.id());
  EXPECT_TRUE(offer->info.online);
  EXPECT_EQ(offer->info.supernode, s1->identity().id()) << "the caller's own supernode";
  EXPECT_EQ(offer->info.mapped, endpoint("203.0.113.10:40000"));
  carol.accept(now(), alice.id());
  auto a = f.sc.wait_for<ev::TunnelEstablished>(alice, seconds(5));
  ASSERT_TRUE(a) << f.sc.transcript();
  if (!f.sc.find<ev::TunnelEstablished>(carol)) {
    ASSERT_TRUE(f.sc.wait_for<ev::TunnelEstablished>(carol, seconds(5))) << f.sc.transcript();
  }
  EXPECT_EQ(a->path, tunnel::Path::kDirect);
  EXPECT_EQ(a->remote, endpoint("203.0.113.12:40000"));
  EXPECT_TRUE(carried(alice, carol, "hello carol, across two supernodes"));
  EXPECT_TRUE(carried(carol, alice, "hello alice"));

  // Synchronised start: alice's punch-start leaves S1 together with the punch payload to S2,
  // which is 25 ms further away than S1 is from alice on top of carol's own 30 ms. S1 planned
  // carol's side with her rtt plus its measured rtt to S2, so both start at one moment.
  const auto pa = f.sc.find<ev::PunchStarted>(alice);
  const auto pc = f.sc.find<ev::PunchStarted>(carol);
  ASSERT_TRUE(pa && pc);
  const Instant start_a = pa->received_at + pa->plan.start_after;
  const Instant start_c = pc->received_at + pc->plan.start_after;
  EXPECT_LE(std::chrono::abs(start_a - start_c), milliseconds(1))
      << "alice at " << to_us(start_a) << " us, carol at " << to_us(start_c) << " us";
  EXPECT_GE(pa->plan.start_after, milliseconds(45)) << "alice waits for the longer way to carol";
  EXPECT_FALSE(pa->plan.remote_candidates.empty());

  // The caller reports the outcome at its own supernode, where the negotiation ran.
  ASSERT_TRUE(f.run_until([&] { return s1->handshake_counters().outcomes > 0; }, seconds(2)));
  f.sc.run_for(seconds(12));  // every retransmission has had its time: nothing twice
  EXPECT_EQ(outcomes_at(*s1).outcome_direct, 1u);
  EXPECT_EQ(s2->handshake_counters().outcomes, 0u);
  EXPECT_EQ(s1->handshake_counters().routed_offers, 1u);
  EXPECT_EQ(s1->handshake_counters().accepted, 1u);
  EXPECT_EQ(s2->handshake_counters().routed_in, 1u);
  EXPECT_EQ(s2->handshake_counters().accepted, 0u) << "S2 planned nothing";
  EXPECT_EQ(f.sc.count<ev::TunnelRequested>(carol), 1u);
  EXPECT_EQ(f.sc.count<ev::PunchStarted>(carol), 1u);
  expect_no_routing_drops();
}

TEST_F(FederatedTunnel, RefusalReachesTheCaller) {
  alice.connect(now(), carol.id());
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2))) << f.sc.transcript();
  carol.refuse(now(), alice.id(), "not now, alice");
  auto refused = f.sc.wait_for<ev::TunnelRefused>(alice, seconds(2));
  ASSERT_TRUE(refused) << f.sc.transcript();
  EXPECT_EQ(refused->peer, carol.id());
  EXPECT_EQ(refused->reason, "not now, alice");
  EXPECT_EQ(s1->handshake_counters().refused, 1u);
  EXPECT_EQ(outcomes_at(*s1).refused, 1u);
  expect_no_routing_drops();
}

TEST_F(FederatedTunnel, UnansweredOfferTimesOutAtTheCaller) {
  alice.connect(now(), carol.id());
  const Instant asked = now();
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2))) << f.sc.transcript();
  auto refused = f.sc.wait_for<ev::TunnelRefused>(alice, seconds(35));
  ASSERT_TRUE(refused) << f.sc.transcript();
  EXPECT_EQ(refused->reason, "timeout");
  EXPECT_GE(now() - asked, kNegotiationTimeout);
  EXPECT_EQ(s1->handshake_counters().timeouts, 1u);
  // S2 forgot the offer as well: a late answer is refused there, as on one supernode.
  f.sc.run_for(seconds(2));
  const std::uint64_t late = carol.accept(now(), alice.id());
  ASSERT_TRUE(f.sc.wait_for<ev::RequestFailed>(
      carol, seconds(3), [&](const ev::RequestFailed& e) { return e.request == late; }))
      << f.sc.transcript();
  EXPECT_EQ(s2->handshake_counters().answers_unexpected, 1u);
  expect_no_routing_drops();
}

TEST_F(FederatedTunnel, CalleeLeavingOrGoneIsReportedOffline) {
  // Leaves before answering: S2 tells S1, which refuses "offline".
  alice.connect(now(), carol.id());
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2))) << f.sc.transcript();
  carol.logout(now());
  auto refused = f.sc.wait_for<ev::TunnelRefused>(alice, seconds(3));
  ASSERT_TRUE(refused) << f.sc.transcript();
  EXPECT_EQ(refused->reason, "offline");
  EXPECT_EQ(s1->handshake_counters().callee_offline, 1u);
  expect_no_routing_drops();
}

TEST_F(FederatedTunnel, OfferForAPeerJustGoneFromItsSupernodeIsRefusedOffline) {
  // carol's logout reaches S2 (30 ms) before the offer does (10 + 25 ms), and its tombstone
  // reaches S1 only after alice's connect: S1 still routes, S2 cannot deliver.
  carol.logout(now());
  alice.connect(now(), carol.id());
  auto refused = f.sc.wait_for<ev::TunnelRefused>(alice, seconds(3));
  ASSERT_TRUE(refused) << f.sc.transcript();
  EXPECT_EQ(refused->reason, "offline");
  EXPECT_EQ(s1->handshake_counters().routed_offers, 1u);
  EXPECT_EQ(s1->handshake_counters().callee_offline, 1u);
  EXPECT_EQ(s2->handshake_counters().routed_in, 0u);
  expect_no_routing_drops();
}

TEST_F(FederatedTunnel, RelayFallbackUsesTheCalleesOwnSupernode) {
  f.sc.net.set_link(f.sc.node("alice"), f.sc.node("carol"), {milliseconds(20), 1.0});
  auto a = open_tunnel(seconds(40));
  ASSERT_TRUE(a) << f.sc.transcript();
  const auto c = *f.sc.find<ev::TunnelEstablished>(carol);
  EXPECT_EQ(a->path, tunnel::Path::kRelay);
  EXPECT_EQ(c.path, tunnel::Path::kRelay);
  // carol allocated on S2, with the credentials S2 put into her punch-start; alice sends there.
  EXPECT_EQ(a->remote.address, federated_config(1).primary.address);
  EXPECT_EQ(c.local, a->remote);
  EXPECT_EQ(s2->relay_allocations(), 1u);
  EXPECT_EQ(s1->relay_allocations(), 0u);
  EXPECT_EQ(s1->handshake_counters().relays, 1u) << "S1 pushed carol's address to alice";
  EXPECT_TRUE(carried(alice, carol, "through S2's relay"));
  EXPECT_TRUE(carried(carol, alice, "and back"));
  ASSERT_TRUE(f.run_until([&] { return s1->handshake_counters().outcomes > 0; }, seconds(2)));
  EXPECT_EQ(outcomes_at(*s1).outcome_relay, 1u);
  expect_no_routing_drops();
}

TEST_F(FederatedTunnel, ForgedOrStrayPayloadsAreDroppedAndCounted) {
  federation::Membership* rogue = add_rogue();
  ASSERT_TRUE(rogue);
  const PeerId s1_id = s1->identity().id();
  const PeerId s2_id = s2->identity().id();
  using federation::HandshakeRouteType;

  alice.connect(now(), carol.id());
  auto offer = f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2));
  ASSERT_TRUE(offer) << f.sc.transcript();
  const std::uint64_t attempt = offer->attempt;

  // Not a payload at all; a punch for no attempt; an acceptance of alice's attempt from a
  // supernode carol is not at; a second offer of it from there.
  ASSERT_TRUE(rogue->send_payload(now(), s1_id, Bytes{0x15, 0x00}));
  auto punch = federation::route_handshake(HandshakeRouteType::kPunch, 12345, alice.id(),
                                           carol.id());
  punch.plan.local_sockets = 1;
  punch.plan.deadline_ms = 10000;
  ASSERT_TRUE(rogue->send_payload(now(), s2_id, federation::encode(punch)));
  auto answer = federation::route_handshake(HandshakeRouteType::kAnswer, attempt, alice.id(),
                                            carol.id());
  answer.verdict = federation::AnswerVerdict::kAccepted;
  answer.reflexive = endpoint("198.51.100.66:6666");
  ASSERT_TRUE(rogue->send_payload(now(), s1_id, federation::encode(answer)));
  auto offer_again = federation::route_handshake(HandshakeRouteType::kOffer, attempt, alice.id(),
                                                 carol.id());
  offer_again.caller_mapped = endpoint("198.51.100.66:6666");
  ASSERT_TRUE(rogue->send_payload(now(), s2_id, federation::encode(offer_again)));
  f.sc.run_for(seconds(1));
  EXPECT_EQ(s1->counters().dropped_federation_payload, 1u);
  EXPECT_EQ(s2->handshake_counters().route_unknown_attempt, 1u);
  EXPECT_EQ(s1->handshake_counters().route_wrong_supernode, 1u);
  EXPECT_EQ(s2->handshake_counters().route_wrong_supernode, 1u);
  EXPECT_EQ(f.sc.count<ev::PunchStarted>(alice), 0u) << "the forged acceptance started nothing";
  EXPECT_EQ(f.sc.count<ev::TunnelRequested>(carol), 1u);

  // The real negotiation is untouched.
  carol.accept(now(), alice.id());
  auto a = f.sc.wait_for<ev::TunnelEstablished>(alice, seconds(5));
  ASSERT_TRUE(a) << f.sc.transcript();
  EXPECT_NE(a->remote, endpoint("198.51.100.66:6666"));
  // A relayed address for it from the rogue is not passed to carol.
  auto relayed = federation::route_handshake(HandshakeRouteType::kRelayed, attempt, alice.id(),
                                             carol.id());
  relayed.relayed = endpoint("198.51.100.66:6666");
  ASSERT_TRUE(rogue->send_payload(now(), s2_id, federation::encode(relayed)));
  f.sc.run_for(seconds(1));
  EXPECT_EQ(s2->handshake_counters().route_wrong_supernode, 2u);
  EXPECT_EQ(s2->handshake_counters().relays, 0u);
}

// The link between the supernodes loses 20% of datagrams each way: every payload of the
// negotiation is retransmitted until acknowledged, so each tunnel still forms, once.
TEST_F(FederatedTunnel, LossBetweenSupernodesIsSurvived) {
  f.sc.net.set_link(f.sc.node("S1"), f.sc.node("S2"), {milliseconds(25), 0.2});
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::size_t requested = f.sc.count<ev::TunnelRequested>(carol);
    auto a = open_tunnel(seconds(15));
    ASSERT_TRUE(a) << f.sc.transcript();
    EXPECT_EQ(a->path, tunnel::Path::kDirect);
    EXPECT_TRUE(carried(alice, carol, "round " + std::to_string(round)));
    f.sc.run_for(seconds(11));  // past every retransmission
    EXPECT_EQ(f.sc.count<ev::TunnelRequested>(carol), requested + 1) << "offered once";
    alice.tunnel_close(now(), carol.id());
    ASSERT_TRUE(f.sc.wait_for<ev::TunnelClosed>(carol, seconds(3))) << f.sc.transcript();
  }
  EXPECT_GT(f.sc.net.counters().dropped_loss, 0u);
  EXPECT_EQ(s1->handshake_counters().accepted, 4u);
  expect_no_routing_drops();
}

// The first copy of the punch payload is lost: its second copy, 250 ms later, carries what
// remains of the start delay (nothing: the moment has passed), so carol starts at once, and
// alice's attempt, already running, meets hers.
TEST_F(FederatedTunnel, LatePunchCopyStartsAtOnce) {
  // S1 -> S2 in the instant it got carol's answer: the answer's ack and the punch.
  lose_s1_to_s2();
  alice.connect(now(), carol.id());
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2))) << f.sc.transcript();
  carol.accept(now(), alice.id());
  lose_from = now() + milliseconds(30 + 25);  // carol -> S2 -> S1
  lose_until = *lose_from + milliseconds(1);
  auto a = f.sc.wait_for<ev::TunnelEstablished>(alice, seconds(5));
  ASSERT_TRUE(a) << f.sc.transcript();
  const auto pa = f.sc.find<ev::PunchStarted>(alice);
  const auto pc = f.sc.find<ev::PunchStarted>(carol);
  ASSERT_TRUE(pa && pc);
  EXPECT_GE(pc->received_at - pa->received_at, milliseconds(250)) << "the first copy was lost";
  EXPECT_EQ(pc->plan.start_after, Duration::zero());
  EXPECT_EQ(a->path, tunnel::Path::kDirect);
  EXPECT_EQ(f.sc.count<ev::PunchStarted>(carol), 1u);
}

}  // namespace
}  // namespace qp2p::scenario
