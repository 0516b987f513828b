// Tunnel negotiation between two PeerSessions through one supernode (docs/protocol.md section
// 8.5): Alice connects to Bob, Bob sees TunnelRequested with Alice's id and metadata and
// accepts, both get PunchStarted with each other's candidates, one nonce, the strategies their
// published NAT profiles call for, and start_after values that make both start at the same
// virtual instant given their measured RTTs; a refusal, an unknown peer, an unanswered request
// and an answer without a request each end the way they should; junk is dropped and counted.
#include <gtest/gtest.h>

#include "stack/discovery/nat_profile.h"
#include "stack/supernode/handshake_service.h"
#include "stack/tunnel/hole_punch.h"
#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

NatProfile cone() {
  NatProfile p;
  p.mapping = NatProfile::Behaviour::kEndpointIndependent;
  p.filtering = NatProfile::Behaviour::kAddressAndPortDependent;
  p.allocation = NatProfile::Allocation::kPreserving;
  p.nat_levels = 1;
  return p;
}

NatProfile sequential_symmetric() {
  NatProfile p;
  p.mapping = NatProfile::Behaviour::kAddressAndPortDependent;
  p.filtering = NatProfile::Behaviour::kAddressAndPortDependent;
  p.allocation = NatProfile::Allocation::kSequential;
  p.sequential_delta = 1;
  p.nat_levels = 1;
  return p;
}

wire::MetaEntries meta(const NatProfile& profile, const std::string& name) {
  wire::MetaEntries m = profile.to_meta();
  m.emplace_back("name", name);
  return m;
}

struct PeerTunnelNegotiation : ::testing::Test {
  PeerScenario sc{808};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
  Supernode& s1 = sc.add_supernode("S1", config);
  PeerSession& alice = sc.add_peer(
      "alice", peer_config("203.0.113.10:40000", {config.primary}, meta(cone(), "alice")));
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:41000", {config.primary},
                                                    meta(sequential_symmetric(), "bob")));
  PeerSession& carol = sc.add_peer("carol", peer_config("198.51.100.30:42000", {config.primary}));

  void SetUp() override {
    // One-way delays to the supernode: Alice 10 ms, Bob 30 ms.
    sc.net.set_link(sc.node("alice"), sc.node("S1"), {std::chrono::milliseconds(10), 0.0});
    sc.net.set_link(sc.node("bob"), sc.node("S1"), {std::chrono::milliseconds(30), 0.0});
    alice.start(sc.net.now());
    bob.start(sc.net.now());
    carol.start(sc.net.now());
    // Registered, and both records (with the nat.* profiles) stored.
    ASSERT_TRUE(sc.net.run_until(
        [&] {
          return sc.count<ev::Published>(alice) == 1 && sc.count<ev::Published>(bob) == 1 &&
                 carol.registered();
        },
        seconds(5)))
        << sc.transcript();
  }
};

TEST_F(PeerTunnelNegotiation, AcceptedRequestStartsBothPeersAtTheSameInstant) {
  // Login and publish round trips measured the RTTs exactly (no loss, no retransmission).
  EXPECT_EQ(alice.rtt(), std::chrono::milliseconds(20));
  EXPECT_EQ(bob.rtt(), std::chrono::milliseconds(60));

  const std::uint64_t req = alice.connect(sc.net.now(), bob.id());
  auto requested = sc.wait_for<ev::TunnelRequested>(bob, seconds(2));
  ASSERT_TRUE(requested) << sc.transcript();
  EXPECT_EQ(requested->from, alice.id());
  EXPECT_EQ(requested->info.id, alice.id());
  ASSERT_TRUE(requested->info.record);
  ASSERT_TRUE(requested->info.record->find("name"));
  EXPECT_EQ(*requested->info.record->find("name"), "alice");

  const std::uint64_t accept_req = bob.accept(sc.net.now(), alice.id());
  auto a = sc.wait_for<ev::PunchStarted>(alice, seconds(2));
  auto b = sc.wait_for<ev::PunchStarted>(bob, seconds(2));
  ASSERT_TRUE(a && b) << sc.transcript();

  EXPECT_EQ(a->request, req);
  EXPECT_TRUE(a->caller);
  EXPECT_EQ(b->request, accept_req);
  EXPECT_FALSE(b->caller);
  EXPECT_EQ(a->peer, bob.id());
  EXPECT_EQ(b->peer, alice.id());
  EXPECT_EQ(a->plan.remote, bob.id());
  EXPECT_EQ(a->attempt, b->attempt);
  EXPECT_EQ(a->attempt, requested->attempt);
  EXPECT_EQ(a->nonce, b->nonce);
  EXPECT_TRUE(a->direct_feasible && b->direct_feasible);
  EXPECT_EQ(a->local, endpoint("203.0.113.10:40000"));
  EXPECT_EQ(b->local, endpoint("203.0.113.20:41000"));

  // Each other's candidates: the host socket each sent (here also where its datagrams come
  // from, so no separate server-reflexive candidate).
  auto has = [](const tunnel::PunchPlan& p, const Endpoint& e) {
    for (const auto& c : p.remote_candidates)
      if (c.endpoint == e) return true;
    return false;
  };
  EXPECT_TRUE(has(a->plan, endpoint("203.0.113.20:41000")));
  EXPECT_TRUE(has(b->plan, endpoint("203.0.113.10:40000")));

  // Strategies from the published profiles: towards Bob's sequential symmetric NAT, port
  // prediction from his reflexive endpoint; towards Alice's cone, simultaneous open.
  EXPECT_EQ(a->plan.strategy, tunnel::PunchStrategy::kPortPrediction);
  EXPECT_EQ(a->plan.prediction.base, endpoint("203.0.113.20:41000"));
  EXPECT_EQ(a->plan.prediction.delta, 1);
  EXPECT_EQ(b->plan.strategy, tunnel::PunchStrategy::kSimultaneousOpen);

  // Both PunchStarts left the supernode together; they arrive 10 and 30 ms later, and the
  // waits make up the difference: one synchronised start.
  EXPECT_EQ(b->received_at - a->received_at, std::chrono::milliseconds(20));
  EXPECT_EQ(a->received_at + a->plan.start_after, b->received_at + b->plan.start_after);
  EXPECT_GT(b->plan.start_after, Duration::zero());

  EXPECT_EQ(s1.handshake_counters().accepted, 1u);
  ASSERT_TRUE(sc.run_for(seconds(10)));
  EXPECT_EQ(sc.count<ev::PunchStarted>(alice), 1u) << "reported once despite retransmissions";
  EXPECT_EQ(sc.count<ev::PunchStarted>(bob), 1u);
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice) + sc.count<ev::RequestFailed>(bob), 0u);
}

