// Thirty-two replicas and no pushes at all: every update is written at one replica and spreads
// only through anti-entropy rounds between random pairs, until every digest is equal.
#include <gtest/gtest.h>

#include "directory_lab.h"

namespace qp2p::federation {
namespace {

using namespace lab;

TEST(DirectoryGossip, ThirtyTwoReplicasConvergeByAntiEntropyAlone) {
  const std::size_t n = 32;
  Mesh mesh(n);
  Random rng = Random::from_u64(32);
  const WallMs now = kT0 + 1000;
  std::vector<PeerId> peers;
  for (std::uint32_t p = 0; p < 200; ++p) {
    DirectoryReplica& home = *mesh.replicas[p % n];
    ASSERT_TRUE(home.apply(now, {online(peer(p), supernode(p % n), kT0)}).accepted());
    ASSERT_TRUE(home.apply(now, {metadata(peer(p), 1 + p % 3)}).accepted());
  }
  // Rounds: each replica starts one with a random other replica.
  int sweeps = 0;
  for (; sweeps < 30 && !mesh.converged(); ++sweeps)
    for (std::size_t a = 0; a < n; ++a) mesh.round(now, a, (a + 1 + rng.uniform(n - 1)) % n);
  EXPECT_TRUE(mesh.converged()) << "after " << sweeps << " sweeps";
  EXPECT_LE(sweeps, 10);  // epidemic spread: about log2(32) sweeps, with margin
  for (const auto& r : mesh.replicas) {
    EXPECT_EQ(r->size(), 200u);
    EXPECT_EQ(r->record_count(), 400u);
  }
}

}  // namespace
}  // namespace qp2p::federation
