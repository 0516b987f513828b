// Failover across a federation (docs/protocol.md sections 8.7 and 8.8): three federated
// supernodes S1, S2, S3 on the virtual network; alice and bob are configured with S1 alone and
// learn the other two from S1's supernode-list push. With a direct tunnel between them, S1 dies
// (or announces its shutdown): both log in to another supernode within seconds of virtual
// time, publish their record and renew their watch there, report the move, and the tunnel
// carries data throughout without a tunnel event. With every supernode gone a peer keeps
// trying, backing off, and says so; it logs in as soon as one comes back.
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "tests/stack/peer/peer_scenario.h"
#include "tests/stack/peer/tunnel_pair.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

constexpr char kSecret[] = "federated failover test network secret 0123456789";

SupernodeConfig federated(std::string_view primary, std::string_view alternate,
                          std::vector<Endpoint> seeds) {
  SupernodeConfig c = supernode_config(primary, alternate);
  c.keepalive_interval = seconds(1);
  c.peer_expiry = seconds(5);
  c.turn.unix_offset_us = 1'780'000'000'000'000;  // membership stamps use wall time
  c.network_secret = kSecret;
  c.seeds = std::move(seeds);
  return c;
}

std::size_t live_members(const Supernode& s) { return s.federation()->members().size(); }

struct FederatedFailover : ::testing::Test {
  PeerScenario sc{808};
  SupernodeConfig c1 = federated("192.0.2.1:3478", "192.0.2.1:3479", {});
  SupernodeConfig c2 = federated("198.51.100.1:3478", "198.51.100.1:3479", {c1.primary});
  SupernodeConfig c3 = federated("192.0.2.3:3478", "192.0.2.3:3479", {c1.primary});
  Supernode& s1 = sc.add_supernode("S1", c1);
  Supernode& s2 = sc.add_supernode("S2", c2);
  Supernode& s3 = sc.add_supernode("S3", c3);
  PeerSession& alice = sc.add_peer("alice", with_auto_accept(peer_config(
                                                "203.0.113.10:40000", {c1.primary},
                                                {{"name", "alice"}}), false));
  PeerSession& bob = sc.add_peer(
      "bob", with_auto_accept(peer_config("203.0.113.20:41000", {c1.primary}), true));

  static PeerConfig with_auto_accept(PeerConfig c, bool on) {
    c.auto_accept_tunnels = on;
    return c;
  }

  void SetUp() override {
    ASSERT_TRUE(sc.net.run_until(
        [&] { return live_members(s1) == 3 && live_members(s2) == 3 && live_members(s3) == 3; },
        seconds(30)))
        << "the federation did not form";
    alice.start(sc.net.now());
    bob.start(sc.net.now());
    // Logged in at S1, each told the three live supernodes.
    const auto knows_all = [&](const PeerSession& p) {
      return p.registered() && p.known_supernodes().size() == 3;
    };
    ASSERT_TRUE(sc.net.run_until([&] { return knows_all(alice) && knows_all(bob); }, seconds(5)))
        << sc.transcript();
    ASSERT_EQ(alice.current_supernode(), c1.primary);
    EXPECT_EQ(alice.known_supernodes().front(), c1.primary) << "the current one first";
    auto list = sc.find<ev::SupernodeList>(alice);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->supernodes.size(), 3u);
    EXPECT_EQ(list->supernodes.front(), c1.primary) << "the sender lists itself first";
    alice.watch(sc.net.now(), bob.id());
    ASSERT_TRUE(sc.wait_for<ev::Watching>(alice, seconds(2))) << sc.transcript();
    // A direct tunnel between them, through S1's handshake service.
    alice.connect(sc.net.now(), bob.id());
    ASSERT_TRUE(sc.wait_for<ev::TunnelEstablished>(alice, seconds(5))) << sc.transcript();
    if (!sc.find<ev::TunnelEstablished>(bob)) {
      ASSERT_TRUE(sc.wait_for<ev::TunnelEstablished>(bob, seconds(5))) << sc.transcript();
    }
    ASSERT_TRUE(carried("before"));
  }

  bool carried(const std::string& text) {
    if (!alice.tunnel_send(sc.net.now(), bob.id(), bytes_of(text).data(), text.size()))
      return false;
    return sc
        .wait_for<ev::TunnelData>(bob, seconds(2),
                                  [&](const ev::TunnelData& d) { return text_of(d.bytes) == text; })
        .has_value();
  }

  // Runs until `p` reports its move; the time it took from `since`.
  std::optional<Duration> moved(PeerSession& p, Instant since, std::size_t mark) {
    if (!sc.find<ev::SupernodeChanged>(p, mark) &&
        !sc.wait_for<ev::SupernodeChanged>(p, seconds(30)))
      return std::nullopt;
    return *sc.time_of<ev::SupernodeChanged>(p, mark) - since;
  }

  void expect_tunnels_untouched() {
    for (PeerSession* p : {&alice, &bob}) {
      EXPECT_EQ(sc.count<ev::TunnelClosed>(*p), 0u) << sc.transcript();
      EXPECT_EQ(sc.count<ev::TunnelEstablished>(*p), 1u) << "no second tunnel";
    }
    EXPECT_TRUE(alice.tunnels().has_tunnel(bob.id()));
    EXPECT_TRUE(bob.tunnels().has_tunnel(alice.id()));
  }
};