// PunchStarted carries everything a HolePunch needs: configured from the two events alone, the
// two attempts (here on public addresses) start together and establish.
TEST_F(PeerTunnelNegotiation, PunchStartedIsEnoughToConfigureAWorkingHolePunch) {
  alice.connect(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(2)));
  bob.accept(sc.net.now(), alice.id());
  auto a = sc.wait_for<ev::PunchStarted>(alice, seconds(2));
  auto b = sc.wait_for<ev::PunchStarted>(bob, seconds(2));
  ASSERT_TRUE(a && b) << sc.transcript();
  auto config = [](const PeerSession& me, const ev::PunchStarted& e) {
    tunnel::HolePunchConfig c;
    c.identity = me.identity();
    c.remote = e.peer;
    c.attempt_nonce = e.nonce;
    c.locals = {e.local};
    c.remote_candidates = e.plan.remote_candidates;
    c.strategy = e.plan.strategy;
    c.prediction = e.plan.prediction;
    c.birthday = e.plan.birthday;
    c.start = e.received_at + e.plan.start_after;
    c.deadline = e.plan.deadline;
    return c;
  };
  ASSERT_EQ(a->plan.local_sockets, 1u);
  ASSERT_EQ(b->plan.local_sockets, 1u);
  tunnel::HolePunch pa(config(alice, *a), Random::from_u64(11));
  tunnel::HolePunch pb(config(bob, *b), Random::from_u64(12));
  VirtualNetwork punch_net(13, a->received_at);
  punch_net.add_node("alice", pa, {a->local});
  punch_net.add_node("bob", pb, {b->local});
  ASSERT_TRUE(punch_net.run_until([&] { return pa.finished() && pb.finished(); }, seconds(5)));
  EXPECT_TRUE(pa.established());
  EXPECT_TRUE(pb.established());
}

// With 20 % of every link's datagrams lost, requests and pushes are retransmitted: the
// negotiation still completes, each event is reported once, and both sides share one attempt.
TEST_F(PeerTunnelNegotiation, CompletesOnceUnderLoss) {
  for (const char* peer : {"alice", "bob", "carol"})
    sc.net.set_link(sc.node(peer), sc.node("S1"), {std::chrono::milliseconds(20), 0.2});
  const std::uint64_t req = alice.connect(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(10))) << sc.transcript();
  bob.accept(sc.net.now(), alice.id());
  ASSERT_TRUE(sc.net.run_until(
      [&] {
        return sc.count<ev::PunchStarted>(alice) == 1 && sc.count<ev::PunchStarted>(bob) == 1;
      },
      seconds(20)))
      << sc.transcript();
  ASSERT_TRUE(sc.run_for(seconds(30)));  // every retransmission timer runs out
  EXPECT_EQ(sc.count<ev::TunnelRequested>(bob), 1u);
  ASSERT_EQ(sc.count<ev::PunchStarted>(alice), 1u);
  ASSERT_EQ(sc.count<ev::PunchStarted>(bob), 1u);
  const auto a = sc.all<ev::PunchStarted>(alice)[0];
  const auto b = sc.all<ev::PunchStarted>(bob)[0];
  EXPECT_EQ(a.request, req);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.nonce, b.nonce);
  EXPECT_EQ(s1.handshake_counters().connects, 1u);
  EXPECT_EQ(s1.handshake_counters().accepted, 1u);
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice) + sc.count<ev::RequestFailed>(bob), 0u)
      << sc.transcript();
}

