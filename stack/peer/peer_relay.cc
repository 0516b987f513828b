// PeerSession's relay fallback of tunnels (peer_session.h; docs/protocol.md section 8.6). When
// the handshake service found no direct path possible, or the direct attempt failed, the callee
// allocates a relayed transport address on its supernode's relay service (TURN, RFC 8656, with
// the time-limited credentials from its PunchStart) and runs the attempt from there; it tells
// the caller the address (TunnelRelay -> TunnelRelayed), and the caller checks towards it from
// its main socket. The connectivity checks and the tunnel are the same as for a direct path
// (authenticated end to end), so the relay can neither read nor forge tunnel traffic.
#include <spdlog/spdlog.h>

#include "stack/peer/peer_session.h"

namespace qp2p {

namespace {

// The caller waits this long for the callee's relayed address: the callee's relayed attempt
// deadline (allocation included) and a control round trip with retransmissions.
constexpr Duration kRelayedAddressWait = tunnel::kRelayedAttemptDeadline + std::chrono::seconds(10);

}  // namespace

void PeerSession::fall_back_to_relay(Instant now, const PeerId& peer, const std::string& why) {
  auto it = punched_.find(peer);
  if (it == punched_.end()) return;
  Punched& p = it->second;
  if (p.relaying) return fail_attempt(now, it, why);
  if (p.relay.username.empty()) return fail_attempt(now, it, why + "; the supernode offers no relay");
  p.relaying = true;
  SPDLOG_INFO("peer: {}; tunnel to {} goes through the relay", why, peer.to_string());
  if (p.caller) {
    p.relay_wait = now + kRelayedAddressWait;
    return;
  }
  turn::TurnCredentials credentials;
  credentials.username = p.relay.username;
  credentials.password = p.relay.password;
  tunnels_.start_relayed_attempt(now, p.plan, p.nonce, p.requested_at, supernode_endpoint(),
                                 credentials);
}

void PeerSession::on_attempt_failed(Instant now, const PeerId& peer, const std::string& reason) {
  auto it = punched_.find(peer);
  if (tunnels_.has_tunnel(peer)) {
    // An attempt to move a live (relayed) tunnel to a direct path: the tunnel stays as it is.
    SPDLOG_INFO("peer: no direct path to {} yet ({}); staying on the relay", peer.to_string(),
                reason);
    if (it != punched_.end()) punched_.erase(it);
    return;
  }
  if (it == punched_.end()) {
    events_.push_back(peer_event::TunnelClosed{peer, "attempt failed: " + reason});
    return;
  }
  SPDLOG_INFO("peer: {} attempt to {} failed: {}", it->second.relaying ? "relayed" : "direct",
              peer.to_string(), reason);
  fall_back_to_relay(now, peer,
                     (it->second.relaying ? "relayed attempt failed: " : "direct attempt failed: ") +
                         reason);
}

void PeerSession::on_relay_ready(Instant now, const PeerId& peer, const Endpoint& relayed) {
  auto it = punched_.find(peer);
  if (it == punched_.end()) return;
  enqueue(now, "relay", wire::TunnelRelay{peer, it->second.attempt, relayed}, peer);
}

void PeerSession::on_tunnel_relayed(Instant now, const wire::TunnelRelayed& m) {
  auto it = punched_.find(m.peer);
  if ((it == punched_.end() || it->second.attempt != m.attempt) &&
      (outgoing_.count(m.peer) || incoming_.count(m.peer)) &&
      (early_relayed_.count(m.peer) || early_relayed_.size() < kMaxPeerNegotiations)) {
    // Our own punch-start is still on its way (a copy was lost) while the peer already fell
    // back: keep the address until it comes (start_punch).
    early_relayed_[m.peer] = m;
    return;
  }
  if (it == punched_.end() || it->second.attempt != m.attempt) {
    ++counters_.dropped_tunnel_pushes;
    SPDLOG_DEBUG("peer: drop relayed address from {}: no such attempt", m.peer.to_string());
    return;
  }
  Punched& p = it->second;
  // The peer fell back first (its direct attempt ended before ours): follow it, so both sides
  // end on the same path.
  p.relaying = true;
  p.relay_wait = kNever;
  tunnel::PunchPlan plan;
  plan.remote = m.peer;
  plan.strategy = tunnel::PunchStrategy::kSimultaneousOpen;
  plan.local_sockets = 1;
  plan.remote_candidates = {{m.relayed, tunnel::CandidateKind::kRelayed}};
  plan.start_after = Duration::zero();
  plan.deadline = tunnel::kRelayedAttemptDeadline;
  SPDLOG_INFO("peer: {} relays via {}", m.peer.to_string(), m.relayed.to_string());
  tunnels_.start_attempt(now, plan, p.nonce, p.requested_at);
  drain_tunnels(now);
}

void PeerSession::expire_relay_waits(Instant now) {
  for (auto it = punched_.begin(); it != punched_.end();) {
    if (it->second.relay_wait <= now) {
      fail_attempt(now, it++, "relay fallback failed: the peer announced no relayed address");
    } else {
      ++it;
    }
  }
}

Instant PeerSession::next_relay_wait() const {
  Instant t = kNever;
  for (const auto& [peer, p] : punched_) t = std::min(t, p.relay_wait);
  for (const auto& [peer, u] : upgrades_) t = std::min(t, u.next);
  return t;
}

// The caller of a relayed tunnel keeps trying the direct path where one is possible (the direct
// attempt failed, e.g. to loss); a direct tunnel replaces the relayed one without loss
// (tunnel_manager.h, kReplacedTunnelGrace).
void PeerSession::on_tunnel_up(Instant now, const PeerId& peer, tunnel::Path path,
                               Duration setup, Duration rtt) {
  auto it = punched_.find(peer);
  const bool caller = it != punched_.end() && it->second.caller;
  const bool feasible = it != punched_.end() && it->second.direct_feasible;
  if (it != punched_.end()) {
    report_outcome(now, it->second,
                   path == tunnel::Path::kDirect ? wire::OutcomePath::kDirect
                                                 : wire::OutcomePath::kRelay,
                   setup, rtt, {});
    punched_.erase(it);
  }
  if (path == tunnel::Path::kDirect) {
    upgrades_.erase(peer);
    return;
  }
  if (!caller || !feasible || config_.relay_only || upgrades_.count(peer)) return;
  upgrades_[peer] = Upgrade{now + kRelayUpgradeFirstInterval, kRelayUpgradeFirstInterval};
}

void PeerSession::try_upgrades(Instant now) {
  for (auto it = upgrades_.begin(); it != upgrades_.end();) {
    const PeerId peer = it->first;
    Upgrade& u = it->second;
    if (!tunnels_.has_tunnel(peer)) {
      it = upgrades_.erase(it);
      continue;
    }
    if (u.next <= now) {
      u.interval = std::min(u.interval * 2, kRelayUpgradeMaxInterval);
      u.next = now + u.interval;
      if (state_ == State::kRegistered && !tunnels_.has_attempt(peer) && !outgoing_.count(peer) &&
          !punched_.count(peer)) {
        SPDLOG_INFO("peer: trying a direct path to {} (tunnel relayed)", peer.to_string());
        connect(now, peer);
        if (auto o = outgoing_.find(peer); o != outgoing_.end()) o->second.upgrade = true;
      }
    }
    ++it;
  }
}

}  // namespace qp2p
