// Hybrid logical clock (see hybrid_clock.h).
#include "stack/federation/hybrid_clock.h"

#include <algorithm>

namespace qp2p::federation {

std::uint64_t HybridClock::issue(WallMs now_ms, std::uint64_t at_least) {
  const std::uint64_t physical = now_ms << kHlcCounterBits;
  last_ = std::max({physical, last_ + 1, at_least + 1});
  return last_;
}

}  // namespace qp2p::federation
