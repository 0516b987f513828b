// Graceful shutdown of a supernode (supernode.h, announce_leaving; docs/protocol.md section
// 8.7): every logged-in peer gets a supernode-leaving push naming other supernodes (the
// configured ones, then the live federation members), retransmitted until acked like every
// push, and new logins are refused with 503 so peers go elsewhere.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "stack/supernode/supernode_core.h"

namespace qp2p {

void Supernode::announce_leaving(Instant now, std::vector<Endpoint> others) {
  SupernodeCore& core = *core_;
  // Federated: the live members too (after the operator's own list), and the others are told
  // this one leaves, so they stop naming it in their supernode lists (section 8.8) at once.
  for (const Endpoint& e : core.live_supernodes())
    if (e != core.config_.primary && std::find(others.begin(), others.end(), e) == others.end())
      others.push_back(e);
  if (core.federation_ && !core.federation_->has_left()) core.federation_->leave(now);
  if (others.size() > wire::kMaxLeavingAlternatives) others.resize(wire::kMaxLeavingAlternatives);
  core.leaving_ = true;
  std::vector<PeerId> peers;
  peers.reserve(core.sessions_.size());
  for (const auto& [session_id, s] : core.sessions_) peers.push_back(s.id);
  for (const PeerId& id : peers) {
    if (PeerSessionState* target = core.find_session(id))
      core.push(now, *target, wire::SupernodeLeaving{others},
                PendingPush{PendingPush::Kind::kLeaving, id, {}, 0, {}});
  }
  SPDLOG_INFO("leaving: told {} peers to move ({} other supernodes named)", peers.size(),
              others.size());
}

bool Supernode::leaving() const { return core_->leaving_; }

}  // namespace qp2p
