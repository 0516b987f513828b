// Requests held for a target the directory does not know yet (see held_requests.h).
#include "stack/supernode/held_requests.h"

#include <algorithm>
#include <iterator>

namespace qp2p {

bool HeldRequests::hold(Instant now, const PeerId& sender, std::uint64_t transaction,
                        HoldableRequest request) {
  if (held_.size() >= capacity_) return false;
  held_.push_back({sender, transaction, std::move(request), now + hold_for_});
  return true;
}

bool HeldRequests::holds(const PeerId& sender, std::uint64_t transaction) const {
  return std::any_of(held_.begin(), held_.end(), [&](const HeldRequest& h) {
    return h.sender == sender && h.transaction == transaction;
  });
}

std::vector<HeldRequest> HeldRequests::release(const PeerId& target) {
  std::vector<HeldRequest> out;
  auto kept = std::stable_partition(held_.begin(), held_.end(),
                                    [&](const HeldRequest& h) { return h.target() != target; });
  std::move(kept, held_.end(), std::back_inserter(out));
  held_.erase(kept, held_.end());
  return out;
}

std::vector<HeldRequest> HeldRequests::expire(Instant now) {
  std::vector<HeldRequest> out;
  while (!held_.empty() && held_.front().until <= now) {
    out.push_back(std::move(held_.front()));
    held_.pop_front();
  }
  return out;
}

}  // namespace qp2p
