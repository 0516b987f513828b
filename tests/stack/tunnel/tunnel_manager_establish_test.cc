// Two TunnelManagers behind NATs (port-restricted cone <-> symmetric-sequential, port
// prediction): the planned attempt establishes on both sides with a direct path and a setup time
// measured from the request, data flows both ways keyed by peer, and a close is seen by the peer.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/manager_lab.h"

namespace qp2p::tunnel_lab {
namespace {

ManagerLabConfig prediction_pair() {
  ManagerLabConfig c;
  c.a = "port-restricted-cone";
  c.b = "symmetric-sequential";
  return c;
}

TEST(TunnelManagerEstablish, DirectTunnelWithSetupTimeAndDataBothWays) {
  ManagerLab lab(prediction_pair());
  const auto plan = lab.connect();
  ASSERT_TRUE(plan.direct_feasible);
  ASSERT_TRUE(lab.run_until_established());
  const PeerId a = lab.a().identity.id(), b = lab.b().identity.id();
  const auto ea = lab.a().first<mev::Established>().value();
  const auto eb = lab.b().first<mev::Established>().value();
  EXPECT_EQ(ea.peer, b);
  EXPECT_EQ(eb.peer, a);
  EXPECT_EQ(ea.path, tunnel::Path::kDirect);
  EXPECT_EQ(ea.local, lab.a().main);
  EXPECT_EQ(eb.local, lab.b().main);
  EXPECT_GT(ea.rtt, Duration::zero());
  // Request -> plans (one service RTT) -> punch (a few peer RTTs): well under 10 RTTs of 30 ms.
  EXPECT_GE(ea.setup, 60ms);
  EXPECT_LE(ea.setup, 300ms);
  EXPECT_TRUE(lab.a().manager->has_tunnel(b));
  EXPECT_FALSE(lab.a().manager->has_attempt(b));
  EXPECT_TRUE(lab.a().all<mev::SocketsNeeded>().empty());  // one socket each

  ASSERT_TRUE(lab.a().manager->send(lab.now(), b, text("to b")));
  ASSERT_TRUE(lab.b().manager->send(lab.now(), a, text("to a")));
  EXPECT_FALSE(lab.a().manager->send(lab.now(), a, text("no tunnel to myself")));
  lab.net().run_for(100ms);
  EXPECT_EQ(lab.b().texts(), std::vector<std::string>{"to b"});
  EXPECT_EQ(lab.a().texts(), std::vector<std::string>{"to a"});
  EXPECT_EQ(lab.b().first<mev::Data>()->peer, a);
  EXPECT_EQ(lab.a().manager->counters().dropped_unattributed, 0u);
}

TEST(TunnelManagerEstablish, CloseIsSeenByThePeer) {
  ManagerLab lab(prediction_pair());
  lab.connect();
  ASSERT_TRUE(lab.run_until_established());
  const PeerId a = lab.a().identity.id(), b = lab.b().identity.id();
  lab.a().manager->close(lab.now(), b);
  lab.net().run_for(100ms);
  ASSERT_TRUE(lab.a().first<mev::Closed>().has_value());
  EXPECT_EQ(lab.a().first<mev::Closed>()->reason, "closed locally");
  ASSERT_TRUE(lab.b().first<mev::Closed>().has_value());
  EXPECT_EQ(lab.b().first<mev::Closed>()->peer, a);
  EXPECT_EQ(lab.b().first<mev::Closed>()->reason, "closed by peer");
  EXPECT_FALSE(lab.a().manager->has_tunnel(b));
  EXPECT_FALSE(lab.b().manager->has_tunnel(a));
  EXPECT_FALSE(lab.b().manager->send(lab.now(), a, text("gone")));
  EXPECT_EQ(lab.a().manager->poll_timeout(), kNever);
  EXPECT_EQ(lab.b().manager->poll_timeout(), kNever);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
