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
      config_(config) {}

const Tunnel* TunnelManager::tunnel(const PeerId& peer) const {
  auto it = tunnels_.find(peer);
  return it == tunnels_.end() ? nullptr : it->second.tunnel.get();
}

const HolePunch* TunnelManager::attempt(const PeerId& peer) const {
  auto it = attempts_.find(peer);
  return it == attempts_.end() ? nullptr : it->second.punch.get();
}

void TunnelManager::start_attempt(Instant now, const PunchPlan& plan, const AttemptNonce& nonce,
                                  Instant requested_at) {
  const PeerId& peer = plan.remote;
  if (attempts_.count(peer)) fail_now(peer, "superseded by a new attempt");
  if (attempts_.size() >= config_.max_attempts) {
    ++counters_.attempts_refused;
    ++counters_.attempts_failed;
    events_.push_back(manager_event::AttemptFailed{peer, "too many attempts running"});
    return;
  }
  if (!tunnels_.count(peer) && tunnels_.size() >= config_.max_tunnels) {
    ++counters_.attempts_refused;
    ++counters_.attempts_failed;
    events_.push_back(manager_event::AttemptFailed{peer, "too many tunnels"});
    return;
  }
  if (plan.local_sockets == 0 || plan.local_sockets > kMaxLocalEndpoints) {
    ++counters_.attempts_failed;
    events_.push_back(manager_event::AttemptFailed{peer, "plan asks for an invalid socket count"});
    return;
  }
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
  locals.insert(locals.end(), a.extra.begin(), a.extra.end());
  a.punch = std::make_unique<HolePunch>(
      make_punch_config(a.plan, identity_, a.nonce, std::move(locals), std::max(a.start, now)),
      Random::from_u64(random_.next_u64()));
  by_tunnel_id_[a.punch->tunnel_id()] = peer;
  pump_attempt(now, peer);
}

bool TunnelManager::send(Instant now, const PeerId& peer, const std::uint8_t* data,
                         std::size_t size) {
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return false;
  const bool ok = it->second.tunnel->send(now, data, size);
  pump_tunnel(peer);
  return ok;
}

void TunnelManager::close(Instant now, const PeerId& peer) {
  if (attempts_.count(peer)) fail_now(peer, "cancelled locally");
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return;
  it->second.tunnel->close(now);
  pump_tunnel(peer);
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
    pump_tunnel(*peer);
  }
}

void TunnelManager::handle_timeout(Instant now) {
  std::vector<PeerId> due, starved;
  for (const auto& [peer, a] : attempts_) {
    if (a.punch && a.punch->poll_timeout() <= now) due.push_back(peer);
    if (!a.punch && a.start + a.plan.deadline <= now) starved.push_back(peer);
  }
  for (const PeerId& peer : starved) fail_now(peer, "deadline: the sockets never came");
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
    pump_tunnel(peer);
  }
}

Instant TunnelManager::poll_timeout() const {
  Instant t = kNever;
  for (const auto& [peer, a] : attempts_)
    t = std::min(t, a.punch ? a.punch->poll_timeout() : a.start + a.plan.deadline);
  for (const auto& [peer, lt] : tunnels_) t = std::min(t, lt.tunnel->poll_timeout());
  return t;
}

std::optional<Datagram> TunnelManager::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
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
  while (auto d = punch.poll_transmit()) transmits_.push_back(std::move(*d));
  while (auto e = punch.poll_event()) {
    if (const auto* failed = std::get_if<hole_punch_event::Failed>(&*e)) {
      ++counters_.attempts_failed;
      SPDLOG_DEBUG("tunnels: attempt to {} failed: {}", peer.to_string(), failed->reason);
      const std::string reason = failed->reason;
      finish_attempt(peer, reason, std::nullopt);
      return;
    }
    auto params = punch.take_tunnel_params();
    if (!params) continue;
    const bool replacing = tunnels_.count(peer) != 0;
    if (!replacing && tunnels_.size() >= config_.max_tunnels) {
      ++counters_.attempts_failed;
      finish_attempt(peer, std::string("too many tunnels"), std::nullopt);
      return;
    }
    if (replacing) {
      ++counters_.tunnels_replaced;
      remove_tunnel(peer);
    }
    const Endpoint local = params->local, remote = params->remote;
    const Duration rtt = params->rtt;
    const std::uint64_t id = params->side.tunnel_id;
    const Duration setup = now - it->second.requested_at;
    LiveTunnel lt{std::make_unique<Tunnel>(std::move(*params), tunnel_config_, now), id};
    tunnels_[peer] = std::move(lt);
    by_tunnel_id_[id] = peer;
    ++counters_.tunnels_established;
    events_.push_back(manager_event::Established{peer, local, remote, Path::kDirect, rtt, setup});
    finish_attempt(peer, std::nullopt, local);
    pump_tunnel(peer);
    return;
  }
}

void TunnelManager::pump_tunnel(const PeerId& peer) {
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return;
  Tunnel& t = *it->second.tunnel;
  while (auto d = t.poll_transmit()) transmits_.push_back(std::move(*d));
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
  if (closed) remove_tunnel(peer);
}

void TunnelManager::remove_tunnel(const PeerId& peer) {
  auto it = tunnels_.find(peer);
  if (it == tunnels_.end()) return;
  const Endpoint local = it->second.tunnel->local();
  auto owner = by_tunnel_id_.find(it->second.id);
  if (owner != by_tunnel_id_.end() && owner->second == peer) by_tunnel_id_.erase(owner);
  tunnels_.erase(it);
  if (local != main_local_) release(peer, {local});
}

// Ends the peer's attempt: gives back its extra sockets except `keep` (the tunnel's), and
// reports a failure.
void TunnelManager::finish_attempt(const PeerId& peer, std::optional<std::string> failure,
                                   const std::optional<Endpoint>& keep) {
  auto it = attempts_.find(peer);
  if (it == attempts_.end()) return;
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
  if (failure) events_.push_back(manager_event::AttemptFailed{peer, std::move(*failure)});
  release(peer, std::move(extra));
}

void TunnelManager::fail_now(const PeerId& peer, std::string reason) {
  ++counters_.attempts_failed;
  finish_attempt(peer, std::move(reason), std::nullopt);
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
