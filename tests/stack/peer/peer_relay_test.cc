// The relay fallback of tunnels through PeerSession (issue 4: "when the direct attempt has not
// succeeded within a deadline, the tunnel goes through the relay service"): the direct path
// between the peers is cut, the direct attempt fails at its deadline, the callee allocates on
// its supernode's TURN service with the credentials from its PunchStart, the caller learns the
// relayed address through the handshake service, and both report a tunnel with path kRelay
// that carries data both ways; closing it deletes the allocation. Without a relay service the
// failure is reported, naming why.
#include <gtest/gtest.h>

#include <string>

#include "tests/stack/peer/tunnel_pair.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

SupernodeConfig relay_supernode_config(bool turn_on) {
  SupernodeConfig c = supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
  if (turn_on) {
    c.turn.secret = "relay-test-secret";
    c.turn.min_port = 50000;
    c.turn.max_port = 50099;
  }
  return c;
}

// No direct path: every datagram between the peers is lost.
struct PeerRelay : ::testing::TestWithParam<bool>, TunnelPair {
  PeerRelay() : TunnelPair(777, relay_supernode_config(GetParam())) {}
  void SetUp() override { start(1.0); }
};

TEST_P(PeerRelay, DirectFailureFallsBackToTheRelayOrSaysWhyNot) {
  alice.connect(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(2))) << sc.transcript();
  bob.accept(sc.net.now(), alice.id());
  ASSERT_TRUE(sc.wait_for<ev::PunchStarted>(alice, seconds(2))) << sc.transcript();
  const Instant punch_started = sc.net.now();

  if (!GetParam()) {
    auto closed = sc.wait_for<ev::TunnelClosed>(alice, seconds(20));
    ASSERT_TRUE(closed) << sc.transcript();
    EXPECT_NE(closed->reason.find("offers no relay"), std::string::npos) << closed->reason;
    EXPECT_FALSE(sc.find<ev::TunnelEstablished>(alice));
    // The caller reports the failure (docs/protocol.md section 8.9): counted as failed, once.
    ASSERT_TRUE(sc.net.run_until([&] { return s1.handshake_counters().outcomes > 0; }, seconds(2)));
    sc.net.run_for(seconds(15));  // every copy of the report, and bob's side, have had their time
    EXPECT_EQ(outcomes().outcome_failed, 1u);
    EXPECT_EQ(outcomes().outcome_direct + outcomes().outcome_relay, 0u);
    EXPECT_EQ(s1.handshake_counters().outcomes, 1u);
    return;
  }

  auto a = sc.wait_for<ev::TunnelEstablished>(alice, seconds(40));
  ASSERT_TRUE(a) << sc.transcript();
  if (!sc.find<ev::TunnelEstablished>(bob)) {
    ASSERT_TRUE(sc.wait_for<ev::TunnelEstablished>(bob, seconds(5))) << sc.transcript();
  }
  const auto b = *sc.find<ev::TunnelEstablished>(bob);
  EXPECT_EQ(a->path, tunnel::Path::kRelay);
  EXPECT_EQ(b.path, tunnel::Path::kRelay);
  // Alice sends to Bob's relayed address on the supernode; Bob runs from it.
  EXPECT_EQ(a->remote.address, config.primary.address);
  EXPECT_EQ(b.local, a->remote);
  EXPECT_GE(a->remote.port, 50000);
  EXPECT_LE(a->remote.port, 50099);
  // The direct attempt had its deadline (10 s) first; the fallback is a few round trips more.
  EXPECT_GE(sc.net.now() - punch_started, tunnel::kDefaultPunchDeadline);
  EXPECT_LE(sc.net.now() - punch_started, tunnel::kDefaultPunchDeadline + seconds(2));
  EXPECT_EQ(s1.relay_allocations(), 1u);
  EXPECT_EQ(s1.handshake_counters().relays, 1u);
  // The caller reported the relayed tunnel once, with its setup time (section 8.9).
  ASSERT_TRUE(sc.net.run_until([&] { return s1.handshake_counters().outcomes > 0; }, seconds(2)));
  EXPECT_EQ(outcomes().outcome_relay, 1u);
  EXPECT_EQ(outcomes().relay_setup.count, 1u);
  EXPECT_EQ(outcomes().relay_setup.sum_ms,
            static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(a->setup).count()));
  EXPECT_EQ(outcomes().outcome_direct + outcomes().outcome_failed, 0u);

  EXPECT_TRUE(carried(alice, bob, "through the relay")) << sc.transcript();
  EXPECT_TRUE(carried(bob, alice, "and back")) << sc.transcript();
  // Bound to a channel once up (ChannelData, not Send indications).
  sc.net.run_for(seconds(1));
  ASSERT_NE(bob.tunnels().relay_port().client(), nullptr);
  EXPECT_TRUE(bob.tunnels().relay_port().client()->channel(bob.tunnels().tunnel(alice.id())->remote()));
  EXPECT_TRUE(carried(bob, alice, "over the channel")) << sc.transcript();
  EXPECT_GT(bob.tunnels().relay_port().client()->counters().channel_data_out, 0u);

  // A minute of keepalives later (permissions, channel and allocation refreshed) it still works.
  sc.net.run_for(seconds(400));
  EXPECT_TRUE(carried(alice, bob, "after 400 s")) << sc.transcript();
  EXPECT_TRUE(carried(bob, alice, "back after 400 s")) << sc.transcript();

  EXPECT_EQ(s1.handshake_counters().outcomes, 1u) << "one report: the callee does not report";

  // Closing the tunnel gives the allocation back.
  bob.tunnel_close(sc.net.now(), alice.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelClosed>(alice, seconds(2))) << sc.transcript();
  sc.net.run_for(seconds(2));
  EXPECT_EQ(s1.relay_allocations(), 0u);
}

