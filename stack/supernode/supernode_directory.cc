// The supernode's side of the replicated directory (docs/protocol.md section 14.5): membership
// events and payloads to the DirectoryNode, its payloads sealed to members, presence records
// of the peers logged in here, presence changes at other supernodes told to local watchers, and
// which supernode a peer is on. Everything here runs only with federation on.
#include <spdlog/spdlog.h>

#include <limits>

#include "stack/supernode/supernode_core.h"

namespace qp2p {

federation::WallMs SupernodeCore::wall_ms(Instant now) const {
  const std::int64_t us = to_us(now) + config_.turn.unix_offset_us;
  return us <= 0 ? 0 : static_cast<federation::WallMs>(us / 1000);
}

Instant SupernodeCore::directory_deadline() const {
  if (!directory_) return kNever;
  const federation::WallMs t = directory_->poll_timeout();
  if (t == std::numeric_limits<federation::WallMs>::max()) return kNever;
  // The first instant whose wall_ms() is t.
  return instant_from_us(static_cast<std::int64_t>(t) * 1000 - config_.turn.unix_offset_us);
}

void SupernodeCore::drain_federation_events(Instant now) {
  const federation::WallMs wall = wall_ms(now);
  bool members_changed = false;
  while (auto event = federation_->poll_event()) {
    if (auto* up = std::get_if<federation::MemberUp>(&*event)) {
      directory_->member_up(wall, up->id);
      send_stats_to(now, up->id);  // its network view gets our figures at once
      members_changed = true;
    } else if (auto* down = std::get_if<federation::MemberDown>(&*event)) {
      directory_->member_down(down->id);
      members_changed = true;
    } else if (auto* p = std::get_if<federation::PayloadReceived>(&*event)) {
      if (federation::is_directory_payload(p->data)) {
        directory_->handle_payload(wall, p->from, p->data);
      } else if (federation::is_handshake_route_payload(p->data)) {
        on_handshake_route_payload(now, p->from, p->data);
      } else if (federation::is_route_payload(p->data)) {
        on_route_payload(now, p->from, p->data);
      } else if (federation::is_operations_payload(p->data)) {
        network_stats_.handle_payload(now, p->from, p->data);  // stats reports (section 14.7)
      } else {
        ++counters_.dropped_federation_payload;
        SPDLOG_DEBUG("federation: drop {}-byte payload of unknown type from {}", p->data.size(),
                     p->from.to_string());
      }
    }
  }
  // The peers hear of it once the changes of a short window are in (supernode_list.cc).
  if (members_changed) schedule_supernode_list(now);
  flush_directory(now);
}

void SupernodeCore::flush_directory(Instant now) {
  if (!directory_) return;
  while (auto t = directory_->poll_transmit()) {
    if (!federation_->send_payload(now, t->to, std::move(t->payload)))
      ++counters_.federation_payloads_unsent;  // gone meanwhile: anti-entropy repairs it
  }
  for (const federation::PresenceChange& c : directory_->take_changes()) on_presence_change(now, c);
  // Caught up: what is still unknown is not on its way; refused now, not at the hold's end.
  if (held_requests_.size() > 0 && !directory_->catching_up()) expire_held_requests(kNever);
}

void SupernodeCore::on_presence_change(Instant now, const federation::PresenceChange& c) {
  if (c.online && held_requests_.size() > 0) release_held_requests(now, c.peer);
  // Our own records: the checkpoint told the watchers itself. A peer with a session here: its
  // session is the truth here, whatever another supernode still says of it.
  if (c.supernode == identity_.id() || find_session(c.peer)) return;
  // Refreshed, or moved from one supernode to another: nothing for a watcher.
  if (c.was_online == c.online || !watchers_.count(c.peer)) return;
  const wire::PresenceReason reason =
      c.online ? wire::PresenceReason::kLogin
               : (c.state == federation::PresenceState::kLoggedOut ? wire::PresenceReason::kLogout
                                                                   : wire::PresenceReason::kExpired);
  notify_watchers(now, c.peer, c.online, reason);
}

bool SupernodeCore::hold_request(Instant now, const PeerSessionState& peer,
                                 std::uint64_t transaction, HoldableRequest request) {
  if (held_requests_.holds(peer.id, transaction)) return true;  // a retransmitted copy
  if (!directory_ || !directory_->catching_up()) return false;
  const bool message = std::holds_alternative<wire::SendMessage>(request);
  const PeerId target = target_of(request);
  if (!held_requests_.hold(now, peer.id, transaction, std::move(request))) return false;
  ++(message ? counters_.messages_held : handshake_counters_.connects_held);
  SPDLOG_DEBUG("{} from {} held: peer {} unknown while the directory catches up",
               message ? "message" : "tunnel connect", peer.id.to_string(), target.to_string());
  return true;
}

void SupernodeCore::release_held_requests(Instant now, const PeerId& target) {
  for (const HeldRequest& h : held_requests_.release(target)) {
    PeerSessionState* sender = find_session(h.sender);
    if (!sender) continue;  // gone meanwhile: nobody to answer
    if (const auto* m = std::get_if<wire::SendMessage>(&h.request))
      on_send(now, *sender, h.transaction, *m);
    else
      on_tunnel_connect(now, *sender, h.transaction, std::get<wire::TunnelConnect>(h.request));
  }
}

void SupernodeCore::expire_held_requests(Instant until) {
  for (const HeldRequest& h : held_requests_.expire(until)) {
    ++(std::holds_alternative<wire::SendMessage>(h.request)
           ? counters_.messages_undeliverable
           : handshake_counters_.connects_unknown_peer);
    if (PeerSessionState* sender = find_session(h.sender))
      reply(*sender, h.transaction, unknown_or_offline(h.target()));
  }
}

void SupernodeCore::directory_online(const PeerSessionState& peer) {
  if (!directory_) return;
  federation::PeerPresence p;
  p.mapped = peer.remote;
  if (auto nat = nat_profile_of(peer.id)) p.nat = *nat;
  p.proof = {peer.login_nonce, peer.login_ephemeral, peer.login_signature};
  directory_->peer_online(last_wall_ms_, peer.id, p);
}

std::optional<PeerId> SupernodeCore::home_supernode_of(const PeerId& peer) const {
  if (session_of_.count(peer)) return identity_.id();
  if (!directory_) return std::nullopt;
  const federation::DirectoryEntry* e = directory_->replica().find(peer);
  if (!e || !e->presence || !e->presence->online() || e->presence->expires_ms <= last_wall_ms_)
    return std::nullopt;
  return e->presence->supernode;
}

bool SupernodeCore::online_elsewhere(const PeerId& peer) const {
  auto home = home_supernode_of(peer);
  return home && *home != identity_.id();
}

}  // namespace qp2p
