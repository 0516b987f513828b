// Tunnel negotiation payloads between member supernodes (see route_handshake.h).
#include "stack/federation/route_handshake.h"

#include <algorithm>

#include "stack/wire/punch_plan_codec.h"
#include "stack/wire/records.h"

namespace qp2p::federation {

namespace {

bool known_type(std::uint8_t t) { return t >= 0x13 && t <= 0x18; }
// What an ack may acknowledge: every type but an ack.
bool ackable_type(std::uint8_t t) { return known_type(t) && t != 0x17; }

std::size_t endpoint_size(const Endpoint& e) { return e.address.is_v4() ? 7 : 19; }

// Reads a payload field by field, remembering the first reason it failed: a value out of range
// is told apart from a payload that ends too soon.
class Reader {
 public:
  explicit Reader(const Bytes& payload) : payload_(payload), r_(payload.data(), payload.size()) {}

  ByteReader& raw() { return r_; }
  bool ok() const { return r_.ok() && error_ == HandshakeRouteError::kNone; }
  HandshakeRouteError error() const {
    if (error_ != HandshakeRouteError::kNone) return error_;
    return r_.ok() ? HandshakeRouteError::kNone : HandshakeRouteError::kTruncated;
  }
  void bad(HandshakeRouteError e) {
    if (error_ == HandshakeRouteError::kNone) error_ = e;
    r_.fail();
  }
  // The next byte, without consuming it (nullopt at the end).
  std::optional<std::uint8_t> peek() const {
    if (r_.remaining() == 0) return std::nullopt;
    return payload_[r_.position()];
  }
  Endpoint endpoint() {
    if (auto family = peek(); family && *family != 4 && *family != 6) {
      bad(HandshakeRouteError::kBadValue);
      return {};
    }
    return wire::read_endpoint(r_);
  }
  std::string reason() {
    if (r_.remaining() >= 2) {
      const std::size_t at = r_.position();
      const std::size_t n = (std::size_t{payload_[at]} << 8) | payload_[at + 1];
      if (n > wire::kMaxTunnelReasonBytes) {
        bad(HandshakeRouteError::kBadValue);
        return {};
      }
    }
    return r_.str16(wire::kMaxTunnelReasonBytes);
  }

 private:
  const Bytes& payload_;
  ByteReader r_;
  HandshakeRouteError error_ = HandshakeRouteError::kNone;
};

// The plan's candidates cut to what a payload holds (in order: the list is by priority).
wire::PunchPlanFields fitted(wire::PunchPlanFields plan) {
  std::size_t bytes = 0;
  std::size_t keep = 0;
  for (const auto& c : plan.remote_candidates) {
    const std::size_t size = 1 + endpoint_size(c.endpoint);
    if (keep >= tunnel::kMaxRemoteCandidates || bytes + size > kRoutedCandidateBudget) break;
    bytes += size;
    ++keep;
  }
  plan.remote_candidates.resize(keep);
  return plan;
}

}  // namespace

const char* to_string(CancelReason reason) {
  switch (reason) {
    case CancelReason::kTimeout:
      return "timeout";
    case CancelReason::kCallerOffline:
      return "caller offline";
    case CancelReason::kGaveUp:
      return "caller's supernode gave up";
    case CancelReason::kCalleeOffline:
      return "callee offline";
  }
  return "?";
}

const char* to_string(HandshakeRouteError error) {
  switch (error) {
    case HandshakeRouteError::kNone:
      return "none";
    case HandshakeRouteError::kUnknownType:
      return "unknown type";
    case HandshakeRouteError::kBadValue:
      return "value out of range";
    case HandshakeRouteError::kBadPlan:
      return "plan out of bounds or cut short";
    case HandshakeRouteError::kTruncated:
      return "truncated";
    case HandshakeRouteError::kTrailing:
      return "trailing bytes";
    case HandshakeRouteError::kCount:
      break;
  }
  return "?";
}

RouteHandshake route_handshake(HandshakeRouteType type, std::uint64_t attempt,
                               const PeerId& caller, const PeerId& callee) {
  RouteHandshake m;
  m.type = type;
  m.attempt = attempt;
  m.caller = caller;
  m.callee = callee;
  return m;
}

RouteHandshake ack_of(const RouteHandshake& m) {
  RouteHandshake ack = route_handshake(HandshakeRouteType::kAck, m.attempt, m.caller, m.callee);
  ack.acked = m.type;
  if (m.type == HandshakeRouteType::kRelayed) ack.relayed = m.relayed;
  return ack;
}

Bytes encode(const RouteHandshake& m) {
  Bytes out;
  ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(m.type));
  w.u64(m.attempt);
  wire::append_key(w, m.caller);
  wire::append_key(w, m.callee);
  switch (m.type) {
    case HandshakeRouteType::kOffer:
      wire::append(w, m.caller_mapped);
      break;
    case HandshakeRouteType::kAnswer: {
      w.u8(static_cast<std::uint8_t>(m.verdict));
      w.str16(std::string_view(m.reason).substr(0, wire::kMaxTunnelReasonBytes));
      const std::size_t n = std::min(m.host.size(), wire::kMaxHostCandidates);
      w.u8(static_cast<std::uint8_t>(n));
      for (std::size_t i = 0; i < n; ++i) wire::append(w, m.host[i]);
      w.u32(std::min(m.rtt_ms, wire::kMaxRttMs));
      wire::append(w, m.reflexive);
      break;
    }
    case HandshakeRouteType::kPunch:
      w.bytes(m.nonce.data(), m.nonce.size());
      w.u8(m.direct_feasible ? 1 : 0);
      wire::append_plan(w, fitted(m.plan));
      break;
    case HandshakeRouteType::kRelayed:
      wire::append(w, m.relayed);
      break;
    case HandshakeRouteType::kAck:
      w.u8(static_cast<std::uint8_t>(m.acked));
      if (m.acked == HandshakeRouteType::kRelayed) wire::append(w, m.relayed);
      break;
    case HandshakeRouteType::kCancel:
      w.u8(static_cast<std::uint8_t>(m.cancel_reason));
      break;
  }
  return out;
}

