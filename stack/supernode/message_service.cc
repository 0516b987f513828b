// Instant messages routed through the supernode with end-to-end delivery reports, and the
// supernode's pushes (deliveries, reports, presence), each retransmitted until acknowledged.
// docs/protocol.md, "Instant messages".
#include <spdlog/spdlog.h>

#include <algorithm>

#include "stack/supernode/supernode_core.h"

namespace qp2p {

namespace {
// How long a routed (sender, message id) is remembered to suppress duplicate deliveries of a
// retransmitted send: longer than a peer's whole retransmission schedule.
constexpr Duration kRoutedMemory = std::chrono::seconds(60);
}  // namespace

void SupernodeCore::on_send(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                            const wire::SendMessage& m) {
  const auto key = std::make_pair(peer.id, m.message_id);
  if (routed_messages_.count(key)) return reply(peer, transaction, wire::SendAccepted{});
  PeerSessionState* target = find_session(m.to);
  if (!target) {
    if (auto home = online_elsewhere(m.to) ? home_supernode_of(m.to) : std::nullopt)
      return route_message(now, peer, transaction, m, *home);
    if (hold_request(now, peer, transaction, m)) return;
    ++counters_.messages_undeliverable;
    return reply(peer, transaction, unknown_or_offline(m.to));
  }
  routed_messages_.insert(key);
  routed_order_.emplace_back(now, key);
  if (next_expiry_check_ == kNever) next_expiry_check_ = now + std::chrono::seconds(1);
  reply(peer, transaction, wire::SendAccepted{});
  push(now, *target, wire::Deliver{peer.id, m.message_id, m.text},
       PendingPush{PendingPush::Kind::kDeliver, m.to, peer.id, m.message_id, {}});
}

void SupernodeCore::on_push_ack(Instant now, PeerSessionState& peer, std::uint64_t transaction) {
  auto it = pending_pushes_.find(transaction);
  if (it == pending_pushes_.end() || it->second.target != peer.id) {
    ++counters_.dropped_control_unexpected;  // late duplicate ack, or not this peer's push
    return;
  }
  PendingPush p = it->second;
  pending_pushes_.erase(it);
  pushes_.complete(transaction);
  if (p.kind != PendingPush::Kind::kDeliver) return;
  ++counters_.messages_routed;
  if (p.origin != PeerId{})  // routed here from another supernode: the report goes back there
    return report_routed(now, p.origin, p.sender, p.target, p.message_id, true);
  if (PeerSessionState* sender = find_session(p.sender))
    push(now, *sender, wire::DeliveryReport{p.target, p.message_id},
         PendingPush{PendingPush::Kind::kReport, p.sender, p.target, p.message_id, {}});
}

std::uint64_t SupernodeCore::push(Instant now, PeerSessionState& target, wire::Body body,
                                  PendingPush pending) {
  std::uint64_t txn;
  do txn = random_.next_u64(); while (pending_pushes_.count(txn));
  pending_pushes_.emplace(txn, pending);
  // Each copy goes to the target's current session: a push in flight follows a peer that
  // logged in again (restart, new address) and is abandoned once the peer is offline.
  const PeerId target_id = target.id;
  // Tunnel pushes are time-critical (both punch-starts must arrive for a tunnel): denser copies
  // over the same span (handshake_service.h).
  std::optional<RetransmitPolicy> policy;
  if (pending.kind == PendingPush::Kind::kTunnel)
    policy = std::holds_alternative<wire::TunnelOffer>(body) ? kTunnelOfferPushPolicy
                                                              : kTunnelPushPolicy;
  auto build = [this, target_id, txn, body = std::move(body)](
                   Instant now, Duration since_first) -> std::optional<Datagram> {
    PeerSessionState* peer = find_session(target_id);
    if (!peer) {
      auto it = pending_pushes_.find(txn);
      if (it != pending_pushes_.end()) {
        const PendingPush p = it->second;
        pending_pushes_.erase(it);
        delivery_failed(now, p);
      }
      return std::nullopt;
    }
    wire::Body copy = body;
    // A punch-start's start_after is relative to its arrival: a later copy names the same
    // moment by carrying what remains of it (docs/protocol.md section 8.5).
    if (auto* start = std::get_if<wire::PunchStart>(&copy)) {
      const auto late_ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_first).count();
      start->plan.start_after_ms = static_cast<std::uint32_t>(
          std::max<std::int64_t>(0, std::int64_t{start->plan.start_after_ms} - late_ms));
    }
    return Datagram{peer->local, peer->remote, peer->session.seal({txn, std::move(copy)})};
  };
  pushes_.start_timed(now, txn, std::move(build), policy);
  return txn;
}

void SupernodeCore::delivery_failed(Instant now, const PendingPush& p) {
  if (p.kind == PendingPush::Kind::kSupernodes) {
    // It may not have the list: the next change pushes one even if it is the same.
    if (PeerSessionState* peer = find_session(p.target)) peer->list_sent.reset();
    return;
  }
  if (p.kind != PendingPush::Kind::kDeliver) return;
  ++counters_.messages_undeliverable;
  if (p.origin != PeerId{}) report_routed(now, p.origin, p.sender, p.target, p.message_id, false);
}

void SupernodeCore::notify_watchers(Instant now, const PeerId& peer, bool online,
                                    wire::PresenceReason reason) {
  auto it = watchers_.find(peer);
  if (it == watchers_.end()) return;
  for (const PeerId& watcher : it->second) {
    if (PeerSessionState* w = find_session(watcher))
      push(now, *w, wire::Presence{peer, online, reason},
           PendingPush{PendingPush::Kind::kPresence, watcher, peer, 0, {}});
  }
}

void SupernodeCore::forget_old_routed(Instant now) {
  while (!routed_order_.empty() && now - routed_order_.front().first >= kRoutedMemory) {
    routed_messages_.erase(routed_order_.front().second);
    route_outcomes_.erase(routed_order_.front().second);
    routed_order_.pop_front();
  }
}

}  // namespace qp2p
