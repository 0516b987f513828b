// The federation's shared credential: every supernode of one network holds the same secret
// (`--network-secret FILE`); from it each derives the same 256-bit datagram key with libsodium's
// BLAKE2b (crypto_generichash, then crypto_kdf_derive_from_key, context "qp2pfed1"). Whoever
// lacks the secret can neither read, forge nor replay federation datagrams (federation_seal.h).
// A short key id (BLAKE2b of the key, 4 bytes) lets a receiver count datagrams of another network
// apart from forged ones without revealing anything about the secret.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qp2p::federation {

// Secrets shorter than this are refused: a network secret is a key, not a password.
inline constexpr std::size_t kMinSecretBytes = 16;
inline constexpr std::size_t kMaxSecretBytes = 4096;

class NetworkKey {
 public:
  using Key = std::array<std::uint8_t, 32>;

  // Derives the key from the secret's bytes (a file's content; surrounding whitespace is
  // ignored so an editor's trailing newline does not change the network). nullopt and `error`
  // set when the secret is too short or too long.
  static std::optional<NetworkKey> from_secret(std::string_view secret, std::string* error);

  const Key& key() const { return key_; }
  std::uint32_t key_id() const { return key_id_; }

 private:
  Key key_{};
  std::uint32_t key_id_ = 0;
};

}  // namespace qp2p::federation
