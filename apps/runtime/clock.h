// The runtime's clock: std::chrono::steady_clock seen as a qp2p::Instant. The sans-IO core never
// reads a clock (DESIGN.md); the Asio runtime reads this one once per input batch and passes it
// in. Both directions live here so the timer arithmetic agrees with the instants handed out.
#pragma once

#include <chrono>

#include "stack/core/instant.h"

namespace qp2p {

// Microseconds since steady_clock's epoch (boot on Linux): monotonic, never jumps.
inline Instant now() {
  return Instant(
      std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch()));
}

// The steady_clock time point of `t`, for arming an Asio steady_timer. kNever (and anything
// beyond what steady_clock's nanoseconds can hold) maps to steady_clock::time_point::max().
inline std::chrono::steady_clock::time_point to_steady(Instant t) {
  using Steady = std::chrono::steady_clock;
  constexpr auto kMaxUs = std::chrono::duration_cast<Duration>(Steady::duration::max()).count();
  if (t.time_since_epoch().count() >= kMaxUs) return Steady::time_point::max();
  return Steady::time_point(std::chrono::duration_cast<Steady::duration>(t.time_since_epoch()));
}

}  // namespace qp2p
