// A supernode writing its own peers' presence: login, refresh before the lease runs out, logout
// tombstones that hide the metadata, and a failover to a supernode whose clock lags.
#include "stack/federation/presence_writer.h"

#include <gtest/gtest.h>

#include "directory_lab.h"

namespace qp2p::federation {
namespace {

using namespace lab;

PeerPresence logged_into(const Identity& p, const Identity& s) {
  PeerPresence pp;
  pp.mapped = ep("203.0.113.5:50000");
  pp.hosts = {ep("192.0.2.5:50000")};
  pp.nat.mapping = NatProfile::Behaviour::kAddressAndPortDependent;
  pp.proof.nonce[0] = 1;
  Bytes t = wire::login_transcript(p.id(), s.id(), pp.proof.nonce, pp.proof.ephemeral);
  pp.proof.signature = p.sign(t.data(), t.size());
  return pp;
}

PresenceWriterConfig config() {
  PresenceWriterConfig c;
  c.lease_ms = kLease;
  c.refresh_ms = kLease / 3;
  c.tombstone_ms = kTombstone;
  return c;
}

TEST(PresenceWriter, LoginRefreshAndLogout) {
  Mesh mesh(2);
  PresenceWriter w(supernode(0), *mesh.replicas[0], config());
  auto login = w.online(kT0, peer(1).id(), logged_into(peer(1), supernode(0)));
  ASSERT_TRUE(login.has_value());
  EXPECT_EQ(mesh.replicas[1]->apply(kT0, *login).status, ApplyStatus::kAccepted);
  EXPECT_EQ(w.next_refresh(), kT0 + kLease / 3);
  EXPECT_TRUE(w.refresh(kT0 + 1000).empty());

  // Refreshed before the lease ends: still online at the other replica after the first lease.
  auto refreshed = w.refresh(kT0 + kLease / 3);
  ASSERT_EQ(refreshed.size(), 1u);
  EXPECT_TRUE(mesh.replicas[1]->apply(kT0 + kLease / 3, refreshed[0]).accepted());
  mesh.replicas[1]->expire(kT0 + kLease);
  EXPECT_TRUE(mesh.replicas[1]->peer_info(peer(1).id(), kT0 + kLease)->online);

  // The peer published version 7; its logout hides it everywhere.
  const DirectoryRecord meta{metadata(peer(1), 7)};
  ASSERT_TRUE(mesh.replicas[0]->apply(kT0 + 2000, meta).accepted());
  ASSERT_TRUE(mesh.replicas[1]->apply(kT0 + 2000, meta).accepted());
  auto logout = w.offline(kT0 + kLease / 2, peer(1).id(), PresenceState::kLoggedOut);
  ASSERT_TRUE(logout.has_value());
  EXPECT_EQ(logout->presence()->meta_floor, 7u);
  EXPECT_TRUE(mesh.replicas[1]->apply(kT0 + kLease / 2, *logout).accepted());
  EXPECT_FALSE(mesh.replicas[1]->peer_info(peer(1).id(), kT0 + kLease / 2).has_value());
  EXPECT_EQ(mesh.replicas[0]->digest(), mesh.replicas[1]->digest());
  EXPECT_EQ(w.online_count(), 0u);
}

TEST(PresenceWriter, FailoverToALaggingClockStillOrdersAfter) {
  Mesh mesh(2);
  PresenceWriter a(supernode(0), *mesh.replicas[0], config());
  PresenceWriter b(supernode(1), *mesh.replicas[1], config());
  auto at_a = a.online(kT0 + 5000, peer(1).id(), logged_into(peer(1), supernode(0)));
  ASSERT_TRUE(at_a.has_value());
  ASSERT_TRUE(mesh.replicas[1]->apply(kT0 + 5000, *at_a).accepted());
  // B's clock is 3 s behind A's; the peer fails over to B.
  auto at_b = b.online(kT0 + 2000, peer(1).id(), logged_into(peer(1), supernode(1)));
  ASSERT_TRUE(at_b.has_value());
  EXPECT_GT(at_b->presence()->hlc, at_a->presence()->hlc);
  EXPECT_EQ(at_b->presence()->expires_ms, kT0 + 5000 + kLease);
  ASSERT_TRUE(mesh.replicas[0]->apply(kT0 + 5000, *at_b).accepted());
  // A then expires its old session: the peer is B's now, so A writes no tombstone and stops
  // refreshing.
  EXPECT_FALSE(a.offline(kT0 + 6000, peer(1).id(), PresenceState::kExpired).has_value());
  EXPECT_TRUE(a.refresh(kT0 + kLease).empty());
  EXPECT_EQ(mesh.replicas[0]->find(peer(1).id())->presence->supernode, supernode(1).id());
  EXPECT_EQ(mesh.replicas[0]->digest(), mesh.replicas[1]->digest());
}

TEST(PresenceWriter, RefusedWhenTheLeaseExceedsTheNetworkLimit) {
  DirectoryReplica r(limits());
  r.authorise(supernode(0).id());
  PresenceWriterConfig c = config();
  c.lease_ms = kLease + 1;
  PresenceWriter w(supernode(0), r, c);
  EXPECT_FALSE(w.online(kT0, peer(1).id(), logged_into(peer(1), supernode(0))).has_value());
  EXPECT_EQ(w.online_count(), 0u);
  EXPECT_EQ(r.counters().rejected[static_cast<std::size_t>(RejectReason::kLifetime)], 1u);
}

}  // namespace
}  // namespace qp2p::federation
