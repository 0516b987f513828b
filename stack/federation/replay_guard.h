// Replay protection for federation datagrams. Every sender stamps its datagrams with a strictly
// increasing counter that is its unix time in microseconds (max(last + 1, wall clock)), as
// WireGuard's handshake uses a TAI64N timestamp (Donenfeld, "WireGuard", NDSS 2017, 5.1): it
// stays increasing across restarts without storage. A receiver accepts a counter only when it
// is within `max_clock_skew` of its own wall clock and not among the `window` most recent
// counters it accepted from that sender (nor older than all of them), as IPsec's anti-replay
// window (RFC 4303 section 3.4.3) but tolerant of reordering within the window. Captured
// datagrams therefore stop working after max_clock_skew everywhere, even at a receiver that
// restarted, and never work twice within it.
#pragma once

#include <cstdint>
#include <set>
#include <unordered_map>

#include "stack/core/instant.h"
#include "stack/identity/identity.h"

namespace qp2p::federation {

class ReplayGuard {
 public:
  enum class Verdict { kFresh, kReplayed, kTooOld, kClockSkew };

  // Senders tracked at once (the least recently heard is forgotten beyond this), and counters
  // remembered per sender.
  ReplayGuard(std::size_t max_senders, std::size_t window, Duration max_clock_skew);

  // Records `counter` from `from` when fresh. `wall_us`: the receiver's unix microseconds.
  Verdict check(const PeerId& from, std::uint64_t counter, std::int64_t wall_us, Instant now);

  std::size_t senders() const { return senders_.size(); }

 private:
  struct Sender {
    std::set<std::uint64_t> recent;
    Instant last_accept;
  };
  std::size_t max_senders_;
  std::size_t window_;
  Duration max_clock_skew_;
  std::unordered_map<PeerId, Sender, PeerIdHash> senders_;
};

// The sender's side: the next counter, max(last + 1, wall_us).
class CounterClock {
 public:
  std::uint64_t next(std::int64_t wall_us) {
    const std::uint64_t w = wall_us > 0 ? static_cast<std::uint64_t>(wall_us) : 0;
    last_ = w > last_ ? w : last_ + 1;
    return last_;
  }

 private:
  std::uint64_t last_ = 0;
};

}  // namespace qp2p::federation
