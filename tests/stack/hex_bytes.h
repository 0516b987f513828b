// Test helper: bytes from hex text, for byte-vector tests. Lowercase hex digits are read in
// pairs; anything else (spaces, separators, line breaks) is skipped, so vectors can be laid
// out as the RFCs print them.
#pragma once

#include <cstdint>
#include <string_view>

#include "stack/core/datagram.h"

namespace qp2p::test {

inline Bytes hex(std::string_view text) {
  Bytes out;
  int high = -1;
  for (char c : text) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) continue;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  return out;
}

}  // namespace qp2p::test
