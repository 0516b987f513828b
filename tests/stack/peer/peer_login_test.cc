// A peer logs in to a real supernode over the virtual network: it registers and learns its
// mapped endpoint, keepalives keep it online for many expiry periods, and a first supernode that
// is unreachable, dead or refusing makes it fail over to the second.
#include <gtest/gtest.h>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

constexpr std::uint64_t kSeed = 101;

SupernodeConfig s1_config() { return supernode_config("192.0.2.1:3478", "192.0.2.1:3479"); }
SupernodeConfig s2_config() { return supernode_config("198.51.100.1:3478", "198.51.100.1:3479"); }

// Short timers, so that many expiry periods pass quickly.
SupernodeConfig short_timers(SupernodeConfig c) {
  c.peer_expiry = seconds(3);
  c.keepalive_interval = seconds(1);
  return c;
}

TEST(PeerLogin, RegistersAndLearnsItsMappedEndpoint) {
  PeerScenario sc(kSeed);
  Supernode& s1 = sc.add_supernode("S1", s1_config());
  PeerSession& alice =
      sc.add_peer("alice", peer_config("203.0.113.10:40000", {s1_config().primary}));
  alice.start(sc.net.now());

  auto reg = sc.wait_for<ev::Registered>(alice, seconds(2));
  ASSERT_TRUE(reg) << sc.transcript();
  EXPECT_EQ(reg->supernode, s1.identity().id());
  EXPECT_EQ(reg->supernode_endpoint, s1_config().primary);
  // No NAT on the path: the supernode sees the peer's own socket.
  EXPECT_EQ(reg->mapped, endpoint("203.0.113.10:40000"));
  EXPECT_TRUE(alice.registered());
  EXPECT_EQ(alice.mapped(), endpoint("203.0.113.10:40000"));
  EXPECT_EQ(s1.online_peers(), 1u);
  EXPECT_EQ(s1.counters().logins, 1u);
  // Hello, Challenge, Login, LoginOk: two round trips of 10 ms.
  EXPECT_EQ(*sc.time_of<ev::Registered>(alice), instant_from_us(20'000));
}

TEST(PeerLogin, KeepalivesKeepThePeerOnlinePastManyExpiryPeriods) {
  PeerScenario sc(kSeed);
  Supernode& s1 = sc.add_supernode("S1", short_timers(s1_config()));
  PeerSession& alice =
      sc.add_peer("alice", peer_config("203.0.113.10:40000", {s1_config().primary}));
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {s1_config().primary}));
  alice.start(sc.net.now());
  bob.start(sc.net.now());
  ASSERT_TRUE(sc.wait_for<ev::Registered>(alice, seconds(2)));

  // Ten expiry periods of 3 s.
  ASSERT_TRUE(sc.run_for(seconds(30))) << sc.net.error();
  EXPECT_EQ(s1.counters().expiries, 0u);
  EXPECT_EQ(s1.online_peers(), 2u);
  EXPECT_TRUE(alice.registered());
  EXPECT_EQ(sc.count<ev::Disconnected>(alice), 0u) << sc.transcript();
  EXPECT_EQ(sc.count<ev::Registered>(alice), 1u);
  EXPECT_EQ(alice.counters().failovers, 0u);
  // About one keepalive a second from each peer (plus login), nothing dropped as unknown.
  EXPECT_GE(s1.counters().datagrams_in, 2u * 28u);
  EXPECT_EQ(s1.counters().dropped_control_unauthenticated, 0u);

  // Another peer still sees alice online.
  const std::uint64_t req = bob.lookup(sc.net.now(), alice.id());
  auto found = sc.wait_for<ev::LookupDone>(bob, seconds(1));
  ASSERT_TRUE(found) << sc.transcript();
  EXPECT_EQ(found->request, req);
  EXPECT_TRUE(found->info.online);
}

