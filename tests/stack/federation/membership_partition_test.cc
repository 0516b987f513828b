// A network partition splits the federation into two halves that each declare the other dead;
// when it heals, the halves find each other again (syncs to dead members and seeds, refutation
// of their own death) and every member sees all members once more.
#include <gtest/gtest.h>

#include "tests/stack/federation/membership_bed.h"

namespace qp2p::federation::test {
namespace {

class MembershipPartition : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(MembershipPartition, SplitsThenHeals) {
  MembershipBed bed(8, GetParam());
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(30)));
  // Halves {0,2,4,6} and {1,3,5,7}: each holds one seed.
  bool partitioned = true;
  bed.net().add_rewriter([&](Instant, harness::VirtualNetwork::NodeId from, Endpoint&,
                             Endpoint& to) {
    const auto dest = bed.net().owner(to);
    return !partitioned || !dest || (from % 2) == (*dest % 2);
  });
  const std::vector<std::size_t> even{0, 2, 4, 6}, odd{1, 3, 5, 7};
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(even) && bed.converged(odd); },
                                  std::chrono::seconds(40)));
  for (std::size_t i : even) EXPECT_TRUE(bed.saw_down(i, 1));
  partitioned = false;
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(60)))
      << "the halves did not find each other again";
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(30)));
  EXPECT_TRUE(bed.converged(bed.all()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, MembershipPartition, ::testing::Range<std::uint64_t>(31, 37));

}  // namespace
}  // namespace qp2p::federation::test
