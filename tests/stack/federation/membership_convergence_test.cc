// Membership converges: N supernodes that only know the seeds all end up with the same member
// list (every one of them), for N = 3, 8 and 32, within a bound; and stay converged.
#include <gtest/gtest.h>

#include "tests/stack/federation/membership_bed.h"

namespace qp2p::federation::test {
namespace {

class MembershipConvergence : public ::testing::TestWithParam<std::size_t> {};

TEST_P(MembershipConvergence, EveryMemberSeesEveryOther) {
  const std::size_t n = GetParam();
  MembershipBed bed(n, /*seed=*/7);
  bed.net().set_default_link({std::chrono::milliseconds(20), 0.0});
  const auto all = bed.all();
  // Join retries every 2 s, syncs every 10 s; gossip spreads in O(log n) periods.
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(all); }, std::chrono::seconds(30)))
      << bed.net().error();
  const Instant converged_at = bed.net().now();
  // And it stays so: nobody is suspected to death on a clean network.
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(60))) << bed.net().error();
  EXPECT_TRUE(bed.converged(all));
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(bed.downs(i).empty()) << "member " << i << " saw a member go down";
    EXPECT_EQ(bed.node(i).counters().dropped_unauthenticated, 0u);
    EXPECT_EQ(bed.node(i).counters().dropped_replayed, 0u);
    EXPECT_EQ(bed.node(i).counters().dropped_malformed, 0u);
  }
  RecordProperty("converged_after_ms", std::to_string(to_us(converged_at) / 1000));
}

INSTANTIATE_TEST_SUITE_P(Sizes, MembershipConvergence, ::testing::Values(3, 8, 32));

TEST(MembershipConvergence, PayloadTravelsBetweenMembersOnly) {
  MembershipBed bed(3, 3);
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(20)));
  const Instant now = bed.net().now();
  EXPECT_TRUE(bed.node(0).send_payload(now, bed.id(2), Bytes{1, 2, 3}));
  EXPECT_FALSE(bed.node(0).send_payload(now, bed.id(0), Bytes{1}));  // not to itself
  EXPECT_FALSE(bed.node(0).send_payload(now, bed.id(1), Bytes(kMaxPayload + 1, 0)));
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(1)));
  ASSERT_EQ(bed.payloads(2).size(), 1u);
  EXPECT_EQ(bed.payloads(2)[0].from, bed.id(0));
  EXPECT_EQ(bed.payloads(2)[0].data, (Bytes{1, 2, 3}));
  EXPECT_TRUE(bed.payloads(1).empty());
}

}  // namespace
}  // namespace qp2p::federation::test
