// Push batching (push_batch.h, docs/protocol.md §14.5): the flush rule (an idle node pushes at
// once, a burst fills whole payloads, the rest waits at most one interval), the payload and count
// bounds, and two DirectoryNodes where a login wave crosses in a few payloads, not one per record.
#include "stack/federation/push_batch.h"

#include <gtest/gtest.h>

#include "directory_lab.h"
#include "stack/federation/directory_node.h"

namespace qp2p::federation {
namespace {

using namespace lab;

DirectoryRecord presence_of(std::uint32_t p, WallMs at = kT0) {
  return {online(peer(p), supernode(0), at)};
}

std::size_t push_bytes(const PushBatch::Batch& b) { return encode(Push{b}).size(); }

TEST(PushBatch, IdleNodePushesAtOnceThenWaitsOneInterval) {
  PushBatch batch;  // 1200 bytes, 50 ms
  auto out = batch.add(kT0, {presence_of(1)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 1u);
  EXPECT_EQ(batch.deadline(), std::numeric_limits<WallMs>::max());

  // Within the interval: the records wait, due 50 ms after the last push.
  EXPECT_TRUE(batch.add(kT0 + 10, {presence_of(2)}).empty());
  EXPECT_TRUE(batch.add(kT0 + 20, {presence_of(3)}).empty());
  EXPECT_EQ(batch.deadline(), kT0 + 50);
  EXPECT_TRUE(batch.take_due(kT0 + 49).empty());
  const PushBatch::Batch due = batch.take_due(kT0 + 50);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].peer(), peer(2).id());
  EXPECT_EQ(due[1].peer(), peer(3).id());
  EXPECT_EQ(batch.waiting(), 0u);

  // A record a full interval after that push goes at once again.
  EXPECT_EQ(batch.add(kT0 + 100, {presence_of(4)}).size(), 1u);
}

TEST(PushBatch, BurstFillsWholePayloadsAndTheRestWaits) {
  PushBatch batch;
  batch.add(kT0, {presence_of(0)});  // the node has just pushed
  std::vector<DirectoryRecord> burst;
  for (std::uint32_t p = 1; p <= 40; ++p) burst.push_back(presence_of(p));
  const std::size_t record = encoded_size(burst[0]);
  const std::size_t per_payload = (1200 - 3) / record;  // 3 online presences of 326 + 1 bytes
  ASSERT_GE(per_payload, 2u);

  auto out = batch.add(kT0 + 1, burst);
  std::size_t sent = 0;
  std::uint32_t next = 1;
  for (const auto& b : out) {
    EXPECT_EQ(b.size(), per_payload);  // every emitted batch is full
    EXPECT_LE(push_bytes(b), 1200u);
    for (const auto& r : b) EXPECT_EQ(r.peer(), peer(next++).id());  // order kept
    sent += b.size();
  }
  EXPECT_EQ(sent + batch.waiting(), 40u);
  EXPECT_LT(batch.waiting(), per_payload);  // only what does not fill a payload waits
  // ... no longer than one interval after the last push (the full ones just now).
  EXPECT_EQ(batch.deadline(), kT0 + 1 + 50);
  const auto rest = batch.take_due(kT0 + 51);
  EXPECT_EQ(rest.size(), 40u - sent);
  EXPECT_LE(push_bytes(rest), 1200u);
}

TEST(PushBatch, AtMostSixtyFourRecordsPerPayload) {
  PushBatchConfig config;
  config.max_payload_bytes = kMaxSyncPayloadBytes;  // bytes never the limit here
  PushBatch batch(config);
  batch.add(kT0, {presence_of(0)});
  std::vector<DirectoryRecord> burst;
  for (std::uint32_t p = 1; p <= 130; ++p) burst.push_back({metadata(peer(p), 1)});
  auto out = batch.add(kT0 + 1, burst);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].size(), kMaxSyncRecords);
  EXPECT_EQ(out[1].size(), kMaxSyncRecords);
  EXPECT_EQ(batch.waiting(), 2u);
  // What a full batch encodes to decodes (count 64 is within the decoder's bound).
  const Bytes b = encode(Push{out[0]});
  SyncDecodeError error = SyncDecodeError::kNone;
  EXPECT_TRUE(decode(b.data(), b.size(), &error).has_value()) << to_string(error);
}

TEST(PushBatch, ZeroIntervalPushesEveryAddAtOnce) {
  PushBatchConfig config;
  config.interval_ms = 0;
  PushBatch batch(config);
  for (std::uint32_t p = 1; p <= 5; ++p) {
    auto out = batch.add(kT0, {presence_of(p)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].size(), 1u);
  }
  EXPECT_EQ(batch.waiting(), 0u);
}

// Delivers every payload `from` has for `to`; returns how many.
std::size_t deliver(DirectoryNode& from, const Identity& from_id, DirectoryNode& to, WallMs now) {
  std::size_t n = 0;
  while (auto t = from.poll_transmit()) {
    EXPECT_LE(t->payload.size(), kMaxPayload);
    to.handle_payload(now, from_id.id(), t->payload);
    ++n;
  }
  return n;
}

TEST(PushBatch, LoginWaveCrossesInFullPayloadsAndTheTimerFlushesTheRest) {
  DirectoryNode a(supernode(0), node_config(), Random::from_u64(1));
  DirectoryNode b(supernode(1), node_config(), Random::from_u64(2));
  a.member_up(kT0, supernode(1).id());
  b.member_up(kT0, supernode(0).id());
  // The catch-up rounds of member_up, delivered until quiet (bounded: a few round trips).
  for (int i = 0; i < 8; ++i) {
    deliver(a, supernode(0), b, kT0);
    deliver(b, supernode(1), a, kT0);
  }

  // 30 logins within 20 ms at A.
  const std::uint32_t kPeers = 30;
  std::size_t payloads = 0;
  for (std::uint32_t p = 0; p < kPeers; ++p) {
    const WallMs now = kT0 + 100 + p * 20 / kPeers;
    a.peer_online(now, peer(p).id(), logged_into(peer(p), supernode(0), 1));
    payloads += deliver(a, supernode(0), b, now);
  }
  EXPECT_LT(b.replica().size(), kPeers);  // some wait in the batch
  const WallMs due = a.poll_timeout();  // the batch's: before any refresh or round
  EXPECT_LE(due, kT0 + 100 + 20 + 50);
  a.handle_timeout(due);
  payloads += deliver(a, supernode(0), b, due);
  EXPECT_EQ(b.replica().size(), kPeers);
  EXPECT_EQ(b.sync_counters().records_accepted, kPeers);
  // The first at once, then full payloads of 3 presences, then the rest: about a third.
  EXPECT_LE(payloads, 1 + kPeers / 3 + 1);
  EXPECT_EQ(a.counters().pushes, kPeers);
  EXPECT_EQ(a.counters().push_batches, payloads);
}

}  // namespace
}  // namespace qp2p::federation
