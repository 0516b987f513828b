// Failure detection: a member that stops answering (crashed host) is declared dead by every
// other member within a bound (detection by some prober within a few periods, the suspicion
// timeout, then dissemination); a member that leaves gracefully is reported "left" at once;
// a crashed member that comes back (same identity) is up again everywhere.
#include <gtest/gtest.h>

#include "tests/stack/federation/membership_bed.h"

namespace qp2p::federation::test {
namespace {

class MembershipFailure : public ::testing::TestWithParam<std::size_t> {};

TEST_P(MembershipFailure, KilledMemberIsDeclaredDeadByEveryoneWithinBound) {
  const std::size_t n = GetParam();
  MembershipBed bed(n, 11 + n);
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(30)));
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(5)));
  const std::size_t victim = n - 1;
  bed.net().set_offline(victim, true);
  const Instant killed = bed.net().now();
  std::vector<std::size_t> rest;
  for (std::size_t i = 0; i + 1 < n; ++i) rest.push_back(i);
  // Bound: probed within ~2 periods by someone (n - 1 probers), suspicion timeout, a few
  // periods of gossip to reach everyone.
  const Duration bound = bed.node(0).suspicion_timeout() + std::chrono::seconds(10);
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(rest); }, bound))
      << "not every member declared the victim dead within " << to_ms(bound) << " ms";
  RecordProperty("all_declared_dead_after_ms", std::to_string(to_ms(bed.net().now() - killed)));
  for (std::size_t i : rest) {
    EXPECT_TRUE(bed.saw_down(i, victim)) << "member " << i;
    for (const SeenDown& d : bed.downs(i)) {
      EXPECT_EQ(d.id, bed.id(victim)) << "member " << i << " lost a live member";
      EXPECT_FALSE(d.left);
      EXPECT_LE(d.at - killed, bound);
    }
  }
  // The victim comes back: it learns it was declared dead, refutes, and is up everywhere.
  bed.net().set_offline(victim, false);
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(30)));
  EXPECT_GE(bed.node(victim).counters().refutations, 1u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, MembershipFailure, ::testing::Values(3, 8, 32));

TEST(MembershipFailure, GracefulLeaveIsReportedAsLeftQuickly) {
  MembershipBed bed(8, 5);
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(30)));
  bed.node(3).leave(bed.net().now());
  EXPECT_TRUE(bed.node(3).has_left());
  const std::vector<std::size_t> rest{0, 1, 2, 4, 5, 6, 7};
  // No suspicion timeout: the leave message itself tells everyone.
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(rest); }, std::chrono::seconds(1)));
  for (std::size_t i : rest) {
    ASSERT_EQ(bed.downs(i).size(), 1u) << "member " << i;
    EXPECT_TRUE(bed.downs(i)[0].left);
  }
  // It stays gone (nobody "revives" it from stale gossip).
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(30)));
  EXPECT_TRUE(bed.converged(rest));
  EXPECT_EQ(bed.node(3).poll_timeout(), kNever);
}

}  // namespace
}  // namespace qp2p::federation::test
