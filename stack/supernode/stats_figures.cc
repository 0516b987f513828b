// Rows of the statistics figures (stats_figures.h).
#include "stack/supernode/stats_figures.h"

namespace qp2p {

namespace {

template <typename Row, typename Out>
Out counters_of(Row& r) {
  return {&r.offers,           &r.accepted,      &r.refused,
          &r.timeouts,         &r.offline,       &r.simultaneous_open,
          &r.port_prediction,  &r.birthday,      &r.relay,
          &r.outcome_direct,   &r.outcome_relay, &r.outcome_failed,
          &r.tunnel_rtt_ms_sum};
}

}  // namespace

std::array<std::uint64_t*, kRowCounterCount> row_counters(NatPairCounters& row) {
  return counters_of<NatPairCounters, std::array<std::uint64_t*, kRowCounterCount>>(row);
}

std::array<const std::uint64_t*, kRowCounterCount> row_counters(const NatPairCounters& row) {
  return counters_of<const NatPairCounters, std::array<const std::uint64_t*, kRowCounterCount>>(
      row);
}

bool same_row(const NatPairCounters& a, const NatPairCounters& b) {
  const auto x = row_counters(a), y = row_counters(b);
  for (std::size_t i = 0; i < kRowCounterCount; ++i)
    if (*x[i] != *y[i]) return false;
  return a.direct_setup == b.direct_setup && a.relay_setup == b.relay_setup;
}

void add_row(NatPairCounters& into, const NatPairCounters& from) {
  const auto x = row_counters(into);
  const auto y = row_counters(from);
  for (std::size_t i = 0; i < kRowCounterCount; ++i) *x[i] += *y[i];
  into.direct_setup.merge(from.direct_setup);
  into.relay_setup.merge(from.relay_setup);
}

}  // namespace qp2p
