// The handshake service: tunnel negotiation between two peers and the synchronised start of their
// hole punching (handshake_service.h; docs/protocol.md section 8.5). A callee on another
// supernode of the federation is reached through handshake_routing.cc (section 14.6).
#include <spdlog/spdlog.h>

#include "stack/discovery/nat_profile.h"
#include "stack/relay/turn_credentials.h"
#include "stack/supernode/supernode_core.h"
#include "stack/tunnel/punch_planner.h"
#include "stack/wire/punch_plan_fields.h"

namespace qp2p {

namespace {

std::string short_id(const PeerId& id) { return id.to_string().substr(0, 8); }

// How long the relay credentials in a punch-start stay good. An allocation cannot outlive the
// credentials that made it (RFC 8656 section 5: its username is fixed), so this bounds a relayed
// tunnel's life on one allocation; an hour, as the TURN REST API draft suggests for a session.
constexpr std::int64_t kRelayCredentialsTtlSeconds = 3600;

}  // namespace

std::optional<NatProfile> SupernodeCore::nat_profile_of(const PeerId& id) const {
  const wire::SignedRecord* record = index_.get(id);
  if (!record && directory_) {  // a peer at another supernode: its replicated metadata
    const federation::DirectoryEntry* e = directory_->replica().find(id);
    record = e ? e->visible_metadata() : nullptr;
  }
  if (!record) return std::nullopt;
  return NatProfile::from_meta(record->entries);
}

PeerSessionState* SupernodeCore::handshake_route(const PeerId& peer) { return find_session(peer); }

void SupernodeCore::push_handshake(Instant now, const PeerId& to, wire::Body body) {
  PeerSessionState* target = handshake_route(to);
  if (!target) return;  // gone meanwhile: nothing to tell
  push(now, *target, std::move(body), PendingPush{PendingPush::Kind::kTunnel, to, {}, 0, {}});
}

void SupernodeCore::release_negotiation_slot(const PeerId& peer) {
  auto n = negotiations_per_peer_.find(peer);
  if (n != negotiations_per_peer_.end() && --n->second == 0) negotiations_per_peer_.erase(n);
}

void SupernodeCore::forget_negotiation(std::map<std::uint64_t, Negotiation>::iterator it) {
  release_negotiation_slot(it->second.caller);
  release_negotiation_slot(it->second.callee);
  // Whatever it still sends the callee's supernode (the offer) is moot now.
  if (it->second.callee_home != PeerId{}) route_outbox_.cancel(it->first);
  negotiation_of_.erase({it->second.caller, it->second.callee});
  negotiations_.erase(it);
}

tunnel::PunchPeer SupernodeCore::punch_peer(const PeerId& id, std::vector<Endpoint> host,
                                            const Endpoint& reflexive, Duration rtt) const {
  tunnel::PunchPeer p;
  p.id = id;
  p.profile = nat_profile_of(id);
  p.host = std::move(host);
  p.reflexive = reflexive;
  p.rtt = rtt;
  return p;
}

wire::RelayCredentials SupernodeCore::relay_credentials_for(Instant now, const PeerId& who) {
  wire::RelayCredentials c;
  if (!turn_.enabled()) return c;
  turn::TurnCredentials t =
      turn::make_turn_credentials(turn_.config().secret, who.to_string(), turn_.unix_seconds(now),
                                  kRelayCredentialsTtlSeconds);
  c.username = std::move(t.username);
  c.password = std::move(t.password);
  return c;
}

void SupernodeCore::on_tunnel_connect(Instant now, PeerSessionState& peer,
                                      std::uint64_t transaction, const wire::TunnelConnect& m) {
  if (m.to == peer.id) {
    ++handshake_counters_.connects_to_self;
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kBadRequest, "a tunnel to yourself"});
  }
  const Duration rtt = std::chrono::milliseconds(m.rtt_ms);
  if (auto seen = connect_transactions_.find({peer.id, transaction});
      seen != connect_transactions_.end() && !negotiations_.count(seen->second))
    return reply(peer, transaction, wire::TunnelConnectAccepted{seen->second});
  // A retransmitted connect (its answer was lost), or a new one while the first is pending:
  // the same negotiation, with the newest candidates.
  if (auto known = negotiation_of_.find({peer.id, m.to}); known != negotiation_of_.end()) {
    Negotiation& n = negotiations_.at(known->second);
    n.caller_host = m.host;
    n.caller_rtt = rtt;
    return reply(peer, transaction, wire::TunnelConnectAccepted{n.attempt});
  }
  // Not here: with federation, the member supernode the directory places it at.
  const bool here = handshake_route(m.to) != nullptr;
  const std::optional<PeerId> home = here ? std::nullopt : routed_home(m.to);
  if (!here && !home) {
    if (hold_request(now, peer, transaction, m)) return;
    ++handshake_counters_.connects_unknown_peer;
    return reply(peer, transaction, unknown_or_offline(m.to));
  }
  auto count = [&](const PeerId& p) {
    auto it = negotiations_per_peer_.find(p);
    return it == negotiations_per_peer_.end() ? std::size_t{0} : it->second;
  };
  if (count(peer.id) >= kMaxNegotiationsPerPeer || count(m.to) >= kMaxNegotiationsPerPeer) {
    ++handshake_counters_.connects_over_limit;
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kTooManyRequests,
                             "too many tunnel negotiations pending for you or the peer"});
  }
  if (negotiations_.size() >= kMaxNegotiations) {
    ++handshake_counters_.connects_over_limit;
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kServerFull, "too many tunnel negotiations"});
  }
  std::uint64_t attempt;
  do attempt = random_.next_u64();
  while (attempt == 0 || negotiations_.count(attempt) || answered_.count(attempt) ||
         routed_in_.count(attempt));
  Negotiation n;
  n.attempt = attempt;
  n.caller = peer.id;
  n.callee = m.to;
  n.caller_host = m.host;
  n.caller_rtt = rtt;
  n.expires = now + kNegotiationTimeout;
  n.nat_pair = HandshakeStats::pair_of(nat_profile_of(peer.id), nat_profile_of(m.to));
  n.callee_home = home.value_or(PeerId{});
  handshake_stats_.offered(n.nat_pair);
  negotiations_.emplace(attempt, std::move(n));
  negotiation_of_[{peer.id, m.to}] = attempt;
  ++negotiations_per_peer_[peer.id];
  ++negotiations_per_peer_[m.to];
  ++handshake_counters_.connects;
  if (connect_order_.size() >= kMaxNegotiations) {  // bounded; the oldest go first
    connect_transactions_.erase(connect_order_.front().second);
    connect_order_.pop_front();
  }
  connect_transactions_[{peer.id, transaction}] = attempt;
  connect_order_.emplace_back(now, std::make_pair(peer.id, transaction));
  SPDLOG_DEBUG("handshake {:016x}: {} asks for a tunnel to {}", attempt, short_id(peer.id),
               short_id(m.to));
  const PeerId caller = peer.id;  // `peer` may not outlive a push (sessions are a hash map)
  const Endpoint caller_mapped = peer.remote;
  reply(peer, transaction, wire::TunnelConnectAccepted{attempt});
  if (home) return offer_routed(now, negotiations_.at(attempt), caller_mapped);
  push_handshake(now, m.to, wire::TunnelOffer{peer_info(caller), attempt});
}