TEST_F(FederatedFailover, SupernodeDiesPeersMoveWithinSecondsTunnelKeepsCarrying) {
  const std::size_t mark_a = sc.log(alice).size(), mark_b = sc.log(bob).size();
  const Instant died_at = sc.net.now();
  sc.set_offline("S1", true);
  // The tunnel does not notice: data flows while the peers look for a supernode.
  EXPECT_TRUE(carried("while S1 is dead"));

  auto took_a = moved(alice, died_at, mark_a);
  ASSERT_TRUE(took_a) << sc.transcript();
  auto took_b = moved(bob, died_at, mark_b);
  ASSERT_TRUE(took_b) << sc.transcript();
  std::cout << "[ failover ] supernode killed -> logged in elsewhere: alice " << to_ms(*took_a)
            << " ms, bob " << to_ms(*took_b) << " ms of virtual time (keepalive 1 s)\n";
  // One keepalive interval (1 s) + the silence limit (4 s) + the pause (0.5 s) + a login.
  for (Duration took : {*took_a, *took_b}) EXPECT_LE(took, seconds(6)) << to_ms(took);

  const auto changed = *sc.find<ev::SupernodeChanged>(alice, mark_a);
  EXPECT_EQ(changed.reason, "failover");
  EXPECT_NE(changed.supernode_endpoint, c1.primary);
  EXPECT_TRUE(changed.supernode == s2.identity().id() || changed.supernode == s3.identity().id());
  EXPECT_EQ(alice.current_supernode(), changed.supernode_endpoint);
  auto down = sc.find<ev::Disconnected>(alice, mark_a);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->supernode_endpoint, c1.primary);
  EXPECT_EQ(down->reason, "no answer to keepalives");

  // Her record moved with her (published anew there) and her watch was renewed.
  auto published = sc.wait_for<ev::Published>(alice, seconds(2));
  if (!published) published = sc.find<ev::Published>(alice, mark_a);
  ASSERT_TRUE(published) << sc.transcript();
  EXPECT_EQ(sc.count<ev::Watching>(alice), 2u) << sc.transcript();
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice), 0u) << sc.transcript();

  EXPECT_TRUE(carried("after the failover"));
  ASSERT_TRUE(sc.run_for(seconds(20)));
  EXPECT_TRUE(carried("20 s later"));
  expect_tunnels_untouched();
  EXPECT_EQ(alice.counters().failovers, 1u);

  // The survivors declare S1 dead and tell their peers: S1 leaves the lists pushed to them
  // (it was there until then: suspected members are listed, last).
  const auto two = [](const ev::SupernodeList& l) { return l.supernodes.size() == 2; };
  auto shorter = sc.find<ev::SupernodeList>(alice, mark_a, two);
  if (!shorter) shorter = sc.wait_for<ev::SupernodeList>(alice, seconds(30), two);
  ASSERT_TRUE(shorter) << sc.transcript();
  EXPECT_EQ(shorter->supernodes.front(), alice.current_supernode());
  ASSERT_EQ(alice.known_supernodes().size(), 3u);
  EXPECT_EQ(alice.known_supernodes().back(), c1.primary) << "the configured one stays, last";
}

