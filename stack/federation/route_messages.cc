// Routing messages between member supernodes (see route_messages.h).
#include "stack/federation/route_messages.h"

#include "stack/wire/records.h"

namespace qp2p::federation {

const char* to_string(RouteDecodeError error) {
  switch (error) {
    case RouteDecodeError::kNone:
      return "none";
    case RouteDecodeError::kUnknownType:
      return "unknown type";
    case RouteDecodeError::kTooLong:
      return "text too long";
    case RouteDecodeError::kTruncated:
      return "truncated";
    case RouteDecodeError::kTrailing:
      return "trailing bytes";
    case RouteDecodeError::kCount:
      break;
  }
  return "?";
}

Bytes encode(const RouteMessage& m) {
  Bytes out;
  ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(m.type));
  wire::append_key(w, m.sender);
  wire::append_key(w, m.target);
  w.u64(m.message_id);
  if (m.type == RouteType::kDeliver) w.str16(m.text);
  return out;
}

std::optional<RouteMessage> decode_route(const Bytes& payload, RouteDecodeError* error) {
  auto fail = [&](RouteDecodeError e) -> std::optional<RouteMessage> {
    if (error) *error = e;
    return std::nullopt;
  };
  ByteReader r(payload.data(), payload.size());
  RouteMessage m;
  const std::uint8_t type = r.u8();
  if (!r.ok()) return fail(RouteDecodeError::kTruncated);
  if (type < 0x10 || type > 0x12) return fail(RouteDecodeError::kUnknownType);
  m.type = static_cast<RouteType>(type);
  m.sender = wire::read_key(r);
  m.target = wire::read_key(r);
  m.message_id = r.u64();
  if (m.type == RouteType::kDeliver) {
    const std::size_t before = r.remaining();
    m.text = r.str16(kMaxRoutedText);
    // str16 fails both on a length above the bound and on truncation: tell them apart.
    const std::size_t length = before >= 2 ? (std::size_t{payload[payload.size() - before]} << 8) |
                                                 payload[payload.size() - before + 1]
                                           : 0;
    if (!r.ok() && length > kMaxRoutedText)
      return fail(RouteDecodeError::kTooLong);
  }
  if (!r.ok()) return fail(RouteDecodeError::kTruncated);
  if (!r.at_end()) return fail(RouteDecodeError::kTrailing);
  if (error) *error = RouteDecodeError::kNone;
  return m;
}

}  // namespace qp2p::federation
