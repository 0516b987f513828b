// The supernode-list push (docs/protocol.md, 0x0209, section 8.8): a federated supernode tells
// each peer the live supernodes of the network (their primary endpoints, its own first) right
// after the peer's login and again when the membership changes (the changes of one
// supernode_list_debounce window in one push, and only to peers whose list differs), so that a
// peer whose supernode dies or leaves knows where to log in next. A lone supernode (federation off) sends
// none: its peers have only the supernodes they were configured with.
#include <spdlog/spdlog.h>

#include "stack/supernode/supernode_core.h"

namespace qp2p {

std::vector<Endpoint> SupernodeCore::live_supernodes() const {
  std::vector<Endpoint> list;
  if (!federation_ || federation_->has_left()) return list;
  // Itself first, then members known alive, then suspected ones (perhaps dead: tried last).
  const auto members = federation_->members();
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& m : members) {
      if (list.size() >= wire::kMaxSupernodeList) return list;
      const bool suspect = m.state == federation::MemberState::kSuspect;
      if (suspect == (pass == 1)) list.push_back(m.endpoint);
    }
  }
  return list;
}

void SupernodeCore::push_supernode_list(Instant now, PeerSessionState& peer, SharedList list) {
  // A newer list replaces one still in flight: an old copy arriving late must not undo it.
  if (auto it = pending_pushes_.find(peer.list_push);
      peer.list_push != 0 && it != pending_pushes_.end() &&
      it->second.kind == PendingPush::Kind::kSupernodes) {
    pending_pushes_.erase(it);
    pushes_.complete(peer.list_push);
  }
  ++counters_.supernode_list_pushes;
  peer.list_sent = list;
  peer.list_push = push(now, peer, wire::SupernodeList{*list},
                        PendingPush{PendingPush::Kind::kSupernodes, peer.id, {}, 0, {}});
}

void SupernodeCore::schedule_supernode_list(Instant now) {
  if (config_.supernode_list_debounce <= Duration::zero()) return announce_supernode_list(now);
  // The first change opens the window; later ones in it ride on the same push.
  if (list_announce_at_ == kNever) list_announce_at_ = now + config_.supernode_list_debounce;
}

void SupernodeCore::announce_supernode_list(Instant now) {
  list_announce_at_ = kNever;
  auto list = std::make_shared<const std::vector<Endpoint>>(live_supernodes());
  if (list->empty()) return;
  std::size_t told = 0;
  for (auto& [session_id, peer] : sessions_) {
    // Up and down again within the window, or logged in since: it has this list already.
    if (peer.list_sent && *peer.list_sent == *list) continue;
    push_supernode_list(now, peer, list);
    ++told;
  }
  SPDLOG_INFO("federation: told {} of {} peers the {} live supernodes", told, sessions_.size(),
              list->size());
}

}  // namespace qp2p
