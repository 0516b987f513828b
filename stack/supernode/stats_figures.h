// The figures GET /v1/stats shows for one supernode, as one plain value: its totals (logins,
// messages, index, tunnels, handshakes) by field, and the traversal rows by pair of NAT profiles
// (handshake_stats.h). A supernode gathers its own (SupernodeCore::stats_figures); members send
// theirs to each other as stats reports (stack/federation/stats_report.h), and the management API
// sums them for the network view (docs/protocol.md section 14.7). Every counter is cumulative
// since the supernode started, so figures of different supernodes add up; histograms have fixed
// buckets, so they merge by summing and network percentiles come from the merged buckets.
#pragma once

#include <array>
#include <cstdint>
#include <map>

#include "stack/supernode/handshake_stats.h"

namespace qp2p {

// The totals, in their wire order (section 14.7): append new fields at the end, never reorder.
enum class StatField : std::uint8_t {
  kLoginsAccepted,
  kLoginsRejected,
  kLogouts,
  kExpiries,
  kPeersOnline,  // a gauge: counted only for members up (network_stats.h)
  kMessagesRouted,
  kMessagesUndeliverable,
  kIndexPublishes,
  kIndexRejected,
  kIndexLookups,
  kIndexSearches,
  kTunnelsPlannedDirect,
  kTunnelsPlannedRelay,
  kTunnelsReportedDirect,
  kTunnelsReportedRelay,
  kTunnelsReportedFailed,
  kRelayAllocations,  // a gauge, as kPeersOnline
  kRelayAllocationsCreated,
  kRelayedDatagrams,
  kHandshakeOffers,
  kHandshakeAccepted,
  kHandshakeRefused,
  kHandshakeTimeouts,
  kHandshakeCalleeOffline,
  kHandshakeCallerOffline,
  kRejectedUnknownPeer,
  kRejectedToSelf,
  kRejectedOverLimit,
  kRejectedUnexpectedAnswer,
  kRejectedUnexpectedRelay,
  kRejectedRelayNotAllocated,
  kRoutedOffersSent,
  kRoutedOffersReceived,
  kRoutedGaveUp,
  kRoutedDroppedUnknownAttempt,
  kRoutedDroppedWrongSupernode,
  kRoutedAcksUnmatched,
  kOutcomesCounted,
  kOutcomesUnknownAttempt,
  kOutcomesNotCaller,
  kOutcomesDuplicate,
  kRoutedCancelsSent,
  kRoutedCancelsReceived,
  kRoutedCancelsRefusedToCallee,
  kCount
};
inline constexpr std::size_t kStatFieldCount = static_cast<std::size_t>(StatField::kCount);
using StatTotals = std::array<std::uint64_t, kStatFieldCount>;
// Gauges (what is, not what happened): a member that is down contributes none of them.
inline bool is_gauge(StatField f) {
  return f == StatField::kPeersOnline || f == StatField::kRelayAllocations;
}

// The counters of a NAT-pair row in their wire order (the histograms travel apart).
inline constexpr std::size_t kRowCounterCount = 13;
std::array<std::uint64_t*, kRowCounterCount> row_counters(NatPairCounters& row);
std::array<const std::uint64_t*, kRowCounterCount> row_counters(const NatPairCounters& row);
bool same_row(const NatPairCounters& a, const NatPairCounters& b);
// Adds every counter and histogram bucket of `from` to `into`.
void add_row(NatPairCounters& into, const NatPairCounters& from);

struct StatsFigures {
  StatTotals totals{};
  std::map<HandshakeStats::Pair, NatPairCounters> by_pair;

  std::uint64_t& operator[](StatField f) { return totals[static_cast<std::size_t>(f)]; }
  std::uint64_t operator[](StatField f) const { return totals[static_cast<std::size_t>(f)]; }
};

}  // namespace qp2p
