// Encoding and bounded decoding of qp2p control messages (docs/protocol.md).
#include "stack/wire/control_message.h"

#include "stack/wire/punch_plan_codec.h"

#include <algorithm>
#include <type_traits>

namespace qp2p::wire {

namespace {

// Wire numbers, in Body's variant order. Responses have bit 0x0100 set, pushes 0x0200.
constexpr std::uint16_t kTypeNumbers[] = {
    0x0001, 0x0002, 0x0003, 0x0004, 0x0010, 0x0011, 0x0012, 0x0013, 0x0020,  // requests
    0x0101, 0x0102, 0x0103, 0x0104, 0x0110, 0x0111, 0x0112, 0x0113, 0x0120,  // responses
    0x01ff,                                                                  // error
    0x0201, 0x0202, 0x0203,                                                  // pushes
    0x02ff,                                                                  // push ack
    0x0030, 0x0031, 0x0130, 0x0131, 0x0204, 0x0205, 0x0206,                  // tunnels
    0x0032, 0x0132, 0x0207,                                                  // relay fallback
    0x0208,                                                                  // leaving
    0x0209,                                                                  // supernode list
    0x0033, 0x0133,                                                          // outcomes
};
constexpr const char* kTypeNames[] = {
    "hello",     "login",        "keepalive",      "logout",      "publish",
    "lookup",    "search",       "watch",          "send",        "challenge",
    "login-ok",  "keepalive-ack","logout-ack",     "publish-ack", "lookup-result",
    "search-result", "watch-ack", "send-accepted", "error",       "deliver",
    "delivery-report", "presence", "ack", "tunnel-connect", "tunnel-answer",
    "tunnel-connect-accepted", "tunnel-answer-ack", "tunnel-offer", "tunnel-refused",
    "punch-start", "tunnel-relay", "tunnel-relay-ack", "tunnel-relayed", "supernode-leaving",
    "supernodes",
    "tunnel-outcome", "tunnel-outcome-ack",
};
static_assert(std::size(kTypeNumbers) == std::variant_size_v<Body>);
static_assert(std::size(kTypeNames) == std::variant_size_v<Body>);

template <std::size_t I = 0>
std::optional<Body> default_body_for(std::uint16_t type) {
  if constexpr (I == std::variant_size_v<Body>) {
    return std::nullopt;
  } else {
    if (kTypeNumbers[I] == type) return Body(std::in_place_index<I>);
    return default_body_for<I + 1>(type);
  }
}

void put_array(ByteWriter& w, const std::array<std::uint8_t, 32>& a) { w.bytes(a.data(), a.size()); }
void get_array(ByteReader& r, std::array<std::uint8_t, 32>& a) { r.bytes(a.data(), a.size()); }

void put_address(ByteWriter& w, const IpAddress& a) {
  w.u8(a.is_v4() ? 4 : 6);
  w.bytes(a.data(), a.size());
}

IpAddress get_address(ByteReader& r) {
  const std::uint8_t family = r.u8();
  if (family == 4) {
    std::array<std::uint8_t, 4> b{};
    r.bytes(b.data(), b.size());
    return IpAddress::v4(b);
  }
  if (family == 6) {
    std::array<std::uint8_t, 16> b{};
    r.bytes(b.data(), b.size());
    return IpAddress::v6(b);
  }
  r.fail();
  return {};
}

// A u8 count (at most `max`) and that many endpoints.
void put_endpoints(ByteWriter& w, const std::vector<Endpoint>& list, std::size_t max) {
  const std::size_t n = std::min(list.size(), max);  // callers bound it first
  w.u8(static_cast<std::uint8_t>(n));
  for (std::size_t i = 0; i < n; ++i) append(w, list[i]);
}

std::vector<Endpoint> get_endpoints(ByteReader& r, std::size_t max) {
  std::vector<Endpoint> list;
  const std::size_t n = r.u8();
  if (n > max) {
    r.fail();
    return list;
  }
  for (std::size_t i = 0; i < n && r.ok(); ++i) list.push_back(read_endpoint(r));
  return list;
}

void put_hosts(ByteWriter& w, const std::vector<Endpoint>& host) {
  put_endpoints(w, host, kMaxHostCandidates);
}
std::vector<Endpoint> get_hosts(ByteReader& r) { return get_endpoints(r, kMaxHostCandidates); }

std::uint32_t get_rtt(ByteReader& r) {
  const std::uint32_t rtt = r.u32();
  if (rtt > kMaxRttMs) r.fail();
  return rtt;
}

}  // namespace

void append_plan(ByteWriter& w, const PunchPlanFields& p) {
  w.u8(static_cast<std::uint8_t>(p.strategy));
  w.u16(p.local_sockets);
  w.u32(p.start_after_ms);
  w.u32(p.deadline_ms);
  const std::size_t n = std::min(p.remote_candidates.size(), tunnel::kMaxRemoteCandidates);
  w.u8(static_cast<std::uint8_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    w.u8(p.remote_candidates[i].kind);
    append(w, p.remote_candidates[i].endpoint);
  }
  if (p.strategy == PlanStrategy::kPortPrediction) {
    append(w, p.prediction_base);
    w.u32(static_cast<std::uint32_t>(p.prediction_delta));
    w.u16(p.prediction_before);
    w.u16(p.prediction_after);
  } else if (p.strategy == PlanStrategy::kBirthday) {
    put_address(w, p.birthday_address);
    w.u16(p.birthday_probes);
    w.u16(p.birthday_port_min);
    w.u16(p.birthday_port_max);
  }
}

// Every bound HolePunchConfig checks (hole_punch.cc) is checked here too, so a plan that
// decodes can always configure an attempt.
void read_plan(ByteReader& r, PunchPlanFields& p) {
  const std::uint8_t strategy = r.u8();
  if (strategy > static_cast<std::uint8_t>(PlanStrategy::kBirthday)) return r.fail();
  p.strategy = static_cast<PlanStrategy>(strategy);
  p.local_sockets = r.u16();
  if (p.local_sockets == 0 || p.local_sockets > tunnel::kMaxLocalEndpoints) return r.fail();
  p.start_after_ms = r.u32();
  if (p.start_after_ms > kMaxStartAfterMs) return r.fail();
  p.deadline_ms = r.u32();
  if (p.deadline_ms == 0 || p.deadline_ms > to_ms(tunnel::kMaxPunchDeadline)) return r.fail();
  const std::size_t n = r.u8();
  if (n > tunnel::kMaxRemoteCandidates) return r.fail();
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    PlanCandidate c;
    c.kind = r.u8();
    if (c.kind > kMaxCandidateKind) return r.fail();
    c.endpoint = read_endpoint(r);
    p.remote_candidates.push_back(c);
  }
  if (p.strategy == PlanStrategy::kPortPrediction) {
    p.prediction_base = read_endpoint(r);
    p.prediction_delta = static_cast<std::int32_t>(r.u32());
    p.prediction_before = r.u16();
    p.prediction_after = r.u16();
    if (p.prediction_delta == 0 || p.prediction_delta > 65535 || p.prediction_delta < -65535)
      return r.fail();
    if (std::size_t(p.prediction_before) + p.prediction_after > tunnel::kMaxPredictedPorts)
      return r.fail();
  } else if (p.strategy == PlanStrategy::kBirthday) {
    p.birthday_address = get_address(r);
    p.birthday_probes = r.u16();
    p.birthday_port_min = r.u16();
    p.birthday_port_max = r.u16();
    if (p.birthday_probes > tunnel::kMaxBirthdayProbes) return r.fail();
    if (p.birthday_port_min == 0 || p.birthday_port_min > p.birthday_port_max) return r.fail();
    if (p.birthday_probes > p.birthday_port_max - p.birthday_port_min + 1u) return r.fail();
  }
}

