// Sync message codec: round trips, byte layout, every malformed case refused with its reason,
// bounds on batches, and mutated payloads never crash the sync engine (counted drops).
#include <gtest/gtest.h>

#include "directory_lab.h"
#include "tests/stack/hex_bytes.h"

namespace qp2p::federation {
namespace {

using namespace lab;

SyncDecodeError error_of(const Bytes& b) {
  SyncDecodeError e = SyncDecodeError::kNone;
  auto m = decode(b.data(), b.size(), &e);
  EXPECT_EQ(m.has_value(), e == SyncDecodeError::kNone);
  return e;
}

std::vector<SyncMessage> samples() {
  Summary s;
  s.level = 2;
  s.first = 64;
  s.root = 0x0102030405060708;
  s.records = 7;
  s.pace = 5;
  s.hashes = {1, 2, 3};
  RequestBucket q;
  q.bucket = bucket_of(peer(1).id());
  q.first = bucket_first(q.bucket);
  q.last = bucket_last(q.bucket);
  q.entries.push_back({peer(1).id(), 5, 6, 7, 8});
  RecordsResponse rr;
  rr.bucket = 3;
  rr.pace = 9;
  rr.wants = {peer(2).id()};
  rr.records = {{offline(peer(1), supernode(0), kT0, 1)}};
  return {Push{{{online(peer(1), supernode(0), kT0)}, {metadata(peer(1), 2)}}}, s, q, rr};
}

TEST(DirectorySyncMessages, RoundTripCanonically) {
  for (const SyncMessage& m : samples()) {
    const Bytes b = encode(m);
    SyncDecodeError e;
    auto back = decode(b.data(), b.size(), &e);
    ASSERT_TRUE(back.has_value()) << to_string(e);
    EXPECT_EQ(back->index(), m.index());
    EXPECT_EQ(encode(*back), b);
  }
}

TEST(DirectorySyncMessages, SummaryLayout) {
  Summary s;
  s.level = 1;
  s.first = 2;
  s.root = 0x1122334455667788;
  s.records = 0x01020304;
  s.pace = 0x0320;
  s.hashes = {0xa0a1a2a3a4a5a6a7};
  EXPECT_EQ(encode(s),
            test::hex("02 01 0002 01 1122334455667788 01020304 0320 a0a1a2a3a4a5a6a7"));
}

TEST(DirectorySyncMessages, RecordsLayoutCarriesThePaceAfterTheBucket) {
  RecordsResponse rr;
  rr.bucket = 0x0123;
  rr.pace = 0x00c8;
  rr.wants = {peer(2).id()};
  const Bytes b = encode(rr);
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 7), test::hex("04 0123 00c8 0001"));
  EXPECT_EQ(b.size(), 7u + 32u + 2u);  // one want, no records
  SyncDecodeError e;
  auto back = decode(b.data(), b.size(), &e);
  ASSERT_TRUE(back.has_value()) << to_string(e);
  EXPECT_EQ(std::get<RecordsResponse>(*back).pace, 0x00c8);
}

TEST(DirectorySyncMessages, MalformedPayloadsNameTheirReason) {
  EXPECT_EQ(error_of({}), SyncDecodeError::kEmpty);
  EXPECT_EQ(error_of(Bytes(kMaxSyncPayloadBytes + 1, 1)), SyncDecodeError::kTooLarge);
  EXPECT_EQ(error_of({9}), SyncDecodeError::kUnknownType);
  EXPECT_EQ(error_of({1, 0, 0}), SyncDecodeError::kBadCount);      // empty push
  EXPECT_EQ(error_of({1, 0, 65}), SyncDecodeError::kBadCount);     // 65 records
  EXPECT_EQ(error_of({1, 0, 1, 3}), SyncDecodeError::kBadRecord);  // record kind 3
  Bytes s = encode(samples()[1]);
  s[1] = 3;  // level 3
  EXPECT_EQ(error_of(s), SyncDecodeError::kBadField);
  s = encode(samples()[1]);
  s[2] = 0x0f;  // first 4095 + 3 hashes: past the 4096 buckets
  s[3] = 0xff;
  EXPECT_EQ(error_of(s), SyncDecodeError::kBadField);
  s = encode(samples()[1]);
  s[4] = 65;
  EXPECT_EQ(error_of(s), SyncDecodeError::kBadCount);
  s = encode(samples()[1]);
  s.push_back(0);
  EXPECT_EQ(error_of(s), SyncDecodeError::kTrailingBytes);
  s.resize(s.size() - 2);
  EXPECT_EQ(error_of(s), SyncDecodeError::kTruncated);

  RequestBucket q = std::get<RequestBucket>(samples()[2]);
  RequestBucket bad = q;
  bad.bucket = static_cast<std::uint16_t>(q.bucket ^ 1);  // entries outside the bucket
  bad.first = bucket_first(bad.bucket);
  bad.last = bucket_last(bad.bucket);
  EXPECT_EQ(error_of(encode(bad)), SyncDecodeError::kUnordered);
  bad = q;
  bad.entries.push_back(q.entries[0]);  // not strictly ascending
  EXPECT_EQ(error_of(encode(bad)), SyncDecodeError::kUnordered);
  bad = q;
  std::swap(bad.first, bad.last);
  EXPECT_EQ(error_of(encode(bad)), SyncDecodeError::kUnordered);
  Bytes b = encode(q);
  b[1] = 0x10;  // bucket 4096+
  EXPECT_EQ(error_of(b), SyncDecodeError::kBadField);

  RecordsResponse rr = std::get<RecordsResponse>(samples()[3]);
  rr.wants.assign(kMaxWants + 1, peer(3).id());
  EXPECT_EQ(error_of(encode(rr)), SyncDecodeError::kBadCount);
}

