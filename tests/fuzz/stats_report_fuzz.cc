// Fuzz target for stats reports (stack/federation/stats_report.h, docs/protocol.md section
// 14.7): what decodes must encode to a payload that decodes to the same
// figures, and every input handed to a NetworkStats (the receiver's merge) is either taken or
// counted as a drop. Never a crash.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>

#include "stack/federation/stats_report.h"
#include "stack/supernode/network_stats.h"

namespace {

using namespace qp2p;
using namespace qp2p::federation;

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  spdlog::set_level(spdlog::level::off);
  Bytes payload(data, data + size);
  if (!payload.empty()) payload[0] = kStatsReportType;  // most inputs reach the body
  if (auto part = decode_stats_report(payload, nullptr)) {
    const Bytes again = encode(*part);
    auto back = decode_stats_report(again, nullptr);
    require(back.has_value());
    require(back->totals == part->totals && back->rows.size() == part->rows.size());
    for (std::size_t i = 0; i < part->rows.size(); ++i)
      require(back->rows[i].pair == part->rows[i].pair &&
              same_row(back->rows[i].counters, part->rows[i].counters));
  }
  NetworkStats stats(2);
  PeerId from;
  from.key.fill(static_cast<std::uint8_t>(size));
  const bool taken = stats.handle_payload(instant_from_us(1000), from, payload);
  const StatsReportCounters& c = stats.counters();
  require(c.received + c.dropped_malformed + c.dropped_stale == 1);
  require(taken == (c.received == 1));
  return 0;
}
