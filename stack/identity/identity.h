// Identities: a peer or supernode *is* its Ed25519 public key (libsodium). The printable peer
// id is the key in lowercase RFC 4648 base32 without padding (52 characters), so it is safe in
// URLs, JSON and command lines.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/core/random.h"

namespace qp2p {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

struct PeerId {
  PublicKey key{};

  std::string to_string() const;  // base32, 52 chars
  static std::optional<PeerId> parse(std::string_view text);

  friend bool operator==(const PeerId& a, const PeerId& b) { return a.key == b.key; }
  friend bool operator!=(const PeerId& a, const PeerId& b) { return a.key != b.key; }
  friend bool operator<(const PeerId& a, const PeerId& b) { return a.key < b.key; }
};

struct PeerIdHash {
  std::size_t operator()(const PeerId& id) const;
};

bool verify_signature(const PeerId& signer, const std::uint8_t* message, std::size_t size,
                      const Signature& signature);

class Identity {
 public:
  using Seed = std::array<std::uint8_t, 32>;

  static Identity generate(Random& random);
  static Identity from_seed(const Seed& seed);

  const PeerId& id() const { return id_; }
  const Seed& seed() const { return seed_; }  // the secret: what a key file stores
  Signature sign(const std::uint8_t* message, std::size_t size) const;

 private:
  Seed seed_{};
  std::array<std::uint8_t, 64> secret_key_{};
  PeerId id_;
};

// Key file: one line "qp2p-ed25519-seed <64 hex chars>\n". Parsing only here; file I/O is the
// runtime's. Errors name what was wrong.
std::string encode_key_file(const Identity& identity);
std::optional<Identity> decode_key_file(std::string_view text, std::string* error);

}  // namespace qp2p