// Loss on the callee's way to the relay (a burst, as 20% loss per link makes them): everything
// bob sends to its supernode is lost for the first 20 s of the fallback. RFC 8489's schedule
// would have its next Allocate copy at 31.5 s, after the 30 s the attempt gives the allocation;
// the relay port's copies (kRelayRetransmitPolicy) go every second for as long, so the address
// comes in time and the tunnel comes up through the relay.
TEST(PeerRelayLoss, AnAllocateLostForTwentySecondsStillGivesARelayedTunnel) {
  TunnelPair pair(779, relay_supernode_config(true));
  pair.start(1.0);
  PeerScenario& sc = pair.sc;
  PeerSession& alice = pair.alice;
  PeerSession& bob = pair.bob;
  alice.connect(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(2))) << sc.transcript();
  bob.accept(sc.net.now(), alice.id());
  ASSERT_TRUE(sc.wait_for<ev::PunchStarted>(bob, seconds(2))) << sc.transcript();
  // The direct attempt ends kDefaultPunchDeadline after its start (a few ms after this).
  const Instant fallback = sc.net.now() + tunnel::kDefaultPunchDeadline;
  const auto bob_node = sc.node("bob");
  const Endpoint relay_server = pair.config.primary;
  sc.net.add_rewriter([&](Instant now, auto from, Endpoint&, Endpoint& destination) {
    return !(from == bob_node && destination == relay_server && now >= fallback - seconds(1) &&
             now < fallback + seconds(20));
  });
  auto a = sc.wait_for<ev::TunnelEstablished>(alice, seconds(45));
  ASSERT_TRUE(a) << sc.transcript();
  EXPECT_EQ(a->path, tunnel::Path::kRelay);
  EXPECT_GE(sc.net.now(), fallback + seconds(20));
  ASSERT_TRUE(sc.net.run_until([&] { return bob.tunnels().has_tunnel(alice.id()); }, seconds(5)))
      << sc.transcript();
  ASSERT_NE(bob.tunnels().relay_port().client(), nullptr);
  EXPECT_GE(bob.tunnels().relay_port().client()->retransmissions(), 20u);
  EXPECT_TRUE(pair.carried(alice, bob, "through the relay after the burst")) << sc.transcript();
  EXPECT_TRUE(pair.carried(bob, alice, "and back")) << sc.transcript();
  EXPECT_FALSE(sc.find<ev::TunnelClosed>(alice));
  EXPECT_FALSE(sc.find<ev::TunnelClosed>(bob));
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutTurn, PeerRelay, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Turn" : "NoTurn"; });

}  // namespace
}  // namespace qp2p::scenario

