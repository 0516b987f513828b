// The hashes STUN still requires (RFC 8489 section 14.5-14.7, 9.2.2): SHA-1 (RFC 3174) and MD5
// (RFC 1321), which libsodium lacks; HMAC (RFC 2104) over SHA-1 and SHA-256; CRC-32 (ISO-HDLC).
// SHA-1 and MD5 are written here rather than taken from Boost 1.74's uuid/detail headers: those
// are not public API, their sha1 hashes one byte per call (about 1 us for 100 bytes, on the
// Binding hot path) and their md5 digest comes out with each 32-bit word byte-swapped. SHA-1
// uses the x86 SHA extensions where the CPU has them; CRC-32 is sliced by 8 (see the .cc).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace qp2p::stun {

// A borrowed run of bytes; HMACs take several so a message can be hashed with a patched header
// without copying it.
struct ByteRange {
  const std::uint8_t* data;
  std::size_t size;
};

using Sha1Digest = std::array<std::uint8_t, 20>;
using Sha256Digest = std::array<std::uint8_t, 32>;
using Md5Digest = std::array<std::uint8_t, 16>;

// Whether SHA-1 runs on the CPU's SHA extensions (decided once at start-up). Tests switch them
// off to cover the portable code too; the switch is process-wide, so use it only in tests.
bool sha1_uses_cpu_extensions();
void set_sha1_cpu_extensions(bool enabled);

class Sha1 {
 public:
  Sha1();
  void update(const std::uint8_t* data, std::size_t size);
  Sha1Digest finish();  // the object must not be updated afterwards

 private:
  void compress(const std::uint8_t* block);
  std::uint32_t state_[5];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

class Md5 {
 public:
  Md5();
  void update(const std::uint8_t* data, std::size_t size);
  Md5Digest finish();

 private:
  void compress(const std::uint8_t* block);
  std::uint32_t state_[4];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

Sha1Digest sha1(const std::uint8_t* data, std::size_t size);
Md5Digest md5(const std::uint8_t* data, std::size_t size);

// HMAC over the concatenation of `pieces`; any key length.
Sha1Digest hmac_sha1(const std::uint8_t* key, std::size_t key_len,
                     std::initializer_list<ByteRange> pieces);
Sha256Digest hmac_sha256(const std::uint8_t* key, std::size_t key_len,
                         std::initializer_list<ByteRange> pieces);

// CRC-32 as used by FINGERPRINT before its XOR (reflected 0x04C11DB7, check value 0xCBF43926).
std::uint32_t crc32(const std::uint8_t* data, std::size_t size);

// Equal-time comparison for MACs, so a forger learns nothing from the time a check takes.
bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t size);

}  // namespace qp2p::stun
