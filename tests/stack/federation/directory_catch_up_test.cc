// Catch-up rounds with members that came up (stack/federation/directory_node.h): a member that
// begins a round with us first is not caught up with again; members that came up together are
// caught up with one at a time, each once, in a random order.
#include <gtest/gtest.h>

#include <set>

#include "directory_lab.h"
#include "stack/federation/directory_node.h"

namespace qp2p::federation {
namespace {

using namespace lab;

// Payloads `from` has queued, as (to, payload).
std::vector<SyncTransmit> drain(DirectoryNode& from) {
  std::vector<SyncTransmit> out;
  while (auto t = from.poll_transmit()) out.push_back(std::move(*t));
  return out;
}

std::size_t count_to(const std::vector<SyncTransmit>& out, const Identity& to) {
  return std::count_if(out.begin(), out.end(),
                       [&](const SyncTransmit& t) { return t.to == to.id(); });
}

TEST(DirectoryCatchUp, AMemberThatBeginsARoundWithUsFirstIsNotCaughtUpWithAgain) {
  DirectoryNode a(supernode(0), node_config(), Random::from_u64(1));
  DirectoryNode c(supernode(2), node_config(), Random::from_u64(3));
  a.member_up(kT0, supernode(1).id());  // A's first catch-up: with B, which never answers
  a.member_up(kT0, supernode(2).id());  // queued behind B's
  c.member_up(kT0, supernode(0).id());
  std::vector<SyncTransmit> from_a = drain(a);
  EXPECT_EQ(count_to(from_a, supernode(1)), 1u);
  EXPECT_EQ(count_to(from_a, supernode(2)), 0u);
  // C's catch-up round with A reaches A first: it repairs both sides, A's own is skipped.
  for (auto& t : drain(c)) a.handle_payload(kT0 + 10, supernode(2).id(), t.payload);
  EXPECT_EQ(a.counters().catch_up_skipped, 1u);
  for (WallMs t = kT0 + 100; t < kT0 + 9'000; t += 100) {  // before the random round
    a.handle_timeout(t);
    for (auto& out : drain(a))
      EXPECT_FALSE(out.to == supernode(2).id() && out.payload[0] == 2 && out.payload[1] == 1)
          << "A began a round with C at " << t - kT0 << " ms";
  }
  EXPECT_EQ(a.counters().catch_up_rounds, 1u);
}

// The members a node begins rounds with (level-1 summaries), in order, over `ms` from kT0.
std::vector<PeerId> rounds_begun(DirectoryNode& node, WallMs ms) {
  std::vector<PeerId> out;
  for (WallMs t = kT0; t < kT0 + ms; t += 50) {
    node.handle_timeout(t);
    for (auto& p : drain(node))
      if (p.payload[0] == 2 && p.payload[1] == 1) out.push_back(p.to);
  }
  return out;
}

TEST(DirectoryCatchUp, MembersThatCameUpTogetherAreCaughtUpWithOnceEachInARandomOrder) {
  // A heal brings the other half up at about the same moment everywhere; taken in that order,
  // every member of one half began with the same member of the other (and split its grant).
  std::set<PeerId> second_targets;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    DirectoryNode a(supernode(0), node_config(), Random::from_u64(seed));
    for (std::uint32_t m = 1; m <= 6; ++m) a.member_up(kT0, supernode(m).id());
    // None of them answers: each round ends idle, and the next begins (before the periodic
    // round at 10 s).
    const std::vector<PeerId> begun = rounds_begun(a, 9'000);
    ASSERT_EQ(begun.size(), 6u) << "seed " << seed;
    EXPECT_EQ(std::set<PeerId>(begun.begin(), begun.end()).size(), 6u) << "each once";
    EXPECT_EQ(a.counters().catch_up_rounds, 6u);
    second_targets.insert(begun[1]);
  }
  EXPECT_GE(second_targets.size(), 3u) << "the same member next whatever the seed";
}

}  // namespace
}  // namespace qp2p::federation
