// Replicas that receive the same updates in different orders (and with duplicates) end in the
// same state, which is the greatest record of each kind per peer: the order is total.
#include <gtest/gtest.h>

#include "directory_lab.h"

namespace qp2p::federation {
namespace {

using namespace lab;

// A history for `peers` peers over `supernodes` supernodes: logins, failovers to another
// supernode (later HLC), concurrent writes in the same millisecond (the supernode id decides),
// metadata versions, and logouts whose tombstone deletes the metadata.
std::vector<DirectoryRecord> history(std::size_t peers, std::size_t supernodes, Random& rng) {
  std::vector<DirectoryRecord> out;
  for (std::uint32_t p = 0; p < peers; ++p) {
    const auto& s1 = supernode(static_cast<std::uint32_t>(rng.uniform(supernodes)));
    const auto& s2 = supernode(static_cast<std::uint32_t>(rng.uniform(supernodes)));
    const WallMs t = kT0 + rng.uniform(1000);
    out.push_back({online(peer(p), s1, t)});
    out.push_back({metadata(peer(p), 1)});
    out.push_back({metadata(peer(p), 2)});
    switch (p % 4) {
      case 0:  // failover: a later write by another supernode
        out.push_back({online(peer(p), s2, t + 5, 0, 0)});
        out.push_back({metadata(peer(p), 3)});
        break;
      case 1:  // two writes with the same HLC: the greater supernode id wins everywhere
        out.push_back({online(peer(p), supernode(0), t + 9)});
        out.push_back({online(peer(p), supernode(1), t + 9)});
        break;
      case 2:  // logout: the tombstone hides versions up to 2
        out.push_back({offline(peer(p), s1, t + 20, 2)});
        break;
      default:  // the same version signed twice with different content: signature bytes decide
        out.push_back({wire::SignedRecord::make(peer(p), 2, {{"app", "other"}})});
        break;
    }
  }
  return out;
}

void shuffle(std::vector<DirectoryRecord>& v, Random& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.uniform(i)]);
}

void converge(std::size_t n_replicas, std::uint64_t seed) {
  Random rng = Random::from_u64(seed);
  const std::size_t peers = 40;
  const auto updates = history(peers, std::min<std::size_t>(n_replicas, 8), rng);
  Mesh mesh(n_replicas);
  const WallMs now = kT0 + 2000;
  for (std::size_t i = 0; i < n_replicas; ++i) {
    auto order = updates;
    // A tenth of the updates arrive twice.
    for (std::size_t k = 0; k < updates.size() / 10; ++k)
      order.push_back(updates[rng.uniform(updates.size())]);
    shuffle(order, rng);
    for (const auto& r : order) {
      const ApplyResult a = mesh.replicas[i]->apply(now, r);
      EXPECT_NE(a.status, ApplyStatus::kRejected) << to_string(a.reason);
    }
  }
  const Bytes first = state_bytes(*mesh.replicas[0]);
  for (std::size_t i = 0; i < n_replicas; ++i) {
    EXPECT_EQ(mesh.replicas[i]->digest(), mesh.replicas[0]->digest()) << "replica " << i;
    EXPECT_EQ(state_bytes(*mesh.replicas[i]), first) << "replica " << i;
    EXPECT_EQ(mesh.replicas[i]->parked(), 0u);
  }
  // The state is the greatest of each kind, computed independently of the replica.
  const DirectoryReplica& r = *mesh.replicas[n_replicas - 1];
  ASSERT_EQ(r.size(), peers);
  for (std::uint32_t p = 0; p < peers; ++p) {
    const PresenceRecord* best = nullptr;
    const wire::SignedRecord* best_meta = nullptr;
    for (const auto& u : updates) {
      if (u.peer() != peer(p).id()) continue;
      if (const auto* pr = u.presence())
        if (!best || newer(*pr, *best)) best = pr;
      if (const auto* m = u.metadata())
        if (!best_meta || newer(*m, *best_meta)) best_meta = m;
    }
    const DirectoryEntry* e = r.find(peer(p).id());
    ASSERT_NE(e, nullptr);
    ASSERT_TRUE(e->presence && e->metadata);
    EXPECT_EQ(e->presence->signature, best->signature) << "peer " << p;
    EXPECT_EQ(e->metadata->signature, best_meta->signature) << "peer " << p;
    EXPECT_EQ(e->visible_metadata() == nullptr, p % 4 == 2) << "peer " << p;
    if (p % 4 == 1) {
      EXPECT_EQ(e->presence->supernode, std::max(supernode(0).id(), supernode(1).id()));
    }
  }
}

TEST(DirectoryConvergence, ThreeReplicasAnyOrder) { converge(3, 1); }
TEST(DirectoryConvergence, EightReplicasAnyOrder) { converge(8, 2); }
TEST(DirectoryConvergence, ThirtyTwoReplicasAnyOrder) { converge(32, 3); }

TEST(DirectoryConvergence, PushedUpdatesReachEveryReplica) {
  Random rng = Random::from_u64(4);
  Mesh mesh(5);
  const WallMs now = kT0 + 2000;
  auto updates = history(20, 5, rng);
  for (const auto& u : updates) {
    // Each update is written at a random replica and pushed from there.
    mesh.write(now, rng.uniform(5), u);
    mesh.deliver(now);
  }
  EXPECT_TRUE(mesh.converged());
  EXPECT_EQ(mesh.replicas[0]->size(), 20u);
}

}  // namespace
}  // namespace qp2p::federation
