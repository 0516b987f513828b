// Per-sender replay window over timestamp counters (see replay_guard.h).
#include "stack/federation/replay_guard.h"

namespace qp2p::federation {

ReplayGuard::ReplayGuard(std::size_t max_senders, std::size_t window, Duration max_clock_skew)
    : max_senders_(max_senders ? max_senders : 1),
      window_(window ? window : 1),
      max_clock_skew_(max_clock_skew) {}

ReplayGuard::Verdict ReplayGuard::check(const PeerId& from, std::uint64_t counter,
                                        std::int64_t wall_us, Instant now) {
  const std::int64_t skew = max_clock_skew_.count();
  const std::int64_t c = counter > static_cast<std::uint64_t>(INT64_MAX)
                             ? INT64_MAX
                             : static_cast<std::int64_t>(counter);
  if (c < wall_us - skew || c > wall_us + skew) return Verdict::kClockSkew;
  auto it = senders_.find(from);
  if (it == senders_.end()) {
    if (senders_.size() >= max_senders_) {
      auto oldest = senders_.begin();
      for (auto s = senders_.begin(); s != senders_.end(); ++s)
        if (s->second.last_accept < oldest->second.last_accept) oldest = s;
      senders_.erase(oldest);
    }
    it = senders_.emplace(from, Sender{}).first;
  }
  Sender& s = it->second;
  if (s.recent.size() >= window_ && counter <= *s.recent.begin()) return Verdict::kTooOld;
  if (!s.recent.insert(counter).second) return Verdict::kReplayed;
  if (s.recent.size() > window_) s.recent.erase(s.recent.begin());
  s.last_accept = now;
  return Verdict::kFresh;
}

}  // namespace qp2p::federation
