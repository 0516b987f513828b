// Federation plaintext codec (see federation_wire.h; docs/protocol.md, "Federation").
#include "stack/federation/federation_wire.h"

#include "stack/core/byte_io.h"
#include "stack/wire/records.h"

namespace qp2p::federation {

namespace {
enum Type : std::uint8_t { kPing = 1, kAck = 2, kPingReq = 3, kSync = 4, kPayload = 5 };

void append_entry(ByteWriter& w, const Entry& e) {
  wire::append_key(w, e.id);
  w.u32(e.incarnation);
  w.u8(static_cast<std::uint8_t>(e.state));
  wire::append(w, e.endpoint);
}

std::size_t entry_size(const Entry& e) { return 32 + 4 + 1 + 1 + e.endpoint.address.size() + 2; }

struct Reader {
  ByteReader r;
  DecodeError error = DecodeError::kNone;

  void fail(DecodeError e) {
    if (error == DecodeError::kNone) error = e;
    r.fail();
  }
  Endpoint endpoint() {
    // Peek the family so a bad one is reported as such rather than as truncation.
    ByteReader peek = r;
    const std::uint8_t family = peek.u8();
    if (peek.ok() && family != 4 && family != 6) fail(DecodeError::kBadEndpoint);
    return wire::read_endpoint(r);
  }
};
}  // namespace

const char* to_string(MemberState s) {
  switch (s) {
    case MemberState::kAlive: return "alive";
    case MemberState::kSuspect: return "suspect";
    case MemberState::kDead: return "dead";
    case MemberState::kLeft: return "left";
  }
  return "?";
}

const char* type_name(const Body& body) {
  static const char* const kNames[] = {"ping", "ack", "ping-req", "sync", "payload"};
  return kNames[body.index()];
}

const char* to_string(DecodeError e) {
  switch (e) {
    case DecodeError::kNone: return "none";
    case DecodeError::kTruncated: return "truncated";
    case DecodeError::kTooLong: return "plaintext too long";
    case DecodeError::kBadType: return "unknown message type";
    case DecodeError::kBadEndpoint: return "bad endpoint family";
    case DecodeError::kBadState: return "bad member state";
    case DecodeError::kTooManyEntries: return "too many gossip entries";
    case DecodeError::kPayloadTooLong: return "payload too long";
    case DecodeError::kTrailingBytes: return "trailing bytes";
  }
  return "?";
}

std::size_t encode(const Message& m, Bytes& out) {
  const std::size_t start = out.size();
  ByteWriter w(out);
  wire::append_key(w, m.to);
  wire::append_key(w, m.from);
  w.u64(m.counter);
  w.u32(m.from_incarnation);
  wire::append(w, m.from_endpoint);
  if (const auto* p = std::get_if<Ping>(&m.body)) {
    w.u8(kPing);
    w.u32(p->seq);
  } else if (const auto* a = std::get_if<Ack>(&m.body)) {
    w.u8(kAck);
    w.u32(a->seq);
    wire::append_key(w, a->about);
  } else if (const auto* q = std::get_if<PingReq>(&m.body)) {
    w.u8(kPingReq);
    w.u32(q->seq);
    wire::append_key(w, q->target);
    wire::append(w, q->target_endpoint);
  } else if (const auto* s = std::get_if<Sync>(&m.body)) {
    w.u8(kSync);
    w.u8(s->reply_wanted ? 1 : 0);
  } else if (const auto* d = std::get_if<Payload>(&m.body)) {
    w.u8(kPayload);
    const std::size_t n = std::min(d->data.size(), kMaxPayload);
    w.u16(static_cast<std::uint16_t>(n));
    w.bytes(d->data.data(), n);
  }
  const std::size_t count_at = out.size();
  w.u8(0);
  std::size_t n = 0;
  for (const Entry& e : m.gossip) {
    if (n == kMaxEntries || out.size() - start + entry_size(e) > kMaxMessage) break;
    append_entry(w, e);
    ++n;
  }
  out[count_at] = static_cast<std::uint8_t>(n);
  return n;
}

std::optional<Message> decode(const std::uint8_t* data, std::size_t size, DecodeError* error) {
  const auto failed = [error](DecodeError e) -> std::optional<Message> {
    if (error) *error = e;
    return std::nullopt;
  };
  if (size > kMaxMessage) return failed(DecodeError::kTooLong);
  Reader in{ByteReader(data, size)};
  ByteReader& r = in.r;
  Message m;
  m.to = wire::read_key(r);
  m.from = wire::read_key(r);
  m.counter = r.u64();
  m.from_incarnation = r.u32();
  m.from_endpoint = in.endpoint();
  const std::uint8_t type = r.u8();
  if (r.ok()) {
    switch (type) {
      case kPing: m.body = Ping{r.u32()}; break;
      case kAck: {
        Ack a;
        a.seq = r.u32();
        a.about = wire::read_key(r);
        m.body = a;
        break;
      }
      case kPingReq: {
        PingReq q;
        q.seq = r.u32();
        q.target = wire::read_key(r);
        q.target_endpoint = in.endpoint();
        m.body = q;
        break;
      }
      case kSync: {
        const std::uint8_t flags = r.u8();
        m.body = Sync{(flags & 1) != 0};
        break;
      }
      case kPayload: {
        const std::size_t n = r.u16();
        if (r.ok() && n > kMaxPayload) return failed(DecodeError::kPayloadTooLong);
        const std::uint8_t* p = r.take(n);
        if (p) m.body = Payload{Bytes(p, p + n)};
        break;
      }
      default: return failed(DecodeError::kBadType);
    }
  }
  const std::size_t count = r.u8();
  if (r.ok() && count > kMaxEntries) return failed(DecodeError::kTooManyEntries);
  for (std::size_t i = 0; i < count && r.ok(); ++i) {
    Entry e;
    e.id = wire::read_key(r);
    e.incarnation = r.u32();
    const std::uint8_t state = r.u8();
    if (r.ok() && (state < 1 || state > 4)) return failed(DecodeError::kBadState);
    e.state = static_cast<MemberState>(state);
    e.endpoint = in.endpoint();
    m.gossip.push_back(e);
  }
  if (!r.ok())
    return failed(in.error != DecodeError::kNone ? in.error : DecodeError::kTruncated);
  if (!r.at_end()) return failed(DecodeError::kTrailingBytes);
  if (error) *error = DecodeError::kNone;
  return m;
}

Bytes signed_message(const std::uint8_t* message, std::size_t size) {
  static constexpr char kDomain[] = "qp2p federation v1";
  Bytes out(kDomain, kDomain + sizeof(kDomain) - 1);
  out.insert(out.end(), message, message + size);
  return out;
}

}  // namespace qp2p::federation
