// Instant messages held for a target the directory does not know yet (see held_sends.h).
#include "stack/supernode/held_sends.h"

#include <algorithm>

namespace qp2p {

bool HeldSends::hold(Instant now, const PeerId& sender, std::uint64_t transaction,
                     const wire::SendMessage& m) {
  if (held_.size() >= capacity_) return false;
  held_.push_back({sender, transaction, m, now + hold_for_});
  return true;
}

bool HeldSends::holds(const PeerId& sender, std::uint64_t message_id) const {
  return std::any_of(held_.begin(), held_.end(), [&](const HeldSend& h) {
    return h.sender == sender && h.message.message_id == message_id;
  });
}

std::vector<HeldSend> HeldSends::release(const PeerId& target) {
  std::vector<HeldSend> out;
  auto kept = std::stable_partition(held_.begin(), held_.end(),
                                    [&](const HeldSend& h) { return h.message.to != target; });
  std::move(kept, held_.end(), std::back_inserter(out));
  held_.erase(kept, held_.end());
  return out;
}

std::vector<HeldSend> HeldSends::expire(Instant now) {
  std::vector<HeldSend> out;
  while (!held_.empty() && held_.front().until <= now) {
    out.push_back(std::move(held_.front()));
    held_.pop_front();
  }
  return out;
}

}  // namespace qp2p
