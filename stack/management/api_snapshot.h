// An immutable copy of what the management API answers from (index_api.h), so that requests are
// served off the protocol's thread: the runtime takes a snapshot on the protocol thread (the
// only place the Supernode may be read) and hands it to the HTTP thread as a
// shared_ptr<const ApiSnapshot>; filtering, paging and serialising happen there.
//
// Cost on the protocol thread: one pass over Supernode::for_each_online_peer copying a few
// fields per peer. Published records are never copied when the view shares them (the index keeps
// them immutable: OnlinePeerView::shared_record); a view that only lends a pointer has its record
// copied once and shared by later snapshots while it does not change (SnapshotBuilder keeps
// them). So a snapshot of N peers is O(N) small copies, with no allocation per peer. The documents of /v1/supernodes, /v1/stats,
// /healthz and the supernode's /metrics families are small and rendered here from the same view
// functions as before, so views that grow (federation, handshake outcomes) flow through. Sorting
// the peers by id (finish()) and summing the network's statistics are left to the thread that
// serves.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "stack/core/instant.h"
#include "stack/supernode/supernode.h"

namespace qp2p::management {

struct ApiContext;

// One online peer as the API lists it (OnlinePeerView with the record held, not borrowed).
struct SnapshotPeer {
  PeerId id;
  PeerId supernode;
  Endpoint mapped;
  Instant last_seen;
  std::shared_ptr<const wire::SignedRecord> record;  // null when the peer published none
};

// What the network view of /v1/stats is made of (stats_queries.cc), copied on the protocol
// thread: this supernode's figures (a few hundred counters) and the members' reports, shared,
// not copied (NetworkStats keeps them copy-on-write). The summing over members happens where the
// request is served, so a network of 512 members costs the protocol thread 512 pointer copies.
struct NetworkStatsCopy {
  bool federated = false;
  StatsFigures local;
  Duration stale_after{};  // a report older than this is stale (as is any of a member down)
  struct Member {
    PeerId id;
    std::string state;  // SWIM state, or "gone" once the membership forgot the member
    bool up = false;
    std::shared_ptr<const MemberReport> report;  // null: no report yet
  };
  std::vector<Member> members;  // by id
};

struct ApiSnapshot {
  Instant taken;                    // when it was taken (the protocol thread's clock)
  std::vector<SnapshotPeer> peers;  // sorted by id once finish() ran
  nlohmann::json supernodes;        // body of /v1/supernodes
  nlohmann::json stats;             // body of /v1/stats?view=local
  NetworkStatsCopy network_stats;   // the network view of /v1/stats (with federation)
  nlohmann::json healthz;           // body of /healthz
  std::string metrics;              // the supernode's and runtime's /metrics families

  // Sorts the peers by id (for paging and lookups); call once, before sharing it as const.
  void finish();
  // The peer with this id, or nullptr; needs finish().
  const SnapshotPeer* find(const PeerId& id) const;
};

// Takes snapshots of one supernode, reusing the records of the previous one.
class SnapshotBuilder {
 public:
  // Reads `node` (call on the thread that drives it); context.now stamps the snapshot and
  // context.runtime_metrics adds the runtime's families. The peers are not sorted yet.
  std::unique_ptr<ApiSnapshot> take(const Supernode& node, const ApiContext& context);

  struct Stats {
    std::uint64_t snapshots = 0;
    std::uint64_t records_copied = 0;  // deep copies (new or changed records)
    std::uint64_t records_shared = 0;  // reused from the previous snapshot
  };
  const Stats& stats() const { return stats_; }

 private:
  // The records of the last snapshot by owner, to share those that did not change; entries not
  // seen in the latest snapshot (older generation) are pruned when there are any.
  struct Held {
    std::shared_ptr<const wire::SignedRecord> record;
    std::uint64_t generation = 0;
  };
  std::unordered_map<PeerId, Held, PeerIdHash> records_;
  std::uint64_t generation_ = 0;
  Stats stats_;
};

}  // namespace qp2p::management
