// What a supernode writes into the directory about its own peers: an online presence record on
// login (and a refresh before each lease runs out), a tombstone on logout or expiry. Each record
// is issued with the supernode's hybrid logical clock above whatever the replica holds for the
// peer (so a peer that fails over to this supernode is ordered after its old one's records even
// if this clock lags), stored in the local replica, and returned for the caller to push
// (directory_sync.h). docs/protocol.md, "Federation: directory replication".
#pragma once

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "stack/federation/directory_replica.h"
#include "stack/federation/hybrid_clock.h"

namespace qp2p::federation {

struct PresenceWriterConfig {
  // Online records hold this long (at most DirectoryLimits::max_lease_ms) ...
  WallMs lease_ms = 120'000;
  // ... and are rewritten this often while the peer stays logged in (well under the lease, so a
  // lost push is repaired by anti-entropy before the record runs out elsewhere).
  WallMs refresh_ms = 40'000;
  // Tombstones hold this long (between max_lease_ms and max_tombstone_ms).
  WallMs tombstone_ms = 300'000;
};

// What the supernode knows of a logged-in peer.
struct PeerPresence {
  Endpoint mapped;
  std::vector<Endpoint> hosts;
  NatProfile nat;
  LoginProof proof;
};

class PresenceWriter {
 public:
  PresenceWriter(const Identity& supernode, DirectoryReplica& replica,
                 PresenceWriterConfig config = {});

  // The peer logged in (or its addresses or NAT profile changed). Metadata hidden by an earlier
  // tombstone stays hidden.
  std::optional<DirectoryRecord> online(WallMs now, const PeerId& peer, const PeerPresence& p);
  // The peer logged out or expired here. Writes a tombstone hiding the metadata it published,
  // unless the replica's presence of the peer is no longer ours (it moved to another supernode:
  // then nothing is written, and nothing is overridden).
  std::optional<DirectoryRecord> offline(WallMs now, const PeerId& peer, PresenceState why);
  // Rewrites the online records due for a refresh; forgets peers that moved elsewhere.
  std::vector<DirectoryRecord> refresh(WallMs now);
  // When refresh() next has work; UINT64_MAX when no peer is online here.
  WallMs next_refresh() const;

  HybridClock& clock() { return clock_; }
  std::size_t online_count() const { return peers_.size(); }

 private:
  std::optional<DirectoryRecord> write(WallMs now, PresenceRecord record, WallMs lifetime_ms);
  bool ours(const PeerId& peer) const;

  const Identity& supernode_;
  DirectoryReplica& replica_;
  PresenceWriterConfig config_;
  HybridClock clock_;
  struct Tracked {
    PeerPresence presence;
    WallMs written = 0;
  };
  std::map<PeerId, Tracked> peers_;
  // (written + refresh_ms, peer) of every tracked peer: next_refresh() and refresh() in
  // O(log n), not a scan of every peer at each poll_timeout().
  std::set<std::pair<WallMs, PeerId>> due_;
  void track(const PeerId& peer, const PeerPresence& presence, WallMs written);
  void untrack(std::map<PeerId, Tracked>::iterator it);
};

}  // namespace qp2p::federation
