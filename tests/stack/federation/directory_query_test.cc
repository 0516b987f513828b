// What the index service asks the replica: lookups and searches over the whole network's
// directory, with the same answers as the single supernode's index; and the size bound.
#include <gtest/gtest.h>

#include "directory_lab.h"

namespace qp2p::federation {
namespace {

using namespace lab;

TEST(DirectoryQuery, LookupShowsPresenceAndVisibleMetadata) {
  DirectoryReplica r(limits());
  r.authorise(supernode(2).id());
  const WallMs now = kT0 + 10;
  ASSERT_TRUE(r.apply(now, {online(peer(1), supernode(2), kT0)}).accepted());
  auto info = r.peer_info(peer(1).id(), now);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->online);
  EXPECT_EQ(info->supernode, supernode(2).id());
  EXPECT_EQ(info->mapped, ep("198.51.100.7:40000"));
  EXPECT_FALSE(info->record.has_value());
  ASSERT_TRUE(r.apply(now, {metadata(peer(1), 1)}).accepted());
  EXPECT_EQ(r.peer_info(peer(1).id(), now)->record->version, 1u);
  // Past the lease (not yet expired by expire()): offline, metadata still there.
  auto later = r.peer_info(peer(1).id(), kT0 + kLease);
  ASSERT_TRUE(later.has_value());
  EXPECT_FALSE(later->online);
  EXPECT_FALSE(r.peer_info(peer(2).id(), now).has_value());
}

TEST(DirectoryQuery, SearchMatchesTermsInIdOrderWithPaging) {
  DirectoryReplica r(limits());
  r.authorise(supernode(0).id());
  const WallMs now = kT0 + 10;
  std::vector<PeerId> chat;
  for (std::uint32_t p = 0; p < 30; ++p) {
    ASSERT_TRUE(r.apply(now, {online(peer(p), supernode(0), kT0)}).accepted());
    const std::string app = p % 3 == 0 ? "games" : "chat";
    ASSERT_TRUE(r.apply(now, {metadata(peer(p), 1, app)}).accepted());
    if (app == "chat") chat.push_back(peer(p).id());
  }
  std::sort(chat.begin(), chat.end());
  std::size_t total = 0;
  auto page1 = r.search({{"app", "ch", true}}, 15, &total);
  EXPECT_EQ(total, 20u);
  ASSERT_EQ(page1.size(), 15u);
  EXPECT_TRUE(std::equal(page1.begin(), page1.end(), chat.begin()));
  auto page2 = r.search({{"app", "chat", false}}, 15, &total, page1.back());
  ASSERT_EQ(page2.size(), 5u);
  EXPECT_EQ(page2.front(), chat[15]);
  EXPECT_TRUE(r.search({{"app", "chat", false}, {"v", "2", false}}, 15, &total).empty());
}

TEST(DirectoryQuery, BoundedNumberOfPeers) {
  DirectoryLimits l = limits();
  l.max_peers = 10;
  l.max_parked = 2;
  DirectoryReplica r(l);
  r.authorise(supernode(0).id());
  const WallMs now = kT0 + 10;
  for (std::uint32_t p = 0; p < 10; ++p)
    ASSERT_TRUE(r.apply(now, {online(peer(p), supernode(0), kT0)}).accepted());
  EXPECT_EQ(r.apply(now, {online(peer(10), supernode(0), kT0)}).reason, RejectReason::kFull);
  // Updates to peers already present still go in.
  EXPECT_TRUE(r.apply(now, {online(peer(3), supernode(0), kT0 + 1)}).accepted());
  EXPECT_EQ(r.apply(now, {metadata(peer(20), 1)}).status, ApplyStatus::kParked);
  EXPECT_EQ(r.apply(now, {metadata(peer(21), 1)}).status, ApplyStatus::kParked);
  EXPECT_EQ(r.apply(now, {metadata(peer(22), 1)}).reason, RejectReason::kFull);
  EXPECT_EQ(r.counters().rejected[static_cast<std::size_t>(RejectReason::kFull)], 2u);
  // An oversized metadata record (fits validate_entries, not a search result).
  wire::MetaEntries big;
  for (int i = 0; i < 4; ++i) big.push_back({"k" + std::to_string(i), std::string(250, 'z')});
  EXPECT_EQ(r.apply(now, {wire::SignedRecord::make(peer(3), 2, big)}).reason,
            RejectReason::kTooLarge);
}

}  // namespace
}  // namespace qp2p::federation
