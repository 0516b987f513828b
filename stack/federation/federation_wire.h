// Federation messages between supernodes (SWIM membership, after Das, Gupta and Motivala,
// "SWIM", DSN 2002, and opaque payloads for the replicated directory). Layout in docs/protocol.md,
// section "Federation". This file is the plaintext codec: pure encode/decode over buffers; the
// envelope that encrypts and authenticates a plaintext is federation_seal.h.
//
// Plaintext (inside the sealed envelope): the message below, then a 64-byte Ed25519 signature
// by `from` over "qp2p federation v1" || message (signed_message()), so a member proves the
// identity it claims; the network key only proves membership of the network.
//
// Message:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |       to: recipient's Ed25519 key (32 bytes; zero for a seed)   |
//  |       from: sender's Ed25519 key (32 bytes)                     |
//  |       counter (64 bits): sender's unix-microsecond counter      |
//  |       sender incarnation (32 bits)                              |
//  |       sender primary endpoint (section 5.1: 7 or 19 bytes)      |
//  |     type      |  body (per type) ...                            |
//  |  gossip count |  gossip entries (count x Entry) ...             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//   Entry: member key (32) | incarnation u32 | state u8 (1 alive, 2 suspect, 3 dead, 4 left) |
//          endpoint (section 5.1)
//   1 Ping:    seq u32
//   2 Ack:     seq u32 | about: key of the member that answered (32)
//   3 PingReq: seq u32 | target key (32) | target endpoint
//   4 Sync:    flags u8 (bit 0: reply wanted) -- the entries carry the sender's member table
//   5 Payload: length u16 | bytes (at most kMaxPayload; opaque, for the directory)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/core/endpoint.h"
#include "stack/identity/identity.h"

namespace qp2p::federation {

// Largest federation datagram (envelope included): a 1500-byte (Ethernet) MTU less the IPv6
// and UDP headers (40 + 8), so it crosses any path of that MTU, IPv4 or IPv6, unfragmented.
// Larger than qp2p control messages (1232: the 1280-byte IPv6 minimum MTU) because a payload
// must carry the largest stored metadata record with its sync header (kMaxPayload);
// supernode-to-supernode links are server links where a 1500-byte MTU is assumed
// (docs/protocol.md section 14.2).
inline constexpr std::size_t kMaxDatagram = 1452;
inline constexpr std::size_t kEnvelopeOverhead = 32 + 16;  // header + Poly1305 tag
inline constexpr std::size_t kMaxPlaintext = kMaxDatagram - kEnvelopeOverhead;
inline constexpr std::size_t kSignatureSize = 64;
// Largest encoded message (the plaintext less the signature).
inline constexpr std::size_t kMaxMessage = kMaxPlaintext - kSignatureSize;
// Gossip entries one message carries at most (an IPv6 entry is 56 bytes).
inline constexpr std::size_t kMaxEntries = 16;
// Largest opaque payload (a directory sync message must fit this): room for the largest
// metadata record a supernode stores (1079 bytes, section 10) with the sync message's header.
inline constexpr std::size_t kMaxPayload = 1200;
// A Payload message without gossip: to, from, counter, incarnation, an IPv6 endpoint, type,
// length, the payload, the gossip count.
inline constexpr std::size_t kPayloadMessageOverhead = 32 + 32 + 8 + 4 + 19 + 1 + 2 + 1;
static_assert(kPayloadMessageOverhead + kMaxPayload <= kMaxMessage,
              "a full payload must fit one federation datagram");

enum class MemberState : std::uint8_t { kAlive = 1, kSuspect = 2, kDead = 3, kLeft = 4 };
const char* to_string(MemberState s);

struct Entry {
  PeerId id;
  std::uint32_t incarnation = 0;
  MemberState state = MemberState::kAlive;
  Endpoint endpoint;

  friend bool operator==(const Entry& a, const Entry& b) {
    return a.id == b.id && a.incarnation == b.incarnation && a.state == b.state &&
           a.endpoint == b.endpoint;
  }
};

struct Ping { std::uint32_t seq = 0; };
struct Ack { std::uint32_t seq = 0; PeerId about; };
struct PingReq { std::uint32_t seq = 0; PeerId target; Endpoint target_endpoint; };
struct Sync { bool reply_wanted = false; };
struct Payload { Bytes data; };

using Body = std::variant<Ping, Ack, PingReq, Sync, Payload>;
const char* type_name(const Body& body);

struct Message {
  PeerId to;  // all-zero: "whoever listens at this address" (a seed)
  PeerId from;
  std::uint64_t counter = 0;
  std::uint32_t from_incarnation = 0;
  Endpoint from_endpoint;
  Body body;
  std::vector<Entry> gossip;
};

enum class DecodeError {
  kNone,
  kTruncated,      // a field runs past the end
  kTooLong,        // message longer than kMaxMessage
  kBadType,        // unknown message type
  kBadEndpoint,    // endpoint family not 4 or 6
  kBadState,       // entry state not 1-4
  kTooManyEntries, // gossip count above kMaxEntries
  kPayloadTooLong, // payload above kMaxPayload
  kTrailingBytes,  // bytes after the last entry
};
const char* to_string(DecodeError e);

// Appends the plaintext of `message` to `out`. Gossip entries are added in order while the
// message stays within kMaxMessage and kMaxEntries; returns how many were included.
std::size_t encode(const Message& message, Bytes& out);
std::optional<Message> decode(const std::uint8_t* data, std::size_t size, DecodeError* error);

// What the sender's signature covers: the domain string, then the encoded message.
Bytes signed_message(const std::uint8_t* message, std::size_t size);

}  // namespace qp2p::federation