namespace qp2p::scenario {
namespace {

// "A relayed tunnel keeps trying to upgrade to direct and switches without losing data": the
// direct path is blocked until the tunnel is relayed, then opens; both peers keep sending every
// 50 ms across the switch, and every message arrives.
struct PeerRelayUpgrade : ::testing::Test, TunnelPair {
  PeerRelayUpgrade() : TunnelPair(778, relay_supernode_config(true)) {}
  void SetUp() override { start(1.0); }
};

TEST_F(PeerRelayUpgrade, RelayedTunnelMovesToTheDirectPathWithoutLoss) {
  alice.connect(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(2))) << sc.transcript();
  bob.accept(sc.net.now(), alice.id());
  auto relayed = sc.wait_for<ev::TunnelEstablished>(alice, seconds(40));
  ASSERT_TRUE(relayed) << sc.transcript();
  ASSERT_EQ(relayed->path, tunnel::Path::kRelay);
  ASSERT_TRUE(sc.net.run_until([&] { return bob.tunnels().has_tunnel(alice.id()); }, seconds(2)));

  // The direct path opens; the caller tries it within kRelayUpgradeFirstInterval.
  sc.net.set_link(sc.node("alice"), sc.node("bob"), {std::chrono::milliseconds(20), 0.0});
  int sent = 0, switched_at = -1;
  bool switched_alice = false, switched_bob = false;
  // 60 s at most; 40 more messages each way once both have switched.
  for (int i = 0; i < 1200 && (switched_at < 0 || i < switched_at + 40); ++i) {
    const std::string a = "a" + std::to_string(i), b = "b" + std::to_string(i);
    ASSERT_TRUE(alice.tunnel_send(sc.net.now(), bob.id(), bytes_of(a).data(), a.size()));
    ASSERT_TRUE(bob.tunnel_send(sc.net.now(), alice.id(), bytes_of(b).data(), b.size()));
    sent = i + 1;
    sc.net.run_for(std::chrono::milliseconds(50));
    const tunnel::Tunnel* ta = alice.tunnels().tunnel(bob.id());
    const tunnel::Tunnel* tb = bob.tunnels().tunnel(alice.id());
    switched_alice = switched_alice || (ta && ta->remote() == endpoint("198.51.100.20:41000"));
    switched_bob = switched_bob || (tb && tb->remote() == endpoint("203.0.113.10:40000"));
    if (switched_alice && switched_bob && switched_at < 0) switched_at = i;
  }
  sc.net.run_for(seconds(1));
  ASSERT_TRUE(switched_alice && switched_bob) << sc.transcript();
  const auto ups = sc.all<ev::TunnelEstablished>(alice);
  ASSERT_EQ(ups.size(), 2u);
  EXPECT_EQ(ups[1].path, tunnel::Path::kDirect);
  EXPECT_LE(ups[1].setup, seconds(2)) << "measured from the upgrade's own request";
  EXPECT_EQ(sc.all<ev::TunnelData>(bob).size(), static_cast<std::size_t>(sent)) << "no loss a->b";
  EXPECT_EQ(sc.all<ev::TunnelData>(alice).size(), static_cast<std::size_t>(sent)) << "no loss b->a";
  EXPECT_TRUE(sc.all<ev::TunnelRequested>(bob).size() == 1u) << "the upgrade is not a new request";
  EXPECT_FALSE(sc.find<ev::TunnelClosed>(alice));
  EXPECT_FALSE(sc.find<ev::TunnelClosed>(bob));
  // The upgrade is no new tunnel: the supernode counted one tunnel, relayed (section 8.9).
  EXPECT_EQ(outcomes().outcome_relay, 1u);
  EXPECT_EQ(outcomes().outcome_direct + outcomes().outcome_failed, 0u);
  EXPECT_EQ(s1.handshake_counters().outcomes, 1u);
  EXPECT_EQ(s1.handshake_counters().accepted, 2u) << "the upgrade was negotiated";
  // The relayed address is given back once the replaced tunnel's grace has passed.
  sc.net.run_for(tunnel::kReplacedTunnelGrace + seconds(2));
  EXPECT_EQ(s1.relay_allocations(), 0u);
  EXPECT_TRUE(carried(alice, bob, "direct now")) << sc.transcript();
}

}  // namespace
}  // namespace qp2p::scenario
