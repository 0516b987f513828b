// Fuzz target for the directory sync messages (stack/federation/directory_sync_messages.h).
// Each input is used twice: as a payload, and as edits (position, xor) to one of four valid
// payloads (push, summary, request-bucket, records), so random inputs also reach deep into the
// decoders and the engine. Every payload is decoded (a successful decode must re-encode to the
// same bytes) and handed to a sync engine whose replica holds a few real records, from a member
// supernode; whatever the engine answers must decode. It must never crash or loop.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>

#include "stack/federation/directory_sync.h"
#include "stack/wire/session.h"

namespace {

using namespace qp2p;
using namespace qp2p::federation;

void require(bool condition) {
  if (!condition) std::abort();
}

constexpr WallMs kNow = 1'700'000'000'000;

const Identity& id(std::uint8_t n) {
  static const Identity ids[4] = {
      Identity::from_seed(Identity::Seed{1}), Identity::from_seed(Identity::Seed{2}),
      Identity::from_seed(Identity::Seed{3}), Identity::from_seed(Identity::Seed{4})};
  return ids[n];
}

// Records of two peers (identities 2, 3) at supernode 0; identity 1 is the remote member.
const std::vector<DirectoryRecord>& records() {
  static const std::vector<DirectoryRecord> out = [] {
    std::vector<DirectoryRecord> v;
    for (std::uint8_t p = 2; p < 4; ++p) {
      PresenceRecord r;
      r.peer = id(p).id();
      r.hlc = kNow << kHlcCounterBits;
      r.expires_ms = kNow + 60'000;
      r.mapped = *Endpoint::parse("198.51.100.1:4000");
      Bytes t = wire::login_transcript(r.peer, id(0).id(), r.proof.nonce, r.proof.ephemeral);
      r.proof.signature = id(p).sign(t.data(), t.size());
      r.sign(id(0));
      v.push_back({r});
      v.push_back({wire::SignedRecord::make(id(p), 1, {{"app", "fuzz"}})});
    }
    return v;
  }();
  return out;
}

void check(const std::uint8_t* data, std::size_t size) {
  SyncDecodeError error = SyncDecodeError::kCount;
  auto m = decode(data, size, &error);
  require(m.has_value() == (error == SyncDecodeError::kNone));
  require(to_string(error) != nullptr);
  if (m) {
    const Bytes again = encode(*m);
    require(again.size() == size && std::equal(again.begin(), again.end(), data));
  }
  static const DirectoryReplica base = [] {
    DirectoryReplica r;
    r.authorise(id(0).id());
    r.authorise(id(1).id());
    for (const auto& rec : records()) require(r.apply(kNow, rec).accepted());
    return r;
  }();
  DirectoryReplica replica = base;  // a fresh copy per input: no state carries over
  DirectorySync sync(replica);
  sync.handle_message(kNow, id(1).id(), data, size);
  for (int guard = 0; guard < 100000; ++guard) {
    auto t = sync.poll_transmit();
    if (!t) return;
    require(t->to == id(1).id());
    require(decode(t->payload.data(), t->payload.size(), nullptr).has_value());
  }
  std::abort();  // the engine kept producing output
}

const std::vector<Bytes>& valid_payloads() {
  static const std::vector<Bytes> out = [] {
    const PeerId p = records()[0].peer();
    const std::uint16_t b = bucket_of(p);
    Summary s;
    s.level = 2;
    s.first = static_cast<std::uint16_t>(b / kBucketsPerBranch * kBucketsPerBranch);
    s.hashes.assign(kMaxSummaryHashes, 1);
    RequestBucket q{b, bucket_first(b), bucket_last(b), {EntryDigest{p, 1, 2, 3, 4}}};
    RecordsResponse r{b, 40, {records()[2].peer()}, {records()[0], records()[1]}};
    return std::vector<Bytes>{encode(Push{records()}), encode(s), encode(q), encode(r)};
  }();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::warn);
    return true;
  }();
  (void)quiet;
  check(data, size);
  if (size == 0) return 0;
  Bytes edited = valid_payloads()[data[0] % 4];
  // Pairs (position, xor); an input of even length below 17 bytes also cuts the payload to
  // (last byte / 255) of its length.
  for (std::size_t i = 1; i + 1 < size && i < 17; i += 2)
    edited[(std::size_t{data[i]} * 7) % edited.size()] ^= data[i + 1];
  if (size % 2 == 0 && size < 17) edited.resize(edited.size() * data[size - 1] / 255 + 1);
  check(edited.data(), edited.size());
  return 0;
}
