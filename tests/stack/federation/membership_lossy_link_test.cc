// A slow or lossy link must not split the federation: a member whose every datagram (in and
// out) has a 20% chance of being lost, and a member behind a 300 ms one-way delay, are
// suspected now and then but refute in time; nobody ever declares them dead.
#include <gtest/gtest.h>

#include "tests/stack/federation/membership_bed.h"

namespace qp2p::federation::test {
namespace {

void expect_nobody_lost(const MembershipBed& bed) {
  for (std::size_t i = 0; i < bed.size(); ++i)
    for (const SeenDown& d : bed.downs(i))
      ADD_FAILURE() << "member " << i << " declared a member down at t=" << to_us(d.at) / 1000
                    << " ms";
}

class MembershipLossyLinkSeeds : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(MembershipLossyLinkSeeds, MemberUnderTwentyPercentLossIsNotDeclaredDead) {
  MembershipBed bed(8, GetParam());
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(30)));
  const std::size_t lossy = 5;
  for (std::size_t i = 0; i < bed.size(); ++i)
    if (i != lossy) bed.net().set_link(i, lossy, {std::chrono::milliseconds(5), 0.20});
  ASSERT_TRUE(bed.net().run_for(std::chrono::minutes(5))) << bed.net().error();
  expect_nobody_lost(bed);
  EXPECT_TRUE(bed.converged(bed.all()));
  EXPECT_GT(bed.net().counters().dropped_loss, 100u) << "the loss pattern did not apply";
  // It was suspected (the loss bit) and refuted in time (the point).
  std::uint64_t suspicions = 0;
  for (std::size_t i = 0; i < bed.size(); ++i) suspicions += bed.node(i).counters().suspicions;
  EXPECT_GT(suspicions, 0u);
  EXPECT_GT(bed.node(lossy).counters().refutations, 0u);
  RecordProperty("suspicions", std::to_string(suspicions));
  RecordProperty("refutations", std::to_string(bed.node(lossy).counters().refutations));
}

TEST_P(MembershipLossyLinkSeeds, MemberBehindSlowLinkIsNotDeclaredDead) {
  MembershipBed bed(8, GetParam());
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(30)));
  // 300 ms one way: a direct ping round trip (600 ms) outlasts the 400 ms ack timeout, so only
  // relayed acks and refutations keep it alive... and the relayed path crosses the slow link too.
  for (std::size_t i = 0; i < bed.size(); ++i)
    if (i != 2) bed.net().set_link(i, 2, {std::chrono::milliseconds(300), 0.05});
  ASSERT_TRUE(bed.net().run_for(std::chrono::minutes(3))) << bed.net().error();
  expect_nobody_lost(bed);
  EXPECT_TRUE(bed.converged(bed.all()));
  std::uint64_t indirect = 0;
  for (std::size_t i = 0; i < bed.size(); ++i) indirect += bed.node(i).counters().ping_reqs_sent;
  EXPECT_GT(indirect, 0u) << "the slow link never delayed an ack past the timeout";
  RecordProperty("ping_reqs", std::to_string(indirect));
  RecordProperty("refutations", std::to_string(bed.node(2).counters().refutations));
}

// Several seeds: the loss pattern differs with each, the verdict must not.
INSTANTIATE_TEST_SUITE_P(Seeds, MembershipLossyLinkSeeds, ::testing::Range<std::uint64_t>(21, 31));

}  // namespace
}  // namespace qp2p::federation::test
