// Path rebinding: A's NAT reboots (every mapping lost, and it now allocates random ports), so A's
// packets leave from a new external endpoint. B's endpoint-independent filter admits them, and
// B's tunnel moves its path to the new endpoint on the first authenticated packet from it, so
// B's data reaches A again.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(TunnelRebinding, FollowsThePeersNewEndpoint) {
  Scenario s;
  s.b.nat = preset("full-cone");
  PunchLab lab(s);
  ASSERT_TRUE(lab.run_punch());
  const Endpoint old_path = lab.b().tunnel->remote();

  NatBehaviour rebooted = preset("port-restricted-cone");
  rebooted.port_allocation = nat::PortAllocation::kRandom;
  lab.net().replace_nat(lab.a().site, rebooted, 1234);

  lab.a().tunnel->send(lab.net().now(), text("new address"));
  lab.net().run_for(100ms);
  ASSERT_EQ(lab.b().received.size(), 1u);
  ASSERT_EQ(lab.b().path_changes.size(), 1u);
  const Endpoint new_path = lab.b().tunnel->remote();
  EXPECT_NE(new_path, old_path);
  EXPECT_EQ(new_path.address, old_path.address);
  EXPECT_EQ(lab.b().path_changes[0].remote, new_path);
  EXPECT_EQ(lab.b().tunnel->counters().path_changes, 1u);

  lab.b().tunnel->send(lab.net().now(), text("reply"));
  lab.net().run_for(100ms);
  ASSERT_EQ(lab.a().received.size(), 1u);
  EXPECT_EQ(lab.a().received[0], text("reply"));
  EXPECT_TRUE(lab.a().path_changes.empty());  // A's view of B did not change
}

}  // namespace
}  // namespace qp2p::tunnel_lab
