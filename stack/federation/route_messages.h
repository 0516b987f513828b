// Routing messages between member supernodes (docs/protocol.md section 14.6): an instant message
// for a peer logged into another supernode goes there in one hop, as a payload on the
// membership's authenticated channel (which names the sending supernode); the target's
// supernode answers with a delivery report or an undeliverable notice. Pure encode/decode;
// types 0x10-0x1F are routing (1-4 are the directory's, directory_sync_messages.h).
//
//   payload        = type: u8 | sender: key | target: key | message_id: u64 | body
//   0x10 deliver   body = length: u16 (<= kMaxRoutedText) | text (UTF-8 as sent)
//   0x11 delivered body = (none)   the target acknowledged the delivery
//   0x12 undeliverable body = (none)   the target is not logged in there (or never acked)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stack/core/byte_io.h"
#include "stack/core/datagram.h"
#include "stack/federation/federation_wire.h"
#include "stack/identity/identity.h"

namespace qp2p::federation {

enum class RouteType : std::uint8_t { kDeliver = 0x10, kDelivered = 0x11, kUndeliverable = 0x12 };

// A deliver is at most 1000 bytes with its 75-byte header, inside a payload (federation_wire.h
// kMaxPayload); a longer text is refused at the sender's supernode (docs/protocol.md 14.6).
inline constexpr std::size_t kMaxRoutedText = 925;
static_assert(75 + kMaxRoutedText <= kMaxPayload, "a deliver must fit one federation payload");

inline bool is_route_payload(const Bytes& payload) {
  return !payload.empty() && payload[0] >= 0x10 && payload[0] <= 0x1F;
}

struct RouteMessage {
  RouteType type = RouteType::kDeliver;
  PeerId sender;  // the peer that sent the instant message
  PeerId target;  // the peer it is for
  std::uint64_t message_id = 0;
  std::string text;  // kDeliver only
};

enum class RouteDecodeError : std::uint8_t {
  kNone,
  kUnknownType,
  kTooLong,    // text above kMaxRoutedText
  kTruncated,
  kTrailing,
  kCount
};
const char* to_string(RouteDecodeError error);

Bytes encode(const RouteMessage& message);
std::optional<RouteMessage> decode_route(const Bytes& payload, RouteDecodeError* error);

}  // namespace qp2p::federation
