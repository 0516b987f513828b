// Tunnel packets: what two peers send each other directly (or through a relay) once a handshake
// has given them each other's candidates. Pure parse/append functions over buffers.
//
// Every packet starts with the magic 0x52, outside every range RFC 7983 assigns (STUN 0-3, DTLS
// 20-63, TURN channel data 64-79, RTP 128-191) and distinct from qp2p control (0x51), so tunnel,
// STUN, TURN and control traffic share one socket and are told apart by the first byte.
//
// Connectivity check (request type 1, response type 2), exactly 192 bytes:
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  magic 0x52   |  version 1    |   type 1/2    |     flags     |   0
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 transaction id (96 bits)                      |   4
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |              sender peer id (Ed25519 key, 256 bits)           |  16
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                   sender tie-breaker (64 bits)                |  48
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      sender tunnel id (64 bits, non-zero): the id the sender  |  56
//  |      wants on the data packets addressed to it                |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |        sender ephemeral X25519 public key (256 bits)          |  64
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   receiver ephemeral key as the sender knows it (256 bits;    |  96
//  |   all zero in a request sent before the sender heard the      |
//  |   receiver; never zero in a response)                         |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |          Ed25519 signature by the sender (512 bits)           | 128
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                                                    192
//   flags: bit 0 "nominate" (requests only); other bits must be zero.
//
// The signature covers check_transcript(): a domain string, the type, the flags, the
// transaction id, both peer ids (the receiver's is not on the wire: the receiver supplies its
// own), the tie-breaker, the tunnel id, both ephemeral keys and the 32-byte per-attempt nonce
// the handshake service gave both peers. So only the holder of the expected identity key can
// produce a check the receiver accepts, a check cannot be moved to another attempt or peer, and
// a response binds both ephemeral keys (the tunnel keys come from those).
//
// Sealed packets (data type 3, keepalive type 4, close type 5):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  magic 0x52   |  version 1    |   type 3-5    |   flags 0     |   0
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |        receiver tunnel id (64 bits, non-zero)                 |   4
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |        counter (64 bits, non-zero, per direction)             |  12
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  ChaCha20-Poly1305 (IETF) ciphertext of the plaintext, then   |  20
//  |  the 16-byte tag; the 20 header bytes are additional data     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//   plaintext: data 0..kMaxPlaintext bytes; keepalive empty; close one reason byte.
//   The AEAD nonce is derived from the counter and the direction (tunnel_keys.h).
//
// Every packet is at most kMaxPacketSize bytes (fits the 1280-byte IPv6 minimum MTU).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>

#include "stack/core/datagram.h"
#include "stack/identity/identity.h"
#include "stack/wire/control_message.h"

namespace qp2p::tunnel {

inline constexpr std::uint8_t kMagic = 0x52;
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::uint8_t kFlagNominate = 0x01;

inline constexpr std::size_t kCheckSize = 192;
inline constexpr std::size_t kSealedHeaderSize = 20;
inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::size_t kMaxPacketSize = 1232;
inline constexpr std::size_t kMaxPlaintext = kMaxPacketSize - kSealedHeaderSize - kAeadTagSize;
inline constexpr std::size_t kClosePlaintextSize = 1;

enum class PacketType : std::uint8_t {
  kCheckRequest = 1,
  kCheckResponse = 2,
  kData = 3,
  kKeepalive = 4,
  kClose = 5,
};

using TransactionId = std::array<std::uint8_t, 12>;
using X25519Key = wire::X25519Key;
using AttemptNonce = wire::Nonce;  // 32 bytes, shared by both peers of one attempt

struct CheckPacket {
  bool response = false;
  bool nominate = false;  // requests only
  TransactionId transaction{};
  PeerId sender;
  std::uint64_t tie_breaker = 0;
  std::uint64_t tunnel_id = 0;
  X25519Key sender_ephemeral{};
  X25519Key receiver_ephemeral{};
  Signature signature{};
};

// A parsed sealed packet. The pointers point into the parsed buffer: valid while it is.
struct SealedPacket {
  PacketType type = PacketType::kData;
  std::uint64_t tunnel_id = 0;
  std::uint64_t counter = 0;
  const std::uint8_t* header = nullptr;  // the kSealedHeaderSize header bytes (AEAD AD)
  const std::uint8_t* ciphertext = nullptr;
  std::size_t ciphertext_size = 0;  // plaintext size + kAeadTagSize
};

using Packet = std::variant<CheckPacket, SealedPacket>;

enum class ParseError : std::uint8_t {
  kNone = 0,
  kTooShort,       // shorter than the header or than its type needs
  kTooLarge,       // longer than kMaxPacketSize, or than its type allows
  kBadMagic,       // first byte is not 0x52 (not a tunnel packet)
  kBadVersion,
  kUnknownType,
  kBadFlags,       // reserved flag bits set, or nominate on a non-request
  kZeroTunnelId,
  kZeroCounter,
  kZeroKey,        // sender ephemeral all zero, or a response's receiver ephemeral all zero
};
const char* to_string(ParseError e);

inline bool looks_like_tunnel(const std::uint8_t* data, std::size_t size) {
  return size >= 1 && data[0] == kMagic;
}

// Structural parse: lengths, reserved bits, non-zero fields. Does not verify signatures or
// decrypt. nullopt (and *error set) on anything malformed.
std::optional<Packet> parse(const std::uint8_t* data, std::size_t size,
                            ParseError* error = nullptr);

// Appends the 192-byte check (with whatever signature it holds).
void append_check(const CheckPacket& check, Bytes& out);
// Appends the 20-byte sealed header; the caller appends ciphertext and tag.
void append_sealed_header(PacketType type, std::uint64_t tunnel_id, std::uint64_t counter,
                          Bytes& out);

// The bytes a check's signature covers (see the header comment). `receiver` is the peer the
// check is addressed to.
Bytes check_transcript(const CheckPacket& check, const PeerId& receiver,
                       const AttemptNonce& nonce);
// Fills check.sender and check.signature.
void sign_check(CheckPacket& check, const Identity& sender, const PeerId& receiver,
                const AttemptNonce& nonce);
// True when check.signature is check.sender's over the transcript addressed to `receiver`.
bool verify_check(const CheckPacket& check, const PeerId& receiver, const AttemptNonce& nonce);

}  // namespace qp2p::tunnel
