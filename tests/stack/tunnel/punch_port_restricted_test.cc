// Hole punching between two port-restricted cone NATs (endpoint-independent mapping,
// address-and-port-dependent filtering): the classic simultaneous open. Each side's first checks
// are dropped by the other NAT until that NAT has sent towards it; the retries get through.
// Also with one side starting late (an imperfect synchronised start).
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(PunchPortRestricted, SimultaneousOpenEstablishes) {
  Scenario s;
  s.a.nat = preset("port-restricted-cone");
  s.b.nat = preset("port-restricted-cone");
  PunchLab lab(s);
  ASSERT_TRUE(lab.run_punch()) << lab.a().failed.value_or("") << lab.b().failed.value_or("");
  EXPECT_EQ(lab.a().established->remote, lab.b().reflexive);
  EXPECT_EQ(lab.b().established->remote, lab.a().reflexive);
  EXPECT_LT(lab.a().established_at - lab.start(), 300ms);
  EXPECT_LT(lab.b().established_at - lab.start(), 300ms);
}

TEST(PunchPortRestricted, OneSideStartsHalfASecondLate) {
  Scenario s;
  s.b.start_skew = 500ms;
  PunchLab lab(s);
  ASSERT_TRUE(lab.run_punch()) << lab.a().failed.value_or("") << lab.b().failed.value_or("");
  EXPECT_LT(lab.b().established_at - (lab.start() + 500ms), 300ms);
  // B's NAT dropped A's checks until B's own checks opened it: a real punch.
  EXPECT_GT(lab.net().nat(lab.b().site).counters().drops_filtered, 0u);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
