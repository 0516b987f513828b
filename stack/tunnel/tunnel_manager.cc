// A peer's attempts and tunnels, keyed by remote peer (see tunnel_manager.h).
#include "stack/tunnel/tunnel_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace qp2p::tunnel {

const char* to_string(Path path) {
  switch (path) {
    case Path::kDirect: return "direct";
    case Path::kRelay: return "relay";
  }
  return "unknown";
}

TunnelManager::TunnelManager(Identity identity, TunnelConfig tunnel_config, Endpoint main_local,
                             Random random, TunnelManagerConfig config)
    : identity_(std::move(identity)),
      tunnel_config_(tunnel_config),
      main_local_(main_local),
      random_(std::move(random)),
      config_(config),
      relay_(main_local, Random::from_u64(random_.next_u64())) {}

const Tunnel* TunnelManager::tunnel(const PeerId& peer) const {
  auto it = tunnels_.find(peer);
  return it == tunnels_.end() ? nullptr : it->second.tunnel.get();
}

const HolePunch* TunnelManager::attempt(const PeerId& peer) const {
  auto it = attempts_.find(peer);
  return it == attempts_.end() ? nullptr : it->second.punch.get();
}

// Bounds shared by both kinds of attempt; false (and AttemptFailed) when over one.
bool TunnelManager::admit(const PeerId& peer, const PunchPlan& plan) {
  if (attempts_.size() >= config_.max_attempts) {
    ++counters_.attempts_refused;
    ++counters_.attempts_failed;
    events_.push_back(manager_event::AttemptFailed{peer, "too many attempts running"});
    return false;
  }
  if (!tunnels_.count(peer) && tunnels_.size() >= config_.max_tunnels) {
    ++counters_.attempts_refused;
    ++counters_.attempts_failed;
    events_.push_back(manager_event::AttemptFailed{peer, "too many tunnels"});
    return false;
  }
  if (plan.local_sockets == 0 || plan.local_sockets > kMaxLocalEndpoints) {
    ++counters_.attempts_failed;
    events_.push_back(manager_event::AttemptFailed{peer, "plan asks for an invalid socket count"});
    return false;
  }
  return true;
}

void TunnelManager::start_attempt(Instant now, const PunchPlan& plan, const AttemptNonce& nonce,
                                  Instant requested_at) {
  const PeerId& peer = plan.remote;
  if (attempts_.count(peer)) fail_now(now, peer, "superseded by a new attempt", true);
  if (!admit(peer, plan)) return;
  ++counters_.attempts_started;
  Attempt& a = attempts_[peer];
  a.plan = plan;
  a.nonce = nonce;
  a.requested_at = requested_at;
  a.start = now + std::max(plan.start_after, Duration::zero());
  if (plan.local_sockets > 1) {
    events_.push_back(manager_event::SocketsNeeded{peer, plan.local_sockets - 1});
    return;
  }
  launch(now, peer, a);
}

void TunnelManager::start_relayed_attempt(Instant now, const PunchPlan& plan,
                                          const AttemptNonce& nonce, Instant requested_at,
                                          const Endpoint& server,
                                          const turn::TurnCredentials& credentials) {
  const PeerId& peer = plan.remote;
  if (attempts_.count(peer)) fail_now(now, peer, "superseded by a new attempt", true);
  PunchPlan relayed = plan;
  // Through the relay only the peer's public endpoints make sense (its host addresses behind a
  // NAT are not reachable from the relay, and prediction or probing would spray the relay's
  // permissions);
  // a peer behind a symmetric NAT reaches us from another port and is answered there
  // (peer-reflexive).
  // A peer without a NAT has no server-reflexive candidate: its host candidate is public.
  relayed.remote_candidates.clear();
  for (CandidateKind kind : {CandidateKind::kServerReflexive, CandidateKind::kHost}) {
    for (const Candidate& c : plan.remote_candidates)
      if (c.kind == kind) relayed.remote_candidates.push_back(c);
    if (!relayed.remote_candidates.empty()) break;
  }
  relayed.strategy = PunchStrategy::kSimultaneousOpen;
  relayed.local_sockets = 1;
  relayed.start_after = Duration::zero();
  relayed.deadline = kRelayedAttemptDeadline;
  if (!admit(peer, relayed)) return;
  if (relayed.remote_candidates.empty()) {
    ++counters_.attempts_failed;
    events_.push_back(
        manager_event::AttemptFailed{peer, "no public endpoint of the peer to permit on the relay"});
    return;
  }
  ++counters_.attempts_started;
  Attempt& a = attempts_[peer];
  a.plan = relayed;
  a.nonce = nonce;
  a.requested_at = requested_at;
  a.from_relay_port = true;
  a.start = now;
  std::vector<Endpoint> permit;
  for (const Candidate& c : relayed.remote_candidates) permit.push_back(c.endpoint);
  relay_.acquire(now, peer, server, credentials, permit);
  pump_relay(now);
}

