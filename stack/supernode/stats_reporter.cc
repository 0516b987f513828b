// Which stats-report parts go out in a round (stats_reporter.h).
#include "stack/supernode/stats_reporter.h"

#include <algorithm>

#include "stack/federation/stats_report.h"

namespace qp2p {

std::uint32_t StatsReporter::start(std::uint64_t wall_ms) {
  // A boot is never 0, so a receiver's "nothing held" (boot 0) is below every run.
  if (boot_ == 0) boot_ = std::max<std::uint64_t>(1, wall_ms);
  return ++sequence_;
}

std::vector<Bytes> StatsReporter::next_round(std::uint64_t wall_ms, const StatsFigures& figures) {
  const std::uint32_t sequence = start(wall_ms);
  const bool full = rounds_++ % std::max<std::size_t>(1, config_.refresh_rounds) == 0;
  const bool totals_changed = full || figures.totals != last_totals_;
  std::vector<federation::StatsRow> rows;
  for (const auto& [pair, counters] : figures.by_pair) {
    auto last = last_rows_.find(pair);
    if (!full && last != last_rows_.end() && same_row(last->second, counters)) continue;
    rows.push_back({pair, counters});
    last_rows_[pair] = counters;
  }
  last_totals_ = figures.totals;
  return federation::encode_report(boot_, sequence, totals_changed ? &figures.totals : nullptr,
                                   rows);
}

std::vector<Bytes> StatsReporter::full_report(std::uint64_t wall_ms, const StatsFigures& figures) {
  const std::uint32_t sequence = start(wall_ms);
  std::vector<federation::StatsRow> rows;
  rows.reserve(figures.by_pair.size());
  for (const auto& [pair, counters] : figures.by_pair) rows.push_back({pair, counters});
  return federation::encode_report(boot_, sequence, &figures.totals, rows);
}

}  // namespace qp2p
