// Storage, verification, expiry and queries of the directory replica (see directory_replica.h).
#include "stack/federation/directory_replica.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "stack/supernode/index_service.h"

namespace qp2p::federation {

const char* to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kMalformed:
      return "malformed";
    case RejectReason::kTooLarge:
      return "too large";
    case RejectReason::kLifetime:
      return "lifetime out of bounds";
    case RejectReason::kExpired:
      return "expired";
    case RejectReason::kFromFuture:
      return "written in the future";
    case RejectReason::kUnknownSupernode:
      return "writer is not a member supernode";
    case RejectReason::kBadSignature:
      return "bad signature";
    case RejectReason::kFull:
      return "directory full";
    case RejectReason::kCount:
      break;
  }
  return "unknown";
}

const wire::SignedRecord* DirectoryEntry::visible_metadata() const {
  if (!metadata) return nullptr;
  if (presence && metadata->version <= presence->meta_floor) return nullptr;
  return &*metadata;
}

ApplyResult DirectoryReplica::reject(RejectReason reason) {
  ++counters_.rejected[static_cast<std::size_t>(reason)];
  return {ApplyStatus::kRejected, reason};
}

ApplyResult DirectoryReplica::stale() {
  ++counters_.stale;
  return {ApplyStatus::kStale, RejectReason::kNone};
}

ApplyResult DirectoryReplica::apply(WallMs now, const DirectoryRecord& record) {
  ApplyResult result = record.presence() ? apply_presence(now, *record.presence())
                                         : apply_metadata(now, *record.metadata());
  if (result.status == ApplyStatus::kRejected)
    SPDLOG_DEBUG("directory: {} record of {} rejected: {}",
                 record.presence() ? "presence" : "metadata", record.peer().to_string(),
                 to_string(result.reason));
  return result;
}

ApplyResult DirectoryReplica::apply_presence(WallMs now, const PresenceRecord& record) {
  if (!record.validate().empty()) return reject(RejectReason::kMalformed);
  const WallMs written = hlc_wall_ms(record.hlc);
  const WallMs lifetime = record.expires_ms - written;  // validate(): expires_ms > written
  if (record.online() ? lifetime > limits_.max_lease_ms
                      : lifetime < limits_.max_lease_ms || lifetime > limits_.max_tombstone_ms)
    return reject(RejectReason::kLifetime);
  if (record.expires_ms <= now) return reject(RejectReason::kExpired);
  if (written > now + limits_.max_clock_skew_ms) return reject(RejectReason::kFromFuture);
  auto it = entries_.find(record.peer);
  if (it != entries_.end() && it->second.presence && !newer(record, *it->second.presence))
    return stale();
  if (!authorised(record.supernode)) return reject(RejectReason::kUnknownSupernode);
  // A refresh repeats the login proof of the stored record, verified when that was stored: one
  // Ed25519 check per refresh, not two.
  const bool proof_known =
      it != entries_.end() && it->second.presence && record.same_login(*it->second.presence);
  if (!(proof_known ? record.verify_writer() : record.verify()))
    return reject(RejectReason::kBadSignature);
  if (it == entries_.end()) {
    if (entries_.size() >= limits_.max_peers) return reject(RejectReason::kFull);
    it = entries_.emplace(record.peer, DirectoryEntry{}).first;
  }
  DirectoryEntry& entry = it->second;
  note_change({record.peer, entry.presence && entry.presence->online(), record.online(),
               record.supernode, record.state});
  const std::uint16_t bucket = bucket_of(record.peer);
  if (entry.presence) {
    tree_.toggle(bucket, entry.presence_hash);
    expiries_.erase({entry.presence->expires_ms, record.peer});
  } else {
    ++records_;
  }
  entry.presence = record;
  entry.presence_hash = record_hash(DirectoryRecord{record});
  tree_.toggle(bucket, entry.presence_hash);
  expiries_.insert({record.expires_ms, record.peer});
  ++counters_.accepted;
  if (auto parked = parked_.find(record.peer); parked != parked_.end()) {
    // Verified when parked; kept only if it is newer than what the entry holds.
    if (!entry.metadata || newer(parked->second.first, *entry.metadata))
      store_metadata(entry, parked->second.first);
    parked_.erase(parked);
  }
  return {ApplyStatus::kAccepted, RejectReason::kNone};
}