// A push batch (§14.5, "Push batching"): `01 | count | count x (kind | record)`, the records'
// encodings back to back, exactly as they are stored.
TEST(DirectorySyncMessages, PushBatchLayout) {
  const DirectoryRecord a{online(peer(1), supernode(0), kT0)};
  const DirectoryRecord b{metadata(peer(1), 2)};
  const DirectoryRecord c{offline(peer(2), supernode(0), kT0, 1)};
  Bytes expected = test::hex("01 0003");
  ByteWriter w(expected);
  for (const auto* r : {&a, &b, &c}) append(w, *r);
  const Bytes got = encode(Push{{a, b, c}});
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got.size(), 3 + encoded_size(a) + encoded_size(b) + encoded_size(c));
  EXPECT_EQ(got[3], 1);                       // first record: presence
  EXPECT_EQ(got[3 + encoded_size(a)], 2);     // second: metadata
  SyncDecodeError e;
  auto back = decode(got.data(), got.size(), &e);
  ASSERT_TRUE(back.has_value()) << to_string(e);
  ASSERT_EQ(std::get<Push>(*back).records.size(), 3u);
  EXPECT_EQ(std::get<Push>(*back).records[1].peer(), peer(1).id());
}

// A batch that does not decode whole is refused whole (counted): record boundaries after a bad
// one are unknown, so nothing of it is applied.
TEST(DirectorySyncMessages, TruncatedOrMalformedBatchIsRefusedWhole) {
  const DirectoryRecord a{online(peer(1), supernode(0), kT0)};
  const DirectoryRecord b{online(peer(2), supernode(0), kT0)};
  const Bytes good = encode(Push{{a, b}});
  Bytes cut(good.begin(), good.end() - 10);  // inside the second record
  EXPECT_EQ(error_of(cut), SyncDecodeError::kBadRecord);
  Bytes more = good;
  more[2] = 3;  // says three records, holds two
  EXPECT_EQ(error_of(more), SyncDecodeError::kBadRecord);
  Bytes fewer = good;
  fewer[2] = 1;  // says one: the second is trailing
  EXPECT_EQ(error_of(fewer), SyncDecodeError::kTrailingBytes);
  Bytes kind = good;
  kind[3 + encoded_size(a)] = 7;  // second record of an unknown kind
  EXPECT_EQ(error_of(kind), SyncDecodeError::kBadRecord);

  Mesh mesh(2);
  DirectorySync& target = *mesh.syncs[1];
  for (const Bytes* p : {&cut, &more, &kind})
    target.handle_message(kT0 + 1, supernode(0).id(), p->data(), p->size());
  target.handle_message(kT0 + 1, supernode(0).id(), fewer.data(), fewer.size());
  EXPECT_EQ(target.counters().malformed[static_cast<std::size_t>(SyncDecodeError::kBadRecord)],
            3u);
  EXPECT_EQ(
      target.counters().malformed[static_cast<std::size_t>(SyncDecodeError::kTrailingBytes)], 1u);
  EXPECT_EQ(mesh.replicas[1]->size(), 0u);  // not even the first record
  EXPECT_EQ(target.counters().records_accepted, 0u);
}