namespace {

struct BodyWriter {
  ByteWriter& w;
  void operator()(const Hello& m) { append_key(w, m.peer); }
  void operator()(const Login& m) {
    append_key(w, m.peer);
    put_array(w, m.nonce);
    put_array(w, m.ephemeral);
    w.bytes(m.signature.data(), m.signature.size());
  }
  void operator()(const Keepalive&) {}
  void operator()(const Logout&) {}
  void operator()(const Publish& m) { append(w, m.record); }
  void operator()(const Lookup& m) { append_key(w, m.target); }
  void operator()(const Search& m) {
    w.u16(m.limit);
    append_key(w, m.after);
    w.u8(static_cast<std::uint8_t>(m.terms.size()));
    for (const auto& t : m.terms) {
      w.u8(t.prefix ? 1 : 0);
      w.str16(t.key);
      w.str16(t.value);
    }
  }
  void operator()(const Watch& m) { append_key(w, m.target); }
  void operator()(const SendMessage& m) {
    append_key(w, m.to);
    w.u64(m.message_id);
    w.str16(m.text);
  }
  void operator()(const Challenge& m) {
    append_key(w, m.supernode);
    put_array(w, m.nonce);
  }
  void operator()(const LoginOk& m) {
    w.u64(m.session_id);
    put_array(w, m.ephemeral);
    w.bytes(m.signature.data(), m.signature.size());
    append(w, m.mapped);
    w.u32(m.keepalive_ms);
    w.u32(m.expiry_ms);
  }
  void operator()(const KeepaliveAck& m) { append(w, m.mapped); }
  void operator()(const LogoutAck&) {}
  void operator()(const PublishAck& m) { w.u64(m.version); }
  void operator()(const LookupResult& m) { append(w, m.info); }
  void operator()(const SearchResult& m) {
    w.u32(m.total);
    w.u8(static_cast<std::uint8_t>(m.peers.size()));
    for (const auto& p : m.peers) append(w, p);
  }
  void operator()(const WatchAck& m) { w.u8(m.online ? 1 : 0); }
  void operator()(const SendAccepted&) {}
  void operator()(const Error& m) {
    w.u16(static_cast<std::uint16_t>(m.code));
    w.str16(m.reason);
  }
  void operator()(const Deliver& m) {
    append_key(w, m.from);
    w.u64(m.message_id);
    w.str16(m.text);
  }
  void operator()(const DeliveryReport& m) {
    append_key(w, m.to);
    w.u64(m.message_id);
  }
  void operator()(const Presence& m) {
    append_key(w, m.peer);
    w.u8(m.online ? 1 : 0);
    w.u8(static_cast<std::uint8_t>(m.reason));
  }
  void operator()(const Ack&) {}
  void operator()(const TunnelConnect& m) {
    append_key(w, m.to);
    put_hosts(w, m.host);
    w.u32(m.rtt_ms);
  }
  void operator()(const TunnelAnswer& m) {
    append_key(w, m.to);
    w.u64(m.attempt);
    w.u8(m.accept ? 1 : 0);
    put_hosts(w, m.host);
    w.u32(m.rtt_ms);
    w.str16(m.reason.substr(0, kMaxTunnelReasonBytes));
  }
  void operator()(const TunnelConnectAccepted& m) { w.u64(m.attempt); }
  void operator()(const TunnelAnswerAck& m) { w.u64(m.attempt); }
  void operator()(const TunnelOffer& m) {
    w.u64(m.attempt);
    append(w, m.from);
  }
  void operator()(const TunnelRefused& m) {
    append_key(w, m.peer);
    w.u64(m.attempt);
    w.str16(m.reason.substr(0, kMaxTunnelReasonBytes));
  }
  void operator()(const PunchStart& m) {
    append_key(w, m.peer);
    w.u64(m.attempt);
    put_array(w, m.nonce);
    w.u8(m.direct_feasible ? 1 : 0);
    append_plan(w, m.plan);
    w.str16(m.relay.username.substr(0, kMaxRelayUsernameBytes));
    w.str16(m.relay.password.substr(0, kMaxRelayPasswordBytes));
  }
  void operator()(const TunnelRelay& m) {
    append_key(w, m.to);
    w.u64(m.attempt);
    append(w, m.relayed);
  }
  void operator()(const TunnelRelayAck& m) { w.u64(m.attempt); }
  void operator()(const TunnelRelayed& m) {
    append_key(w, m.peer);
    w.u64(m.attempt);
    append(w, m.relayed);
  }
  void operator()(const SupernodeLeaving& m) {
    put_endpoints(w, m.supernodes, kMaxLeavingAlternatives);
  }
  void operator()(const SupernodeList& m) { put_endpoints(w, m.supernodes, kMaxSupernodeList); }
  void operator()(const TunnelOutcome& m) {
    w.u64(m.attempt);
    w.u8(static_cast<std::uint8_t>(m.path));
    w.u32(std::min(m.setup_ms, kMaxSetupMs));
    w.u32(std::min(m.rtt_ms, kMaxRttMs));
    w.str16(m.reason.substr(0, kMaxTunnelReasonBytes));
  }
  void operator()(const TunnelOutcomeAck& m) { w.u64(m.attempt); }
};

bool read_bool(ByteReader& r) {
  std::uint8_t v = r.u8();
  if (v > 1) r.fail();
  return v == 1;
}

struct BodyReader {
  ByteReader& r;
  void operator()(Hello& m) { m.peer = read_key(r); }
  void operator()(Login& m) {
    m.peer = read_key(r);
    get_array(r, m.nonce);
    get_array(r, m.ephemeral);
    r.bytes(m.signature.data(), m.signature.size());
  }
  void operator()(Keepalive&) {}
  void operator()(Logout&) {}
  void operator()(Publish& m) { m.record = read_record(r); }
  void operator()(Lookup& m) { m.target = read_key(r); }
  void operator()(Search& m) {
    m.limit = r.u16();
    m.after = read_key(r);
    std::size_t n = r.u8();
    if (n > kMaxSearchTerms) return r.fail();
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
      SearchTerm t;
      t.prefix = read_bool(r);
      t.key = r.str16(kMaxKeyBytes);
      t.value = r.str16(kMaxValueBytes);
      m.terms.push_back(std::move(t));
    }
  }
  void operator()(Watch& m) { m.target = read_key(r); }
  void operator()(SendMessage& m) {
    m.to = read_key(r);
    m.message_id = r.u64();
    m.text = r.str16(kMaxTextBytes);
  }
  void operator()(Challenge& m) {
    m.supernode = read_key(r);
    get_array(r, m.nonce);
  }
  void operator()(LoginOk& m) {
    m.session_id = r.u64();
    get_array(r, m.ephemeral);
    r.bytes(m.signature.data(), m.signature.size());
    m.mapped = read_endpoint(r);
    m.keepalive_ms = r.u32();
    m.expiry_ms = r.u32();
  }
  void operator()(KeepaliveAck& m) { m.mapped = read_endpoint(r); }
  void operator()(LogoutAck&) {}
  void operator()(PublishAck& m) { m.version = r.u64(); }
  void operator()(LookupResult& m) { m.info = read_peer_info(r); }
  void operator()(SearchResult& m) {
    m.total = r.u32();
    std::size_t n = r.u8();
    for (std::size_t i = 0; i < n && r.ok(); ++i) m.peers.push_back(read_peer_info(r));
  }
  void operator()(WatchAck& m) { m.online = read_bool(r); }
  void operator()(SendAccepted&) {}
  void operator()(Error& m) {
    m.code = static_cast<ErrorCode>(r.u16());
    m.reason = r.str16(kMaxTextBytes);
  }
  void operator()(Deliver& m) {
    m.from = read_key(r);
    m.message_id = r.u64();
    m.text = r.str16(kMaxTextBytes);
  }
  void operator()(DeliveryReport& m) {
    m.to = read_key(r);
    m.message_id = r.u64();
  }
  void operator()(Presence& m) {
    m.peer = read_key(r);
    m.online = read_bool(r);
    std::uint8_t reason = r.u8();
    if (reason < 1 || reason > 3) r.fail();
    m.reason = static_cast<PresenceReason>(reason);
  }
  void operator()(Ack&) {}
  void operator()(TunnelConnect& m) {
    m.to = read_key(r);
    m.host = get_hosts(r);
    m.rtt_ms = get_rtt(r);
  }
  void operator()(TunnelAnswer& m) {
    m.to = read_key(r);
    m.attempt = r.u64();
    m.accept = read_bool(r);
    m.host = get_hosts(r);
    m.rtt_ms = get_rtt(r);
    m.reason = r.str16(kMaxTunnelReasonBytes);
  }
  void operator()(TunnelConnectAccepted& m) { m.attempt = r.u64(); }
  void operator()(TunnelAnswerAck& m) { m.attempt = r.u64(); }
  void operator()(TunnelOffer& m) {
    m.attempt = r.u64();
    m.from = read_peer_info(r);
  }
  void operator()(TunnelRefused& m) {
    m.peer = read_key(r);
    m.attempt = r.u64();
    m.reason = r.str16(kMaxTunnelReasonBytes);
  }
  void operator()(PunchStart& m) {
    m.peer = read_key(r);
    m.attempt = r.u64();
    get_array(r, m.nonce);
    m.direct_feasible = read_bool(r);
    read_plan(r, m.plan);
    m.relay.username = r.str16(kMaxRelayUsernameBytes);
    m.relay.password = r.str16(kMaxRelayPasswordBytes);
    // Both or neither.
    if (m.relay.username.empty() != m.relay.password.empty()) r.fail();
  }
  void operator()(TunnelRelay& m) {
    m.to = read_key(r);
    m.attempt = r.u64();
    m.relayed = read_endpoint(r);
  }
  void operator()(TunnelRelayAck& m) { m.attempt = r.u64(); }
  void operator()(TunnelRelayed& m) {
    m.peer = read_key(r);
    m.attempt = r.u64();
    m.relayed = read_endpoint(r);
  }
  void operator()(SupernodeLeaving& m) {
    m.supernodes = get_endpoints(r, kMaxLeavingAlternatives);
  }
  void operator()(SupernodeList& m) { m.supernodes = get_endpoints(r, kMaxSupernodeList); }
  void operator()(TunnelOutcome& m) {
    m.attempt = r.u64();
    const std::uint8_t path = r.u8();
    if (path < static_cast<std::uint8_t>(OutcomePath::kDirect) ||
        path > static_cast<std::uint8_t>(OutcomePath::kFailed))
      return r.fail();
    m.path = static_cast<OutcomePath>(path);
    m.setup_ms = r.u32();
    if (m.setup_ms > kMaxSetupMs) return r.fail();
    m.rtt_ms = get_rtt(r);
    m.reason = r.str16(kMaxTunnelReasonBytes);
  }
  void operator()(TunnelOutcomeAck& m) { m.attempt = r.u64(); }
};

}  // namespace

