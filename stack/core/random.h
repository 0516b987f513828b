// Seedable, cryptographically strong randomness for the core. A ChaCha20 keystream keyed by a
// 32-byte seed: production runtimes seed it from the OS, simulations from the run number, so
// ns-3 runs replay exactly while keys and nonces stay unpredictable to an attacker.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace qp2p {

class Random {
 public:
  using Seed = std::array<std::uint8_t, 32>;

  explicit Random(const Seed& seed);
  // Expands a 64-bit seed (e.g. ns-3 RngRun and node id) into a full seed.
  static Random from_u64(std::uint64_t seed);
  // Seeds from the operating system (libsodium randombytes). Runtimes only.
  static Random from_os();

  void fill(std::uint8_t* out, std::size_t n);
  std::uint64_t next_u64();
  // Uniform in [0, bound) without modulo bias; bound > 0.
  std::uint64_t uniform(std::uint64_t bound);
  // A new independent generator derived from this one (for sub-objects).
  Random fork();

 private:
  void refill();
  Seed key_;
  std::uint64_t block_counter_ = 0;
  std::array<std::uint8_t, 256> buffer_{};
  std::size_t used_ = sizeof(buffer_);
};

}  // namespace qp2p
