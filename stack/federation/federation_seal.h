// The envelope of every federation datagram: XChaCha20-Poly1305 (IETF AEAD, libsodium
// crypto_aead_xchacha20poly1305_ietf; draft-irtf-cfrg-xchacha) under the network key
// (network_key.h), with a random 192-bit nonce per datagram (safe with random nonces, unlike
// the 96-bit ChaCha20-Poly1305 one). The 8 header bytes and the nonce are associated data.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  magic 0x53   |  version 1    |          reserved 0           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     key id (network_key.h)                    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                      nonce (24 bytes) ...                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      ciphertext of the plaintext (federation_wire.h) ...      |
//  |                   Poly1305 tag (16 bytes)                     |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The first byte 0x53 ('S', supernode) lies outside every RFC 7983 range and outside RFC 8656's
// channel numbers (0x4000-0x4FFF), next to qp2p control (0x51) and tunnel packets (0x52).
// Replay protection is the receiver's (replay_guard.h), over the counter inside the plaintext.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/core/datagram.h"
#include "stack/core/random.h"
#include "stack/federation/network_key.h"

namespace qp2p::federation {

inline constexpr std::uint8_t kMagic = 0x53;
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kSealHeaderSize = 32;
inline constexpr std::size_t kTagSize = 16;

inline bool looks_like_federation(const std::uint8_t* data, std::size_t size) {
  return size >= 1 && data[0] == kMagic;
}

// Seals `plaintext` into a datagram (appended to `out`).
void seal(const NetworkKey& key, Random& random, const Bytes& plaintext, Bytes& out);

enum class OpenError {
  kNone,
  kNotFederation,  // first byte is not 0x53
  kTruncated,      // shorter than header and tag
  kTooLong,        // longer than kMaxDatagram
  kBadVersion,     // version other than 1, or reserved bits set
  kWrongNetwork,   // key id of another network secret
  kBadTag,         // authentication failed (forged, altered, or another key with a colliding id)
};
const char* to_string(OpenError e);

// Authenticates and decrypts; the plaintext on success.
std::optional<Bytes> open(const NetworkKey& key, const std::uint8_t* data, std::size_t size,
                          OpenError* error);

}  // namespace qp2p::federation
