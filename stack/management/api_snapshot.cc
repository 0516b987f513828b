// Taking a snapshot of a supernode for the management API (api_snapshot.h).
#include "stack/management/api_snapshot.h"

#include <algorithm>

#include "stack/management/api_routes.h"

namespace qp2p::management {

namespace {

bool same_record(const wire::SignedRecord& a, const wire::SignedRecord& b) {
  // The signature covers owner, version and entries: equal signatures of one owner and version
  // are the same record.
  return a.owner == b.owner && a.version == b.version && a.signature == b.signature;
}

}  // namespace

void ApiSnapshot::finish() {
  std::sort(peers.begin(), peers.end(),
            [](const SnapshotPeer& a, const SnapshotPeer& b) { return a.id < b.id; });
}

const SnapshotPeer* ApiSnapshot::find(const PeerId& id) const {
  auto it = std::lower_bound(peers.begin(), peers.end(), id,
                             [](const SnapshotPeer& p, const PeerId& key) { return p.id < key; });
  return it != peers.end() && it->id == id ? &*it : nullptr;
}

std::unique_ptr<ApiSnapshot> SnapshotBuilder::take(const Supernode& node,
                                                   const ApiContext& context) {
  auto snap = std::make_unique<ApiSnapshot>();
  snap->taken = context.now;
  snap->peers.reserve(node.online_peers());
  ++generation_;
  std::size_t with_record = 0;
  node.for_each_online_peer([&](const OnlinePeerView& view) {
    SnapshotPeer& p = snap->peers.emplace_back();
    p.id = view.id;
    p.supernode = view.supernode;
    p.mapped = view.mapped;
    p.last_seen = view.last_seen;
    if (!view.record) return;
    if (view.shared_record) {  // the index's own immutable copy: nothing to copy or remember
      p.record = view.shared_record;
      ++stats_.records_shared;
      return;
    }
    ++with_record;
    Held& held = records_[view.id];
    if (held.record && same_record(*held.record, *view.record)) {
      ++stats_.records_shared;
    } else {
      held.record = std::make_shared<const wire::SignedRecord>(*view.record);
      ++stats_.records_copied;
    }
    held.generation = generation_;
    p.record = held.record;
  });
  if (records_.size() > with_record) {
    for (auto it = records_.begin(); it != records_.end();)
      it = it->second.generation == generation_ ? std::next(it) : records_.erase(it);
  }
  snap->supernodes = supernodes_json(node, context);
  snap->stats = stats_json(node, context);
  snap->network_stats = network_stats_copy(node);
  snap->healthz = healthz_json(node, context);
  MetricsText m;
  supernode_metrics(m, node, context);
  if (context.runtime_metrics) context.runtime_metrics(m);
  snap->metrics = m.text();
  ++stats_.snapshots;
  return snap;
}

}  // namespace qp2p::management
