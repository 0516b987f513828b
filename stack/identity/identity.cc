// Ed25519 identities and their base32 (RFC 4648 section 6, lowercase, unpadded) text form.
#include "stack/identity/identity.h"

#include <sodium.h>

#include <cctype>
#include <cstring>
#include <stdexcept>

namespace qp2p {

namespace {
constexpr char kBase32Alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kPeerIdChars = 52;  // ceil(256 / 5)
constexpr std::string_view kKeyFileTag = "qp2p-ed25519-seed ";

int base32_value(char c) {
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

std::string PeerId::to_string() const {
  std::string out;
  out.reserve(kPeerIdChars);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : key) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::optional<PeerId> PeerId::parse(std::string_view text) {
  if (text.size() != kPeerIdChars) return std::nullopt;
  PeerId id;
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : text) {
    int v = base32_value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      id.key[n++] = static_cast<std::uint8_t>(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  // 52 * 5 = 260 bits: the 4 trailing bits must be zero for a canonical encoding.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return id;
}

std::size_t PeerIdHash::operator()(const PeerId& id) const {
  std::size_t h;
  std::memcpy(&h, id.key.data(), sizeof(h));  // keys are uniformly random
  return h;
}

bool verify_signature(const PeerId& signer, const std::uint8_t* message, std::size_t size,
                      const Signature& signature) {
  return crypto_sign_verify_detached(signature.data(), message, size, signer.key.data()) == 0;
}

Identity Identity::generate(Random& random) {
  Seed seed;
  random.fill(seed.data(), seed.size());
  return from_seed(seed);
}

Identity Identity::from_seed(const Seed& seed) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  Identity identity;
  identity.seed_ = seed;
  crypto_sign_seed_keypair(identity.id_.key.data(), identity.secret_key_.data(), seed.data());
  return identity;
}

Signature Identity::sign(const std::uint8_t* message, std::size_t size) const {
  Signature signature;
  crypto_sign_detached(signature.data(), nullptr, message, size, secret_key_.data());
  return signature;
}

std::string encode_key_file(const Identity& identity) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kKeyFileTag);
  for (std::uint8_t b : identity.seed()) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  out.push_back('\n');
  return out;
}

std::optional<Identity> decode_key_file(std::string_view text, std::string* error) {
  auto fail = [&](const char* why) {
    if (error) *error = why;
    return std::nullopt;
  };
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.substr(0, kKeyFileTag.size()) != kKeyFileTag)
    return fail("line 1: expected 'qp2p-ed25519-seed <64 hex digits>'");
  text.remove_prefix(kKeyFileTag.size());
  if (text.size() != 64) return fail("line 1: the seed must be exactly 64 hex digits");
  Identity::Seed seed;
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail("line 1: the seed has a character that is not hex");
    seed[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return Identity::from_seed(seed);
}

}  // namespace qp2p
