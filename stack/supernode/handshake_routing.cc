// Tunnel negotiation between peers on different supernodes of a federation (docs/protocol.md
// section 14.6; payloads in stack/federation/route_handshake.h). The caller's supernode (A)
// runs the negotiation exactly as for two local peers (handshake_service.cc: its timeout,
// limits, plan and outcome statistics); the callee's supernode (B), which the replicated
// directory names, is its hands at the callee:
//
//   A: offer {caller's mapped address}      -> B pushes tunnel-offer to the callee
//   B: answer {verdict, hosts, rtt, the callee's reflexive address at B}  <- tunnel-answer
//   A plans with plan_punch, pushes the caller's punch-start, and
//   A: punch {nonce, plan for the callee}   -> B adds the callee's relay credentials for its
//                                              own TURN service and pushes the punch-start
//   relay fallback: a tunnel-relay is checked against the TURN allocations of the sender's own
//   supernode and its address passed to the other one (relayed), which pushes tunnel-relayed.
//   A ends the negotiation before the answer (timeout, caller gone, offer given up):
//   A: cancel {reason}                      -> B forgets the attempt (a later answer is 404, as
//                                              on one supernode); a callee that had accepted
//                                              gets tunnel-refused instead of a punch-start
//
// The callee's one-way delay from A includes the hop A -> B, so A plans with the callee's rtt
// plus the membership's smoothed rtt to B (Membership::rtt_to). Every payload but the ack is
// retransmitted until acked (route_outbox_); receivers acknowledge each copy and act on the
// first. A payload that does not decode, names no attempt known here, or comes from a
// supernode that is not the attempt's, is dropped and counted.
#include <spdlog/spdlog.h>

#include "stack/supernode/supernode_core.h"