TEST(PeerLogin, FailsOverFromAnUnreachableFirstSupernode) {
  PeerScenario sc(kSeed);
  Supernode& s2 = sc.add_supernode("S2", s2_config());
  // Nobody owns 192.0.2.99: every datagram to it vanishes.
  const Endpoint nowhere = endpoint("192.0.2.99:3478");
  PeerSession& alice =
      sc.add_peer("alice", peer_config("203.0.113.10:40000", {nowhere, s2_config().primary}));
  alice.start(sc.net.now());

  auto reg = sc.wait_for<ev::Registered>(alice, seconds(30));
  ASSERT_TRUE(reg) << sc.transcript();
  EXPECT_EQ(reg->supernode, s2.identity().id());
  EXPECT_EQ(reg->supernode_endpoint, s2_config().primary);

  const auto& log = sc.log(alice);
  ASSERT_EQ(log.size(), 2u) << sc.transcript();
  auto* down = std::get_if<ev::Disconnected>(&log[0].event);
  ASSERT_NE(down, nullptr) << sc.transcript();
  EXPECT_EQ(down->supernode_endpoint, nowhere);
  EXPECT_NE(down->reason.find("login"), std::string::npos) << down->reason;
  EXPECT_TRUE(std::holds_alternative<ev::Registered>(log[1].event));
  EXPECT_EQ(alice.counters().failovers, 1u);
  EXPECT_GT(sc.net.counters().dropped_unroutable, 0u);
  // With another supernode to try, the Hello's short first-round schedule (3.75 s,
  // PeerConfig::failover_login_retransmit) gives up on a silent supernode.
  EXPECT_GE(log[0].at, instant_from_us(3'500'000));
  EXPECT_LE(log[0].at, instant_from_us(4'000'000));
  EXPECT_LE(log[1].at - log[0].at, milliseconds(600));
}

TEST(PeerLogin, FailsOverFromADeadFirstSupernode) {
  PeerScenario sc(kSeed);
  sc.add_supernode("S1", s1_config());
  Supernode& s2 = sc.add_supernode("S2", s2_config());
  sc.set_offline("S1", true);
  PeerSession& alice = sc.add_peer(
      "alice", peer_config("203.0.113.10:40000", {s1_config().primary, s2_config().primary}));
  alice.start(sc.net.now());

  auto reg = sc.wait_for<ev::Registered>(alice, seconds(30));
  ASSERT_TRUE(reg) << sc.transcript();
  EXPECT_EQ(reg->supernode, s2.identity().id());
  ASSERT_EQ(sc.count<ev::Disconnected>(alice), 1u) << sc.transcript();
  EXPECT_EQ(sc.all<ev::Disconnected>(alice)[0].supernode_endpoint, s1_config().primary);
  EXPECT_EQ(s2.online_peers(), 1u);
}

TEST(PeerLogin, FailsOverFromARefusingFirstSupernode) {
  PeerScenario sc(kSeed);
  SupernodeConfig full = s1_config();
  full.max_peers = 0;  // refuses every login with "supernode full"
  Supernode& s1 = sc.add_supernode("S1", full);
  Supernode& s2 = sc.add_supernode("S2", s2_config());
  PeerSession& alice = sc.add_peer(
      "alice", peer_config("203.0.113.10:40000", {s1_config().primary, s2_config().primary}));
  alice.start(sc.net.now());

  auto reg = sc.wait_for<ev::Registered>(alice, seconds(5));
  ASSERT_TRUE(reg) << sc.transcript();
  EXPECT_EQ(reg->supernode, s2.identity().id());
  auto down = sc.find<ev::Disconnected>(alice);
  ASSERT_TRUE(down);
  EXPECT_NE(down->reason.find("supernode full"), std::string::npos) << down->reason;
  EXPECT_EQ(s1.counters().rejected_login, 1u);
  // A refusal is immediate: no retransmission schedule to wait out.
  EXPECT_LE(*sc.time_of<ev::Registered>(alice), instant_from_us(1'000'000));
}

// A path slower than the initial retransmission timeout (250 ms): the Login is retransmitted
// before its LoginOk arrives and the supernode handles it twice. The peer must still end up with
// a working session and stay registered.
TEST(PeerLogin, StaysRegisteredOverAPathSlowerThanTheRetransmissionTimeout) {
  PeerScenario sc(kSeed);
  Supernode& s1 = sc.add_supernode("S1", short_timers(s1_config()));
  PeerSession& alice =
      sc.add_peer("alice", peer_config("203.0.113.10:40000", {s1_config().primary}));
  sc.net.set_default_link(harness::LinkConditions{milliseconds(200), 0.0});
  alice.start(sc.net.now());

  ASSERT_TRUE(sc.wait_for<ev::Registered>(alice, seconds(5))) << sc.transcript();
  ASSERT_TRUE(sc.run_for(seconds(30))) << sc.net.error();
  EXPECT_EQ(sc.count<ev::Disconnected>(alice), 0u) << sc.transcript();
  EXPECT_EQ(sc.count<ev::Registered>(alice), 1u) << sc.transcript();
  EXPECT_EQ(s1.online_peers(), 1u);
  EXPECT_EQ(s1.counters().expiries, 0u);
  EXPECT_EQ(s1.counters().dropped_control_unauthenticated, 0u)
      << "the peer sealed with a session the supernode had already replaced";
}

