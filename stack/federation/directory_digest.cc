// Bucket bounds of the directory's hash tree (see directory_digest.h).
#include "stack/federation/directory_digest.h"

namespace qp2p::federation {

PeerId bucket_first(std::uint16_t bucket) {
  PeerId id;
  id.key[0] = static_cast<std::uint8_t>(bucket >> 4);
  id.key[1] = static_cast<std::uint8_t>((bucket & 0x0f) << 4);
  return id;
}

PeerId bucket_last(std::uint16_t bucket) {
  PeerId id;
  id.key.fill(0xff);
  id.key[0] = static_cast<std::uint8_t>(bucket >> 4);
  id.key[1] = static_cast<std::uint8_t>(((bucket & 0x0f) << 4) | 0x0f);
  return id;
}

}  // namespace qp2p::federation
