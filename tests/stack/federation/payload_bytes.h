// Helpers for the federation payload codec tests: keys of one repeated byte and byte vectors
// written as hex, so expected encodings read like the layouts in docs/protocol.md section 14.
// Header-only (the unit-test target globs *_test.cc).
#pragma once

#include <string>

#include "stack/core/datagram.h"
#include "stack/identity/identity.h"

namespace qp2p::federation::test {

inline PeerId key_of(std::uint8_t byte) {
  PeerId id;
  id.key.fill(byte);
  return id;
}

inline Bytes hex(const std::string& text) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace qp2p::federation::test
