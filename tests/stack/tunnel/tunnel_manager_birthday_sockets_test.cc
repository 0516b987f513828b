// Sockets for a birthday plan (port-restricted cone <-> symmetric with random ports): the side
// behind the symmetric NAT is asked for K - 1 extra sockets before its attempt starts, the
// attempt checks from all K, and once established every extra socket except the one the tunnel
// runs on is released; that one is released when the tunnel closes. The other side needs none.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/manager_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(TunnelManagerSockets, BirthdayPlanNeedsThenReleasesSockets) {
  ManagerLabConfig c;
  c.a = "port-restricted-cone";
  c.b = "symmetric";
  ManagerLab lab(c);
  const auto plan = lab.connect();
  ASSERT_TRUE(plan.direct_feasible);
  ASSERT_EQ(plan.a.strategy, tunnel::PunchStrategy::kBirthday);
  ASSERT_GT(plan.b.local_sockets, 1u);
  const std::size_t k = plan.b.local_sockets;

  const auto needed = lab.b().first<mev::SocketsNeeded>();
  ASSERT_TRUE(needed.has_value());
  EXPECT_EQ(needed->peer, lab.a().identity.id());
  EXPECT_EQ(needed->count, k - 1);
  EXPECT_TRUE(lab.a().all<mev::SocketsNeeded>().empty());
  ASSERT_NE(lab.b().manager->attempt(lab.a().identity.id()), nullptr);
  EXPECT_EQ(lab.b().manager->attempt(lab.a().identity.id())->local_endpoints().size(), k);

  ASSERT_TRUE(lab.run_until_established());
  const auto est = lab.b().first<mev::Established>().value();
  EXPECT_EQ(lab.b().sockets_bound, k - 1);
  const bool on_extra = est.local != lab.b().main;
  // Released: everything but the tunnel's socket.
  EXPECT_EQ(lab.b().sockets_released, k - 1 - (on_extra ? 1 : 0));
  EXPECT_EQ(lab.b().extra_sockets.size(), on_extra ? 1u : 0u);
  if (on_extra) {
    EXPECT_EQ(*lab.b().extra_sockets.begin(), est.local);
  }

  // Data on the tunnel's socket, then close: its socket comes back too.
  ASSERT_TRUE(lab.b().manager->send(lab.now(), lab.a().identity.id(), text("via socket")));
  lab.net().run_for(100ms);
  EXPECT_EQ(lab.a().texts(), std::vector<std::string>{"via socket"});
  lab.b().manager->close(lab.now(), lab.a().identity.id());
  lab.net().run_for(100ms);
  EXPECT_EQ(lab.b().sockets_released, k - 1);
  EXPECT_TRUE(lab.b().extra_sockets.empty());
  EXPECT_EQ(lab.a().first<mev::Closed>()->reason, "closed by peer");
}

TEST(TunnelManagerSockets, SocketsForNoWaitingAttemptAreGivenBack) {
  ManagerLab lab(ManagerLabConfig{});
  const PeerId stranger = lab.b().identity.id();
  lab.a().manager->provide_sockets(lab.now(), stranger, {ep("192.0.2.10:40100")});
  const auto e = lab.a().manager->poll_event();
  ASSERT_TRUE(e.has_value());
  const auto* rel = std::get_if<mev::SocketsReleased>(&*e);
  ASSERT_NE(rel, nullptr);
  EXPECT_EQ(rel->locals, std::vector<Endpoint>{ep("192.0.2.10:40100")});
}

}  // namespace
}  // namespace qp2p::tunnel_lab
