// Logout and expiry: a tombstone hides the peer's metadata everywhere, late copies of what it
// replaced do not bring the peer back, and when its lifetime ends the peer is gone everywhere.
#include <gtest/gtest.h>

#include "directory_lab.h"

namespace qp2p::federation {
namespace {

using namespace lab;

TEST(DirectoryTombstone, LogoutHidesMetadataAndOldCopiesStayStale) {
  DirectoryReplica r(limits());
  const WallMs now = kT0 + 100;
  const DirectoryRecord login{online(peer(1), supernode(0), kT0)};
  const DirectoryRecord meta{metadata(peer(1), 4)};
  r.authorise(supernode(0).id());
  ASSERT_TRUE(r.apply(now, login).accepted());
  ASSERT_TRUE(r.apply(now, meta).accepted());
  ASSERT_TRUE(r.peer_info(peer(1).id(), now)->online);

  ASSERT_TRUE(r.apply(now, {offline(peer(1), supernode(0), kT0 + 50, 4)}).accepted());
  EXPECT_FALSE(r.peer_info(peer(1).id(), now).has_value());
  std::size_t total = 9;
  EXPECT_TRUE(r.search({{"app", "chat", false}}, 10, &total).empty());
  EXPECT_EQ(total, 0u);
  // Late copies of the login and the metadata (from a replica that had not seen the logout).
  EXPECT_EQ(r.apply(now, login).status, ApplyStatus::kStale);
  EXPECT_EQ(r.apply(now, meta).status, ApplyStatus::kStale);
  EXPECT_FALSE(r.peer_info(peer(1).id(), now).has_value());
  // A newer version published after the logout (the peer came back) shows again.
  ASSERT_TRUE(r.apply(now, {online(peer(1), supernode(0), kT0 + 60, 0, 4)}).accepted());
  ASSERT_TRUE(r.apply(now, {metadata(peer(1), 5)}).accepted());
  EXPECT_EQ(r.peer_info(peer(1).id(), now)->record->version, 5u);
}

TEST(DirectoryTombstone, ExpiredTombstoneRemovesThePeerAndNothingResurrects) {
  Mesh mesh(3);
  const DirectoryRecord login{online(peer(1), supernode(0), kT0)};
  const DirectoryRecord meta{metadata(peer(1), 1)};
  const DirectoryRecord logout{offline(peer(1), supernode(0), kT0 + 1000, 1)};
  WallMs now = kT0 + 2000;
  // Replica 2 is cut off and never hears of the logout.
  mesh.link = [](std::size_t a, std::size_t b) { return a != 2 && b != 2; };
  ASSERT_TRUE(mesh.replicas[2]->apply(now, login).accepted());
  ASSERT_TRUE(mesh.replicas[2]->apply(now, meta).accepted());
  mesh.write(now, 0, login);
  mesh.write(now, 0, meta);
  mesh.write(now, 0, logout);
  mesh.deliver(now);
  EXPECT_EQ(mesh.replicas[1]->size(), 1u);  // the tombstone

  // Past the tombstone's lifetime: every replica drops the peer (replica 2 dropped it earlier,
  // when the online lease ran out: the lease is shorter than a tombstone's life).
  now = kT0 + 1000 + kTombstone;
  for (auto& r : mesh.replicas) r->expire(now);
  for (auto& r : mesh.replicas) EXPECT_EQ(r->size(), 0u);
  // The old records come back late, from anyone: refused or parked and dropped, never shown.
  mesh.link = [](std::size_t, std::size_t) { return true; };
  EXPECT_EQ(mesh.replicas[0]->apply(now, login).reason, RejectReason::kExpired);
  EXPECT_EQ(mesh.replicas[0]->apply(now, logout).reason, RejectReason::kExpired);
  EXPECT_EQ(mesh.replicas[0]->apply(now, meta).status, ApplyStatus::kParked);
  EXPECT_FALSE(mesh.replicas[0]->peer_info(peer(1).id(), now).has_value());
  mesh.round(now, 0, 1);
  mesh.round(now, 2, 0);
  EXPECT_TRUE(mesh.converged());
  EXPECT_EQ(mesh.replicas[1]->size(), 0u);
  mesh.replicas[0]->expire(now + limits().max_parked_ms);
  EXPECT_EQ(mesh.replicas[0]->parked(), 0u);
  EXPECT_EQ(mesh.replicas[0]->counters().expired_parked, 1u);
}

TEST(DirectoryTombstone, TombstoneMustOutliveTheLease) {
  DirectoryReplica r(limits());
  r.authorise(supernode(0).id());
  PresenceRecord t = offline(peer(1), supernode(0), kT0, 0);
  t.expires_ms = kT0 + kLease - 1;  // would vanish before the online record it overrides
  t.sign(supernode(0));
  EXPECT_EQ(r.apply(kT0, {t}).reason, RejectReason::kLifetime);
  PresenceRecord o = online(peer(1), supernode(0), kT0);
  o.expires_ms = kT0 + kLease + 1;
  o.sign(supernode(0));
  EXPECT_EQ(r.apply(kT0, {o}).reason, RejectReason::kLifetime);
}

TEST(DirectoryTombstone, OnlineLeaseExpiresWhenNotRefreshed) {
  DirectoryReplica r(limits());
  r.authorise(supernode(0).id());
  ASSERT_TRUE(r.apply(kT0, {online(peer(1), supernode(0), kT0)}).accepted());
  EXPECT_EQ(r.next_expiry(), kT0 + kLease);
  EXPECT_EQ(r.expire(kT0 + kLease - 1), 0u);
  // A refresh (new HLC, new expiry) moves the deadline.
  ASSERT_TRUE(r.apply(kT0 + 30'000, {online(peer(1), supernode(0), kT0 + 30'000)}).accepted());
  EXPECT_EQ(r.expire(kT0 + kLease), 0u);
  EXPECT_EQ(r.expire(kT0 + 30'000 + kLease), 1u);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_EQ(r.digest(), 0u);
}

}  // namespace
}  // namespace qp2p::federation
