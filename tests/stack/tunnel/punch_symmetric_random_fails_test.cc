// Symmetric (random ports) <-> symmetric (random ports): every mapping's port is random per
// destination on both sides, so a check only gets through if both NATs happened to pick each
// other's exact ports; even birthday probing on both sides fails. Both attempts report Failed at
// start + deadline, bounded in what they sent, and the handshake service must use the relay.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(PunchSymmetricRandom, FailsByTheDeadline) {
  Scenario s;
  s.a.nat = preset("symmetric");
  s.b.nat = preset("symmetric");
  for (PeerSpec* p : {&s.a, &s.b}) {
    p->strategy = PunchStrategy::kBirthday;
    p->sockets = 256;
    p->birthday_probes = 2048;
  }
  PunchLab lab(s);
  EXPECT_FALSE(lab.run_punch());
  for (PeerState* p : {&lab.a(), &lab.b()}) {
    ASSERT_TRUE(p->failed.has_value());
    EXPECT_FALSE(p->established.has_value());
    EXPECT_EQ(p->failed_at, lab.start() + s.deadline);
    EXPECT_NE(p->failed->find("deadline"), std::string::npos) << *p->failed;
    EXPECT_LE(p->punch->counters().checks_sent,
              static_cast<std::uint64_t>(s.deadline / tunnel::kDefaultCheckMinGap) + 1);
    EXPECT_EQ(p->punch->poll_timeout(), kNever);  // finished: quiet
  }
  EXPECT_EQ(lab.a().punch->counters().requests_received, 0u);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
