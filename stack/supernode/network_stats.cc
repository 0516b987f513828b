// The latest stats report of every member (network_stats.h).
#include "stack/supernode/network_stats.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace qp2p {

bool NetworkStats::handle_payload(Instant now, const PeerId& from, const Bytes& payload) {
  federation::StatsDecodeError error = federation::StatsDecodeError::kNone;
  auto part = federation::decode_stats_report(payload, &error);
  if (!part) {
    ++counters_.dropped_malformed;
    ++counters_.malformed_by_reason[static_cast<std::size_t>(error)];
    SPDLOG_DEBUG("stats report: drop {}-byte payload from {}: {}", payload.size(), from.to_string(),
                 federation::to_string(error));
    return false;
  }
  if (!take(now, from, *part)) {
    ++counters_.dropped_stale;
    SPDLOG_TRACE("stats report: stale part (boot {}, sequence {}) from {}", part->boot,
                 part->sequence, from.to_string());
    return false;
  }
  ++counters_.received;
  return true;
}

bool NetworkStats::take(Instant now, const PeerId& from, const federation::StatsReportPart& p) {
  const auto held = reports_.find(from);
  const MemberReport* old = held == reports_.end() ? nullptr : held->second.get();
  if (old && p.boot < old->boot) return false;  // from before the member restarted
  const bool restarted = old && p.boot > old->boot;
  // Is anything in the part newer than what is held?
  bool newer = !old || restarted;
  if (!newer && p.kind == federation::StatsPartKind::kTotals)
    newer = !old->has_totals || p.sequence > old->totals_sequence;
  if (!newer && p.kind == federation::StatsPartKind::kRows) {
    for (const federation::StatsRow& row : p.rows) {
      auto it = old->rows.find(row.pair);
      newer = newer || it == old->rows.end() || p.sequence > it->second.sequence;
    }
  }
  if (!newer) return false;
  MemberReport& r = writable(from);
  if (restarted) {
    SPDLOG_INFO("stats report: supernode {} restarted (boot {} -> {}): its counters begin again",
                from.to_string(), r.boot, p.boot);
    r = MemberReport{};
    ++counters_.restarts;
  }
  r.boot = p.boot;
  r.received = now;
  if (p.kind == federation::StatsPartKind::kTotals) {
    if (!r.has_totals || p.sequence > r.totals_sequence) {
      r.has_totals = true;
      r.totals_sequence = p.sequence;
      r.totals = p.totals;
    }
    return true;
  }
  for (const federation::StatsRow& row : p.rows) {
    auto [it, added] = r.rows.try_emplace(row.pair);
    if (added || p.sequence > it->second.sequence) it->second = {p.sequence, row.counters};
  }
  return true;
}

MemberReport& NetworkStats::writable(const PeerId& from) {
  auto it = reports_.find(from);
  if (it == reports_.end()) {
    if (reports_.size() >= max_members_ && !reports_.empty()) {
      auto oldest = std::min_element(reports_.begin(), reports_.end(), [](auto& a, auto& b) {
        return a.second->received < b.second->received;
      });
      SPDLOG_INFO("stats report: {} reports held, forgetting {}'s (heard from longest ago)",
                  reports_.size(), oldest->first.to_string());
      reports_.erase(oldest);
      ++counters_.evicted;
    }
    it = reports_.emplace(from, std::make_shared<MemberReport>()).first;
  } else if (it->second.use_count() > 1) {
    // A snapshot holds this copy: it must not change under it.
    it->second = std::make_shared<MemberReport>(*it->second);
  }
  return *it->second;
}

NetworkStats::Shared NetworkStats::share() const {
  Shared out;
  out.reserve(reports_.size());
  for (const auto& [id, report] : reports_) out.emplace_back(id, report);
  return out;
}

const MemberReport* NetworkStats::find(const PeerId& member) const {
  auto it = reports_.find(member);
  return it == reports_.end() ? nullptr : it->second.get();
}

void add_report(StatsFigures& into, const MemberReport& report, bool up) {
  if (report.has_totals) {
    for (std::size_t i = 0; i < kStatFieldCount; ++i)
      if (up || !is_gauge(static_cast<StatField>(i))) into.totals[i] += report.totals[i];
  }
  for (const auto& [pair, row] : report.rows) add_row(into.by_pair[pair], row.counters);
}

}  // namespace qp2p
