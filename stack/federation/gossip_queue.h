// SWIM's dissemination component (Das et al., "SWIM", DSN 2002, section 4.1): membership updates
// piggybacked on ping, ack and ping-req messages, each sent a limited number of times
// (multiplier x ceil(log10(n + 1)), as HashiCorp memberlist does) and the least-sent first, so
// news reaches every member in O(log n) protocol periods without extra datagrams. A newer update
// about a member replaces the older one still queued. Bounded by the member-table size.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "stack/federation/federation_wire.h"

namespace qp2p::federation {

class GossipQueue {
 public:
  GossipQueue(std::size_t retransmit_multiplier, std::size_t max_queued);

  void push(const Entry& entry);
  // Up to `max` entries for one message, least-transmitted first; counts them as sent once and
  // drops those sent often enough for a network of `members` supernodes.
  std::vector<Entry> take(std::size_t max, std::size_t members);
  std::size_t size() const { return queued_.size(); }

 private:
  struct Queued {
    Entry entry;
    std::size_t transmits = 0;
    std::uint64_t order = 0;  // newer first among equals
  };
  std::size_t multiplier_;
  std::size_t max_queued_;
  std::uint64_t next_order_ = 0;
  std::map<PeerId, Queued> queued_;
};

}  // namespace qp2p::federation
