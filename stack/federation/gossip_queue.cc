// Piggybacked dissemination of membership updates (see gossip_queue.h).
#include "stack/federation/gossip_queue.h"

#include <algorithm>

namespace qp2p::federation {

GossipQueue::GossipQueue(std::size_t retransmit_multiplier, std::size_t max_queued)
    : multiplier_(std::max<std::size_t>(retransmit_multiplier, 1)),
      max_queued_(std::max<std::size_t>(max_queued, 1)) {}

void GossipQueue::push(const Entry& entry) {
  auto it = queued_.find(entry.id);
  if (it == queued_.end() && queued_.size() >= max_queued_) {
    // Full: the most-transmitted update has done most of its work already.
    auto victim = std::max_element(queued_.begin(), queued_.end(), [](const auto& a, const auto& b) {
      return a.second.transmits < b.second.transmits;
    });
    queued_.erase(victim);
  }
  queued_[entry.id] = Queued{entry, 0, next_order_++};
}

std::vector<Entry> GossipQueue::take(std::size_t max, std::size_t members) {
  std::size_t log10 = 1;
  for (std::size_t n = members + 1; n >= 10; n /= 10) ++log10;
  const std::size_t limit = multiplier_ * log10;
  std::vector<Queued*> order;
  order.reserve(queued_.size());
  for (auto& q : queued_) order.push_back(&q.second);
  std::sort(order.begin(), order.end(), [](const Queued* a, const Queued* b) {
    return a->transmits != b->transmits ? a->transmits < b->transmits : a->order > b->order;
  });
  std::vector<Entry> out;
  for (Queued* q : order) {
    if (out.size() >= max) break;
    out.push_back(q->entry);
    ++q->transmits;
  }
  for (auto it = queued_.begin(); it != queued_.end();) {
    if (it->second.transmits >= limit) it = queued_.erase(it);
    else ++it;
  }
  return out;
}

}  // namespace qp2p::federation
