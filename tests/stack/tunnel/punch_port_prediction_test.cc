// Port-restricted cone <-> symmetric NAT with sequential port allocation. The symmetric NAT
// gives B's checks towards A a new external port (the STUN mapping's port + 1, + 2, ...), which
// A's address-and-port-dependent filter only admits once A has sent to it: A predicts B's ports
// from B's reflexive port and its NAT's delta (from B's published NAT profile) and checks them
// all. Without prediction the same pair fails.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

Scenario prediction_scenario() {
  Scenario s;
  s.a.nat = preset("port-restricted-cone");
  s.b.nat = preset("symmetric-sequential");
  s.a.strategy = PunchStrategy::kPortPrediction;
  s.a.predict_after = 16;
  return s;
}

TEST(PunchPortPrediction, EstablishesOnAPredictedPort) {
  PunchLab lab(prediction_scenario());
  ASSERT_TRUE(lab.run_punch()) << lab.a().failed.value_or("") << lab.b().failed.value_or("");
  const Endpoint predicted = lab.a().established->remote;
  const Endpoint base = lab.b().reflexive;
  EXPECT_EQ(predicted.address, base.address);
  EXPECT_NE(predicted.port, base.port);  // not the STUN mapping: a new one
  EXPECT_GT(predicted.port, base.port);
  EXPECT_LE(predicted.port, base.port + 16);
  EXPECT_EQ(lab.b().established->remote, lab.a().reflexive);
  EXPECT_LT(lab.a().established_at - lab.start(), 500ms);
}

TEST(PunchPortPrediction, AlsoWithANonUnitDelta) {
  Scenario s = prediction_scenario();
  s.b.nat.sequential_delta = 3;
  PunchLab lab(s);
  ASSERT_TRUE(lab.run_punch()) << lab.a().failed.value_or("") << lab.b().failed.value_or("");
  EXPECT_EQ((lab.a().established->remote.port - lab.b().reflexive.port) % 3, 0);
}

TEST(PunchPortPrediction, WithoutPredictionTheSamePairFails) {
  Scenario s = prediction_scenario();
  s.a.strategy = PunchStrategy::kSimultaneousOpen;
  s.deadline = 3s;
  PunchLab lab(s);
  EXPECT_FALSE(lab.run_punch());
  ASSERT_TRUE(lab.a().failed.has_value());
  ASSERT_TRUE(lab.b().failed.has_value());
  EXPECT_EQ(lab.a().failed_at, lab.start() + 3s);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