std::optional<RouteHandshake> decode_handshake_route(const Bytes& payload,
                                                     HandshakeRouteError* error) {
  Reader in(payload);
  ByteReader& r = in.raw();
  RouteHandshake m;
  auto fail = [&](HandshakeRouteError e) -> std::optional<RouteHandshake> {
    if (error) *error = e;
    return std::nullopt;
  };
  const std::uint8_t type = r.u8();
  if (!r.ok()) return fail(HandshakeRouteError::kTruncated);
  if (!known_type(type)) return fail(HandshakeRouteError::kUnknownType);
  m.type = static_cast<HandshakeRouteType>(type);
  m.attempt = r.u64();
  m.caller = wire::read_key(r);
  m.callee = wire::read_key(r);
  switch (m.type) {
    case HandshakeRouteType::kOffer:
      m.caller_mapped = in.endpoint();
      break;
    case HandshakeRouteType::kAnswer: {
      const std::uint8_t verdict = r.u8();
      if (r.ok() && verdict > static_cast<std::uint8_t>(AnswerVerdict::kOffline))
        in.bad(HandshakeRouteError::kBadValue);
      m.verdict = static_cast<AnswerVerdict>(verdict);
      m.reason = in.reason();
      const std::size_t n = r.u8();
      if (r.ok() && n > wire::kMaxHostCandidates) in.bad(HandshakeRouteError::kBadValue);
      for (std::size_t i = 0; i < n && in.ok(); ++i) m.host.push_back(in.endpoint());
      m.rtt_ms = r.u32();
      if (r.ok() && m.rtt_ms > wire::kMaxRttMs) in.bad(HandshakeRouteError::kBadValue);
      m.reflexive = in.endpoint();
      break;
    }
    case HandshakeRouteType::kPunch: {
      r.bytes(m.nonce.data(), m.nonce.size());
      const std::uint8_t feasible = r.u8();
      if (r.ok() && feasible > 1) in.bad(HandshakeRouteError::kBadValue);
      m.direct_feasible = feasible == 1;
      if (!in.ok()) break;
      wire::read_plan(r, m.plan);
      if (!r.ok()) return fail(HandshakeRouteError::kBadPlan);
      break;
    }
    case HandshakeRouteType::kRelayed:
      m.relayed = in.endpoint();
      break;
    case HandshakeRouteType::kAck: {
      const std::uint8_t acked = r.u8();
      if (r.ok() && !ackable_type(acked)) in.bad(HandshakeRouteError::kBadValue);
      m.acked = static_cast<HandshakeRouteType>(acked);
      if (in.ok() && m.acked == HandshakeRouteType::kRelayed) m.relayed = in.endpoint();
      break;
    }
    case HandshakeRouteType::kCancel: {
      const std::uint8_t reason = r.u8();
      if (r.ok() && reason > static_cast<std::uint8_t>(CancelReason::kCalleeOffline))
        in.bad(HandshakeRouteError::kBadValue);
      m.cancel_reason = static_cast<CancelReason>(reason);
      break;
    }
  }
  if (!in.ok()) return fail(in.error());
  if (!r.at_end()) return fail(HandshakeRouteError::kTrailing);
  if (error) *error = HandshakeRouteError::kNone;
  return m;
}

}  // namespace qp2p::federation
