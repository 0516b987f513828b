// Read-only views of a Supernode for the management API (supernode.h, stack/management): the
// peers logged in here and the state behind /v1/supernodes and /v1/stats. Nothing here changes
// the supernode.
#include "stack/supernode/supernode_core.h"

namespace qp2p {

namespace {

OnlinePeerView view_of(const SupernodeCore& core, const PeerSessionState& s) {
  OnlinePeerView v;
  v.id = s.id;
  v.supernode = core.identity_.id();
  v.mapped = s.remote;
  v.last_seen = s.last_seen;
  v.shared_record = core.index_.shared(s.id);
  v.record = v.shared_record.get();
  return v;
}

}  // namespace

void Supernode::for_each_online_peer(
    const std::function<void(const OnlinePeerView&)>& visit) const {
  for (const auto& [session_id, s] : core_->sessions_) visit(view_of(*core_, s));
}

std::optional<OnlinePeerView> Supernode::online_peer(const PeerId& id) const {
  auto it = core_->session_of_.find(id);
  if (it == core_->session_of_.end()) return std::nullopt;
  auto s = core_->sessions_.find(it->second);
  if (s == core_->sessions_.end()) return std::nullopt;
  return view_of(*core_, s->second);
}

const SupernodeConfig& Supernode::config() const { return core_->config_; }
const HandshakeStats& Supernode::handshake_stats() const { return core_->handshake_stats_; }
std::size_t Supernode::negotiations_in_flight() const { return core_->negotiations_.size(); }
std::size_t Supernode::pushes_in_flight() const { return core_->pending_pushes_.size(); }

}  // namespace qp2p
