// A silent peer: when nothing authenticated arrives for the dead interval, the tunnel closes with
// "keepalive timeout". Losing only the peer's keepalives (the other direction still works)
// closes exactly one side; a peer that vanishes is noticed within the configured interval.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(TunnelDeadPeer, LostKeepalivesCloseAfterTheDeadInterval) {
  PunchLab lab{Scenario{}};
  // Every keepalive B sends is lost (its checks still pass, so the punch completes).
  lab.net().set_tap([&](Instant, std::size_t from, Datagram& d) {
    return !(from == lab.b().site && d.payload.size() >= 3 && d.payload[0] == tunnel::kMagic &&
             d.payload[2] == static_cast<std::uint8_t>(tunnel::PacketType::kKeepalive));
  });
  ASSERT_TRUE(lab.run_punch());
  lab.net().run_for(60s);
  ASSERT_TRUE(lab.a().closed.has_value());
  EXPECT_EQ(*lab.a().closed, "keepalive timeout");
  // A heard nothing from B's tunnel at all: closed the dead interval after it started.
  EXPECT_EQ(lab.a().closed_at - lab.a().established_at, tunnel::kDefaultDeadInterval);
  // B heard A's keepalives: it stayed up...
  EXPECT_FALSE(lab.b().closed.has_value());
  EXPECT_GE(lab.b().tunnel->counters().keepalives_received, 4u);
  // ...until A, closed, went silent too.
  lab.net().run_for(60s);
  ASSERT_TRUE(lab.b().closed.has_value());
  EXPECT_EQ(*lab.b().closed, "keepalive timeout");
}

TEST(TunnelDeadPeer, AVanishedPeerIsNoticedWithinTheConfiguredInterval) {
  Scenario s;
  s.tunnel.keepalive_interval = 1s;
  s.tunnel.dead_interval = 5s;
  PunchLab lab(s);
  ASSERT_TRUE(lab.run_punch());
  lab.net().run_for(20s);  // alive: keepalives each second
  EXPECT_FALSE(lab.a().closed.has_value());
  EXPECT_FALSE(lab.b().closed.has_value());
  const Instant gone = lab.net().now();
  lab.net().set_offline(lab.b().site, true);
  lab.net().run_for(30s);
  ASSERT_TRUE(lab.a().closed.has_value());
  EXPECT_EQ(*lab.a().closed, "keepalive timeout");
  // Last heard at most one keepalive interval before B vanished (or a packet in flight then,
  // one one-way delay after).
  EXPECT_GE(lab.a().closed_at - gone, 4s);
  EXPECT_LE(lab.a().closed_at - gone, 5s + s.one_way);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
