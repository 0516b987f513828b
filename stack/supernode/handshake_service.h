// The handshake service's bounds, timing and counters (its handlers are SupernodeCore methods in
// handshake_service.cc). It negotiates a tunnel between two peers: the caller's TunnelConnect
// becomes a TunnelOffer to the callee; the callee's TunnelAnswer either refuses (TunnelRefused to
// the caller) or accepts, and then both get a PunchStart at the same moment with the plan
// plan_punch (stack/tunnel/punch_planner.h) made from both peers' candidates, NAT profiles and
// round-trip times. When the direct path is infeasible or the punch failed, one side allocates
// on its relay service and announces the relayed address (TunnelRelay); the service passes it
// to the other side (TunnelRelayed) once it checked the address is a relay allocation of that
// peer's. The caller reports how the attempt ended (TunnelOutcome), counted by pair of NAT
// profiles in HandshakeStats. docs/protocol.md sections 8.5, 8.6 and 8.9. With federation the
// callee may be logged into another member supernode: the caller's supernode still runs the
// negotiation and talks to the callee's through routing payloads (handshake_routing.cc,
// section 14.6).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/endpoint.h"
#include "stack/core/instant.h"
#include "stack/identity/identity.h"
#include "stack/transaction/request_tracker.h"
#include "stack/supernode/handshake_stats.h"