void SupernodeCore::on_tunnel_answer(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                                     const wire::TunnelAnswer& m) {
  auto it = negotiations_.find(m.attempt);
  if (it == negotiations_.end() || it->second.callee != peer.id || it->second.caller != m.to) {
    // The same answer again (our ack was lost): acknowledge it again.
    if (auto a = answered_.find(m.attempt); a != answered_.end() && a->second.callee == peer.id)
      return reply(peer, transaction, wire::TunnelAnswerAck{m.attempt});
    if (answer_routed(now, peer, transaction, m)) return;  // a caller on another supernode
    ++handshake_counters_.answers_unexpected;
    SPDLOG_DEBUG("handshake: drop answer from {} to attempt {:016x}: no such offer to it",
                 short_id(peer.id), m.attempt);
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kNotFound,
                             "no tunnel offer from " + m.to.to_string() + " to you"});
  }
  const Negotiation n = it->second;
  forget_negotiation(it);
  reply(peer, transaction, wire::TunnelAnswerAck{n.attempt});
  settle_negotiation(
      now, n, m.accept ? federation::AnswerVerdict::kAccepted : federation::AnswerVerdict::kRefused,
      m.reason, punch_peer(peer.id, m.host, peer.remote, std::chrono::milliseconds(m.rtt_ms)));
}