std::uint16_t type_number(const Body& body) { return kTypeNumbers[body.index()]; }
const char* type_name(const Body& body) { return kTypeNames[body.index()]; }

const char* to_string(DecodeError e) {
  switch (e) {
    case DecodeError::kNone: return "none";
    case DecodeError::kTooShort: return "too-short";
    case DecodeError::kNotControl: return "not-control";
    case DecodeError::kBadVersion: return "bad-version";
    case DecodeError::kBadLength: return "bad-length";
    case DecodeError::kUnknownType: return "unknown-type";
    case DecodeError::kMalformedBody: return "malformed-body";
    case DecodeError::kTooLarge: return "too-large";
  }
  return "unknown";
}

std::size_t encode(const ControlMessage& message, Bytes& out) {
  const std::size_t start = out.size();
  ByteWriter w(out);
  w.u8(kMagic);
  w.u8(kVersion);
  w.u16(type_number(message.body));
  w.u8(0);  // flags: set by Session::seal
  w.u8(0);
  w.u16(0);  // body length, patched below
  w.u64(message.transaction);
  std::visit(BodyWriter{w}, message.body);
  const std::size_t body = out.size() - start - kHeaderSize;
  w.patch_u16(start + 6, static_cast<std::uint16_t>(body));
  return start;
}

