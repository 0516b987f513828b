// The whole tunnel path through PeerSession: negotiation at the supernode, the hole punch the
// handshake service started, then an encrypted tunnel that keeps carrying data after the
// supernode is gone (issue 4: "a tunnel survives loss of all supernodes for at least 5
// simulated minutes"), closes on request, and is detected dead when its peer goes silent.
#include <gtest/gtest.h>

#include <string>

#include "tests/stack/peer/tunnel_pair.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;
using std::chrono::minutes;

struct PeerTunnel : ::testing::Test, TunnelPair {
  PeerTunnel() : TunnelPair(4242, supernode_config("192.0.2.1:3478", "192.0.2.1:3479")) {}
  void SetUp() override { start(0.0); }

  // Alice asks, Bob accepts at once; both tunnels up.
  void open_tunnel() {
    alice.connect(sc.net.now(), bob.id());
    ASSERT_TRUE(sc.wait_for<ev::TunnelRequested>(bob, seconds(2))) << sc.transcript();
    bob.accept(sc.net.now(), alice.id());
    auto a = sc.wait_for<ev::TunnelEstablished>(alice, seconds(5));
    ASSERT_TRUE(a) << sc.transcript();
    if (!sc.find<ev::TunnelEstablished>(bob)) {
      ASSERT_TRUE(sc.wait_for<ev::TunnelEstablished>(bob, seconds(5))) << sc.transcript();
    }
    EXPECT_EQ(a->peer, bob.id());
    EXPECT_EQ(a->path, tunnel::Path::kDirect);
    EXPECT_EQ(a->remote, endpoint("198.51.100.20:41000"));
    // Issue 4: within 3 round trips (peer-supernode plus peer-peer) of the request, counting
    // the slower peer's supernode round trip.
    EXPECT_LE(a->setup, 3 * (bob.rtt() + a->rtt)) << "setup " << a->setup.count() << " ns";
    // Alice (the caller) reports the direct tunnel with its setup time; Bob does not
    // (docs/protocol.md section 8.9), so it is counted once.
    ASSERT_TRUE(sc.net.run_until([&] { return s1.handshake_counters().outcomes > 0; }, seconds(2)));
    sc.net.run_for(seconds(1));
    EXPECT_EQ(s1.handshake_counters().outcomes, 1u);
    EXPECT_EQ(outcomes().outcome_direct, 1u);
    EXPECT_EQ(outcomes().outcome_relay + outcomes().outcome_failed, 0u);
    EXPECT_EQ(outcomes().direct_setup.count, 1u);
    EXPECT_EQ(outcomes().direct_setup.sum_ms,
              static_cast<std::uint64_t>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(a->setup).count()));
    EXPECT_EQ(outcomes().tunnel_rtt_ms_sum,
              static_cast<std::uint64_t>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(a->rtt).count()));
  }

};

TEST_F(PeerTunnel, CarriesDataBothWaysAndSurvivesTheSupernode) {
  open_tunnel();
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(carried(alice, bob, "hello bob"));
  EXPECT_TRUE(carried(bob, alice, "hello alice"));

  // The supernode goes away for good; the tunnel depends only on the peers.
  sc.net.set_offline(sc.node("S1"), true);
  int delivered = 0;
  for (int i = 0; i < 30; ++i) {  // 30 x 10 s = 5 simulated minutes
    ASSERT_TRUE(sc.run_for(seconds(10)));
    delivered += carried(i % 2 ? alice : bob, i % 2 ? bob : alice, "tick " + std::to_string(i));
  }
  EXPECT_EQ(delivered, 30);
  EXPECT_FALSE(alice.registered()) << "the supernode really is gone";
  EXPECT_EQ(sc.count<ev::TunnelClosed>(alice) + sc.count<ev::TunnelClosed>(bob), 0u)
      << sc.transcript();

  alice.tunnel_close(sc.net.now(), bob.id());
  auto closed = sc.wait_for<ev::TunnelClosed>(bob, seconds(2));
  ASSERT_TRUE(closed) << sc.transcript();
  EXPECT_EQ(closed->reason, "closed by peer");
  EXPECT_FALSE(alice.tunnel_send(sc.net.now(), bob.id(), bytes_of("late").data(), 4));
}

TEST_F(PeerTunnel, SilentPeerIsDetectedClosed) {
  open_tunnel();
  ASSERT_FALSE(HasFailure());
  const Instant silent_from = sc.net.now();
  sc.net.set_offline(sc.node("bob"), true);
  auto closed = sc.wait_for<ev::TunnelClosed>(alice, minutes(2));
  ASSERT_TRUE(closed) << sc.transcript();
  EXPECT_EQ(closed->reason, "keepalive timeout");
  // Not before the dead interval, and not long after it.
  const Duration took = sc.net.now() - silent_from;
  EXPECT_GE(took, tunnel::kDefaultDeadInterval - seconds(15));
  EXPECT_LE(took, tunnel::kDefaultDeadInterval + seconds(5));
}

TEST_F(PeerTunnel, TunnelSendWithoutTunnelIsRefused) {
  EXPECT_FALSE(alice.tunnel_send(sc.net.now(), bob.id(), bytes_of("x").data(), 1));
  alice.tunnel_close(sc.net.now(), bob.id());  // nothing to close: no event, no crash
  ASSERT_TRUE(sc.run_for(seconds(1)));
  EXPECT_EQ(sc.count<ev::TunnelClosed>(alice), 0u);
}

}  // namespace
}  // namespace qp2p::scenario

namespace qp2p {
namespace {

PeerSession session_on(const char* local, std::vector<IpAddress> host_addresses) {
  PeerConfig config;
  config.supernodes = {Endpoint::parse("192.0.2.1:3478").value()};
  config.local = Endpoint::parse(local).value();
  config.host_addresses = std::move(host_addresses);
  Random random = Random::from_u64(7);
  Identity identity = Identity::generate(random);
  return PeerSession(std::move(config), std::move(identity), std::move(random));
}

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

TEST(PeerHostCandidates, ConcreteSocketIsItsOwnCandidate) {
  auto s = session_on("198.51.100.7:4000", {ip("203.0.113.9")});
  EXPECT_EQ(s.host_candidates(), std::vector<Endpoint>{Endpoint::parse("198.51.100.7:4000").value()});
}

TEST(PeerHostCandidates, WildcardSocketIsReachableOnEachInterfaceOfItsFamily) {
  auto s = session_on("0.0.0.0:4000", {ip("192.0.2.10"), ip("2001:db8::1"), ip("198.51.100.3")});
  EXPECT_EQ(s.host_candidates(),
            (std::vector<Endpoint>{Endpoint::parse("192.0.2.10:4000").value(),
                                   Endpoint::parse("198.51.100.3:4000").value()}));
  std::vector<IpAddress> many;
  for (int i = 1; i <= 20; ++i) many.push_back(IpAddress::v4(0xC0000200u + i));  // 192.0.2.i
  EXPECT_EQ(session_on("0.0.0.0:4000", many).host_candidates().size(), wire::kMaxHostCandidates);
  EXPECT_TRUE(session_on("0.0.0.0:0", many).host_candidates().empty()) << "no port yet";
}

}  // namespace
}  // namespace qp2p