void SupernodeCore::settle_negotiation(Instant now, const Negotiation& n,
                                       federation::AnswerVerdict verdict,
                                       const std::string& reason, const tunnel::PunchPeer& callee) {
  const bool accepted = verdict == federation::AnswerVerdict::kAccepted;
  answered_.emplace(n.attempt, AnsweredAttempt{n.caller, n.callee, accepted, {}, {}, n.nat_pair,
                                               {}, n.callee_home});
  answered_order_.emplace_back(now, n.attempt);
  if (verdict == federation::AnswerVerdict::kOffline) {
    ++handshake_counters_.callee_offline;
    handshake_stats_.went_offline(n.nat_pair);
    return push_handshake(now, n.caller, wire::TunnelRefused{n.callee, n.attempt, "offline"});
  }
  if (!accepted) {
    ++handshake_counters_.refused;
    handshake_stats_.refused(n.nat_pair);
    SPDLOG_DEBUG("handshake {:016x}: {} refused: {}", n.attempt, short_id(n.callee), reason);
    return push_handshake(
        now, n.caller,
        wire::TunnelRefused{n.callee, n.attempt, reason.empty() ? "refused" : reason});
  }
  PeerSessionState* caller = handshake_route(n.caller);
  if (!caller) return;  // cannot happen: a leaving caller ends its negotiations

  const tunnel::PairPlan plan = tunnel::plan_punch(
      punch_peer(caller->id, n.caller_host, caller->remote, n.caller_rtt), callee);
  wire::Nonce nonce{};
  random_.fill(nonce.data(), nonce.size());
  ++handshake_counters_.accepted;
  if (!plan.direct_feasible) ++handshake_counters_.relay_plans;
  handshake_stats_.accepted(n.nat_pair, plan);
  SPDLOG_INFO("handshake {:016x}: {} -> {}: {}", n.attempt, short_id(n.caller), short_id(n.callee),
              plan.rationale);
  // Both leave now, together: the plans' start_after values absorb the difference in the two
  // one-way delays (for a callee on another supernode, its rtt includes the hop there). Each
  // side gets its own relay credentials (user = its peer id) with its punch-start, on the
  // supernode it is logged into.
  push_handshake(now, n.caller,
                 wire::PunchStart{n.callee, n.attempt, nonce, plan.direct_feasible,
                                  wire::to_fields(plan.a), relay_credentials_for(now, n.caller)});
  if (n.callee_home == PeerId{})
    return push_handshake(now, n.callee,
                          wire::PunchStart{n.caller, n.attempt, nonce, plan.direct_feasible,
                                           wire::to_fields(plan.b),
                                           relay_credentials_for(now, n.callee)});
  federation::RouteHandshake punch = federation::route_handshake(
      federation::HandshakeRouteType::kPunch, n.attempt, n.caller, n.callee);
  punch.nonce = nonce;
  punch.direct_feasible = plan.direct_feasible;
  punch.plan = wire::to_fields(plan.b);
  send_reliably(now, n.callee_home, punch);
}

bool SupernodeCore::relay_allocated(PeerSessionState& peer, std::uint64_t transaction,
                                    const wire::TunnelRelay& m) {
  // Only an address this supernode's relay service allocated for this very peer (its
  // credentials carry its id) is passed on: otherwise a peer could aim the other side's
  // connectivity checks at any third party. A peer allocates on the supernode it is logged into
  // (section 8.6), which is this one.
  if (turn_.relays_for(m.relayed, peer.id.to_string())) return true;
  ++handshake_counters_.relays_not_allocated;
  SPDLOG_INFO("handshake {:016x}: refuse relay {} from {}: not its allocation here", m.attempt,
              m.relayed.to_string(), short_id(peer.id));
  reply(peer, transaction,
        wire::Error{wire::ErrorCode::kBadRequest,
                    "relayed: " + m.relayed.to_string() +
                        " is not a relay address this supernode allocated for you"});
  return false;
}

void SupernodeCore::on_tunnel_relay(Instant now, PeerSessionState& peer,
                                    std::uint64_t transaction, const wire::TunnelRelay& m) {
  auto it = answered_.find(m.attempt);
  const bool known = it != answered_.end() && it->second.accepted &&
                     ((it->second.caller == peer.id && it->second.callee == m.to) ||
                      (it->second.callee == peer.id && it->second.caller == m.to));
  if (!known) {
    if (relay_routed(now, peer, transaction, m)) return;  // a caller on another supernode
    ++handshake_counters_.relays_unexpected;
    SPDLOG_DEBUG("handshake: drop relay from {} for attempt {:016x}: no accepted negotiation",
                 short_id(peer.id), m.attempt);
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kNotFound,
                             "no accepted tunnel negotiation with " + m.to.to_string()});
  }
  if (!relay_allocated(peer, transaction, m)) return;
  AnsweredAttempt& a = it->second;
  std::optional<Endpoint>& announced = a.caller == peer.id ? a.caller_relayed : a.callee_relayed;
  reply(peer, transaction, wire::TunnelRelayAck{m.attempt});
  // A retransmitted TunnelRelay (its ack was lost) is not passed on twice: the other side
  // would restart its relayed attempt.
  if (announced == m.relayed) return;
  announced = m.relayed;
  SPDLOG_INFO("handshake {:016x}: {} relays via {}", m.attempt, short_id(peer.id),
              m.relayed.to_string());
  const PeerId from = peer.id;
  if (a.callee_home == PeerId{}) {
    ++handshake_counters_.relays;
    return push_handshake(now, m.to, wire::TunnelRelayed{from, m.attempt, m.relayed});
  }
  // The caller's address, for a callee on another supernode (counted where it is pushed).
  federation::RouteHandshake relayed = federation::route_handshake(
      federation::HandshakeRouteType::kRelayed, m.attempt, a.caller, a.callee);
  relayed.relayed = m.relayed;
  send_reliably(now, a.callee_home, relayed);
}

