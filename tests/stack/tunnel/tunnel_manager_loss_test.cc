// Two TunnelManagers over links losing 20% of all datagrams, for the three kinds of plan
// (simultaneous open, port prediction, birthday probing): both sides establish (never only one),
// and a burst of data crosses with only the loss's share missing.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/manager_lab.h"

namespace qp2p::tunnel_lab {
namespace {

constexpr int kTrials = 8;

class TunnelManagerLoss : public ::testing::TestWithParam<const char*> {};

TEST_P(TunnelManagerLoss, BothSidesEstablishAndDataFlows) {
  int both = 0;
  for (int seed = 1; seed <= kTrials; ++seed) {
    ManagerLabConfig c;
    c.a = "port-restricted-cone";
    c.b = GetParam();
    c.seed = static_cast<std::uint64_t>(seed);
    c.loss = 0.20;
    ManagerLab lab(c);
    lab.connect();
    const bool ok = lab.run_until_established();
    // Never a one-sided tunnel: give the slower side its deadline, then compare.
    lab.net().run_for(11s);
    const bool a_up = lab.a().manager->has_tunnel(lab.b().identity.id());
    const bool b_up = lab.b().manager->has_tunnel(lab.a().identity.id());
    EXPECT_EQ(a_up, b_up) << "seed " << seed;
    if (!ok || !a_up || !b_up) continue;
    ++both;
    for (int i = 0; i < 50; ++i)
      ASSERT_TRUE(lab.a().manager->send(lab.now(), lab.b().identity.id(), text("x")));
    lab.net().run_for(200ms);
    EXPECT_GE(lab.b().texts().size(), 25u) << "seed " << seed;  // 80% expected, 50% bound
  }
  EXPECT_EQ(both, kTrials);
}

INSTANTIATE_TEST_SUITE_P(Plans, TunnelManagerLoss,
                         ::testing::Values("full-cone", "symmetric-sequential", "symmetric"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace qp2p::tunnel_lab