ApplyResult DirectoryReplica::apply_metadata(WallMs now, const wire::SignedRecord& record) {
  if (!wire::validate_entries(record.entries).empty()) return reject(RejectReason::kMalformed);
  if (encoded_size(DirectoryRecord{record}) > kMaxMetadataRecordBytes + 1)
    return reject(RejectReason::kTooLarge);
  auto it = entries_.find(record.owner);
  if (it != entries_.end()) {
    if (it->second.metadata && !newer(record, *it->second.metadata)) return stale();
    if (!record.verify()) return reject(RejectReason::kBadSignature);
    return store_metadata(it->second, record);
  }
  // Metadata rides on a presence record. Without one (not arrived yet, or purged after its
  // tombstone expired) it waits, so the outcome does not depend on arrival order; if no
  // presence comes within max_parked_ms it is dropped, so a deleted peer cannot come back
  // through a late copy.
  auto parked = parked_.find(record.owner);
  if (parked != parked_.end() && !newer(record, parked->second.first)) return stale();
  if (parked == parked_.end() && parked_.size() >= limits_.max_parked)
    return reject(RejectReason::kFull);
  if (!record.verify()) return reject(RejectReason::kBadSignature);
  parked_[record.owner] = {record, now};
  ++counters_.parked;
  return {ApplyStatus::kParked, RejectReason::kNone};
}

ApplyResult DirectoryReplica::store_metadata(DirectoryEntry& entry,
                                             const wire::SignedRecord& record) {
  const std::uint16_t bucket = bucket_of(record.owner);
  if (entry.metadata)
    tree_.toggle(bucket, entry.metadata_hash);
  else
    ++records_;
  entry.metadata = record;
  entry.metadata_hash = record_hash(DirectoryRecord{record});
  tree_.toggle(bucket, entry.metadata_hash);
  ++counters_.accepted;
  return {ApplyStatus::kAccepted, RejectReason::kNone};
}

void DirectoryReplica::remove_entry(std::map<PeerId, DirectoryEntry>::iterator it) {
  const std::uint16_t bucket = bucket_of(it->first);
  if (it->second.presence) {
    tree_.toggle(bucket, it->second.presence_hash);
    expiries_.erase({it->second.presence->expires_ms, it->first});
    --records_;
  }
  if (it->second.metadata) {
    tree_.toggle(bucket, it->second.metadata_hash);
    --records_;
  }
  entries_.erase(it);
}

void DirectoryReplica::note_change(PresenceChange change) {
  if (max_changes_ == 0) return;
  if (changes_.size() >= max_changes_) {
    ++counters_.changes_dropped;
    return;
  }
  changes_.push_back(std::move(change));
}

std::size_t DirectoryReplica::expire(WallMs now) {
  std::size_t n = 0;
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    const PeerId peer = expiries_.begin()->second;
    auto it = entries_.find(peer);
    note_change({peer, it->second.presence && it->second.presence->online(), false, PeerId{},
                 PresenceState::kExpired});
    remove_entry(it);
    ++n;
  }
  counters_.expired_entries += n;
  for (auto it = parked_.begin(); it != parked_.end();) {
    if (now - std::min(now, it->second.second) >= limits_.max_parked_ms) {
      it = parked_.erase(it);
      ++counters_.expired_parked;
    } else {
      ++it;
    }
  }
  return n;
}

WallMs DirectoryReplica::next_expiry() const {
  return expiries_.empty() ? std::numeric_limits<WallMs>::max() : expiries_.begin()->first;
}

const DirectoryEntry* DirectoryReplica::find(const PeerId& peer) const {
  auto it = entries_.find(peer);
  return it == entries_.end() ? nullptr : &it->second;
}

std::optional<wire::PeerInfo> DirectoryReplica::peer_info(const PeerId& peer, WallMs now) const {
  const DirectoryEntry* entry = find(peer);
  if (!entry) return std::nullopt;
  wire::PeerInfo info;
  info.id = peer;
  if (entry->presence && entry->presence->online() && entry->presence->expires_ms > now) {
    info.online = true;
    info.mapped = entry->presence->mapped;
    info.supernode = entry->presence->supernode;
  }
  if (const auto* m = entry->visible_metadata()) info.record = *m;
  if (!info.online && !info.record) return std::nullopt;
  return info;
}