namespace qp2p {

namespace {

using federation::AnswerVerdict;
using federation::HandshakeRouteType;
using federation::RouteHandshake;
using federation::route_handshake;

std::string short_id(const PeerId& id) { return id.to_string().substr(0, 8); }

}  // namespace

std::optional<PeerId> SupernodeCore::routed_home(const PeerId& peer) const {
  if (!federation_ || !online_elsewhere(peer)) return std::nullopt;
  const std::optional<PeerId> home = home_supernode_of(peer);
  const federation::Member* member = home ? federation_->table().find(*home) : nullptr;
  if (!member || !member->up()) return std::nullopt;
  return home;
}

void SupernodeCore::send_federation_payload(Instant now, const PeerId& to, Bytes payload) {
  if (!federation_ || !federation_->send_payload(now, to, std::move(payload)))
    ++counters_.federation_payloads_unsent;
}

void SupernodeCore::send_reliably(Instant now, const PeerId& to, const RouteHandshake& m) {
  auto first = route_outbox_.start(now, to, m);
  if (!first) {
    ++counters_.federation_payloads_unsent;
    SPDLOG_WARN("handshake {:016x}: {} payloads in flight to other supernodes; one not sent",
                m.attempt, route_outbox_.size());
    return;
  }
  send_federation_payload(now, to, std::move(*first));
}

void SupernodeCore::offer_routed(Instant now, const Negotiation& n, const Endpoint& caller_mapped) {
  ++handshake_counters_.routed_offers;
  SPDLOG_DEBUG("handshake {:016x}: {} is at supernode {}: offer sent there", n.attempt,
               short_id(n.callee), short_id(n.callee_home));
  RouteHandshake offer = route_handshake(HandshakeRouteType::kOffer, n.attempt, n.caller, n.callee);
  offer.caller_mapped = caller_mapped;
  send_reliably(now, n.callee_home, offer);
}

void SupernodeCore::retry_handshake_routes(Instant now) {
  std::vector<federation::RouteOutbox::Copy> copies;
  const auto expired = route_outbox_.handle_timeout(now, copies);
  for (auto& c : copies) send_federation_payload(now, c.to, std::move(c.payload));
  for (const auto& e : expired) {
    ++handshake_counters_.route_gave_up;
    SPDLOG_INFO("handshake {:016x}: supernode {} never acknowledged payload 0x{:02x}",
                e.message.attempt, short_id(e.to), static_cast<int>(e.message.type));
    if (e.message.type != HandshakeRouteType::kOffer) continue;
    // The callee's supernode does not answer: to the caller the callee is offline. That
    // supernode may still have the offer (only its acks were lost): it is told, as after any
    // end of a negotiation before its answer.
    auto it = negotiations_.find(e.message.attempt);
    if (it == negotiations_.end()) continue;
    const Negotiation n = abandon_negotiation(now, it, federation::CancelReason::kGaveUp);
    ++handshake_counters_.callee_offline;
    handshake_stats_.went_offline(n.nat_pair);
    push_handshake(now, n.caller, wire::TunnelRefused{n.callee, n.attempt, "offline"});
  }
}

void SupernodeCore::on_handshake_route_payload(Instant now, const PeerId& from,
                                               const Bytes& payload) {
  federation::HandshakeRouteError error = federation::HandshakeRouteError::kNone;
  auto m = federation::decode_handshake_route(payload, &error);
  if (!m) {
    ++counters_.dropped_federation_payload;
    SPDLOG_DEBUG("federation: drop handshake payload from {}: {}", short_id(from),
                 federation::to_string(error));
    return;
  }
  switch (m->type) {
    case HandshakeRouteType::kOffer:
      return on_routed_offer(now, from, *m);
    case HandshakeRouteType::kAnswer:
      return on_routed_answer(now, from, *m);
    case HandshakeRouteType::kPunch:
      return on_routed_punch(now, from, *m);
    case HandshakeRouteType::kRelayed:
      return on_routed_relayed(now, from, *m);
    case HandshakeRouteType::kCancel:
      return on_routed_cancel(now, from, *m);
    case HandshakeRouteType::kAck:
      if (!route_outbox_.acknowledged(from, *m)) ++handshake_counters_.route_acks_unmatched;
      return;
  }
}

// --- At the callee's supernode (B) ---

void SupernodeCore::on_routed_offer(Instant now, const PeerId& from, const RouteHandshake& m) {
  auto ack = [&] { send_federation_payload(now, from, federation::encode(ack_of(m))); };
  if (auto it = routed_in_.find(m.attempt); it != routed_in_.end()) {
    const RoutedAttempt& r = it->second;
    if (r.origin != from || r.caller != m.caller || r.callee != m.callee) {
      ++handshake_counters_.route_wrong_supernode;
      SPDLOG_DEBUG("handshake {:016x}: drop offer from supernode {}: not its attempt", m.attempt,
                   short_id(from));
      return;
    }
    return ack();  // a copy (our ack was lost): acknowledged again, offered once
  }
  if (negotiations_.count(m.attempt) || answered_.count(m.attempt)) {
    ++handshake_counters_.route_wrong_supernode;  // one of ours: not that supernode's to name
    return;
  }
  auto answer = [&](AnswerVerdict verdict, std::string reason) {
    RouteHandshake a = route_handshake(HandshakeRouteType::kAnswer, m.attempt, m.caller, m.callee);
    a.verdict = verdict;
    a.reason = std::move(reason);
    send_reliably(now, from, a);
  };
  if (!find_session(m.callee)) return answer(AnswerVerdict::kOffline, "offline");
  const auto slots = negotiations_per_peer_.find(m.callee);
  if ((slots != negotiations_per_peer_.end() && slots->second >= kMaxNegotiationsPerPeer) ||
      routed_in_.size() >= kMaxNegotiations) {
    ++handshake_counters_.connects_over_limit;
    return answer(AnswerVerdict::kRefused,
                  "busy: too many tunnel negotiations pending for the peer");
  }
  RoutedAttempt routed;
  routed.origin = from;
  routed.caller = m.caller;
  routed.callee = m.callee;
  routed.forget_at = now + kNegotiationTimeout;
  routed_in_.emplace(m.attempt, std::move(routed));
  ++negotiations_per_peer_[m.callee];
  ++handshake_counters_.routed_in;
  if (next_expiry_check_ == kNever) next_expiry_check_ = now + std::chrono::seconds(1);
  ack();
  SPDLOG_DEBUG("handshake {:016x}: {} at supernode {} asks for a tunnel to {}", m.attempt,
               short_id(m.caller), short_id(from), short_id(m.callee));
  // The caller as the directory holds it (its signed record), at the address its supernode
  // sees now (the replica may not have caught up with it yet).
  wire::PeerInfo info = peer_info(m.caller);
  info.online = true;
  info.mapped = m.caller_mapped;
  info.supernode = from;
  push_handshake(now, m.callee, wire::TunnelOffer{std::move(info), m.attempt});
}

bool SupernodeCore::answer_routed(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                                  const wire::TunnelAnswer& m) {
  auto it = routed_in_.find(m.attempt);
  if (it == routed_in_.end() || it->second.callee != peer.id || it->second.caller != m.to)
    return false;
  RoutedAttempt& r = it->second;
  // Cancelled before the answer: no offer any more, 404 as on one supernode. (An answer given
  // before the cancel is acknowledged again below, as any repeated answer.)
  if (r.cancelled && !r.answered) return false;
  reply(peer, transaction, wire::TunnelAnswerAck{m.attempt});
  if (r.answered) return true;  // the same answer again (our ack was lost)
  r.answered = true;
  r.accepted = m.accept;
  r.forget_at = now + kAnsweredMemory;
  release_negotiation_slot(r.callee);
  RouteHandshake a = route_handshake(HandshakeRouteType::kAnswer, m.attempt, r.caller, r.callee);
  a.verdict = m.accept ? AnswerVerdict::kAccepted : AnswerVerdict::kRefused;
  a.reason = m.reason;
  a.host = m.host;
  a.rtt_ms = m.rtt_ms;
  a.reflexive = peer.remote;
  send_reliably(now, r.origin, a);
  return true;
}

void SupernodeCore::on_routed_punch(Instant now, const PeerId& from, const RouteHandshake& m) {
  auto it = routed_in_.find(m.attempt);
  if (it == routed_in_.end() || !it->second.accepted || it->second.cancelled) {
    ++handshake_counters_.route_unknown_attempt;
    SPDLOG_DEBUG("handshake {:016x}: drop punch from supernode {}: no accepted attempt here",
                 m.attempt, short_id(from));
    return;
  }
  RoutedAttempt& r = it->second;
  if (r.origin != from || r.caller != m.caller || r.callee != m.callee) {
    ++handshake_counters_.route_wrong_supernode;
    return;
  }
  send_federation_payload(now, from, federation::encode(ack_of(m)));
  if (r.punched) return;  // a copy
  r.punched = true;
  // The plan's start_after already counts the hop to here (and a late copy's lateness).
  push_handshake(now, r.callee,
                 wire::PunchStart{r.caller, m.attempt, m.nonce, m.direct_feasible, m.plan,
                                  relay_credentials_for(now, r.callee)});
}

bool SupernodeCore::relay_routed(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                                 const wire::TunnelRelay& m) {
  auto it = routed_in_.find(m.attempt);
  if (it == routed_in_.end() || !it->second.accepted || it->second.cancelled ||
      it->second.callee != peer.id || it->second.caller != m.to)
    return false;
  if (!relay_allocated(peer, transaction, m)) return true;
  RoutedAttempt& r = it->second;
  reply(peer, transaction, wire::TunnelRelayAck{m.attempt});
  if (r.callee_relayed == m.relayed) return true;  // a retransmitted TunnelRelay
  r.callee_relayed = m.relayed;  // counted in `relays` where it is pushed (A)
  SPDLOG_INFO("handshake {:016x}: {} relays via {} (caller at supernode {})", m.attempt,
              short_id(peer.id), m.relayed.to_string(), short_id(r.origin));
  RouteHandshake relayed = route_handshake(HandshakeRouteType::kRelayed, m.attempt, r.caller, r.callee);
  relayed.relayed = m.relayed;
  send_reliably(now, r.origin, relayed);
  return true;
}

void SupernodeCore::expire_routed(Instant now) {
  for (auto it = routed_in_.begin(); it != routed_in_.end();) {
    if (it->second.forget_at > now) {
      ++it;
      continue;
    }
    // Unanswered: the caller's supernode refused it "timeout" itself; a late answer is 404.
    // (A cancelled one gave its slot back when the cancel came.)
    if (!it->second.answered && !it->second.cancelled)
      release_negotiation_slot(it->second.callee);
    it = routed_in_.erase(it);
  }
}

void SupernodeCore::end_routed_of(Instant now, const PeerId& callee) {
  for (auto it = routed_in_.begin(); it != routed_in_.end();) {
    const RoutedAttempt r = it->second;
    if (r.callee != callee || r.answered || r.cancelled) {
      ++it;
      continue;
    }
    const std::uint64_t attempt = it->first;
    release_negotiation_slot(callee);
    it = routed_in_.erase(it);
    RouteHandshake a = route_handshake(HandshakeRouteType::kAnswer, attempt, r.caller, r.callee);
    a.verdict = AnswerVerdict::kOffline;
    a.reason = "offline";
    send_reliably(now, r.origin, a);
  }
}

void SupernodeCore::on_routed_cancel(Instant now, const PeerId& from, const RouteHandshake& m) {
  auto it = routed_in_.find(m.attempt);
  if (it == routed_in_.end()) {
    // Never offered here, or forgotten (expired): nothing to end. Acknowledged all the same, so
    // the caller's supernode stops sending it.
    ++handshake_counters_.route_unknown_attempt;
    SPDLOG_DEBUG("handshake {:016x}: cancel from supernode {} for no attempt here", m.attempt,
                 short_id(from));
    return send_federation_payload(now, from, federation::encode(ack_of(m)));
  }
  RoutedAttempt& r = it->second;
  if (r.origin != from || r.caller != m.caller || r.callee != m.callee) {
    ++handshake_counters_.route_wrong_supernode;
    SPDLOG_DEBUG("handshake {:016x}: drop cancel from supernode {}: not its attempt", m.attempt,
                 short_id(from));
    return;
  }
  send_federation_payload(now, from, federation::encode(ack_of(m)));
  // A copy (our ack was lost); or a punch-start is out already, and the tunnel is the peers'.
  if (r.cancelled || r.punched) return;
  r.cancelled = true;
  r.forget_at = std::max(r.forget_at, now + kCancelledMemory);
  ++handshake_counters_.routed_cancels;
  route_outbox_.cancel(m.attempt);  // our answer or relayed address for it is moot now
  SPDLOG_DEBUG("handshake {:016x}: supernode {} ended it ({})", m.attempt, short_id(from),
               federation::to_string(m.cancel_reason));
  // Not answered yet: as on one supernode, the negotiation just ends; the callee's answer, if
  // it comes, is 404 (answer_routed).
  if (!r.answered) return release_negotiation_slot(r.callee);
  // Accepted, and the callee waits for a punch-start that will not come: on one supernode the
  // punch-start leaves with the answer, so there is no such window; it is refused instead.
  if (!r.accepted) return;
  ++handshake_counters_.routed_cancels_refused;
  push_handshake(now, r.callee,
                 wire::TunnelRefused{r.caller, m.attempt,
                                     federation::to_string(m.cancel_reason)});
}

// --- At the caller's supernode (A) ---

Negotiation SupernodeCore::abandon_negotiation(
    Instant now, std::map<std::uint64_t, Negotiation>::iterator it,
    federation::CancelReason reason) {
  const Negotiation n = it->second;
  forget_negotiation(it);
  if (n.callee_home == PeerId{}) return n;  // the callee is here: nobody else to tell
  ++handshake_counters_.routed_cancels_sent;
  RouteHandshake cancel =
      route_handshake(HandshakeRouteType::kCancel, n.attempt, n.caller, n.callee);
  cancel.cancel_reason = reason;
  send_reliably(now, n.callee_home, cancel);
  return n;
}

void SupernodeCore::on_routed_answer(Instant now, const PeerId& from, const RouteHandshake& m) {
  auto it = negotiations_.find(m.attempt);
  if (it == negotiations_.end()) {
    auto a = answered_.find(m.attempt);
    // Ended here while the answer was on its way: our cancel tells that supernode; the answer
    // is acknowledged so that it stops sending it, and is not counted as a stray.
    if (const RouteHandshake* cancel =
            route_outbox_.in_flight(m.attempt, HandshakeRouteType::kCancel, from);
        a == answered_.end() && cancel && cancel->caller == m.caller &&
        cancel->callee == m.callee)
      return send_federation_payload(now, from, federation::encode(ack_of(m)));
    if (a == answered_.end()) {
      ++handshake_counters_.route_unknown_attempt;  // timed out, or its caller left
      SPDLOG_DEBUG("handshake {:016x}: drop answer from supernode {}: no negotiation", m.attempt,
                   short_id(from));
      return;
    }
    if (a->second.callee_home != from || a->second.caller != m.caller ||
        a->second.callee != m.callee) {
      ++handshake_counters_.route_wrong_supernode;
      return;
    }
    return send_federation_payload(now, from, federation::encode(ack_of(m)));  // a copy
  }
  const Negotiation n = it->second;
  if (n.callee_home != from || n.caller != m.caller || n.callee != m.callee) {
    ++handshake_counters_.route_wrong_supernode;
    SPDLOG_DEBUG("handshake {:016x}: drop answer from supernode {}: the callee is not there",
                 m.attempt, short_id(from));
    return;
  }
  forget_negotiation(it);
  send_federation_payload(now, from, federation::encode(ack_of(m)));
  // The callee's one-way delay from here: the hop to its supernode plus its own.
  const Duration rtt = std::chrono::milliseconds(m.rtt_ms) + federation_->rtt_to(from);
  settle_negotiation(now, n, m.verdict, m.reason, punch_peer(n.callee, m.host, m.reflexive, rtt));
}

// --- Either side: a relayed address from the other supernode ---

void SupernodeCore::on_routed_relayed(Instant now, const PeerId& from, const RouteHandshake& m) {
  // At A: the callee's address, for the caller here. At B: the caller's, for the callee here.
  std::optional<Endpoint>* announced = nullptr;
  PeerId other, caller, callee;  // the other supernode of the attempt, and its peers
  bool at_caller = false;
  if (auto a = answered_.find(m.attempt); a != answered_.end() && a->second.accepted) {
    announced = &a->second.callee_relayed;
    other = a->second.callee_home;
    caller = a->second.caller;
    callee = a->second.callee;
    at_caller = true;
  } else if (auto r = routed_in_.find(m.attempt); r != routed_in_.end() && r->second.accepted) {
    announced = &r->second.caller_relayed;
    other = r->second.origin;
    caller = r->second.caller;
    callee = r->second.callee;
  }
  if (!announced) {
    ++handshake_counters_.route_unknown_attempt;
    SPDLOG_DEBUG("handshake {:016x}: drop relayed address from supernode {}: no accepted attempt",
                 m.attempt, short_id(from));
    return;
  }
  if (other != from || caller != m.caller || callee != m.callee) {
    ++handshake_counters_.route_wrong_supernode;
    SPDLOG_DEBUG("handshake {:016x}: drop relayed address from supernode {}: not its attempt",
                 m.attempt, short_id(from));
    return;
  }
  send_federation_payload(now, from, federation::encode(ack_of(m)));
  if (*announced == m.relayed) return;  // a copy, or the same address again
  *announced = m.relayed;
  ++handshake_counters_.relays;
  const PeerId& sender = at_caller ? callee : caller;
  const PeerId& to = at_caller ? caller : callee;
  SPDLOG_INFO("handshake {:016x}: {} relays via {} (from supernode {})", m.attempt,
              short_id(sender), m.relayed.to_string(), short_id(from));
  push_handshake(now, to, wire::TunnelRelayed{sender, m.attempt, m.relayed});
}

}  // namespace qp2p
