#include "scenarios/federation/federation-view.h"

#include <charconv>
#include <string>

#include "stack/supernode/supernode.h"

namespace ns3 {

namespace {

// FNV-1a over the id, then the version, finished with a splitmix64 round (spreads the bits
// before the sum).
uint64_t EntryHash(const qp2p::PeerId& id, uint64_t version) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : id.key) {
    h = (h ^ b) * 1099511628211ull;
  }
  h ^= version + 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

std::optional<uint32_t> VisibleSeq(const qp2p::Supernode& node, const qp2p::PeerId& peer) {
  const auto view = node.online_peer(peer);
  if (!view || !view->record) {
    return std::nullopt;
  }
  const std::string* text = view->record->find(kFederationSeqKey);
  uint32_t seq = 0;
  if (!text || std::from_chars(text->data(), text->data() + text->size(), seq).ec != std::errc()) {
    return std::nullopt;
  }
  return seq;
}

uint64_t ViewDigest(const qp2p::Supernode& node, uint64_t* size) {
  uint64_t digest = 0;
  uint64_t count = 0;
  node.for_each_online_peer([&](const qp2p::OnlinePeerView& v) {
    ++count;
    digest += EntryHash(v.id, v.record ? v.record->version : 0);
  });
  *size = count;
  return digest;
}

}  // namespace ns3
