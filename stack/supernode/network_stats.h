// The network's statistics as one supernode gathers them (docs/protocol.md section 14.7): the
// latest stats report (stack/federation/stats_report.h) of every member, part by part, for the
// management API's network view of /v1/stats. Sans-IO: payloads and the time come in.
//
// Merge rules. Counters are cumulative, so the newest copy of each part wins and nothing is
// added up here: per member, the totals part and each NAT-pair row keep the copy with the
// highest sequence of the member's current boot (an older or equal sequence is stale: a reordered
// or repeated copy). A report of a higher boot is a restarted member whose counters began again:
// it replaces everything held of that member. A lower boot is a copy from before the restart:
// stale. A member that goes down keeps its report (its counters are history; dropping them
// would make network totals fall), and the API shows it as stale with its age.
//
// Bounded: `max_members` reports (the membership's bound; when full, the report heard from
// longest ago is forgotten, counted as `evicted`) of at most 171 rows (the NAT pairs; the
// decoder admits no other). Reports are shared with API snapshots (copy on write), so a
// snapshot holds a consistent copy without copying every report each time.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/core/instant.h"
#include "stack/federation/stats_report.h"
#include "stack/identity/identity.h"
#include "stack/supernode/stats_figures.h"

namespace qp2p {

// What one member reported, newest copy of each part.
struct MemberReport {
  struct Row {
    std::uint32_t sequence = 0;
    NatPairCounters counters;
  };
  std::uint64_t boot = 0;
  bool has_totals = false;
  std::uint32_t totals_sequence = 0;
  StatTotals totals{};
  std::map<HandshakeStats::Pair, Row> rows;
  Instant received{};  // when a part was last taken
};

// The reports themselves, both ways (/metrics qp2p_stats_reports_total).
struct StatsReportCounters {
  std::uint64_t sent = 0;               // payloads (parts) handed to the membership
  std::uint64_t unsent = 0;             // ... that it refused (member gone meanwhile)
  std::uint64_t received = 0;           // parts taken (something newer in them)
  std::uint64_t dropped_malformed = 0;  // did not decode (by reason below)
  std::uint64_t dropped_stale = 0;      // older boot, or nothing newer than what is held
  std::uint64_t restarts = 0;           // a member's report replaced by one of a newer boot
  std::uint64_t evicted = 0;            // reports forgotten to make room
  std::array<std::uint64_t, static_cast<std::size_t>(federation::StatsDecodeError::kCount)>
      malformed_by_reason{};
};

class NetworkStats {
 public:
  static constexpr std::size_t kDefaultMaxMembers = 512;
  explicit NetworkStats(std::size_t max_members = kDefaultMaxMembers) : max_members_(max_members) {}

  // A stats-report payload from member `from` (authenticated by the membership); false when it
  // was dropped (counted: malformed or stale).
  bool handle_payload(Instant now, const PeerId& from, const Bytes& payload);

  using Shared = std::vector<std::pair<PeerId, std::shared_ptr<const MemberReport>>>;
  // Every report held, by member id: the copies a snapshot keeps (later payloads do not change
  // them).
  Shared share() const;
  const MemberReport* find(const PeerId& member) const;
  std::size_t size() const { return reports_.size(); }

  StatsReportCounters& counters() { return counters_; }
  const StatsReportCounters& counters() const { return counters_; }

 private:
  // The member's report, ready to change: copied first when a snapshot shares it; a new one
  // (after evicting the oldest when full) for a member not held.
  MemberReport& writable(const PeerId& from);
  bool take(Instant now, const PeerId& from, const federation::StatsReportPart& part);

  std::size_t max_members_;
  std::map<PeerId, std::shared_ptr<MemberReport>> reports_;
  StatsReportCounters counters_;
};

// Adds a member's report to `into`: its totals (gauges only when `up`) and its rows.
void add_report(StatsFigures& into, const MemberReport& report, bool up);

}  // namespace qp2p