void TunnelManager::provide_sockets(Instant now, const PeerId& peer, std::vector<Endpoint> locals) {
  auto it = attempts_.find(peer);
  if (it == attempts_.end() || it->second.punch) {
    release(peer, std::move(locals));
    return;
  }
  Attempt& a = it->second;
  locals.erase(std::remove(locals.begin(), locals.end(), main_local_), locals.end());
  if (locals.size() >= kMaxLocalEndpoints) {
    std::vector<Endpoint> excess(locals.begin() + (kMaxLocalEndpoints - 1), locals.end());
    locals.resize(kMaxLocalEndpoints - 1);
    release(peer, std::move(excess));
  }
  a.extra = std::move(locals);
  launch(now, peer, a);
}

void TunnelManager::launch(Instant now, const PeerId& peer, Attempt& a) {
  std::vector<Endpoint> locals{main_local_};
  if (a.from_relay_port) locals = {*relay_.relayed()};
  locals.insert(locals.end(), a.extra.begin(), a.extra.end());
  HolePunchConfig config =
      make_punch_config(a.plan, identity_, a.nonce, std::move(locals), std::max(a.start, now));
  // From our relayed address we only answer: the caller's first check through the relay opens
  // its NAT towards the relay (hole_punch.h, "waiting for the peer").
  config.wait_for_peer = a.from_relay_port;
  // Opening checks only where our own NATs sit between the socket and the peer: a relayed
  // address has none (its datagrams leave inside TURN messages).
  if (!a.from_relay_port) config.open_ttl = open_ttl();
  a.punch = std::make_unique<HolePunch>(std::move(config), Random::from_u64(random_.next_u64()));
  by_tunnel_id_[a.punch->tunnel_id()] = peer;
  pump_attempt(now, peer);
}

bool TunnelManager::send(Instant now, const PeerId& peer, const std::uint8_t* data,
                         std::size_t size) {
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return false;
  const bool ok = it->second.tunnel->send(now, data, size);
  pump_tunnel(now, peer);
  return ok;
}

void TunnelManager::close(Instant now, const PeerId& peer) {
  if (attempts_.count(peer)) fail_now(now, peer, "cancelled locally");
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return;
  it->second.tunnel->close(now);
  pump_tunnel(now, peer);
}

bool TunnelManager::handle_relay_datagram(Instant now, const Endpoint& local,
                                          const Endpoint& remote, const std::uint8_t* data,
                                          std::size_t size) {
  if (!relay_.handle_datagram(now, local, remote, data, size)) return false;
  pump_relay(now);
  return true;
}

void TunnelManager::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                    const std::uint8_t* data, std::size_t size) {
  if (!looks_like_tunnel(data, size)) {
    ++counters_.dropped_not_tunnel;
    SPDLOG_DEBUG("tunnels: not a tunnel packet from {} on {}", remote.to_string(),
                 local.to_string());
    return;
  }
  ParseError error = ParseError::kNone;
  const auto packet = parse(data, size, &error);
  if (!packet) {
    ++counters_.dropped_malformed;
    SPDLOG_DEBUG("tunnels: malformed packet from {} on {}: {}", remote.to_string(),
                 local.to_string(), to_string(error));
    return;
  }
  std::optional<PeerId> peer;
  bool to_attempt = false;
  if (const auto* check = std::get_if<CheckPacket>(&*packet)) {
    auto a = attempts_.find(check->sender);
    if (a != attempts_.end() && a->second.punch) {
      peer = check->sender;
      to_attempt = true;
    } else if (tunnels_.count(check->sender)) {
      peer = check->sender;
    }
  } else {
    const std::uint64_t id = std::get<SealedPacket>(*packet).tunnel_id;
    auto owner = by_tunnel_id_.find(id);
    if (owner != by_tunnel_id_.end()) {
      auto a = attempts_.find(owner->second);
      auto t = tunnels_.find(owner->second);
      if (a != attempts_.end() && a->second.punch && a->second.punch->tunnel_id() == id) {
        peer = owner->second;
        to_attempt = true;
      } else if (t != tunnels_.end() && t->second.id == id) {
        peer = owner->second;
      }
    }
  }
  if (!peer && std::holds_alternative<SealedPacket>(*packet) &&
      deliver_to_retired(now, local, remote, data, size,
                         std::get<SealedPacket>(*packet).tunnel_id))
    return;
  if (!peer) {
    ++counters_.dropped_unattributed;
    SPDLOG_DEBUG("tunnels: packet from {} on {} matches no attempt or tunnel", remote.to_string(),
                 local.to_string());
    return;
  }
  if (to_attempt) {
    attempts_.at(*peer).punch->handle_datagram(now, local, remote, data, size);
    pump_attempt(now, *peer);
  } else {
    tunnels_.at(*peer).tunnel->handle_datagram(now, local, remote, data, size);
    pump_tunnel(now, *peer);
  }
}

