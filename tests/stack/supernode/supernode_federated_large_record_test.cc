// The largest metadata record a supernode stores (1079 bytes encoded, docs/protocol.md section
// 10) crosses the federation (section 14): published at S1, it is visible at S2 and S3 within a
// few link latencies (pushed, one payload per member), found by a lookup at S3 with its owner's
// signature intact, and no supernode leaves a payload unsent. With payloads bounded at 1000
// bytes such a record never left its supernode.
#include <gtest/gtest.h>

#include "stack/federation/directory_record.h"
#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

// Four entries whose record encodes to exactly federation::kMaxMetadataRecordBytes: owner (32),
// version (8), count (1), signature (64), and per entry two 2-byte lengths, a 1-byte key and
// its value.
wire::MetaEntries largest_entries() {
  constexpr std::size_t kFixed = 32 + 8 + 1 + 64;
  constexpr std::size_t kEntries = 4;
  const std::size_t values = federation::kMaxMetadataRecordBytes - kFixed - kEntries * (4 + 1);
  wire::MetaEntries out;
  for (std::size_t i = 0; i < kEntries; ++i) {
    const std::size_t share = values / kEntries + (i < values % kEntries ? 1 : 0);
    out.push_back({std::string(1, static_cast<char>('a' + i)), std::string(share, 'v')});
  }
  return out;
}

TEST(SupernodeFederatedLargeRecord, MaximumSizeRecordIsVisibleAtEverySupernode) {
  FederatedScenario f(509);
  Supernode& s1 = f.add_supernode(0);
  f.add_supernode(1);
  Supernode& s3 = f.add_supernode(2);
  ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));

  PeerSession& alice = f.add_peer("alice", 0, 0, largest_entries());
  PeerSession& carol = f.add_peer("carol", 2, 2, {{"name", "carol"}});
  alice.start(f.sc.net.now());
  carol.start(f.sc.net.now());
  ASSERT_TRUE(f.run_until([&] { return f.sc.count<ev::Published>(alice) == 1; }, seconds(5)))
      << f.sc.transcript();

  // Stored at S1 at exactly the bound (the case that could not cross before).
  const auto* home = s1.directory()->replica().find(alice.id());
  ASSERT_TRUE(home && home->visible_metadata());
  const wire::SignedRecord record = *home->visible_metadata();
  ASSERT_EQ(federation::encoded_size(federation::DirectoryRecord{record}),
            federation::kMaxMetadataRecordBytes + 1)
      << "kind byte and a record of the largest size a supernode stores";

  // Pushed at once: at every other supernode within a few link latencies.
  ASSERT_TRUE(f.run_until(
      [&] {
        for (const Supernode* s : f.supernodes) {
          const auto* e = s->directory()->replica().find(alice.id());
          if (!e || !e->visible_metadata()) return false;
        }
        return true;
      },
      seconds(1)));
  for (const Supernode* s : f.supernodes) {
    const wire::SignedRecord* m = s->directory()->replica().find(alice.id())->visible_metadata();
    EXPECT_EQ(m->signature, record.signature);
    EXPECT_EQ(m->entries, record.entries);
    EXPECT_TRUE(m->verify());
  }

  // A peer at S3 finds it whole.
  const std::uint64_t lookup = carol.lookup(f.sc.net.now(), alice.id());
  auto found = f.sc.wait_for<ev::LookupDone>(
      carol, seconds(2), [&](const ev::LookupDone& e) { return e.request == lookup; });
  ASSERT_TRUE(found) << f.sc.transcript();
  EXPECT_EQ(found->info.supernode, s1.identity().id());
  ASSERT_TRUE(found->info.record);
  EXPECT_EQ(found->info.record->signature, record.signature);
  EXPECT_EQ(s3.home_supernode_of(alice.id()), s1.identity().id());

  EXPECT_TRUE(f.run_until([&] { return FederatedScenario::directories_equal(f.supernodes); },
                          seconds(1)));
  for (const Supernode* s : f.supernodes) {
    EXPECT_EQ(s->counters().federation_payloads_unsent, 0u);
    EXPECT_EQ(s->directory()->sync_counters().records_rejected, 0u);
    for (auto m : s->directory()->sync_counters().malformed) EXPECT_EQ(m, 0u);
  }
}

}  // namespace
}  // namespace qp2p::scenario
