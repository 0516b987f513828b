// Tunnels between peers on different supernodes (issue 5, "Routing": the handshake for a pair
// whose peers sit on different supernodes works the same as on one; docs/protocol.md section
// 14.6). alice is logged into S1 (10 ms away), carol into S2 (30 ms away), S1 and S2 are 25 ms
// apart, and all serve TURN; S3 is a third member (so the membership can probe indirectly). S1
// runs the negotiation; S2 pushes to carol and relays.
#include <gtest/gtest.h>

#include <string>

#include "stack/federation/route_handshake.h"
#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

void with_turn(SupernodeConfig& c) {
  c.turn.secret = "federated relay secret";
  c.turn.min_port = 50000;
  c.turn.max_port = 50099;
}

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct FederatedTunnel : ::testing::Test {
  FederatedScenario f{909};
  Supernode* s1 = &f.add_supernode(0, kNetworkSecret, with_turn);
  Supernode* s2 = &f.add_supernode(1, kNetworkSecret, with_turn);
  Supernode* s3 = &f.add_supernode(2, kNetworkSecret, with_turn);
  PeerSession& alice = f.add_peer("alice", 0, 0);
  PeerSession& carol = f.add_peer("carol", 1, 2);

  void SetUp() override {
    auto& net = f.sc.net;
    net.set_link(f.sc.node("alice"), f.sc.node("S1"), {milliseconds(10), 0.0});
    net.set_link(f.sc.node("carol"), f.sc.node("S2"), {milliseconds(30), 0.0});
    net.set_link(f.sc.node("S1"), f.sc.node("S2"), {milliseconds(25), 0.0});
    net.set_link(f.sc.node("alice"), f.sc.node("carol"), {milliseconds(20), 0.0});
    ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));
    alice.start(net.now());
    carol.start(net.now());
    // Each side's directory places the other peer, and S1 has measured its way to S2.
    ASSERT_TRUE(f.run_until(
        [&] {
          return s1->home_supernode_of(carol.id()) && s2->home_supernode_of(alice.id()) &&
                 s1->federation()->rtt_to(s2->identity().id()) > Duration::zero();
        },
        seconds(5)));
  }

  Instant now() const { return f.sc.net.now(); }

  // Sends `text` through the tunnel and runs until the other side has it (at most 2 s).
  bool carried(PeerSession& from, PeerSession& to, const std::string& text) {
    if (!from.tunnel_send(now(), to.id(), bytes_of(text).data(), text.size())) return false;
    return f.sc
        .wait_for<ev::TunnelData>(to, seconds(2),
                                  [&](const ev::TunnelData& d) {
                                    return d.bytes == bytes_of(text) && d.peer == from.id();
                                  })
        .has_value();
  }

  // alice connects, carol is offered the tunnel and accepts; both report it established.
  std::optional<ev::TunnelEstablished> open_tunnel(Duration max) {
    alice.connect(now(), carol.id());
    if (!f.sc.wait_for<ev::TunnelRequested>(carol, seconds(5))) return std::nullopt;
    carol.accept(now(), alice.id());
    auto a = f.sc.wait_for<ev::TunnelEstablished>(alice, max);
    if (a && !f.sc.find<ev::TunnelEstablished>(carol) &&
        !f.sc.wait_for<ev::TunnelEstablished>(carol, seconds(5)))
      return std::nullopt;
    return a;
  }

  NatPairCounters outcomes_at(const Supernode& s) const {
    const auto& pairs = s.handshake_stats().by_pair();
    auto it = pairs.find({"unknown", "unknown"});
    return it == pairs.end() ? NatPairCounters{} : it->second;
  }

  void expect_no_routing_drops() {
    for (Supernode* s : {s1, s2}) {
      EXPECT_EQ(s->handshake_counters().route_unknown_attempt, 0u);
      EXPECT_EQ(s->handshake_counters().route_wrong_supernode, 0u);
      EXPECT_EQ(s->handshake_counters().route_gave_up, 0u);
      EXPECT_EQ(s->counters().dropped_federation_payload, 0u);
    }
  }
};

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
  // A member of the network (it has the secret) that is neither supernode of the negotiation.
  Random random = Random::from_u64(4711);
  const Identity rogue_identity = Identity::generate(random);
  federation::MembershipConfig mc;
  mc.local = endpoint("192.0.2.9:3478");
  mc.seeds = {federated_config(0).primary};
  mc.unix_offset_us = kEpochUs;
  std::string error;
  auto key = federation::NetworkKey::from_secret(kNetworkSecret, &error);
  ASSERT_TRUE(key) << error;
  federation::Membership rogue(mc, rogue_identity, *key, random.fork());
  f.sc.net.add_node("rogue", rogue, {mc.local});
  ASSERT_TRUE(f.run_until(
      [&] {
        return s1->federation()->members().size() == 4 &&
               s2->federation()->members().size() == 4 && rogue.members().size() == 4;
      },
      seconds(20)));
  const PeerId s1_id = s1->identity().id();
  const PeerId s2_id = s2->identity().id();
  using federation::HandshakeRouteType;

  alice.connect(now(), carol.id());
  auto offer = f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2));
  ASSERT_TRUE(offer) << f.sc.transcript();
  const std::uint64_t attempt = offer->attempt;

  // Not a payload at all; a punch for no attempt; an acceptance of alice's attempt from a
  // supernode carol is not at; a second offer of it from there.
  ASSERT_TRUE(rogue.send_payload(now(), s1_id, Bytes{0x15, 0x00}));
  auto punch = federation::route_handshake(HandshakeRouteType::kPunch, 12345, alice.id(),
                                           carol.id());
  punch.plan.local_sockets = 1;
  punch.plan.deadline_ms = 10000;
  ASSERT_TRUE(rogue.send_payload(now(), s2_id, federation::encode(punch)));
  auto answer = federation::route_handshake(HandshakeRouteType::kAnswer, attempt, alice.id(),
                                            carol.id());
  answer.verdict = federation::AnswerVerdict::kAccepted;
  answer.reflexive = endpoint("198.51.100.66:6666");
  ASSERT_TRUE(rogue.send_payload(now(), s1_id, federation::encode(answer)));
  auto offer_again = federation::route_handshake(HandshakeRouteType::kOffer, attempt, alice.id(),
                                                 carol.id());
  offer_again.caller_mapped = endpoint("198.51.100.66:6666");
  ASSERT_TRUE(rogue.send_payload(now(), s2_id, federation::encode(offer_again)));
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
  ASSERT_TRUE(rogue.send_payload(now(), s2_id, federation::encode(relayed)));
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
  const auto s1_node = f.sc.node("S1");
  const Endpoint s2_primary = federated_config(1).primary;
  std::optional<Instant> drop_from;
  f.sc.net.add_rewriter([&](Instant at, std::size_t from, Endpoint&, Endpoint& to) {
    // S1 -> S2 in the instant it got carol's answer: the answer's ack and the punch.
    return !(drop_from && from == s1_node && to == s2_primary && at >= *drop_from &&
             at < *drop_from + milliseconds(1));
  });
  alice.connect(now(), carol.id());
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelRequested>(carol, seconds(2))) << f.sc.transcript();
  carol.accept(now(), alice.id());
  drop_from = now() + milliseconds(30 + 25);  // carol -> S2 -> S1
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