void TunnelManager::handle_timeout(Instant now) {
  expire_retired(now);
  if (relay_.poll_timeout() <= now) {
    relay_.handle_timeout(now);
    pump_relay(now);
  }
  std::vector<PeerId> due, starved;
  for (const auto& [peer, a] : attempts_) {
    if (a.punch && a.punch->poll_timeout() <= now) due.push_back(peer);
    if (!a.punch && a.start + a.plan.deadline <= now) starved.push_back(peer);
  }
  for (const PeerId& peer : starved) {
    const bool relayed = attempts_.at(peer).from_relay_port;
    fail_now(now, peer,
             relayed ? "deadline: the relay allocation did not complete"
                     : "deadline: the sockets never came");
  }
  for (const PeerId& peer : due) {
    auto it = attempts_.find(peer);
    if (it == attempts_.end()) continue;
    it->second.punch->handle_timeout(now);
    pump_attempt(now, peer);
  }
  due.clear();
  for (const auto& [peer, t] : tunnels_)
    if (t.tunnel->poll_timeout() <= now) due.push_back(peer);
  for (const PeerId& peer : due) {
    auto it = tunnels_.find(peer);
    if (it == tunnels_.end()) continue;
    it->second.tunnel->handle_timeout(now);
    pump_tunnel(now, peer);
  }
}

Instant TunnelManager::poll_timeout() const {
  Instant t = relay_.poll_timeout();
  for (const auto& [peer, a] : attempts_)
    t = std::min(t, a.punch ? a.punch->poll_timeout() : a.start + a.plan.deadline);
  for (const auto& [peer, lt] : tunnels_) t = std::min(t, lt.tunnel->poll_timeout());
  for (const auto& [id, r] : retired_) t = std::min(t, r.until);
  return t;
}

std::optional<Datagram> TunnelManager::poll_transmit() {
  if (transmits_.empty()) return relay_.poll_transmit();
  Datagram d = std::move(transmits_.front());
  transmits_.pop_front();
  return d;
}

