// Hole punching between two full-cone NATs (endpoint-independent mapping and filtering): the
// server-reflexive candidates work at once, both sides agree on one pair, and the run replays
// exactly with the same seed.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(PunchFullCone, EstablishesOnTheReflexivePair) {
  Scenario s;
  s.a.nat = preset("full-cone");
  s.b.nat = preset("full-cone");
  PunchLab lab(s);
  ASSERT_TRUE(lab.run_punch()) << lab.a().failed.value_or("") << lab.b().failed.value_or("");
  const auto& a = *lab.a().established;
  const auto& b = *lab.b().established;
  // Each side's path ends at the other's reflexive endpoint, and the two paths are one.
  EXPECT_EQ(a.remote, lab.b().reflexive);
  EXPECT_EQ(b.remote, lab.a().reflexive);
  EXPECT_EQ(a.local, lab.a().locals[0]);
  EXPECT_EQ(b.local, lab.b().locals[0]);
  // One round trip is 30 ms in this lab.
  EXPECT_GE(a.rtt, 30ms);
  EXPECT_LT(a.rtt, 60ms);
  // Within a few round trips of the common start.
  EXPECT_LT(lab.a().established_at - lab.start(), 200ms);
  EXPECT_LT(lab.b().established_at - lab.start(), 200ms);
  // Exactly one side nominated.
  EXPECT_NE(lab.a().punch->controlling(), lab.b().punch->controlling());
}

TEST(PunchFullCone, ReplaysExactly) {
  auto run = [] {
    Scenario s;
    s.a.nat = preset("full-cone");
    s.b.nat = preset("full-cone");
    s.seed = 7;
    PunchLab lab(s);
    lab.run_punch();
    return std::make_tuple(to_us(lab.a().established_at), to_us(lab.b().established_at),
                           lab.a().established->remote, lab.net().counters().sent,
                           lab.a().punch->counters().checks_sent);
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace qp2p::tunnel_lab
