// Derivation of the federation datagram key from the network secret (see network_key.h).
#include "stack/federation/network_key.h"

#include <sodium.h>

namespace qp2p::federation {

namespace {
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES] = {'q', 'p', '2', 'p', 'f', 'e', 'd', '1'};
constexpr std::uint64_t kDatagramKeyId = 1;
constexpr std::string_view kKeyIdDomain = "qp2p federation key id v1";

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}
}  // namespace

std::optional<NetworkKey> NetworkKey::from_secret(std::string_view secret, std::string* error) {
  secret = trim(secret);
  if (secret.size() < kMinSecretBytes || secret.size() > kMaxSecretBytes) {
    if (error)
      *error = "network secret is " + std::to_string(secret.size()) + " bytes; expected " +
               std::to_string(kMinSecretBytes) + " to " + std::to_string(kMaxSecretBytes);
    return std::nullopt;
  }
  if (sodium_init() < 0) {
    if (error) *error = "libsodium failed to initialise";
    return std::nullopt;
  }
  std::uint8_t master[crypto_kdf_KEYBYTES];
  crypto_generichash(master, sizeof(master), reinterpret_cast<const std::uint8_t*>(secret.data()),
                     secret.size(), nullptr, 0);
  NetworkKey k;
  crypto_kdf_derive_from_key(k.key_.data(), k.key_.size(), kDatagramKeyId, kKdfContext, master);
  sodium_memzero(master, sizeof(master));
  std::uint8_t id[crypto_generichash_BYTES_MIN];  // 16; the first 4 are the id
  crypto_generichash(id, sizeof(id), reinterpret_cast<const std::uint8_t*>(kKeyIdDomain.data()),
                     kKeyIdDomain.size(), k.key_.data(), k.key_.size());
  k.key_id_ = (std::uint32_t{id[0]} << 24) | (std::uint32_t{id[1]} << 16) |
              (std::uint32_t{id[2]} << 8) | id[3];
  return k;
}

}  // namespace qp2p::federation
