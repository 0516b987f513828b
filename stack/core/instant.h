// Time as the sans-IO core sees it: an opaque, monotonic instant handed in by the runtime.
// The core never reads a clock; adapters convert their clock (steady_clock, ns-3 Simulator)
// into an Instant and pass it with every input.
#pragma once

#include <chrono>
#include <cstdint>

namespace qp2p {

// A clock type with no now(): only the runtime knows the time.
struct StackClock {
  using duration = std::chrono::microseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<StackClock, duration>;
  static constexpr bool is_steady = true;
};

using Instant = StackClock::time_point;
using Duration = StackClock::duration;

inline constexpr Instant instant_from_us(std::int64_t us) { return Instant(Duration(us)); }
inline constexpr std::int64_t to_us(Instant t) { return t.time_since_epoch().count(); }
inline constexpr std::int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// "No deadline": poll_timeout() returns this when nothing is pending.
inline constexpr Instant kNever = Instant::max();

}  // namespace qp2p