std::vector<PeerId> DirectoryReplica::search(const std::vector<wire::SearchTerm>& terms,
                                             std::size_t limit, std::size_t* total,
                                             const PeerId& after) const {
  // A linear scan in id order, as IndexService::search: O(entries) per search.
  std::vector<PeerId> found;
  std::size_t matches = 0;
  for (const auto& [id, entry] : entries_) {
    const wire::SignedRecord* m = entry.visible_metadata();
    if (!m || !IndexService::matches(*m, terms)) continue;
    ++matches;
    if ((after == PeerId{} || after < id) && found.size() < limit) found.push_back(id);
  }
  if (total) *total = matches;
  return found;
}

namespace {
EntryDigest digest_of(const PeerId& id, const DirectoryEntry& e) {
  EntryDigest d;
  d.peer = id;
  if (e.presence) {
    d.presence_hlc = e.presence->hlc;
    d.presence_hash = e.presence_hash;
  }
  if (e.metadata) {
    d.metadata_version = e.metadata->version;
    d.metadata_hash = e.metadata_hash;
  }
  return d;
}

// Ours goes over when it is present and the remote's is absent, older, or equally old but
// different (then both sides send theirs and the order decides).
bool ours_to_send(std::uint64_t our_order, std::uint64_t our_hash, std::uint64_t their_order,
                  std::uint64_t their_hash) {
  if (our_hash == 0 || our_hash == their_hash) return false;
  return their_hash == 0 || our_order >= their_order;
}
}  // namespace

std::vector<EntryDigest> DirectoryReplica::range_digest(const PeerId& first,
                                                        const PeerId& last) const {
  std::vector<EntryDigest> out;
  for (auto it = entries_.lower_bound(first); it != entries_.end() && !(last < it->first); ++it)
    out.push_back(digest_of(it->first, it->second));
  return out;
}

RangeDiff DirectoryReplica::diff_range(const PeerId& first, const PeerId& last,
                                       const std::vector<EntryDigest>& remote) const {
  RangeDiff diff;
  auto mine = entries_.lower_bound(first);
  auto in_range = [&] { return mine != entries_.end() && !(last < mine->first); };
  std::size_t i = 0;
  while (in_range() || i < remote.size()) {
    if (i == remote.size() || (in_range() && mine->first < remote[i].peer)) {
      auto records = records_of(mine->first);
      for (auto& r : records) diff.remote_lacks.push_back(std::move(r));
      ++mine;
      continue;
    }
    const EntryDigest& theirs = remote[i++];
    if (!in_range() || theirs.peer < mine->first) {
      diff.wanted.push_back(theirs.peer);
      continue;
    }
    const EntryDigest ours = digest_of(mine->first, mine->second);
    if (ours_to_send(ours.presence_hlc, ours.presence_hash, theirs.presence_hlc,
                     theirs.presence_hash))
      diff.remote_lacks.push_back(DirectoryRecord{*mine->second.presence});
    if (ours_to_send(ours.metadata_version, ours.metadata_hash, theirs.metadata_version,
                     theirs.metadata_hash))
      diff.remote_lacks.push_back(DirectoryRecord{*mine->second.metadata});
    if (ours_to_send(theirs.presence_hlc, theirs.presence_hash, ours.presence_hlc,
                     ours.presence_hash) ||
        ours_to_send(theirs.metadata_version, theirs.metadata_hash, ours.metadata_version,
                     ours.metadata_hash))
      diff.wanted.push_back(theirs.peer);
    ++mine;
  }
  return diff;
}

std::vector<DirectoryRecord> DirectoryReplica::records_of(const PeerId& peer) const {
  std::vector<DirectoryRecord> out;
  if (const DirectoryEntry* e = find(peer)) {
    if (e->presence) out.push_back(DirectoryRecord{*e->presence});
    if (e->metadata) out.push_back(DirectoryRecord{*e->metadata});
  }
  return out;
}

}  // namespace qp2p::federation