std::optional<TunnelManagerEvent> TunnelManager::poll_event() {
  if (events_.empty()) return std::nullopt;
  TunnelManagerEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

// Drains one attempt; on its outcome, the tunnel replaces any older one for the peer.
void TunnelManager::pump_attempt(Instant now, const PeerId& peer) {
  auto it = attempts_.find(peer);
  if (it == attempts_.end() || !it->second.punch) return;
  HolePunch& punch = *it->second.punch;
  while (auto d = punch.poll_transmit()) emit(now, std::move(*d));
  while (auto e = punch.poll_event()) {
    if (const auto* failed = std::get_if<hole_punch_event::Failed>(&*e)) {
      ++counters_.attempts_failed;
      SPDLOG_DEBUG("tunnels: attempt to {} failed: {}", peer.to_string(), failed->reason);
      const std::string reason = failed->reason;
      finish_attempt(now, peer, reason, std::nullopt);
      return;
    }
    auto params = punch.take_tunnel_params();
    if (!params) continue;
    const bool replacing = tunnels_.count(peer) != 0;
    if (!replacing && tunnels_.size() >= config_.max_tunnels) {
      ++counters_.attempts_failed;
      finish_attempt(now, peer, std::string("too many tunnels"), std::nullopt);
      return;
    }
    if (replacing) {
      ++counters_.tunnels_replaced;
      retire_tunnel(now, peer);
    }
    const Endpoint local = params->local, remote = params->remote;
    const Duration rtt = params->rtt;
    const std::uint64_t id = params->side.tunnel_id;
    const Duration setup = now - it->second.requested_at;
    // Relayed when we run from our relayed address or check towards the peer's.
    const Path path =
        it->second.from_relay_port || std::any_of(it->second.plan.remote_candidates.begin(),
                                                  it->second.plan.remote_candidates.end(),
                                                  [&](const Candidate& c) {
                                                    return c.kind == CandidateKind::kRelayed &&
                                                           c.endpoint == remote;
                                                  })
            ? Path::kRelay
            : Path::kDirect;
    LiveTunnel lt{std::make_unique<Tunnel>(std::move(*params), tunnel_config_, now), id,
                  it->second.from_relay_port};
    tunnels_[peer] = std::move(lt);
    by_tunnel_id_[id] = peer;
    ++counters_.tunnels_established;
    // A channel costs 4 bytes a packet instead of a Send indication's 36 (RFC 8656 section 12).
    if (it->second.from_relay_port) relay_.bind_channel(now, remote);
    events_.push_back(manager_event::Established{peer, local, remote, path, rtt, setup});
    finish_attempt(now, peer, std::nullopt, local);
    pump_tunnel(now, peer);
    return;
  }
}

void TunnelManager::pump_tunnel(Instant now, const PeerId& peer) {
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return;
  Tunnel& t = *it->second.tunnel;
  while (auto d = t.poll_transmit()) emit(now, std::move(*d));
  bool closed = false;
  while (auto e = t.poll_event()) {
    if (auto* data = std::get_if<tunnel_event::Data>(&*e)) {
      events_.push_back(manager_event::Data{peer, std::move(data->bytes)});
    } else if (auto* c = std::get_if<tunnel_event::Closed>(&*e)) {
      events_.push_back(manager_event::Closed{peer, c->reason});
      closed = true;
    } else if (auto* p = std::get_if<tunnel_event::PathChanged>(&*e)) {
      SPDLOG_DEBUG("tunnels: {} moved to {}", peer.to_string(), p->remote.to_string());
    }
  }
  if (closed) remove_tunnel(now, peer);
}

// Relayed transmits (from our relayed address) leave through the TURN server.
void TunnelManager::emit(Instant now, Datagram d) {
  if (d.local != main_local_ && relay_.is_relayed(d.local)) {
    relay_.send(now, d.remote, d.payload.data(), d.payload.size());
    return;
  }
  transmits_.push_back(std::move(d));
}

void TunnelManager::pump_relay(Instant now) {
  while (auto event = relay_.poll_event()) {
    if (auto* ready = std::get_if<relay_event::Ready>(&*event)) {
      auto it = attempts_.find(ready->peer);
      if (it == attempts_.end() || !it->second.from_relay_port || it->second.punch) continue;
      events_.push_back(manager_event::RelayReady{ready->peer, ready->relayed});
      launch(now, ready->peer, it->second);
    } else if (auto* failed = std::get_if<relay_event::Failed>(&*event)) {
      auto it = attempts_.find(failed->peer);
      if (it != attempts_.end() && it->second.from_relay_port)
        fail_now(now, failed->peer, failed->reason);
    } else if (auto* data = std::get_if<relay_event::Data>(&*event)) {
      handle_datagram(now, data->relayed, data->remote, data->bytes.data(), data->bytes.size());
    } else if (auto* lost = std::get_if<relay_event::Lost>(&*event)) {
      auto a = attempts_.find(lost->peer);
      if (a != attempts_.end() && a->second.from_relay_port) fail_now(now, lost->peer, lost->reason);
      auto t = tunnels_.find(lost->peer);
      if (t != tunnels_.end() && t->second.on_relay_port) {
        // Nothing can reach the peer any more: no close packet, just the event.
        events_.push_back(manager_event::Closed{lost->peer, lost->reason});
        remove_tunnel(now, lost->peer);
      }
    }
  }
}

void TunnelManager::remove_tunnel(Instant now, const PeerId& peer) {
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return;
  const Endpoint local = it->second.tunnel->local();
  const bool on_relay_port = it->second.on_relay_port;
  auto owner = by_tunnel_id_.find(it->second.id);
  if (owner != by_tunnel_id_.end() && owner->second == peer) by_tunnel_id_.erase(owner);
  tunnels_.erase(it);
  if (on_relay_port) return release_relay_if_unused(now, peer);
  if (local != main_local_) release(peer, {local});
}

// Ends the peer's attempt: gives back its extra sockets except `keep` (the tunnel's), and
// reports a failure.
void TunnelManager::finish_attempt(Instant now, const PeerId& peer,
                                   std::optional<std::string> failure,
                                   const std::optional<Endpoint>& keep, bool superseded) {
  auto it = attempts_.find(peer);
  if (it == attempts_.end()) return;
  const bool from_relay_port = it->second.from_relay_port;
  std::vector<Endpoint> extra = std::move(it->second.extra);
  if (it->second.punch) {
    const std::uint64_t id = it->second.punch->tunnel_id();
    // The id lives on in the tunnel when the attempt established.
    auto owner = by_tunnel_id_.find(id);
    auto t = tunnels_.find(peer);
    const bool in_tunnel = t != tunnels_.end() && t->second.id == id;
    if (owner != by_tunnel_id_.end() && !in_tunnel) by_tunnel_id_.erase(owner);
  }
  attempts_.erase(it);
  if (keep) extra.erase(std::remove(extra.begin(), extra.end(), *keep), extra.end());
  if (failure)
    events_.push_back(manager_event::AttemptFailed{peer, std::move(*failure), superseded});
  release(peer, std::move(extra));
  if (from_relay_port) release_relay_if_unused(now, peer);
}

void TunnelManager::fail_now(Instant now, const PeerId& peer, std::string reason,
                             bool superseded) {
  ++counters_.attempts_failed;
  finish_attempt(now, peer, std::move(reason), std::nullopt, superseded);
}

// The peer's share of the relayed address ends when neither its attempt nor its tunnel runs
// on it.
void TunnelManager::release_relay_if_unused(Instant now, const PeerId& peer) {
  auto a = attempts_.find(peer);
  if (a != attempts_.end() && a->second.from_relay_port) return;
  auto t = tunnels_.find(peer);
  if (t != tunnels_.end() && t->second.on_relay_port) return;
  for (const auto& [id, r] : retired_)
    if (r.peer == peer && r.on_relay_port) return;
  relay_.release(now, peer);
}

// The peer's tunnel makes way for a newer one; it keeps its id for kReplacedTunnelGrace.
void TunnelManager::retire_tunnel(Instant now, const PeerId& peer) {
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return;
  RetiredTunnel r{peer, std::move(it->second.tunnel), it->second.on_relay_port,
                  now + kReplacedTunnelGrace};
  retired_[it->second.id] = std::move(r);
  tunnels_.erase(it);
}

bool TunnelManager::deliver_to_retired(Instant now, const Endpoint& local, const Endpoint& remote,
                                       const std::uint8_t* data, std::size_t size,
                                       std::uint64_t id) {
  auto it = retired_.find(id);
  if (it == retired_.end()) return false;
  Tunnel& t = *it->second.tunnel;
  t.handle_datagram(now, local, remote, data, size);
  while (t.poll_transmit()) {
  }  // it answers nothing any more: the new tunnel speaks for the peer
  while (auto e = t.poll_event()) {
    if (auto* d = std::get_if<tunnel_event::Data>(&*e)) {
      ++counters_.retired_deliveries;
      events_.push_back(manager_event::Data{it->second.peer, std::move(d->bytes)});
    }
  }
  return true;
}

void TunnelManager::expire_retired(Instant now) {
  for (auto it = retired_.begin(); it != retired_.end();) {
    if (it->second.until > now) {
      ++it;
      continue;
    }
    const PeerId peer = it->second.peer;
    const Endpoint local = it->second.tunnel->local();
    const bool on_relay_port = it->second.on_relay_port;
    auto owner = by_tunnel_id_.find(it->first);
    if (owner != by_tunnel_id_.end() && owner->second == peer) by_tunnel_id_.erase(owner);
    it = retired_.erase(it);
    auto live = tunnels_.find(peer);
    const bool in_use = live != tunnels_.end() && live->second.tunnel->local() == local;
    if (on_relay_port) release_relay_if_unused(now, peer);
    else if (local != main_local_ && !in_use) release(peer, {local});
  }
}

void TunnelManager::release(const PeerId& peer, std::vector<Endpoint> locals) {
  if (locals.empty()) return;
  events_.push_back(manager_event::SocketsReleased{peer, std::move(locals)});
}

std::vector<PeerId> TunnelManager::peers() const {
  std::set<PeerId> all;
  for (const auto& [peer, attempt] : attempts_) all.insert(peer);
  for (const auto& [peer, live] : tunnels_) all.insert(peer);
  return {all.begin(), all.end()};
}

}  // namespace qp2p::tunnel