// A NAT plugged in through the network's rewriter: alice's datagrams leave from a mapped
// endpoint, which the NAT later rebinds to a new port (as NATs do after an idle timeout). The
// supernode follows the authenticated traffic to the new mapping and alice learns it from her
// next keepalive ack.
TEST(PeerLogin, MappedEndpointFollowsANatRebinding) {
  PeerScenario sc(kSeed);
  Supernode& s1 = sc.add_supernode("S1", short_timers(s1_config()));
  const Endpoint inside = endpoint("203.0.113.10:40000");
  PeerSession& alice =
      sc.add_peer("alice", peer_config("203.0.113.10:40000", {s1_config().primary}));
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {s1_config().primary}));
  const auto alice_node = sc.node(alice);
  Endpoint mapping = endpoint("198.51.100.77:5000");
  sc.net.add_rewriter([&](Instant, VirtualNetwork::NodeId from, Endpoint& src, Endpoint& dst) {
    if (from == alice_node && src == inside) {
      src = mapping;
      return true;
    }
    if (dst.address == mapping.address) {
      if (dst != mapping) return false;  // a stale mapping: the NAT drops it
      dst = inside;
    }
    return true;
  });
  alice.start(sc.net.now());
  bob.start(sc.net.now());
  auto reg = sc.wait_for<ev::Registered>(alice, seconds(2));
  ASSERT_TRUE(reg) << sc.transcript();
  EXPECT_EQ(reg->mapped, endpoint("198.51.100.77:5000"));

  mapping = endpoint("198.51.100.77:6000");
  ASSERT_TRUE(sc.run_for(seconds(3)));
  EXPECT_EQ(alice.mapped(), mapping) << "learnt from a KeepaliveAck";
  EXPECT_EQ(sc.count<ev::Disconnected>(alice), 0u) << sc.transcript();
  EXPECT_EQ(s1.online_peers(), 2u);

  bob.lookup(sc.net.now(), alice.id());
  auto found = sc.wait_for<ev::LookupDone>(bob, seconds(1));
  ASSERT_TRUE(found) << sc.transcript();
  EXPECT_EQ(found->info.mapped, mapping);
  bob.send_message(sc.net.now(), alice.id(), "still there?");
  auto got = sc.wait_for<ev::MessageReceived>(alice, seconds(1));
  ASSERT_TRUE(got) << sc.transcript();
  EXPECT_EQ(got->text, "still there?");
}

// Every request id gets an outcome (peer_session.h: "their outcome arrives later as a
// PeerEvent naming that id"), also when the peer logs out with requests still queued (not yet
// registered) or in flight (sent to a supernode that no longer answers).
TEST(PeerLogin, LogoutResolvesEveryOutstandingRequest) {
  PeerScenario sc(kSeed);
  sc.add_supernode("S1", short_timers(s1_config()));
  PeerSession& alice =
      sc.add_peer("alice", peer_config("203.0.113.10:40000", {s1_config().primary}));
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {s1_config().primary}));
  const PeerId nobody = sc.stranger("nobody");

  // Queued: bob cannot reach S1 and never registers.
  sc.set_offline("bob", true);
  bob.start(sc.net.now());
  ASSERT_TRUE(sc.run_for(milliseconds(100)));
  const std::uint64_t queued = bob.lookup(sc.net.now(), nobody);
  bob.logout(sc.net.now());
  ASSERT_TRUE(sc.run_for(milliseconds(100)));
  EXPECT_EQ(sc.count<ev::LoggedOut>(bob), 1u);
  EXPECT_TRUE(sc.find<ev::RequestFailed>(bob, 0, [&](const ev::RequestFailed& f) {
    return f.request == queued;
  })) << sc.transcript();

  // In flight: alice is registered, then S1 stops answering.
  alice.start(sc.net.now());
  ASSERT_TRUE(sc.wait_for<ev::Registered>(alice, seconds(2)));
  sc.set_offline("S1", true);
  const std::uint64_t in_flight = alice.lookup(sc.net.now(), nobody);
  ASSERT_TRUE(sc.run_for(milliseconds(100)));
  alice.logout(sc.net.now());
  ASSERT_TRUE(sc.wait_for<ev::LoggedOut>(alice, seconds(20))) << sc.transcript();
  ASSERT_TRUE(sc.run_for(seconds(1)));
  EXPECT_TRUE(sc.find<ev::RequestFailed>(alice, 0, [&](const ev::RequestFailed& f) {
    return f.request == in_flight;
  })) << sc.transcript();
}

}  // namespace
}  // namespace qp2p::scenario
