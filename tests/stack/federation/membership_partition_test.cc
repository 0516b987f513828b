// A network partition splits the federation into two halves that each declare the other dead;
// when it heals, the halves find each other again (syncs to dead members and seeds, refutation
// of their own death) and every member sees all members once more. A cut shorter than the
// suspicion timeout declares nobody dead, but the members that suspected the cut-off one hear
// it is back (MemberUp), so the directory repairs what it missed at once.
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

// Member 5 is cut off until a member suspects it (no ack within a period); it refutes before
// the 5 s suspicion timeout; every member that held it suspect announces it up again.
TEST_P(MembershipPartition, ShortCutIsRefutedAndAnnouncedUp) {
  MembershipBed bed(8, GetParam());
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(30)));
  const std::size_t cut = 5;
  bool cutting = true;
  bed.net().add_rewriter([&](Instant, harness::VirtualNetwork::NodeId from, Endpoint&,
                             Endpoint& to) {
    const auto dest = bed.net().owner(to);
    return !cutting || !dest || (from != cut && *dest != cut);
  });
  const Instant cut_at = bed.net().now();
  auto suspicions = [&] {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < bed.size(); ++i)
      if (i != cut) n += bed.node(i).counters().suspicions;  // the cut one suspects others too
    return n;
  };
  const std::uint64_t before = suspicions();
  // Lift the cut once someone suspects it (well inside the 5 s suspicion timeout).
  ASSERT_TRUE(bed.net().run_until([&] { return suspicions() > before; }, std::chrono::seconds(4)))
      << "nobody suspected the cut member";
  cutting = false;
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(20)));
  for (std::size_t i = 0; i < bed.size(); ++i)
    EXPECT_FALSE(bed.saw_down(i, cut)) << "member " << i << " declared the cut member dead";
  EXPECT_GT(bed.node(cut).counters().refutations, 0u) << "the cut member was never suspected";
  std::size_t announced = 0;
  for (std::size_t i = 0; i < bed.size(); ++i)
    for (const SeenUp& u : bed.ups(i))
      if (i != cut && u.id == bed.id(cut) && u.at > cut_at) ++announced;
  EXPECT_GE(announced, 1u) << "no member told its layers the refuted member is back";
  EXPECT_TRUE(bed.converged(bed.all()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, MembershipPartition, ::testing::Range<std::uint64_t>(31, 37));

}  // namespace
}  // namespace qp2p::federation::test
