// Tunnel key schedule, packet sealing and the receive replay window.
//
// Key schedule (both peers compute the same keys; neither a supernode nor a relay can):
//
//   shared = X25519(my ephemeral secret, peer's ephemeral public)
//   Order the two sides by peer id (bytewise): "low" and "high".
//   prk    = BLAKE2b-256("qp2p tunnel keys v1" || shared || id_low || eph_low || id_high ||
//                         eph_high || attempt nonce)
//   key(low -> high) = crypto_kdf_derive_from_key(id 1, context "qp2ptunl", prk)
//   key(high -> low) = crypto_kdf_derive_from_key(id 2, context "qp2ptunl", prk)
//
// Binding both identities and both ephemeral keys means a key is only shared with the holder of
// the peer identity whose signed check carried that ephemeral key (tunnel_packet.h); the
// attempt nonce keeps keys of two attempts between the same peers apart. Each direction has its
// own key, and the AEAD nonce (crypto_aead_chacha20poly1305_ietf, 96 bits) is the direction
// (32 bits, 1 = low->high, 2 = high->low) followed by the packet counter (64 bits, big-endian):
// unique per key as long as counters never repeat, and a packet reflected back to its sender
// fails to open.
//
// Replay window: as WireGuard's (RFC 6479's bitmap): kReplayWindow counters below the highest
// accepted one are tracked; older ones and repeats are rejected. check() before decrypting
// (cheap), accept() only after the AEAD tag verified, so forged packets cannot move the window.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "stack/core/datagram.h"
#include "stack/identity/identity.h"
#include "stack/tunnel/tunnel_packet.h"
#include "stack/wire/session.h"

namespace qp2p::tunnel {

using AeadKey = std::array<std::uint8_t, 32>;

// Which way a key carries packets, by peer id order.
enum class KeyDirection : std::uint32_t { kLowToHigh = 1, kHighToLow = 2 };

struct TunnelKeys {
  AeadKey send{};
  AeadKey receive{};
  KeyDirection send_direction = KeyDirection::kLowToHigh;
  KeyDirection receive_direction() const {
    return send_direction == KeyDirection::kLowToHigh ? KeyDirection::kHighToLow
                                                      : KeyDirection::kLowToHigh;
  }
};

// Derives both directional keys. nullopt when the peer's key is a low-order point (X25519
// output all zero) or when `me` equals `peer`.
std::optional<TunnelKeys> derive_tunnel_keys(const wire::EphemeralKeyPair& mine,
                                             const X25519Key& theirs, const PeerId& me,
                                             const PeerId& peer, const AttemptNonce& nonce);

// A complete sealed packet: header, then the plaintext encrypted under keys.send.
// Precondition: size <= kMaxPlaintext, counter != 0, receiver_tunnel_id != 0.
Bytes seal(const TunnelKeys& keys, PacketType type, std::uint64_t receiver_tunnel_id,
           std::uint64_t counter, const std::uint8_t* plaintext, std::size_t size);

// Verifies and decrypts a parsed sealed packet under keys.receive; nullopt on a bad tag.
std::optional<Bytes> open(const TunnelKeys& keys, const SealedPacket& packet);

// Sliding anti-replay window over received counters (counter 0 is never valid).
class ReplayWindow {
 public:
  static constexpr std::size_t kBlocks = 16;  // 64-bit blocks in the ring
  // Counters this far below the highest accepted one are still tracked individually.
  static constexpr std::uint64_t kReplayWindow = (kBlocks - 1) * 64;  // 960

  // True when `counter` was not accepted before and is not too old.
  bool check(std::uint64_t counter) const;
  // Records `counter` (call only after check() and authentication succeeded).
  void accept(std::uint64_t counter);
  std::uint64_t highest() const { return highest_; }

 private:
  std::array<std::uint64_t, kBlocks> bitmap_{};
  std::uint64_t highest_ = 0;
};

}  // namespace qp2p::tunnel
