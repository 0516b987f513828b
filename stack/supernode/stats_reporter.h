// The sending side of stats reports (docs/protocol.md section 14.7): which parts of this
// supernode's figures (stats_figures.h) go out in a round. Each round has a new sequence; the
// first round and every `refresh_rounds`-th send every part (so a part lost on the way is
// repaired within refresh_rounds x interval), the others only the totals and the NAT-pair rows
// that changed since the previous round (none at all on a quiet supernode). A member that comes
// up gets every part at once (full_report), outside the rounds. Sans-IO: the caller sends the
// payloads to the members and keeps the timer (SupernodeConfig::stats_report).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/core/instant.h"
#include "stack/supernode/stats_figures.h"

namespace qp2p {

struct StatsReportConfig {
  // A round to every live member: the network view of /v1/stats is this old at most (plus the
  // hop), and a quiet supernode sends nothing between refreshes.
  Duration interval = std::chrono::seconds(10);
  // Every refresh_rounds-th round sends every part, changed or not (60 s with the default).
  std::size_t refresh_rounds = 6;
};

class StatsReporter {
 public:
  explicit StatsReporter(StatsReportConfig config = {}) : config_(config) {}

  // The payloads of the next round (possibly none). `wall_ms` names this run (boot) the first
  // time a report is made.
  std::vector<Bytes> next_round(std::uint64_t wall_ms, const StatsFigures& figures);
  // Every part, with a new sequence: for a member that just came up.
  std::vector<Bytes> full_report(std::uint64_t wall_ms, const StatsFigures& figures);

  const StatsReportConfig& config() const { return config_; }
  std::uint64_t boot() const { return boot_; }

 private:
  std::uint32_t start(std::uint64_t wall_ms);

  StatsReportConfig config_;
  std::uint64_t boot_ = 0;
  std::uint32_t sequence_ = 0;
  std::uint64_t rounds_ = 0;
  // What the previous round carried (every part sent so far), to skip unchanged ones.
  StatTotals last_totals_{};
  std::map<HandshakeStats::Pair, NatPairCounters> last_rows_;
};

}  // namespace qp2p
