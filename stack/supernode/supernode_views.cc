// Read-only views of a Supernode for the management API (supernode.h, stack/management): the
// peers online (logged in here, and with federation at every member, from the replicated
// directory) and the state behind /v1/supernodes and /v1/stats. Nothing here changes the
// supernode.
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

// A peer online at another supernode, from the replicated directory (nullopt: not online
// there, or logged in here: the session is the view).
std::optional<OnlinePeerView> remote_view_of(const SupernodeCore& core, const PeerId& id,
                                             const federation::DirectoryEntry& e) {
  const federation::PresenceRecord* p = e.presence ? &*e.presence : nullptr;
  if (!p || !p->online() || p->expires_ms <= core.last_wall_ms_ || core.session_of_.count(id))
    return std::nullopt;
  OnlinePeerView v;
  v.id = id;
  v.supernode = p->supernode;
  v.mapped = p->mapped;
  v.last_seen = instant_from_us(static_cast<std::int64_t>(federation::hlc_wall_ms(p->hlc)) * 1000 -
                                core.config_.turn.unix_offset_us);
  v.record = e.visible_metadata();
  v.local = false;
  return v;
}

}  // namespace

void Supernode::for_each_online_peer(
    const std::function<void(const OnlinePeerView&)>& visit) const {
  for (const auto& [session_id, s] : core_->sessions_) visit(view_of(*core_, s));
  if (!core_->directory_) return;
  for (const auto& [id, entry] : core_->directory_->replica().entries())
    if (auto v = remote_view_of(*core_, id, entry)) visit(*v);
}

std::optional<OnlinePeerView> Supernode::online_peer(const PeerId& id) const {
  auto it = core_->session_of_.find(id);
  if (it != core_->session_of_.end()) {
    auto s = core_->sessions_.find(it->second);
    if (s != core_->sessions_.end()) return view_of(*core_, s->second);
  }
  if (!core_->directory_) return std::nullopt;
  const federation::DirectoryEntry* e = core_->directory_->replica().find(id);
  return e ? remote_view_of(*core_, id, *e) : std::nullopt;
}

const SupernodeConfig& Supernode::config() const { return core_->config_; }
const HandshakeStats& Supernode::handshake_stats() const { return core_->handshake_stats_; }
std::size_t Supernode::negotiations_in_flight() const { return core_->negotiations_.size(); }
std::size_t Supernode::pushes_in_flight() const { return core_->pending_pushes_.size(); }

}  // namespace qp2p