TEST_F(PeerTunnelNegotiation, RefusalReachesTheCaller) {
  const std::uint64_t req = alice.connect(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(2))) << sc.transcript();
  bob.refuse(sc.net.now(), alice.id(), "not now");
  auto refused = sc.wait_for<ev::TunnelRefused>(alice, seconds(2));
  ASSERT_TRUE(refused) << sc.transcript();
  EXPECT_EQ(refused->request, req);
  EXPECT_EQ(refused->peer, bob.id());
  EXPECT_EQ(refused->reason, "not now");
  ASSERT_TRUE(sc.run_for(seconds(5)));
  EXPECT_EQ(sc.count<ev::PunchStarted>(alice) + sc.count<ev::PunchStarted>(bob), 0u);
  // The offer is answered: a second answer fails at once.
  bob.accept(sc.net.now(), alice.id());
  auto failed = sc.wait_for<ev::RequestFailed>(bob, seconds(1));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->command, "accept");
}

TEST_F(PeerTunnelNegotiation, UnknownPeerFailsTheRequest) {
  const std::uint64_t req = alice.connect(sc.net.now(), sc.stranger("nobody"));
  auto failed = sc.wait_for<ev::RequestFailed>(alice, seconds(2));
  ASSERT_TRUE(failed) << sc.transcript();
  EXPECT_EQ(failed->request, req);
  EXPECT_EQ(failed->command, "connect");
  EXPECT_NE(failed->reason.find("unknown"), std::string::npos) << failed->reason;
}

TEST_F(PeerTunnelNegotiation, UnansweredRequestIsRefusedAsTimeout) {
  const std::uint64_t req = alice.connect(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(2)));
  const Instant asked = sc.net.now();
  auto refused = sc.wait_for<ev::TunnelRefused>(alice, kNegotiationTimeout + seconds(5));
  ASSERT_TRUE(refused) << sc.transcript();
  EXPECT_EQ(refused->request, req);
  EXPECT_EQ(refused->reason, "timeout");
  EXPECT_GE(sc.net.now() - asked, kNegotiationTimeout - seconds(1));
  // Bob answering afterwards learns the offer is gone.
  bob.accept(sc.net.now(), alice.id());
  auto failed = sc.wait_for<ev::RequestFailed>(bob, seconds(2));
  ASSERT_TRUE(failed) << sc.transcript();
  EXPECT_EQ(failed->command, "accept");
}

TEST_F(PeerTunnelNegotiation, NoOneCanAnswerAnOfferNotMadeToThem) {
  alice.connect(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(2)));
  // Carol got no offer: her accept fails locally, without reaching the supernode.
  const std::uint64_t req = carol.accept(sc.net.now(), alice.id());
  auto failed = sc.wait_for<ev::RequestFailed>(carol, seconds(1));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->request, req);
  EXPECT_EQ(sc.count<ev::PunchStarted>(alice), 0u);
  EXPECT_EQ(s1.handshake_counters().answers_unexpected, 0u);
}

TEST_F(PeerTunnelNegotiation, JunkFromTheSupernodeAddressIsDroppedAndCounted) {
  const Endpoint sn = config.primary;
  const Endpoint local = endpoint("203.0.113.10:40000");
  const auto before = alice.counters();
  // A truncated tunnel-offer body.
  Bytes offer;
  wire::encode({1, wire::TunnelOffer{{alice.id(), true, local, {}, {}}, 5}}, offer);
  offer.resize(offer.size() - 3);
  offer[7] = static_cast<std::uint8_t>(offer.size() - wire::kHeaderSize);
  alice.handle_datagram(sc.net.now(), local, sn, offer.data(), offer.size());
  // A well-formed punch-start outside the session: never trusted.
  Bytes start;
  wire::encode({2, wire::PunchStart{bob.id(), 5, {}, true, {}, {}}}, start);
  alice.handle_datagram(sc.net.now(), local, sn, start.data(), start.size());
  EXPECT_EQ(alice.counters().dropped_malformed, before.dropped_malformed + 1);
  EXPECT_EQ(alice.counters().dropped_unexpected, before.dropped_unexpected + 1);
  ASSERT_TRUE(sc.run_for(seconds(1)));
  EXPECT_EQ(sc.count<ev::PunchStarted>(alice) + sc.count<ev::TunnelRequested>(alice), 0u);
}

}  // namespace
}  // namespace qp2p::scenario