namespace qp2p {

// An offer unanswered for this long is refused to the caller with reason "timeout". The
// callee's application may ask a person, so this is generous; it is checked by the supernode's
// one-second housekeeping scan, so the refusal may come up to a second later.
inline constexpr Duration kNegotiationTimeout = std::chrono::seconds(30);
// Negotiations a peer may be part of at once (as caller or callee): a caller cannot flood a
// callee with offers, nor hold many slots of the supernode's table.
inline constexpr std::size_t kMaxNegotiationsPerPeer = 16;
// All negotiations of this supernode (each a few hundred bytes).
inline constexpr std::size_t kMaxNegotiations = 4096;
// A callee's repeated answer (its TunnelAnswerAck was lost), or a caller's repeated connect
// (its TunnelConnectAccepted was lost) after the negotiation ended, is answered again for this
// long after the first: longer than a peer's whole retransmission schedule. An accepted one is
// remembered as long for its relay fallback (TunnelRelay), which comes after the direct
// attempt's deadline and a TURN allocation.
inline constexpr Duration kAnsweredMemory = std::chrono::seconds(120);

// Retransmission of tunnel pushes (offer, refusal, punch-start): a tunnel needs every one of
// them, and at 20% loss on each of three links a copy gets through only half the time, so the
// default 7 copies all fail for 1 push in 150. Twelve copies over the same 10.75 s (RTO capped at
// 1 s: 0, 0.25, 0.75, 1.75, 2.75 ... 9.75 s) fail for 1 in 5,000.
inline constexpr RetransmitPolicy kTunnelPushPolicy = kUrgentRetransmitPolicy;
// The offer is copied for the whole life of its negotiation: a callee that missed all twelve
// copies of kTunnelPushPolicy (at 20% loss on each of a carrier-NAT peer's four links, 1 offer in
// 600) would otherwise never hear of it and the caller be refused "timeout" at
// kNegotiationTimeout. Thirty copies, one a second after the first three, the last at 27.75 s and
// given up at 28.75 s: before the negotiation times out, so an answer to the last copy finds it.
inline constexpr RetransmitPolicy kTunnelOfferPushPolicy{std::chrono::milliseconds(250),
                                                         std::chrono::seconds(1), 30, 4};
// Retransmission of negotiation payloads to another supernode (offer, answer, punch, relayed;
// stack/federation/route_outbox.h): the same dense schedule, for the same reason, and because a
// punch whose first copy was lost must still arrive before its start moment is long past.
inline constexpr RetransmitPolicy kRoutedHandshakePolicy = kUrgentRetransmitPolicy;
// A routed attempt the caller's supernode cancelled is kept this long at the callee's (at
// least; an answered one keeps its kAnsweredMemory), so copies of the cancel (its ack was lost)
// are acknowledged without a count and a late copy of the offer does not offer it again: longer
// than kRoutedHandshakePolicy's whole schedule (10.75 s).
inline constexpr Duration kCancelledMemory = std::chrono::seconds(15);

struct HandshakeCounters {
  std::uint64_t connects = 0;               // offers made
  std::uint64_t connects_unknown_peer = 0;  // 404: the callee is not online here
  std::uint64_t connects_held = 0;  // for a callee unknown while the directory caught up
  std::uint64_t connects_to_self = 0;       // 400
  std::uint64_t connects_over_limit = 0;    // 429 / 503
  std::uint64_t accepted = 0;               // PunchStart pairs sent
  std::uint64_t relay_plans = 0;            // of which direct was infeasible
  std::uint64_t refused = 0;                // by the callee
  std::uint64_t timeouts = 0;               // no answer within kNegotiationTimeout
  std::uint64_t callee_offline = 0;         // the callee left before answering
  std::uint64_t caller_offline = 0;         // the caller left: negotiation dropped
  std::uint64_t answers_unexpected = 0;     // an answer to no offer made to that peer
  std::uint64_t relays = 0;                 // relayed addresses passed on (TunnelRelayed)
  std::uint64_t relays_unexpected = 0;      // a TunnelRelay for no accepted negotiation
  std::uint64_t relays_not_allocated = 0;   // ... naming no relay allocation of that peer here
  std::uint64_t outcomes = 0;               // tunnel-outcome reports counted
  std::uint64_t outcomes_unknown = 0;       // for no accepted attempt of that peer (or forgotten)
  std::uint64_t outcomes_not_caller = 0;    // from the callee: only the caller reports
  std::uint64_t outcomes_duplicate = 0;     // a second report of one attempt
  // Negotiations with a peer on another supernode (section 14.6).
  std::uint64_t routed_offers = 0;          // offers sent on to the callee's supernode
  std::uint64_t routed_in = 0;              // offers from another supernode pushed to a callee here
  std::uint64_t route_unknown_attempt = 0;  // a routing payload for no attempt known here
  std::uint64_t route_wrong_supernode = 0;  // ... for an attempt of another supernode's
  std::uint64_t route_gave_up = 0;          // a payload never acknowledged through its retries
  std::uint64_t route_acks_unmatched = 0;   // an ack of nothing in flight (a late duplicate)
  std::uint64_t routed_cancels_sent = 0;    // negotiations ended here before the answer came
  std::uint64_t routed_cancels = 0;         // ... cancels applied at the callee's supernode
  std::uint64_t routed_cancels_refused = 0; // ... of which after the callee accepted: refused to it
};

// A negotiation the callee answered, remembered for kAnsweredMemory: a repeated answer is
// acknowledged again, either side of an accepted one may announce its relayed address
// (TunnelRelay, the relay fallback), which is passed on to the other side once per address, and
// its caller reports the outcome once (TunnelOutcome), counted under `nat_pair`.
struct AnsweredAttempt {
  PeerId caller;
  PeerId callee;
  bool accepted = false;
  std::optional<Endpoint> caller_relayed;
  std::optional<Endpoint> callee_relayed;
  HandshakeStats::Pair nat_pair;  // the pair the plan was made for
  std::optional<std::uint64_t> outcome_transaction;  // of the report counted
  PeerId callee_home;  // the callee's supernode when it is another member (zero: this one)
};

// One negotiation, from the caller's connect to the callee's answer.
struct Negotiation {
  std::uint64_t attempt = 0;
  PeerId caller;
  PeerId callee;
  std::vector<Endpoint> caller_host;
  Duration caller_rtt{};
  Instant expires;
  HandshakeStats::Pair nat_pair;  // both NAT profiles at the connect, for HandshakeStats
  PeerId callee_home;  // the callee's supernode when it is another member (zero: this one)
};

// At the callee's supernode: a negotiation another member (the caller's supernode) runs for a
// callee logged in here (section 14.6). Kept until the offer's timeout while unanswered, then
// kAnsweredMemory after the answer (for repeated answers and the relay fallback).
struct RoutedAttempt {
  PeerId origin;  // the caller's supernode
  PeerId caller;
  PeerId callee;
  Instant forget_at;
  bool answered = false;
  bool accepted = false;
  bool punched = false;  // the punch payload came and its punch-start was pushed
  bool cancelled = false;  // the caller's supernode ended it (kept as a tombstone till forget_at)
  std::optional<Endpoint> caller_relayed;
  std::optional<Endpoint> callee_relayed;
};

}  // namespace qp2p
