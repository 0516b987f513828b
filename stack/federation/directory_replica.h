// One supernode's replica of the network's directory: per peer, the greatest presence record
// and the greatest metadata record it has seen (directory_record.h), verified before they are
// stored, dropped everywhere at the time the presence record names. Sans-IO: the wall time is
// an argument; what to send to other supernodes is directory_sync.h's business. Rules and
// bounds: docs/protocol.md, "Federation: directory replication".
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <utility>
#include <vector>

#include "stack/federation/directory_digest.h"
#include "stack/federation/directory_record.h"
#include "stack/wire/control_message.h"

namespace qp2p::federation {

// Must be the same at every supernode of a network (they decide what is accepted).
struct DirectoryLimits {
  std::size_t max_peers = 1'000'000;
  // An online presence lives at most this long after it was written (its writer refreshes it).
  WallMs max_lease_ms = 120'000;
  // A tombstone (offline presence) lives at least max_lease_ms, so it outlives every record it
  // overrides (none of them can come back after it is gone), and at most this long.
  WallMs max_tombstone_ms = 600'000;
  // A record written more than this far in the future of the receiver's clock is refused.
  WallMs max_clock_skew_ms = 10'000;
  // Metadata that arrives before its peer's presence record waits (verified) this long, at
  // most max_parked of them, then is dropped.
  WallMs max_parked_ms = 120'000;
  std::size_t max_parked = 4096;
};

// kParked: metadata of a peer without a presence record yet; stored when the presence comes.
enum class ApplyStatus : std::uint8_t { kAccepted, kStale, kRejected, kParked };

enum class RejectReason : std::uint8_t {
  kNone,
  kMalformed,         // fields out of bounds (validate())
  kTooLarge,          // metadata record above kMaxMetadataRecordBytes
  kLifetime,          // expiry too far from the write time (DirectoryLimits)
  kExpired,           // expires_ms <= now
  kFromFuture,        // written more than max_clock_skew_ms ahead of now
  kUnknownSupernode,  // presence written by a supernode that is not a member
  kBadSignature,      // supernode's or owner's signature, or the login proof
  kFull,              // max_peers (or max_parked) reached
  kCount
};
const char* to_string(RejectReason reason);

struct ApplyResult {
  ApplyStatus status = ApplyStatus::kRejected;
  RejectReason reason = RejectReason::kNone;
  bool accepted() const { return status == ApplyStatus::kAccepted; }
};

struct DirectoryEntry {
  std::optional<PresenceRecord> presence;
  std::optional<wire::SignedRecord> metadata;
  std::uint64_t presence_hash = 0;  // record_hash(), 0 when absent
  std::uint64_t metadata_hash = 0;

  // The metadata unless the presence record's meta_floor deletes it.
  const wire::SignedRecord* visible_metadata() const;
};

// One peer's entry as the anti-entropy exchange describes it (0 fields: slot absent).
struct EntryDigest {
  PeerId peer;
  std::uint64_t presence_hlc = 0;
  std::uint64_t presence_hash = 0;
  std::uint64_t metadata_version = 0;
  std::uint64_t metadata_hash = 0;
  friend bool operator==(const EntryDigest& a, const EntryDigest& b) {
    return a.peer == b.peer && a.presence_hlc == b.presence_hlc &&
           a.presence_hash == b.presence_hash && a.metadata_version == b.metadata_version &&
           a.metadata_hash == b.metadata_hash;
  }
};

// Given what a remote holds for a key range: what it lacks (records of ours that are newer or
// absent there, presence before metadata) and which peers it holds newer records of.
struct RangeDiff {
  std::vector<DirectoryRecord> remote_lacks;
  std::vector<PeerId> wanted;
};

// A peer's online state changed in the replica (a presence record stored, or its entry
// expired): what a supernode tells the local watchers of that peer. Recorded only while
// DirectoryReplica::record_changes is on.
struct PresenceChange {
  PeerId peer;
  bool was_online = false;  // the stored presence before was online (and unexpired)
  bool online = false;
  PeerId supernode;  // the writer of the new presence (zero when the entry expired)
  PresenceState state = PresenceState::kExpired;
};

struct DirectoryCounters {
  std::uint64_t accepted = 0;
  std::uint64_t changes_dropped = 0;  // presence changes beyond max_changes, not recorded
  std::uint64_t stale = 0;
  std::uint64_t parked = 0;
  std::uint64_t expired_entries = 0;
  std::uint64_t expired_parked = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(RejectReason::kCount)> rejected{};
};

class DirectoryReplica {
 public:
  explicit DirectoryReplica(DirectoryLimits limits = {}) : limits_(limits) {}

