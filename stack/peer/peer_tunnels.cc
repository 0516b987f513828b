// PeerSession's side of tunnel negotiation (peer_session.h; docs/protocol.md section 8.5):
// connect / accept / refuse requests to the handshake service, and its pushes (TunnelOffer,
// TunnelRefused, PunchStart) turned into events. The hole punch itself is not run here.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <variant>

#include "stack/peer/peer_session.h"
#include "stack/wire/punch_plan_fields.h"

namespace qp2p {

std::vector<Endpoint> PeerSession::host_candidates() const {
  if (config_.local.port == 0 || config_.relay_only) return {};
  // The main socket, when bound to a concrete address; a wildcard bind is reachable on every
  // interface address the runtime named.
  if (!config_.local.address.is_unspecified()) return {config_.local};
  std::vector<Endpoint> out;
  for (const IpAddress& a : config_.host_addresses) {
    if (out.size() >= wire::kMaxHostCandidates) break;
    if (a.is_v4() == config_.local.address.is_v4()) out.push_back(Endpoint{a, config_.local.port});
  }
  return out;
}

std::uint32_t PeerSession::rtt_ms() const {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(rtt_.smoothed()).count();
  return static_cast<std::uint32_t>(
      std::clamp<std::int64_t>((us + 500) / 1000, 0, wire::kMaxRttMs));
}

std::uint64_t PeerSession::connect(Instant now, const PeerId& peer) {
  if (!outgoing_.count(peer) && outgoing_.size() >= kMaxPeerNegotiations) {
    const std::uint64_t id = new_transaction();
    events_.push_back(peer_event::RequestFailed{id, "connect", "too many tunnel requests pending"});
    return id;
  }
  const std::uint64_t id =
      enqueue(now, "connect", wire::TunnelConnect{peer, host_candidates(), rtt_ms()}, peer);
  outgoing_[peer] = Outgoing{id, 0, now};
  return id;
}

std::uint64_t PeerSession::accept(Instant now, const PeerId& peer) {
  return answer(now, peer, true, {});
}

std::uint64_t PeerSession::refuse(Instant now, const PeerId& peer, std::string reason) {
  if (reason.size() > wire::kMaxTunnelReasonBytes) reason.resize(wire::kMaxTunnelReasonBytes);
  return answer(now, peer, false, std::move(reason));
}

std::uint64_t PeerSession::answer(Instant now, const PeerId& peer, bool accept,
                                  std::string reason) {
  const char* command = accept ? "accept" : "refuse";
  auto it = incoming_.find(peer);
  if (it == incoming_.end() || it->second.accept_request != 0) {
    const std::uint64_t id = new_transaction();
    events_.push_back(peer_event::RequestFailed{
        id, command, "no pending tunnel request from " + peer.to_string()});
    return id;
  }
  wire::TunnelAnswer body{peer, it->second.attempt, accept, {}, 0, std::move(reason)};
  if (accept) {
    body.host = host_candidates();
    body.rtt_ms = rtt_ms();
  }
  const std::uint64_t id = enqueue(now, command, std::move(body), peer);
  // A refused offer is done; an accepted one waits for its PunchStart.
  if (accept)
    it->second.accept_request = id;
  else
    incoming_.erase(it);
  return id;
}

void PeerSession::on_tunnel_push(Instant now, wire::Body& body) {
  if (auto* offer = std::get_if<wire::TunnelOffer>(&body)) {
    const PeerId from = offer->from.id;
    if (!incoming_.count(from) && incoming_.size() >= kMaxPeerNegotiations) {
      // Offers the application never answered expire at the supernode: make room by
      // forgetting the oldest unanswered one.
      auto oldest = incoming_.end();
      for (auto i = incoming_.begin(); i != incoming_.end(); ++i)
        if (i->second.accept_request == 0 &&
            (oldest == incoming_.end() || i->second.received < oldest->second.received))
          oldest = i;
      if (oldest == incoming_.end()) {
        ++counters_.dropped_tunnel_pushes;
        SPDLOG_DEBUG("peer: drop tunnel offer from {}: {} negotiations pending", from.to_string(),
                     incoming_.size());
        return;
      }
      incoming_.erase(oldest);
    }
    incoming_[from] = Incoming{offer->attempt, now, 0};
    // A peer we have a tunnel with negotiates again (it tries to move our relayed tunnel to a
    // direct path): the application accepted it already.
    if (tunnels_.has_tunnel(from)) {
      answer(now, from, true, {});
      return;
    }
    events_.push_back(peer_event::TunnelRequested{from, std::move(offer->from), offer->attempt});
    if (config_.auto_accept_tunnels) answer(now, from, true, {});
    return;
  }
  if (auto* refused = std::get_if<wire::TunnelRefused>(&body)) {
    // An offer we accepted, ended before its punch-start: the caller's supernode, another one
    // than ours, gave the negotiation up while our answer was on its way (docs/protocol.md
    // 14.6). The accept fails now instead of at negotiation_deadline.
    if (auto in = incoming_.find(refused->peer);
        in != incoming_.end() && in->second.accept_request != 0 &&
        in->second.attempt == refused->attempt) {
      SPDLOG_INFO("peer: accepted tunnel from {} refused: {}", refused->peer.to_string(),
                  refused->reason);
      events_.push_back(peer_event::RequestFailed{in->second.accept_request, "accept",
                                                  "tunnel refused: " + refused->reason});
      incoming_.erase(in);
      return;
    }
    auto it = outgoing_.find(refused->peer);
    if (it == outgoing_.end() ||
        (it->second.attempt != 0 && it->second.attempt != refused->attempt)) {
      ++counters_.dropped_tunnel_pushes;
      SPDLOG_DEBUG("peer: drop tunnel refusal from {}: no such request", refused->peer.to_string());
      return;
    }
    finish_outgoing(it, peer_event::TunnelRefused{it->second.request, refused->peer,
                                                  std::move(refused->reason)});
    return;
  }
  if (auto* start = std::get_if<wire::PunchStart>(&body)) {
    peer_event::PunchStarted event;
    Instant requested_at = now;
    bool upgrade = false;
    if (auto out = outgoing_.find(start->peer);
        out != outgoing_.end() &&
        (out->second.attempt == 0 || out->second.attempt == start->attempt)) {
      event.request = out->second.request;
      event.caller = true;
      requested_at = out->second.requested;
      upgrade = out->second.upgrade;
      outgoing_.erase(out);
    } else if (auto in = incoming_.find(start->peer); in != incoming_.end() &&
                                                      in->second.accept_request != 0 &&
                                                      in->second.attempt == start->attempt) {
      event.request = in->second.accept_request;
      requested_at = in->second.received;
      incoming_.erase(in);
    } else {
      ++counters_.dropped_tunnel_pushes;
      SPDLOG_DEBUG("peer: drop punch-start for {}: no such negotiation", start->peer.to_string());
      return;
    }
    event.peer = start->peer;
    event.attempt = start->attempt;
    event.nonce = start->nonce;
    event.direct_feasible = start->direct_feasible;
    event.plan = wire::from_fields(start->plan, start->peer);
    event.received_at = now;
    event.local = config_.local;
    SPDLOG_INFO("peer: punch towards {} ({}), start in {} ms", start->peer.to_string(),
                tunnel::to_string(event.plan.strategy), start->plan.start_after_ms);
    events_.push_back(event);
    start_punch(now, event, requested_at, std::move(start->relay), upgrade);
    return;
  }
  if (auto* relayed = std::get_if<wire::TunnelRelayed>(&body)) on_tunnel_relayed(now, *relayed);
}

void PeerSession::start_punch(Instant now, const peer_event::PunchStarted& start,
                              Instant requested_at, wire::RelayCredentials relay, bool upgrade) {
  if (!punched_.count(start.peer) && punched_.size() >= kMaxPeerNegotiations) {
    // Bounded like the negotiations: the oldest record loses its relay fallback.
    auto oldest = std::min_element(punched_.begin(), punched_.end(), [](auto& x, auto& y) {
      return x.second.requested_at < y.second.requested_at;
    });
    punched_.erase(oldest);
  }
  Punched& p = punched_[start.peer];
  p = Punched{start.attempt, start.caller,    start.nonce,          start.plan,
               std::move(relay), requested_at, start.direct_feasible, upgrade};
  if (!start.direct_feasible || config_.relay_only) {
    fall_back_to_relay(now, start.peer,
                       config_.relay_only ? "relay only by configuration"
                                          : "no direct path possible between these NATs");
  } else {
    tunnels_.start_attempt(now, start.plan, start.nonce, requested_at);
  }
  // The peer's relayed address may have overtaken this punch-start.
  if (auto early = early_relayed_.find(start.peer); early != early_relayed_.end()) {
    const wire::TunnelRelayed relayed = early->second;
    early_relayed_.erase(early);
    if (relayed.attempt == start.attempt) on_tunnel_relayed(now, relayed);
  }
  drain_tunnels(now);
}

std::map<PeerId, PeerSession::Outgoing>::iterator PeerSession::finish_outgoing(
    std::map<PeerId, Outgoing>::iterator it, PeerEvent event) {
  // An upgrade is our own renegotiation of a relayed tunnel, which the application never asked
  // for: how it ends is not the application's news.
  if (!it->second.upgrade) events_.push_back(std::move(event));
  return outgoing_.erase(it);
}

void PeerSession::fail_request(std::uint64_t request, const PeerId& target,
                               const std::string& command, std::string reason) {
  peer_event::RequestFailed failed{request, command, std::move(reason)};
  // A failed connect or accept ends that negotiation here too.
  if (auto i = incoming_.find(target); i != incoming_.end() && i->second.accept_request == request)
    incoming_.erase(i);
  if (auto o = outgoing_.find(target); o != outgoing_.end() && o->second.request == request) {
    finish_outgoing(o, std::move(failed));
    return;
  }
  events_.push_back(std::move(failed));
}

bool PeerSession::tunnel_send(Instant now, const PeerId& peer, const std::uint8_t* data,
                              std::size_t size) {
  const bool sent = tunnels_.send(now, peer, data, size);
  drain_tunnels(now);
  return sent;
}

void PeerSession::tunnel_close(Instant now, const PeerId& peer) {
  tunnels_.close(now, peer);
  drain_tunnels(now);
}

void PeerSession::close_all_tunnels(Instant now) {
  for (const PeerId& peer : tunnels_.peers()) tunnels_.close(now, peer);
  drain_tunnels(now);
}

void PeerSession::provide_tunnel_sockets(Instant now, const PeerId& peer,
                                         std::vector<Endpoint> locals) {
  tunnels_.provide_sockets(now, peer, std::move(locals));
  drain_tunnels(now);
}

// Turns the tunnel manager's events into the peer's (one event stream for the application).
void PeerSession::drain_tunnels(Instant now) {
  namespace me = tunnel::manager_event;
  while (auto event = tunnels_.poll_event()) {
    std::visit(
        [this, now](auto&& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, me::SocketsNeeded>) {
            events_.push_back(peer_event::TunnelSocketsNeeded{e.peer, e.count});
          } else if constexpr (std::is_same_v<T, me::SocketsReleased>) {
            events_.push_back(peer_event::TunnelSocketsReleased{e.peer, std::move(e.locals)});
          } else if constexpr (std::is_same_v<T, me::Established>) {
            SPDLOG_INFO("peer: tunnel to {} up ({}, {} -> {}), setup {} ms", e.peer.to_string(),
                        tunnel::to_string(e.path), e.local.to_string(), e.remote.to_string(),
                        std::chrono::duration_cast<std::chrono::milliseconds>(e.setup).count());
            on_tunnel_up(now, e.peer, e.path, e.setup, e.rtt);
            events_.push_back(
                peer_event::TunnelEstablished{e.peer, e.path, e.local, e.remote, e.rtt, e.setup});
          } else if constexpr (std::is_same_v<T, me::Data>) {
            events_.push_back(peer_event::TunnelData{e.peer, std::move(e.bytes)});
          } else if constexpr (std::is_same_v<T, me::Closed>) {
            SPDLOG_INFO("peer: tunnel to {} closed: {}", e.peer.to_string(), e.reason);
            upgrades_.erase(e.peer);
            events_.push_back(peer_event::TunnelClosed{e.peer, std::move(e.reason)});
          } else if constexpr (std::is_same_v<T, me::AttemptFailed>) {
            if (!e.superseded) on_attempt_failed(now, e.peer, e.reason);
          } else if constexpr (std::is_same_v<T, me::RelayReady>) {
            on_relay_ready(now, e.peer, e.relayed);
          }
        },
        *event);
  }
}

}  // namespace qp2p
