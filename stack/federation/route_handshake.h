// Tunnel negotiation between peers on different member supernodes (docs/protocol.md section
// 14.6): the caller's supernode (A) runs the negotiation as for two local peers and talks to the
// callee's supernode (B) with these payloads on the membership's authenticated channel (which
// names the sending supernode). Pure encode/decode; types 0x13-0x18 of routing's 0x10-0x1F.
//
//   payload  = type: u8 | attempt: u64 | caller: key | callee: key | body       (73 + body)
//   0x13 offer    A->B  caller_mapped: Endpoint        the caller's reflexive address at A
//   0x14 answer   B->A  verdict: u8 (0 refused, 1 accepted, 2 offline) | reason: str16 (<= 200)
//                       | host count: u8 (<= 8) | count x Endpoint | rtt_ms: u32 (<= 60000)
//                       | reflexive: Endpoint           the callee's reflexive address at B
//   0x15 punch    A->B  nonce: 32 bytes | direct_feasible: u8 (0/1) | plan: PunchPlan (5.5)
//   0x16 relayed  A->B the caller's, B->A the callee's relayed address: Endpoint
//   0x17 ack      either  of: u8 (0x13-0x16, 0x18) | relayed: Endpoint (only when of = 0x16)
//   0x18 cancel   A->B  reason: u8 (0 timeout, 1 caller offline, 2 gave up, 3 callee offline)
//                       A ended the negotiation before the callee's answer reached it
//
// Offer, answer, punch, relayed and cancel are retransmitted until acked (route_outbox.h); the
// receiver acknowledges every copy and acts on the first. A punch's plan is cut to the
// candidates that fit 1000 bytes (64 IPv4 or 42 IPv6 ones): within a payload (kMaxPayload),
// and no more than the callee's punch-start push can carry anyway (docs/protocol.md 5.5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/byte_io.h"
#include "stack/core/datagram.h"
#include "stack/core/endpoint.h"
#include "stack/federation/federation_wire.h"
#include "stack/identity/identity.h"
#include "stack/wire/control_message.h"

namespace qp2p::federation {

enum class HandshakeRouteType : std::uint8_t {
  kOffer = 0x13,
  kAnswer = 0x14,
  kPunch = 0x15,
  kRelayed = 0x16,
  kAck = 0x17,
  kCancel = 0x18,
};
enum class AnswerVerdict : std::uint8_t { kRefused = 0, kAccepted = 1, kOffline = 2 };
// Why the caller's supernode ended a negotiation without the callee's answer (kCancel).
enum class CancelReason : std::uint8_t {
  kTimeout = 0,        // no answer within kNegotiationTimeout
  kCallerOffline = 1,  // the caller logged out or expired
  kGaveUp = 2,         // the callee's supernode never acknowledged the offer
  kCalleeOffline = 3,  // the callee left (it had logged into the caller's supernode meanwhile)
};
// The reason as the callee's supernode tells it (in a tunnel-refused, section 14.6).
const char* to_string(CancelReason reason);

inline bool is_handshake_route_payload(const Bytes& payload) {
  return !payload.empty() && payload[0] >= 0x13 && payload[0] <= 0x18;
}

// Bytes of remote candidates a punch payload carries at most: 1000 (the budget above; a payload
// may be larger, kMaxPayload) less the header (73), the
// nonce and flag (33), the plan's fixed fields (12) and its largest strategy fields (27, an
// IPv6 prediction base).
inline constexpr std::size_t kRoutedCandidateBudget = 1000 - 73 - 33 - 12 - 27;
static_assert(1000 <= kMaxPayload, "a punch payload must fit the membership's payload");

// One payload; the fields of other types are ignored by encode and left default by decode.
struct RouteHandshake {
  HandshakeRouteType type = HandshakeRouteType::kOffer;
  std::uint64_t attempt = 0;
  PeerId caller;
  PeerId callee;
  Endpoint caller_mapped;  // kOffer
  // kAnswer
  AnswerVerdict verdict = AnswerVerdict::kRefused;
  std::string reason;
  std::vector<Endpoint> host;
  std::uint32_t rtt_ms = 0;
  Endpoint reflexive;
  // kPunch
  wire::Nonce nonce{};
  bool direct_feasible = true;
  wire::PunchPlanFields plan;
  Endpoint relayed;  // kRelayed, and kAck of a kRelayed
  HandshakeRouteType acked = HandshakeRouteType::kOffer;  // kAck
  CancelReason cancel_reason = CancelReason::kTimeout;   // kCancel
};

// A payload of `type` about one attempt, its body left to fill.
RouteHandshake route_handshake(HandshakeRouteType type, std::uint64_t attempt,
                               const PeerId& caller, const PeerId& callee);
// The ack of `m` (for a kRelayed, naming its address).
RouteHandshake ack_of(const RouteHandshake& m);

enum class HandshakeRouteError : std::uint8_t {
  kNone,
  kUnknownType,
  kBadValue,  // a verdict, flag, acked type, reason (length or code), host count or rtt out of range
  kBadPlan,   // the punch's plan breaks a bound of section 5.5, or is cut short
  kTruncated,
  kTrailing,
  kCount
};
const char* to_string(HandshakeRouteError error);

// Cuts a punch's plan to kRoutedCandidateBudget (the lowest-priority candidates go) and clamps
// the reason, so the result always fits a payload.
Bytes encode(const RouteHandshake& message);
std::optional<RouteHandshake> decode_handshake_route(const Bytes& payload,
                                                     HandshakeRouteError* error);

}  // namespace qp2p::federation