void SupernodeCore::on_tunnel_outcome(PeerSessionState& peer, std::uint64_t transaction,
                                      const wire::TunnelOutcome& m) {
  auto it = answered_.find(m.attempt);
  auto refuse = [&](std::uint64_t& counter, wire::ErrorCode code, std::string reason) {
    ++counter;
    SPDLOG_DEBUG("handshake: drop outcome from {} for attempt {:016x}: {}", short_id(peer.id),
                 m.attempt, reason);
    reply(peer, transaction, wire::Error{code, std::move(reason)});
  };
  // Unknown, refused, forgotten (kAnsweredMemory) or not this peer's: all look alike to it.
  if (it == answered_.end() || !it->second.accepted ||
      (it->second.caller != peer.id && it->second.callee != peer.id))
    return refuse(handshake_counters_.outcomes_unknown, wire::ErrorCode::kNotFound,
                  "attempt: no accepted tunnel negotiation of yours");
  AnsweredAttempt& a = it->second;
  if (a.caller != peer.id)
    return refuse(handshake_counters_.outcomes_not_caller, wire::ErrorCode::kBadRequest,
                  "attempt: only the caller reports the outcome");
  // The same report again (our ack was lost) is acknowledged again and not counted twice.
  if (a.outcome_transaction == transaction)
    return reply(peer, transaction, wire::TunnelOutcomeAck{m.attempt});
  if (a.outcome_transaction)
    return refuse(handshake_counters_.outcomes_duplicate, wire::ErrorCode::kBadRequest,
                  "attempt: outcome already reported");
  a.outcome_transaction = transaction;
  ++handshake_counters_.outcomes;
  handshake_stats_.outcome(a.nat_pair, m.path, m.setup_ms, m.rtt_ms);
  SPDLOG_DEBUG("handshake {:016x}: outcome {} after {} ms", m.attempt,
               static_cast<int>(m.path), m.setup_ms);
  reply(peer, transaction, wire::TunnelOutcomeAck{m.attempt});
}

void SupernodeCore::expire_negotiations(Instant now) {
  for (auto it = negotiations_.begin(); it != negotiations_.end();) {
    auto next = std::next(it);
    if (it->second.expires <= now) {
      const Negotiation n = abandon_negotiation(now, it, federation::CancelReason::kTimeout);
      ++handshake_counters_.timeouts;
      handshake_stats_.timed_out(n.nat_pair);
      SPDLOG_DEBUG("handshake {:016x}: {} did not answer", n.attempt, short_id(n.callee));
      push_handshake(now, n.caller, wire::TunnelRefused{n.callee, n.attempt, "timeout"});
    }
    it = next;
  }
  while (!answered_order_.empty() && now - answered_order_.front().first >= kAnsweredMemory) {
    answered_.erase(answered_order_.front().second);
    answered_order_.pop_front();
  }
  while (!connect_order_.empty() && now - connect_order_.front().first >= kAnsweredMemory) {
    connect_transactions_.erase(connect_order_.front().second);
    connect_order_.pop_front();
  }
  expire_routed(now);
}

void SupernodeCore::end_negotiations_of(Instant now, const PeerId& peer) {
  for (auto it = negotiations_.begin(); it != negotiations_.end();) {
    auto next = std::next(it);
    const Negotiation n = it->second;
    if (n.caller == peer) {
      abandon_negotiation(now, it, federation::CancelReason::kCallerOffline);
      ++handshake_counters_.caller_offline;
      handshake_stats_.went_offline(n.nat_pair);
    } else if (n.callee == peer) {
      abandon_negotiation(now, it, federation::CancelReason::kCalleeOffline);
      ++handshake_counters_.callee_offline;
      handshake_stats_.went_offline(n.nat_pair);
      push_handshake(now, n.caller, wire::TunnelRefused{n.callee, n.attempt, "offline"});
    }
    it = next;
  }
  end_routed_of(now, peer);
}

const HandshakeCounters& Supernode::handshake_counters() const {
  return core_->handshake_counters_;
}

}  // namespace qp2p