TEST_F(FederatedFailover, SupernodeLeavingMovesPeersAtOnce) {
  const std::size_t mark_a = sc.log(alice).size(), mark_b = sc.log(bob).size();
  const Instant told_at = sc.net.now();
  s1.announce_leaving(sc.net.now(), {});  // names the live members itself

  auto took_a = moved(alice, told_at, mark_a);
  ASSERT_TRUE(took_a) << sc.transcript();
  auto took_b = moved(bob, told_at, mark_b);
  ASSERT_TRUE(took_b) << sc.transcript();
  std::cout << "[ failover ] supernode-leaving -> logged in elsewhere: alice " << to_ms(*took_a)
            << " ms, bob " << to_ms(*took_b) << " ms of virtual time\n";
  // A push, its ack, and a login elsewhere: a few round trips, no pause.
  for (Duration took : {*took_a, *took_b}) EXPECT_LE(took, milliseconds(500)) << to_ms(took);

  auto leaving = sc.find<ev::SupernodeLeaving>(alice, mark_a);
  ASSERT_TRUE(leaving);
  EXPECT_EQ(leaving->alternatives.size(), 2u) << "S2 and S3";
  EXPECT_EQ(sc.find<ev::SupernodeChanged>(alice, mark_a)->reason, "leaving");
  EXPECT_EQ(sc.find<ev::Disconnected>(alice, mark_a)->retry_in, Duration::zero());
  EXPECT_NE(alice.current_supernode(), c1.primary);
  EXPECT_NE(bob.current_supernode(), c1.primary);
  // Every leaving push was acked: the supernode may stop at once.
  ASSERT_TRUE(sc.net.run_until([&] { return s1.pushes_in_flight() == 0; }, seconds(2)));
  EXPECT_TRUE(carried("after the move"));
  expect_tunnels_untouched();
  // S1 told the federation it left: the others no longer list it to their peers.
  ASSERT_TRUE(sc.net.run_until([&] { return live_members(s2) == 2 && live_members(s3) == 2; },
                               seconds(5)));
}

TEST_F(FederatedFailover, WithNoSupernodeLeftThePeerKeepsTryingAndSaysSo) {
  const std::size_t mark = sc.log(alice).size();
  for (const char* s : {"S1", "S2", "S3"}) sc.set_offline(s, true);
  ASSERT_TRUE(sc.run_for(seconds(150)));
  const auto downs = sc.all<ev::Disconnected>(alice);
  // Attempts go round the list with pauses doubling up to max_failover_delay (the first round
  // with the short login schedule, later ones with the full one): a bounded count.
  ASSERT_GE(downs.size(), 9u) << sc.transcript();
  EXPECT_LE(downs.size(), 20u) << sc.transcript();
  for (std::size_t i = 1; i < downs.size(); ++i) EXPECT_GE(downs[i].retry_in, downs[i - 1].retry_in);
  EXPECT_EQ(downs.back().retry_in, seconds(4)) << "backed off to max_failover_delay";
  EXPECT_FALSE(alice.registered());
  EXPECT_TRUE(carried("no supernode at all"));
  EXPECT_EQ(sc.count<ev::SupernodeChanged>(alice), 0u);

  // One comes back: the peer is in again within a round of attempts.
  sc.set_offline("S3", false);
  auto reg = sc.wait_for<ev::Registered>(alice, seconds(50));
  ASSERT_TRUE(reg) << sc.transcript();
  EXPECT_EQ(reg->supernode, s3.identity().id());
  EXPECT_EQ(sc.find<ev::SupernodeChanged>(alice, mark)->reason, "failover");
  expect_tunnels_untouched();
}

}  // namespace
}  // namespace qp2p::scenario
