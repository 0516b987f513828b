// Three federated supernodes answer for the whole network (docs/protocol.md section 14.5): a peer
// at S1 publishes; a peer at S3 finds it by lookup (online, at S1, its address and metadata) and
// by search, S3's management views list it with its supernode; it logs out at S1 and is gone at
// S3 (lookup, search and views); the three directories end equal.
#include <gtest/gtest.h>

#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

TEST(SupernodeFederatedLookup, PeerPublishedAtOneSupernodeIsFoundAtAnother) {
  FederatedScenario f(501);
  Supernode& s1 = f.add_supernode(0);
  f.add_supernode(1);
  Supernode& s3 = f.add_supernode(2);
  ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));

  PeerSession& alice = f.add_peer("alice", 0, 0, {{"name", "alice"}, {"city", "paris"}});
  PeerSession& carol = f.add_peer("carol", 2, 2, {{"name", "carol"}});
  alice.start(f.sc.net.now());
  carol.start(f.sc.net.now());
  ASSERT_TRUE(f.run_until(
      [&] {
        return f.sc.count<ev::Published>(alice) == 1 && f.sc.count<ev::Published>(carol) == 1;
      },
      seconds(5)))
      << f.sc.transcript();
  // Pushed at once: visible at S3 within a few link latencies of the publish.
  ASSERT_TRUE(f.run_until(
      [&] {
        const auto* e = s3.directory()->replica().find(alice.id());
        return e && e->visible_metadata();
      },
      seconds(1)));
  EXPECT_EQ(s3.home_supernode_of(alice.id()), s1.identity().id());
  EXPECT_EQ(s1.home_supernode_of(carol.id()), s3.identity().id());

  const std::uint64_t lookup = carol.lookup(f.sc.net.now(), alice.id());
  auto found = f.sc.wait_for<ev::LookupDone>(
      carol, seconds(2), [&](const ev::LookupDone& e) { return e.request == lookup; });
  ASSERT_TRUE(found) << f.sc.transcript();
  EXPECT_TRUE(found->info.online);
  EXPECT_EQ(found->info.supernode, s1.identity().id());
  EXPECT_EQ(found->info.mapped, endpoint("203.0.113.10:40000"));
  ASSERT_TRUE(found->info.record);
  EXPECT_EQ(*found->info.record->find("city"), "paris");

  const std::uint64_t search = carol.search(f.sc.net.now(), {{"city", "paris", false}});
  auto result = f.sc.wait_for<ev::SearchDone>(
      carol, seconds(2), [&](const ev::SearchDone& e) { return e.request == search; });
  ASSERT_TRUE(result) << f.sc.transcript();
  ASSERT_EQ(result->total, 1u);
  EXPECT_EQ(result->peers.at(0).id, alice.id());
  EXPECT_EQ(result->peers.at(0).supernode, s1.identity().id());

  // The management view at S3 (what /v1/peers reads) lists both, each with its supernode.
  std::map<PeerId, OnlinePeerView> seen;
  s3.for_each_online_peer([&](const OnlinePeerView& v) { seen.emplace(v.id, v); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen.at(alice.id()).supernode, s1.identity().id());
  EXPECT_FALSE(seen.at(alice.id()).local);
  ASSERT_NE(seen.at(alice.id()).record, nullptr);
  EXPECT_TRUE(seen.at(carol.id()).local);
  ASSERT_TRUE(s3.online_peer(alice.id()));

  // Logout at S1: gone at S3 (the tombstone is pushed).
  alice.logout(f.sc.net.now());
  ASSERT_TRUE(f.run_until([&] { return !s3.home_supernode_of(alice.id()); }, seconds(2)));
  EXPECT_FALSE(s3.online_peer(alice.id()));
  const std::uint64_t again = carol.search(f.sc.net.now(), {{"city", "paris", false}});
  auto none = f.sc.wait_for<ev::SearchDone>(
      carol, seconds(2), [&](const ev::SearchDone& e) { return e.request == again; });
  ASSERT_TRUE(none);
  EXPECT_EQ(none->total, 0u) << "a logged-out peer's metadata disappears everywhere";
  const std::uint64_t lookup2 = carol.lookup(f.sc.net.now(), alice.id());
  auto failed = f.sc.wait_for<ev::RequestFailed>(
      carol, seconds(2), [&](const ev::RequestFailed& e) { return e.request == lookup2; });
  EXPECT_TRUE(failed) << f.sc.transcript();

  EXPECT_TRUE(FederatedScenario::directories_equal(f.supernodes));
  for (const Supernode* s : f.supernodes) {
    const auto& c = s->directory()->sync_counters();
    EXPECT_EQ(c.records_rejected, 0u);
    for (auto m : c.malformed) EXPECT_EQ(m, 0u);
    EXPECT_EQ(s->counters().federation_payloads_unsent, 0u);
  }
}

}  // namespace
}  // namespace qp2p::scenario
