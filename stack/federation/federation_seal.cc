// The federation datagram envelope (see federation_seal.h).
#include "stack/federation/federation_seal.h"

#include <sodium.h>

#include "stack/federation/federation_wire.h"

namespace qp2p::federation {

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagSize);
static_assert(kSealHeaderSize + kTagSize == kEnvelopeOverhead);

namespace {
constexpr std::size_t kNonceOffset = 8;
}  // namespace

const char* to_string(OpenError e) {
  switch (e) {
    case OpenError::kNone: return "none";
    case OpenError::kNotFederation: return "not a federation datagram";
    case OpenError::kTruncated: return "truncated";
    case OpenError::kTooLong: return "too long";
    case OpenError::kBadVersion: return "bad version";
    case OpenError::kWrongNetwork: return "key id of another network";
    case OpenError::kBadTag: return "authentication failed";
  }
  return "?";
}

void seal(const NetworkKey& key, Random& random, const Bytes& plaintext, Bytes& out) {
  const std::size_t start = out.size();
  out.resize(start + kSealHeaderSize + plaintext.size() + kTagSize);
  std::uint8_t* h = out.data() + start;
  h[0] = kMagic;
  h[1] = kVersion;
  h[2] = h[3] = 0;
  const std::uint32_t id = key.key_id();
  h[4] = static_cast<std::uint8_t>(id >> 24);
  h[5] = static_cast<std::uint8_t>(id >> 16);
  h[6] = static_cast<std::uint8_t>(id >> 8);
  h[7] = static_cast<std::uint8_t>(id);
  random.fill(h + kNonceOffset, kSealHeaderSize - kNonceOffset);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(h + kSealHeaderSize, &written, plaintext.data(),
                                             plaintext.size(), h, kSealHeaderSize, nullptr,
                                             h + kNonceOffset, key.key().data());
  out.resize(start + kSealHeaderSize + written);
}

std::optional<Bytes> open(const NetworkKey& key, const std::uint8_t* data, std::size_t size,
                          OpenError* error) {
  const auto failed = [error](OpenError e) -> std::optional<Bytes> {
    if (error) *error = e;
    return std::nullopt;
  };
  if (!looks_like_federation(data, size)) return failed(OpenError::kNotFederation);
  if (size < kSealHeaderSize + kTagSize) return failed(OpenError::kTruncated);
  if (size > kMaxDatagram) return failed(OpenError::kTooLong);
  if (data[1] != kVersion || data[2] != 0 || data[3] != 0) return failed(OpenError::kBadVersion);
  const std::uint32_t id = (std::uint32_t{data[4]} << 24) | (std::uint32_t{data[5]} << 16) |
                           (std::uint32_t{data[6]} << 8) | data[7];
  if (id != key.key_id()) return failed(OpenError::kWrongNetwork);
  Bytes plain(size - kSealHeaderSize - kTagSize);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &written, nullptr,
                                                 data + kSealHeaderSize, size - kSealHeaderSize,
                                                 data, kSealHeaderSize, data + kNonceOffset,
                                                 key.key().data()) != 0)
    return failed(OpenError::kBadTag);
  plain.resize(written);
  if (error) *error = OpenError::kNone;
  return plain;
}

}  // namespace qp2p::federation