std::optional<DecodedHeader> decode_header(const std::uint8_t* data, std::size_t size,
                                           DecodeError* error) {
  auto fail = [&](DecodeError e) -> std::optional<DecodedHeader> {
    if (error) *error = e;
    return std::nullopt;
  };
  if (size < kHeaderSize) return fail(DecodeError::kTooShort);
  if (size > kMaxDatagram) return fail(DecodeError::kTooLarge);
  if (data[0] != kMagic) return fail(DecodeError::kNotControl);
  if (data[1] != kVersion) return fail(DecodeError::kBadVersion);
  ByteReader r(data, size);
  r.u16();
  DecodedHeader h;
  h.type = r.u16();
  h.flags = r.u8();
  if (r.u8() != 0 || (h.flags & ~kFlagSession)) return fail(DecodeError::kMalformedBody);
  h.body_length = r.u16();
  h.transaction = r.u64();
  const std::size_t trailer = (h.flags & kFlagSession) ? kTrailerSize : 0;
  if (kHeaderSize + h.body_length + trailer != size) return fail(DecodeError::kBadLength);
  return h;
}

std::optional<ControlMessage> decode(const std::uint8_t* data, std::size_t size,
                                     DecodeError* error) {
  auto header = decode_header(data, size, error);
  if (!header) return std::nullopt;
  auto body = default_body_for(header->type);
  if (!body) {
    if (error) *error = DecodeError::kUnknownType;
    return std::nullopt;
  }
  ByteReader r(data + kHeaderSize, header->body_length);
  std::visit(BodyReader{r}, *body);
  if (!r.at_end()) {
    if (error) *error = DecodeError::kMalformedBody;
    return std::nullopt;
  }
  if (error) *error = DecodeError::kNone;
  return ControlMessage{header->transaction, std::move(*body)};
}

}  // namespace qp2p::wire
