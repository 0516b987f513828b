// Keepalive: the KeepaliveAck reports the peer's server-reflexive (mapped) address, keepalives
// keep a session alive past the expiry time, and an authenticated message from a new address
// (the peer's NAT rebound its mapping) moves the session there.
#include <gtest/gtest.h>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

using std::chrono::seconds;

TEST(SupernodeKeepalive, AckCarriesTheMappedAddress) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  auto ack = net.request(alice, wire::Keepalive{});
  ASSERT_TRUE(ack && std::holds_alternative<wire::KeepaliveAck>(*ack));
  EXPECT_EQ(std::get<wire::KeepaliveAck>(*ack).mapped, alice.address);
}

TEST(SupernodeKeepalive, MappedAddressCanBeIpv6) {
  TestNetwork net;
  TestClient alice(1, ep("[2001:db8::10]:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  auto ack = net.request(alice, wire::Keepalive{});
  ASSERT_TRUE(ack && std::holds_alternative<wire::KeepaliveAck>(*ack));
  EXPECT_EQ(std::get<wire::KeepaliveAck>(*ack).mapped, alice.address);
}

TEST(SupernodeKeepalive, KeepalivesKeepThePeerOnlinePastTheExpiry) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  net.advance_keeping_alive(seconds(120), {&alice}, seconds(10));
  EXPECT_EQ(net.supernode.online_peers(), 1u);
  EXPECT_EQ(net.supernode.counters().expiries, 0u);
  EXPECT_TRUE(net.request(alice, wire::Keepalive{}));
}

TEST(SupernodeKeepalive, AnySessionMessageCountsAsActivity) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  for (int i = 0; i < 6; ++i) {
    net.advance(seconds(20));
    ASSERT_TRUE(net.request(alice, wire::Lookup{alice.id()})) << i;
  }
  EXPECT_EQ(net.supernode.online_peers(), 1u);
}

TEST(SupernodeKeepalive, RebindingMovesTheSessionToTheNewAddress) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  alice.address = ep("198.51.100.10:41234");  // the NAT gave a new port
  std::uint64_t txn = 0;
  auto ack = net.request(alice, wire::Keepalive{}, &txn);
  ASSERT_TRUE(ack && std::holds_alternative<wire::KeepaliveAck>(*ack))
      << "the answer goes to the new address";
  EXPECT_EQ(std::get<wire::KeepaliveAck>(*ack).mapped, alice.address);
  EXPECT_TRUE(net.unrouted.empty());
  EXPECT_EQ(net.supernode.online_peers(), 1u);
}

TEST(SupernodeKeepalive, UnauthenticatedDatagramFromElsewhereDoesNotMoveTheSession) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  // An attacker copies Alice's next keepalive, alters a byte and sends it from its address.
  Bytes sealed = alice.seal(alice.new_txn(), wire::Keepalive{});
  sealed[10] ^= 1;
  net.deliver(net.primary(), ep("203.0.113.66:5555"), sealed);
  EXPECT_TRUE(net.unrouted.empty()) << "nothing is sent to the attacker";
  auto ack = net.request(alice, wire::Keepalive{});
  ASSERT_TRUE(ack && std::holds_alternative<wire::KeepaliveAck>(*ack));
  EXPECT_EQ(std::get<wire::KeepaliveAck>(*ack).mapped, alice.address);
}

}  // namespace
}  // namespace qp2p::test
