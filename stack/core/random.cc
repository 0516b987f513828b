// ChaCha20 keystream generator (libsodium crypto_stream_chacha20_ietf) used as a seedable DRBG.
#include "stack/core/random.h"

#include <sodium.h>

#include <stdexcept>

namespace qp2p {

namespace {
void ensure_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}
}  // namespace

Random::Random(const Seed& seed) : key_(seed) { ensure_sodium(); }

Random Random::from_u64(std::uint64_t seed) {
  ensure_sodium();
  Seed s{};
  std::uint8_t in[8];
  for (int i = 0; i < 8; ++i) in[i] = static_cast<std::uint8_t>(seed >> (8 * i));
  crypto_generichash(s.data(), s.size(), in, sizeof(in), nullptr, 0);
  return Random(s);
}

Random Random::from_os() {
  ensure_sodium();
  Seed s{};
  randombytes_buf(s.data(), s.size());
  return Random(s);
}

void Random::refill() {
  std::uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<std::uint8_t>(block_counter_ >> (8 * i));
  ++block_counter_;
  crypto_stream_chacha20_ietf(buffer_.data(), buffer_.size(), nonce, key_.data());
  used_ = 0;
}

void Random::fill(std::uint8_t* out, std::size_t n) {
  while (n > 0) {
    if (used_ == buffer_.size()) refill();
    std::size_t take = std::min(n, buffer_.size() - used_);
    std::copy(buffer_.begin() + used_, buffer_.begin() + used_ + take, out);
    used_ += take;
    out += take;
    n -= take;
  }
}

std::uint64_t Random::next_u64() {
  std::uint8_t b[8];
  fill(b, sizeof(b));
  std::uint64_t v = 0;
  for (auto x : b) v = (v << 8) | x;
  return v;
}

std::uint64_t Random::uniform(std::uint64_t bound) {
  if (bound <= 1) return 0;
  // Rejection sampling: discard the top partial range to avoid modulo bias.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
  std::uint64_t v;
  do v = next_u64(); while (v >= limit);
  return v % bound;
}

Random Random::fork() {
  Seed s{};
  fill(s.data(), s.size());
  return Random(s);
}

}  // namespace qp2p
