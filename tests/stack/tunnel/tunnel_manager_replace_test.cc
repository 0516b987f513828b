// A new attempt for a peer that already has a live tunnel replaces it only once the new one
// establishes: until then the old tunnel keeps carrying data; afterwards data flows on the new
// one and packets for the old tunnel id are no longer attributed.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/manager_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(TunnelManagerReplace, NewTunnelReplacesTheOldOnlyAfterEstablishing) {
  ManagerLabConfig c;
  c.a = "full-cone";
  c.b = "symmetric-sequential";
  ManagerLab lab(c);
  lab.connect();
  ASSERT_TRUE(lab.run_until_established());
  const PeerId a = lab.a().identity.id(), b = lab.b().identity.id();
  const tunnel::Tunnel* old_tunnel = lab.a().manager->tunnel(b);

  lab.connect();  // service RTT passes; both attempts start
  ASSERT_TRUE(lab.a().manager->has_attempt(b));
  ASSERT_TRUE(lab.a().manager->has_tunnel(b));
  EXPECT_EQ(lab.a().manager->tunnel(b), old_tunnel);
  ASSERT_TRUE(lab.a().manager->send(lab.now(), b, text("on the old one")));
  lab.net().run_for(20ms);
  ASSERT_TRUE(lab.run_until_established(2));
  EXPECT_EQ(lab.b().texts(), std::vector<std::string>{"on the old one"});
  EXPECT_EQ(lab.a().manager->tunnel_count(), 1u);
  EXPECT_EQ(lab.a().manager->counters().tunnels_replaced, 1u);
  EXPECT_EQ(lab.b().manager->counters().tunnels_replaced, 1u);
  EXPECT_TRUE(lab.a().all<mev::Closed>().empty());
  EXPECT_TRUE(lab.b().all<mev::Closed>().empty());

  ASSERT_TRUE(lab.a().manager->send(lab.now(), b, text("on the new one")));
  ASSERT_TRUE(lab.b().manager->send(lab.now(), a, text("back")));
  lab.net().run_for(100ms);
  EXPECT_EQ(lab.b().texts().back(), "on the new one");
  EXPECT_EQ(lab.a().texts(), std::vector<std::string>{"back"});
}

}  // namespace
}  // namespace qp2p::tunnel_lab
