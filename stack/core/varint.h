// Unsigned LEB128 varints (7 bits per byte, low group first, high bit = more follows) on top of
// byte_io.h, for compact counters on the wire: 0-127 in one byte, a full u64 in at most ten.
// The reader rejects an eleventh byte and a tenth byte with bits beyond 64 (an overflowing
// value), so every u64 has one accepted encoding length bound and nothing wraps silently.
#pragma once

#include <cstdint>

#include "stack/core/byte_io.h"

namespace qp2p {

inline constexpr std::size_t kMaxVarintBytes = 10;

inline void append_varint(ByteWriter& w, std::uint64_t v) {
  while (v >= 0x80) {
    w.u8(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  w.u8(static_cast<std::uint8_t>(v));
}

inline std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Reads one varint; on truncation or overflow the reader fails (ok() false) and 0 is returned.
// `overflow` (optional) is set when the value did not fit 64 bits, to tell it from truncation.
inline std::uint64_t read_varint(ByteReader& r, bool* overflow = nullptr) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < kMaxVarintBytes; ++i) {
    const std::uint8_t b = r.u8();
    if (!r.ok()) return 0;
    // The tenth byte holds bit 63 only.
    if (i == kMaxVarintBytes - 1 && (b & 0xFE) != 0) break;
    v |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
    if (!(b & 0x80)) return v;
  }
  if (overflow) *overflow = true;
  r.fail();
  return 0;
}

}  // namespace qp2p