  // Supernodes whose presence records are accepted (the network's members; membership keeps
  // this current). Records already stored stay until they expire.
  void authorise(const PeerId& supernode) { members_.insert(supernode); }
  void revoke(const PeerId& supernode) { members_.erase(supernode); }
  bool authorised(const PeerId& supernode) const { return members_.count(supernode) != 0; }

  // Verifies and stores a record if it is the greatest of its kind for its peer.
  ApplyResult apply(WallMs now, const DirectoryRecord& record);
  // Drops every entry whose presence record has expired; returns how many.
  std::size_t expire(WallMs now);
  // When the next entry expires; UINT64_MAX when none will.
  WallMs next_expiry() const;

  // Presence changes since the last take_changes(), at most `max_changes` (more are counted in
  // changes_dropped); nothing is recorded while max_changes is 0 (the default).
  void record_changes(std::size_t max_changes) { max_changes_ = max_changes; }
  std::vector<PresenceChange> take_changes() { return std::exchange(changes_, {}); }

  // Queries for the index service.
  const DirectoryEntry* find(const PeerId& peer) const;
  // As the single supernode answers a lookup: online (with address and supernode) while an
  // unexpired online presence is stored, and the visible metadata. nullopt: nothing to show.
  std::optional<wire::PeerInfo> peer_info(const PeerId& peer, WallMs now) const;
  // Ids of peers whose visible metadata matches every term (IndexService::matches), in id
  // order, above `after`, at most `limit`; `total` gets the number of all matches.
  std::vector<PeerId> search(const std::vector<wire::SearchTerm>& terms, std::size_t limit,
                             std::size_t* total, const PeerId& after = {}) const;

  // Anti-entropy.
  const DigestTree& tree() const { return tree_; }
  std::uint64_t digest() const { return tree_.root(); }
  // Entries in [first, last] (inclusive, id order).
  std::vector<EntryDigest> range_digest(const PeerId& first, const PeerId& last) const;
  // `remote`: the remote's digests of every entry it holds in [first, last], ascending.
  RangeDiff diff_range(const PeerId& first, const PeerId& last,
                       const std::vector<EntryDigest>& remote) const;
  // The stored records of a peer, presence first.
  std::vector<DirectoryRecord> records_of(const PeerId& peer) const;

  std::size_t size() const { return entries_.size(); }
  std::size_t record_count() const { return records_; }
  std::size_t parked() const { return parked_.size(); }
  const std::map<PeerId, DirectoryEntry>& entries() const { return entries_; }
  const DirectoryCounters& counters() const { return counters_; }
  const DirectoryLimits& limits() const { return limits_; }

 private:
  ApplyResult apply_presence(WallMs now, const PresenceRecord& record);
  ApplyResult apply_metadata(WallMs now, const wire::SignedRecord& record);
  ApplyResult store_metadata(DirectoryEntry& entry, const wire::SignedRecord& record);
  ApplyResult reject(RejectReason reason);
  ApplyResult stale();
  void remove_entry(std::map<PeerId, DirectoryEntry>::iterator it);
  void note_change(PresenceChange change);

  DirectoryLimits limits_;
  std::unordered_set<PeerId, PeerIdHash> members_;
  std::map<PeerId, DirectoryEntry> entries_;
  std::set<std::pair<WallMs, PeerId>> expiries_;
  // Verified metadata waiting for its presence record, with the time it arrived.
  std::map<PeerId, std::pair<wire::SignedRecord, WallMs>> parked_;
  DigestTree tree_;
  std::size_t records_ = 0;
  DirectoryCounters counters_;
  std::size_t max_changes_ = 0;
  std::vector<PresenceChange> changes_;
};

}  // namespace qp2p::federation