// A batch that decodes is applied record by record: one the replica refuses (a forged
// signature, a writer that is no member) does not keep the others out.
TEST(DirectorySyncMessages, ARefusedRecordDoesNotPoisonItsBatch) {
  DirectoryRecord forged{online(peer(2), supernode(0), kT0)};
  std::get<PresenceRecord>(forged.body).signature[0] ^= 1;
  const DirectoryRecord stranger{online(peer(3), supernode(77), kT0)};  // not authorised
  const Bytes batch = encode(Push{{{online(peer(1), supernode(0), kT0)}, forged, stranger,
                                   {metadata(peer(1), 2)}, {online(peer(4), supernode(1), kT0)}}});
  Mesh mesh(2);
  DirectorySync& target = *mesh.syncs[1];
  target.handle_message(kT0 + 1, supernode(0).id(), batch.data(), batch.size());
  EXPECT_EQ(target.counters().records_accepted, 3u);
  EXPECT_EQ(target.counters().records_rejected, 2u);
  EXPECT_TRUE(mesh.replicas[1]->find(peer(1).id()));
  EXPECT_FALSE(mesh.replicas[1]->find(peer(2).id()));
  EXPECT_FALSE(mesh.replicas[1]->find(peer(3).id()));
  EXPECT_TRUE(mesh.replicas[1]->find(peer(4).id()));
  ASSERT_TRUE(mesh.replicas[1]->peer_info(peer(1).id(), kT0 + 1).has_value());
}

TEST(DirectorySyncMessages, EngineSplitsBatchesToFitThePayloadBound) {
  DirectoryReplica r(limits());
  SyncConfig config;
  config.max_payload_bytes = 1150;
  DirectorySync sync(r, config);
  std::vector<DirectoryRecord> records;
  for (std::uint32_t p = 0; p < 200; ++p) {
    records.push_back({online(peer(p), supernode(0), kT0)});
    records.push_back({wire::SignedRecord::make(
        peer(p), 1, {{"blob", std::string(250, 'x')}, {"more", std::string(250, 'y')}})});
  }
  sync.push(supernode(1).id(), records);
  std::size_t got = 0, messages = 0;
  while (auto t = sync.poll_transmit()) {
    ++messages;
    EXPECT_LE(t->payload.size(), config.max_payload_bytes);
    auto m = decode(t->payload.data(), t->payload.size(), static_cast<SyncDecodeError*>(nullptr));
    ASSERT_TRUE(m.has_value());
    const auto& push = std::get<Push>(*m);
    EXPECT_LE(push.records.size(), kMaxSyncRecords);
    got += push.records.size();
  }
  EXPECT_EQ(got, 400u);
  EXPECT_GT(messages, 100u);
}

TEST(DirectorySyncMessages, MutatedPayloadsAreCountedNeverCrash) {
  Mesh mesh(2);
  const WallMs now = kT0 + 100;
  for (std::uint32_t p = 0; p < 20; ++p) {
    mesh.replicas[0]->apply(now, {online(peer(p), supernode(0), kT0)});
    mesh.replicas[0]->apply(now, {metadata(peer(p), 1)});
  }
  std::vector<Bytes> valid;
  for (const auto& m : samples()) valid.push_back(encode(m));
  mesh.syncs[0]->start_round(now, supernode(1).id());
  valid.push_back(mesh.syncs[0]->poll_transmit()->payload);
  mesh.syncs[0]->push(supernode(1).id(), mesh.replicas[0]->records_of(peer(3).id()));
  valid.push_back(mesh.syncs[0]->poll_transmit()->payload);

  Random rng = Random::from_u64(99);
  DirectorySync& target = *mesh.syncs[1];
  std::uint64_t refused = 0;
  const int kInputs = 3000;
  for (int i = 0; i < kInputs; ++i) {
    Bytes b = valid[rng.uniform(valid.size())];
    const int flips = 1 + static_cast<int>(rng.uniform(4));
    for (int f = 0; f < flips; ++f) {
      switch (rng.uniform(3)) {
        case 0:
          b[rng.uniform(b.size())] ^= static_cast<std::uint8_t>(1 + rng.uniform(255));
          break;
        case 1:
          b.resize(rng.uniform(b.size() + 1));
          break;
        default:
          b.push_back(static_cast<std::uint8_t>(rng.uniform(256)));
          break;
      }
      if (b.empty()) break;
    }
    if (!decode(b.data(), b.size(), static_cast<SyncDecodeError*>(nullptr))) ++refused;
    target.handle_message(now, supernode(0).id(), b.data(), b.size());
    while (target.poll_transmit()) {
    }
  }
  std::uint64_t counted = 0;
  for (auto c : target.counters().malformed) counted += c;
  EXPECT_EQ(counted, refused);
  EXPECT_GT(refused, kInputs / 2u);
  EXPECT_EQ(target.counters().malformed[0], 0u);
}

}  // namespace
}  // namespace qp2p::federation
