// A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", OPODIS 2014) for the
// presence records a supernode issues: the value is (wall milliseconds << 16) | counter, so it
// stays close to the shared wall clock, never goes backwards, and is above every value it was
// told about (the previous record of the same peer, written by another supernode). The wall
// time is an argument: the sans-IO core reads no clock.
#pragma once

#include <cstdint>

namespace qp2p::federation {

// Milliseconds of the network's shared wall clock (Unix time): the runtime passes its system
// clock, ns-3 its simulated time. Supernodes' clocks are assumed within kMaxClockSkewMs.
using WallMs = std::uint64_t;

inline constexpr unsigned kHlcCounterBits = 16;
inline constexpr WallMs hlc_wall_ms(std::uint64_t hlc) { return hlc >> kHlcCounterBits; }

class HybridClock {
 public:
  // A value above every value issued or observed so far and above `at_least`, whose wall part is
  // `now_ms` unless the clock has seen a later one.
  std::uint64_t issue(WallMs now_ms, std::uint64_t at_least = 0);
  // Takes a value seen in a received record into account.
  void observe(std::uint64_t hlc) {
    if (hlc > last_) last_ = hlc;
  }
  std::uint64_t last() const { return last_; }

 private:
  std::uint64_t last_ = 0;
};

}  // namespace qp2p::federation
