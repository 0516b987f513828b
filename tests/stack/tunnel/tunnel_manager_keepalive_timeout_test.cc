// A TunnelManager notices a peer that went silent: its tunnel closes with "keepalive timeout"
// within the configured dead interval, and the manager forgets it (no tunnel, no timer).
#include <gtest/gtest.h>

#include "tests/stack/tunnel/manager_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(TunnelManagerKeepalive, ASilentPeerIsDetectedClosed) {
  ManagerLabConfig c;
  c.a = "restricted-cone";
  c.b = "cgnat";
  c.tunnel.keepalive_interval = 2s;
  c.tunnel.dead_interval = 7s;
  ManagerLab lab(c);
  lab.connect();
  ASSERT_TRUE(lab.run_until_established());
  const PeerId b = lab.b().identity.id();
  lab.net().run_for(30s);  // idle but alive: keepalives hold it
  EXPECT_TRUE(lab.a().all<mev::Closed>().empty());
  const Instant silent = lab.now();
  lab.net().set_offline(lab.b().site, true);
  lab.net().run_until([&] { return !lab.a().all<mev::Closed>().empty(); }, 20s);
  const auto closed = lab.a().first<mev::Closed>();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->peer, b);
  EXPECT_EQ(closed->reason, "keepalive timeout");
  EXPECT_GE(lab.now() - silent, c.tunnel.dead_interval - c.tunnel.keepalive_interval);
  EXPECT_LE(lab.now() - silent, c.tunnel.dead_interval + c.one_way);
  EXPECT_FALSE(lab.a().manager->has_tunnel(b));
  EXPECT_EQ(lab.a().manager->poll_timeout(), kNever);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
