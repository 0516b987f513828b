// Push and anti-entropy between directory replicas (see directory_sync.h).
#include "stack/federation/directory_sync.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "stack/federation/federation_wire.h"

namespace qp2p::federation {

namespace {
constexpr std::size_t kPushHeaderBytes = 1 + 2;
constexpr std::size_t kRecordsHeaderBytes = 1 + 2 + 2 + 2 + 2;
constexpr std::size_t kRequestHeaderBytes = 1 + 2 + 32 + 32 + 2;
// The largest record a replica accepts (kind byte included) crosses in one payload of the
// supernode channel, in a push or in a records response.
static_assert(std::max(kPushHeaderBytes, kRecordsHeaderBytes) + 1 + kMaxMetadataRecordBytes <=
                  kMaxPayload,
              "a maximum-size metadata record must fit one federation payload");
static_assert(SyncConfig{}.max_payload_bytes == kMaxPayload,
              "sync payloads default to the supernode channel's bound");

PeerId predecessor(PeerId id) {
  for (std::size_t i = id.key.size(); i-- > 0;)
    if (id.key[i]-- != 0) break;
  return id;
}
}  // namespace

DirectorySync::DirectorySync(DirectoryReplica& replica, SyncConfig config)
    : replica_(replica), config_(config) {}

void DirectorySync::send(const PeerId& to, const SyncMessage& message) {
  if (queue_.size() >= config_.max_queued) {
    ++counters_.dropped_queue_full;
    return;
  }
  Bytes payload = encode(message);
  ++counters_.sent_messages;
  counters_.sent_bytes += payload.size();
  queue_.push_back({to, std::move(payload)});
}

std::optional<SyncTransmit> DirectorySync::poll_transmit() {
  if (queue_.empty()) return std::nullopt;
  SyncTransmit t = std::move(queue_.front());
  queue_.pop_front();
  return t;
}

void DirectorySync::push(const PeerId& to, const std::vector<DirectoryRecord>& records) {
  if (!records.empty()) send_records(to, false, 0, 0, {}, records);
}

void DirectorySync::send_records(const PeerId& to, bool response, std::uint16_t bucket,
                                 std::uint16_t pace, std::vector<PeerId> wants,
                                 const std::vector<DirectoryRecord>& records) {
  std::size_t i = 0;
  const std::size_t header = response ? kRecordsHeaderBytes : kPushHeaderBytes;
  // Wants fill at most what the payload bound leaves after the header (at least one).
  const std::size_t max_wants = std::clamp<std::size_t>(
      (config_.max_payload_bytes - std::min(config_.max_payload_bytes, header)) / 32, 1,
      kMaxWants);
  do {
    const std::size_t n_wants = std::min(wants.size(), max_wants);
    std::vector<PeerId> these_wants(wants.begin(), wants.begin() + n_wants);
    wants.erase(wants.begin(), wants.begin() + n_wants);
    std::size_t bytes = header + 32 * n_wants;
    std::vector<DirectoryRecord> batch;
    while (i < records.size() && batch.size() < kMaxSyncRecords) {
      const std::size_t size = encoded_size(records[i]);
      // A record that does not fit goes in the next message; alone only when it alone exceeds
      // the bound (never with wants it would push over it).
      if ((!batch.empty() || n_wants > 0) && bytes + size > config_.max_payload_bytes) break;
      bytes += size;
      batch.push_back(records[i++]);
    }
    if (response)
      send(to, RecordsResponse{bucket, pace, std::move(these_wants), std::move(batch)});
    else
      send(to, Push{std::move(batch)});
  } while (i < records.size() || !wants.empty());
}

void DirectorySync::send_summary(const PeerId& to, std::uint8_t level, std::uint16_t first,
                                 std::uint16_t pace) {
  Summary s;
  s.level = level;
  s.first = first;
  s.pace = pace;
  s.root = replica_.digest();
  s.records = static_cast<std::uint32_t>(replica_.record_count());
  const DigestTree& tree = replica_.tree();
  for (std::size_t i = 0; i < kMaxSummaryHashes; ++i)
    s.hashes.push_back(level == 1 ? tree.branch(first + i) : tree.bucket(first + i));
  send(to, s);
}

void DirectorySync::send_bucket_request(const PeerId& to, std::uint16_t bucket) {
  const PeerId last = bucket_last(bucket);
  std::vector<EntryDigest> entries = replica_.range_digest(bucket_first(bucket), last);
  const std::size_t per_message = std::clamp<std::size_t>(
      (config_.max_payload_bytes - std::min(config_.max_payload_bytes, kRequestHeaderBytes)) /
          kEntryDigestBytes,
      1, kMaxDigestEntries);
  std::size_t i = 0;
  PeerId first = bucket_first(bucket);
  do {
    RequestBucket m;
    m.bucket = bucket;
    m.first = first;
    const std::size_t end = std::min(entries.size(), i + per_message);
    m.entries.assign(entries.begin() + i, entries.begin() + end);
    // Each message covers up to the key before the next message's first entry, so the ranges
    // tile the bucket and the responder can tell "absent" from "in another message".
    m.last = end < entries.size() ? predecessor(entries[end].peer) : last;
    if (end < entries.size()) first = entries[end].peer;
    i = end;
    send(to, m);
  } while (i < entries.size());
}

void DirectorySync::start_round(WallMs now, const PeerId& to) {
  replica_.expire(now);
  rounds_.insert_or_assign(to, SyncRound(now, config_.round));
  send_summary(to, 1, 0, 0);
}

std::uint16_t DirectorySync::grant(WallMs now, const PeerId& initiator) {
  initiators_[initiator] = now;
  for (auto it = initiators_.begin(); it != initiators_.end();)
    it = it->second + config_.grant_idle_ms < now ? initiators_.erase(it) : std::next(it);
  const double share = static_cast<double>(config_.requests_per_second) /
                       static_cast<double>(initiators_.size());
  return static_cast<std::uint16_t>(std::clamp(share, 1.0, 65535.0));
}

void DirectorySync::request_buckets(WallMs now, const PeerId& member, SyncRound& round) {
  // Each request brings back at least one answer: our own rounds together ask for no more
  // than we would grant, and none for more than its responder granted.
  double pace = static_cast<double>(config_.requests_per_second) /
                static_cast<double>(std::max<std::size_t>(1, rounds_.size()));
  if (round.granted() > 0) pace = std::min(pace, round.granted());
  round.set_pace(now, pace);
  for (std::uint16_t bucket : round.take_sendable(now)) {
    ++counters_.round.buckets_requested;
    send_bucket_request(member, bucket);
  }
}

void DirectorySync::handle_timeout(WallMs now) {
  for (auto it = rounds_.begin(); it != rounds_.end();) {
    it->second.handle_timeout(now, counters_.round);
    request_buckets(now, it->first, it->second);
    if (it->second.finished(now)) {
      ++counters_.rounds_finished;
      it = rounds_.erase(it);
    } else {
      ++it;
    }
  }
}

WallMs DirectorySync::poll_timeout() const {
  WallMs t = std::numeric_limits<WallMs>::max();
  for (const auto& [member, round] : rounds_) t = std::min(t, round.deadline());
  return t;
}

void DirectorySync::apply_all(WallMs now, const std::vector<DirectoryRecord>& records) {
  for (const auto& r : records) {
    switch (replica_.apply(now, r).status) {
      case ApplyStatus::kAccepted:
        ++counters_.records_accepted;
        break;
      case ApplyStatus::kStale:
        ++counters_.records_stale;
        break;
      case ApplyStatus::kRejected:
        ++counters_.records_rejected;
        break;
      case ApplyStatus::kParked:
        ++counters_.records_parked;
        break;
    }
  }
}

void DirectorySync::on_summary(WallMs now, const PeerId& from, const Summary& m) {
  if (m.root == replica_.digest()) return;
  const DigestTree& tree = replica_.tree();
  if (m.level == 1) {
    // B's side: the differing branches' buckets, for A to compare, and A's share of B.
    const std::uint16_t pace = grant(now, from);
    for (std::size_t i = 0; i < m.hashes.size(); ++i) {
      const std::size_t node = m.first + i;
      if (tree.branch(node) != m.hashes[i])
        send_summary(from, 2, static_cast<std::uint16_t>(node * kBucketsPerBranch), pace);
    }
    return;
  }
  // A's side. A level-2 summary after our round with `from` ended (late) still counts: a new
  // round state carries it.
  auto it = rounds_.find(from);
  if (it == rounds_.end()) it = rounds_.emplace(from, SyncRound(now, config_.round)).first;
  it->second.granted(m.pace);
  std::vector<std::uint16_t> differing;
  for (std::size_t i = 0; i < m.hashes.size(); ++i) {
    const std::size_t node = m.first + i;
    if (tree.bucket(node) != m.hashes[i]) differing.push_back(static_cast<std::uint16_t>(node));
  }
  it->second.add_buckets(now, differing);
  request_buckets(now, from, it->second);
}

void DirectorySync::on_request(WallMs now, const PeerId& from, const RequestBucket& m) {
  RangeDiff diff = replica_.diff_range(m.first, m.last, m.entries);
  // Answered even when empty: the answer frees the requester's window slot (sync_round.h).
  send_records(from, true, m.bucket, grant(now, from), std::move(diff.wanted),
               diff.remote_lacks);
}

bool DirectorySync::handle_message(WallMs now, const PeerId& from, const std::uint8_t* data,
                                   std::size_t size) {
  counters_.received_bytes += size;
  SyncDecodeError error = SyncDecodeError::kNone;
  auto message = decode(data, size, &error);
  if (!message) {
    ++counters_.malformed[static_cast<std::size_t>(error)];
    SPDLOG_DEBUG("directory sync: dropped {} bytes from supernode {}: {}", size, from.to_string(),
                 to_string(error));
    return false;
  }
  replica_.expire(now);
  if (auto* m = std::get_if<Push>(&*message)) {
    ++counters_.received[static_cast<std::size_t>(SyncType::kPush)];
    apply_all(now, m->records);
  } else if (auto* m = std::get_if<Summary>(&*message)) {
    ++counters_.received[static_cast<std::size_t>(SyncType::kSummary)];
    on_summary(now, from, *m);
    return m->level == 1;
  } else if (auto* m = std::get_if<RequestBucket>(&*message)) {
    ++counters_.received[static_cast<std::size_t>(SyncType::kRequestBucket)];
    on_request(now, from, *m);
  } else if (auto* m = std::get_if<RecordsResponse>(&*message)) {
    ++counters_.received[static_cast<std::size_t>(SyncType::kRecords)];
    apply_all(now, m->records);
    std::vector<DirectoryRecord> wanted;
    for (const PeerId& id : m->wants)
      for (auto& r : replica_.records_of(id)) wanted.push_back(std::move(r));
    push(from, wanted);
    if (auto it = rounds_.find(from); it != rounds_.end()) {
      it->second.granted(m->pace);
      it->second.answered(now, m->bucket);
      request_buckets(now, from, it->second);
    }
  }
  return false;
}

}  // namespace qp2p::federation
