// Tunnel key schedule, AEAD sealing and replay window (see tunnel_keys.h).
#include "stack/tunnel/tunnel_keys.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>

#include "stack/core/byte_io.h"
#include "stack/wire/records.h"

namespace qp2p::tunnel {

namespace {

constexpr std::string_view kKeyDomain = "qp2p tunnel keys v1";
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "qp2ptunl";
constexpr std::uint64_t kSubkeyLowToHigh = 1;
constexpr std::uint64_t kSubkeyHighToLow = 2;

static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kAeadTagSize);
static_assert(crypto_kdf_KEYBYTES == 32);

void aead_nonce(KeyDirection direction, std::uint64_t counter,
                std::uint8_t out[crypto_aead_chacha20poly1305_ietf_NPUBBYTES]) {
  const auto d = static_cast<std::uint32_t>(direction);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(d >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
}

}  // namespace

std::optional<TunnelKeys> derive_tunnel_keys(const wire::EphemeralKeyPair& mine,
                                             const X25519Key& theirs, const PeerId& me,
                                             const PeerId& peer, const AttemptNonce& nonce) {
  if (me == peer) return std::nullopt;
  std::uint8_t shared[crypto_scalarmult_BYTES];
  if (crypto_scalarmult(shared, mine.secret.data(), theirs.data()) != 0) return std::nullopt;
  const bool i_am_low = me < peer;
  const PeerId& id_low = i_am_low ? me : peer;
  const PeerId& id_high = i_am_low ? peer : me;
  const X25519Key& eph_low = i_am_low ? mine.public_key : theirs;
  const X25519Key& eph_high = i_am_low ? theirs : mine.public_key;

  Bytes input;
  input.reserve(kKeyDomain.size() + 32 * 6);
  ByteWriter w(input);
  w.bytes(reinterpret_cast<const std::uint8_t*>(kKeyDomain.data()), kKeyDomain.size());
  w.bytes(shared, sizeof(shared));
  wire::append_key(w, id_low);
  w.bytes(eph_low.data(), eph_low.size());
  wire::append_key(w, id_high);
  w.bytes(eph_high.data(), eph_high.size());
  w.bytes(nonce.data(), nonce.size());
  std::uint8_t prk[crypto_kdf_KEYBYTES];
  crypto_generichash(prk, sizeof(prk), input.data(), input.size(), nullptr, 0);
  sodium_memzero(shared, sizeof(shared));
  sodium_memzero(input.data(), input.size());

  AeadKey low_to_high, high_to_low;
  crypto_kdf_derive_from_key(low_to_high.data(), low_to_high.size(), kSubkeyLowToHigh,
                             kKdfContext, prk);
  crypto_kdf_derive_from_key(high_to_low.data(), high_to_low.size(), kSubkeyHighToLow,
                             kKdfContext, prk);
  sodium_memzero(prk, sizeof(prk));

  TunnelKeys keys;
  keys.send_direction = i_am_low ? KeyDirection::kLowToHigh : KeyDirection::kHighToLow;
  keys.send = i_am_low ? low_to_high : high_to_low;
  keys.receive = i_am_low ? high_to_low : low_to_high;
  return keys;
}

Bytes seal(const TunnelKeys& keys, PacketType type, std::uint64_t receiver_tunnel_id,
           std::uint64_t counter, const std::uint8_t* plaintext, std::size_t size) {
  Bytes out;
  out.reserve(kSealedHeaderSize + size + kAeadTagSize);
  append_sealed_header(type, receiver_tunnel_id, counter, out);
  out.resize(kSealedHeaderSize + size + kAeadTagSize);
  std::uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  aead_nonce(keys.send_direction, counter, nonce);
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data() + kSealedHeaderSize, &written, plaintext,
                                            size, out.data(), kSealedHeaderSize, nullptr, nonce,
                                            keys.send.data());
  out.resize(kSealedHeaderSize + static_cast<std::size_t>(written));
  return out;
}

std::optional<Bytes> open(const TunnelKeys& keys, const SealedPacket& p) {
  if (p.ciphertext_size < kAeadTagSize) return std::nullopt;
  Bytes plain(p.ciphertext_size - kAeadTagSize);
  std::uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  aead_nonce(keys.receive_direction(), p.counter, nonce);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), &written, nullptr, p.ciphertext,
                                                p.ciphertext_size, p.header, kSealedHeaderSize,
                                                nonce, keys.receive.data()) != 0)
    return std::nullopt;
  plain.resize(static_cast<std::size_t>(written));
  return plain;
}

bool ReplayWindow::check(std::uint64_t counter) const {
  if (counter == 0) return false;
  if (counter > highest_) return true;
  if (highest_ - counter >= kReplayWindow) return false;
  const std::uint64_t block = (counter >> 6) % kBlocks;
  return (bitmap_[block] & (std::uint64_t{1} << (counter & 63))) == 0;
}

void ReplayWindow::accept(std::uint64_t counter) {
  if (counter == 0) return;
  if (counter > highest_) {
    // Clear the blocks between the old highest block and the new one (at most all of them).
    const std::uint64_t old_block = highest_ >> 6;
    const std::uint64_t new_block = counter >> 6;
    const std::uint64_t steps = std::min<std::uint64_t>(new_block - old_block, kBlocks);
    for (std::uint64_t i = 1; i <= steps; ++i) bitmap_[(old_block + i) % kBlocks] = 0;
    highest_ = counter;
  } else if (highest_ - counter >= kReplayWindow) {
    return;
  }
  bitmap_[(counter >> 6) % kBlocks] |= std::uint64_t{1} << (counter & 63);
}

}  // namespace qp2p::tunnel
