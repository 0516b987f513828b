// The latest stats report of every member (stack/supernode/network_stats.h) and the parts a
// round sends (stats_reporter.h), docs/protocol.md section 14.7: the newest copy of each part
// wins, reordered and repeated copies are stale, a restart (a newer boot) replaces the member's
// report and an older boot is ignored, a snapshot's shared copy never changes under it, a member
// down keeps its counters but not its gauges, the table is bounded, and a round carries only
// what changed (all of it every refresh).
#include "stack/supernode/network_stats.h"

#include <gtest/gtest.h>

#include "stack/federation/stats_report.h"
#include "stack/supernode/stats_reporter.h"

namespace qp2p {
namespace {

using federation::decode_stats_report;
using federation::encode_report;
using federation::StatsRow;

PeerId member(std::uint8_t n) {
  PeerId id;
  id.key.fill(n);
  return id;
}

const HandshakeStats::Pair kCone{"EIM/APDF", "EIM/APDF"};
const HandshakeStats::Pair kHard{"APDM/APDF", "EIM/APDF"};

StatsFigures figures(std::uint64_t logins, std::uint64_t direct, std::uint32_t setup_ms) {
  StatsFigures f;
  f[StatField::kLoginsAccepted] = logins;
  f[StatField::kPeersOnline] = 2;
  NatPairCounters& row = f.by_pair[kCone];
  row.outcome_direct = direct;
  for (std::uint64_t i = 0; i < direct; ++i) row.direct_setup.add(setup_ms);
  return f;
}

std::vector<StatsRow> rows_of(const StatsFigures& f) {
  std::vector<StatsRow> rows;
  for (const auto& [pair, c] : f.by_pair) rows.push_back({pair, c});
  return rows;
}

// Hands every part of a report of `f` (boot, sequence) to `stats`; how many were taken.
int deliver(NetworkStats& stats, Instant now, const PeerId& from, std::uint64_t boot,
            std::uint32_t sequence, const StatsFigures& f) {
  int taken = 0;
  for (const Bytes& p : encode_report(boot, sequence, &f.totals, rows_of(f)))
    taken += stats.handle_payload(now, from, p);
  return taken;
}

StatsFigures sum_of(const NetworkStats& stats, bool up = true) {
  StatsFigures sum;
  for (const auto& [id, report] : stats.share()) add_report(sum, *report, up);
  return sum;
}

const Instant t0 = instant_from_us(1'000'000);

TEST(NetworkStats, NewestCopyOfEachPartWinsAndOlderOnesAreStale) {
  NetworkStats stats;
  EXPECT_EQ(deliver(stats, t0, member(1), 100, 2, figures(5, 1, 120)), 2);
  // A copy of round 1 arriving late changes nothing.
  EXPECT_EQ(deliver(stats, t0, member(1), 100, 1, figures(3, 0, 0)), 0);
  // A repeat of round 2 neither.
  EXPECT_EQ(deliver(stats, t0, member(1), 100, 2, figures(5, 1, 120)), 0);
  EXPECT_EQ(stats.counters().received, 2u);
  EXPECT_EQ(stats.counters().dropped_stale, 4u);
  const StatsFigures sum = sum_of(stats);
  EXPECT_EQ(sum[StatField::kLoginsAccepted], 5u);
  EXPECT_EQ(sum.by_pair.at(kCone).outcome_direct, 1u);
  // Round 3 brings only a new row (its other parts unchanged, not sent): both rows kept.
  StatsFigures later = figures(5, 1, 120);
  later.by_pair[kHard].relay = 4;
  std::vector<StatsRow> only_new = {{kHard, later.by_pair[kHard]}};
  ASSERT_TRUE(stats.handle_payload(t0, member(1), encode_report(100, 3, nullptr, only_new)[0]));
  EXPECT_EQ(sum_of(stats).by_pair.size(), 2u);
  EXPECT_EQ(stats.find(member(1))->totals_sequence, 2u);
}

TEST(NetworkStats, MembersAddUpAndHistogramsMergeByBucket) {
  NetworkStats stats;
  deliver(stats, t0, member(1), 100, 1, figures(5, 3, 80));    // 3 tunnels in (50, 100] ms
  deliver(stats, t0, member(2), 200, 1, figures(7, 1, 4000));  // 1 in (3000, 5000] ms
  StatsFigures sum = figures(1, 0, 0);                         // this supernode, live
  for (const auto& [id, report] : stats.share()) add_report(sum, *report, true);
  EXPECT_EQ(sum[StatField::kLoginsAccepted], 13u);
  EXPECT_EQ(sum[StatField::kPeersOnline], 6u);
  const SetupHistogram& h = sum.by_pair.at(kCone).direct_setup;
  EXPECT_EQ(h.count, 4u);
  // The median of the merged buckets lies in the first member's bucket; averaging the members'
  // medians (about 83 and 4000 ms) would say about 2 s.
  EXPECT_GT(h.quantile(0.5), 50.0);
  EXPECT_LE(h.quantile(0.5), 100.0);
  EXPECT_GT(h.quantile(0.95), 3000.0);
}

TEST(NetworkStats, ARestartReplacesTheReportAndCopiesFromBeforeItAreStale) {
  NetworkStats stats;
  deliver(stats, t0, member(1), 100, 40, figures(50, 9, 120));
  // Restarted: a newer boot, counters from 0, sequence from 1.
  EXPECT_EQ(deliver(stats, t0, member(1), 900, 1, figures(2, 0, 0)), 2);
  EXPECT_EQ(stats.counters().restarts, 1u);
  StatsFigures sum = sum_of(stats);
  EXPECT_EQ(sum[StatField::kLoginsAccepted], 2u);
  EXPECT_EQ(sum.by_pair.at(kCone).outcome_direct, 0u);
  // A late copy from the old run is ignored although its sequence is higher.
  EXPECT_EQ(deliver(stats, t0, member(1), 100, 41, figures(51, 9, 120)), 0);
  EXPECT_EQ(sum_of(stats)[StatField::kLoginsAccepted], 2u);
}

TEST(NetworkStats, AMemberDownKeepsItsCountersButNotItsGauges) {
  NetworkStats stats;
  deliver(stats, t0, member(1), 100, 1, figures(5, 1, 120));
  const StatsFigures down = sum_of(stats, /*up=*/false);
  EXPECT_EQ(down[StatField::kLoginsAccepted], 5u);
  EXPECT_EQ(down[StatField::kPeersOnline], 0u);
  EXPECT_EQ(down.by_pair.at(kCone).outcome_direct, 1u);
}

TEST(NetworkStats, ASharedCopyNeverChangesUnderItsHolder) {
  NetworkStats stats;
  deliver(stats, t0, member(1), 100, 1, figures(5, 1, 120));
  const NetworkStats::Shared held = stats.share();
  deliver(stats, t0 + std::chrono::seconds(10), member(1), 100, 2, figures(6, 1, 120));
  EXPECT_EQ(held[0].second->totals[static_cast<std::size_t>(StatField::kLoginsAccepted)], 5u);
  EXPECT_EQ(held[0].second->received, t0);
  EXPECT_EQ(stats.find(member(1))->totals[0], 6u);
}

TEST(NetworkStats, TheTableIsBoundedAndForgetsTheReportHeardFromLongestAgo) {
  NetworkStats stats(2);
  deliver(stats, t0, member(1), 100, 1, figures(1, 0, 0));
  deliver(stats, t0 + std::chrono::seconds(1), member(2), 100, 1, figures(2, 0, 0));
  deliver(stats, t0 + std::chrono::seconds(2), member(1), 100, 2, figures(3, 0, 0));
  deliver(stats, t0 + std::chrono::seconds(3), member(3), 100, 1, figures(4, 0, 0));
  EXPECT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats.counters().evicted, 1u);
  EXPECT_FALSE(stats.find(member(2)));
  EXPECT_TRUE(stats.find(member(1)) && stats.find(member(3)));
}

TEST(NetworkStats, MalformedPayloadsAreCountedByReason) {
  NetworkStats stats;
  EXPECT_FALSE(stats.handle_payload(t0, member(1), Bytes{0x20, 0, 0}));
  EXPECT_FALSE(stats.handle_payload(t0, member(1), Bytes{0x2F}));
  EXPECT_EQ(stats.counters().dropped_malformed, 2u);
  using E = federation::StatsDecodeError;
  EXPECT_EQ(stats.counters().malformed_by_reason[static_cast<std::size_t>(E::kTruncated)], 1u);
  EXPECT_EQ(stats.counters().malformed_by_reason[static_cast<std::size_t>(E::kUnknownType)], 1u);
  EXPECT_EQ(stats.size(), 0u);
}

TEST(StatsReporter, ARoundCarriesWhatChangedAndEveryPartOnRefresh) {
  StatsReporter reporter(StatsReportConfig{std::chrono::seconds(10), 3});
  StatsFigures f = figures(5, 1, 120);
  f.by_pair[kHard].offers = 1;
  // Round 1 (a refresh): the totals and both rows, in one rows part.
  std::vector<Bytes> round = reporter.next_round(1234, f);
  ASSERT_EQ(round.size(), 2u);
  EXPECT_EQ(reporter.boot(), 1234u);
  // Round 2: nothing changed, nothing sent.
  EXPECT_TRUE(reporter.next_round(5678, f).empty());
  // Round 3: one row changed: only it.
  f.by_pair[kHard].offers = 2;
  round = reporter.next_round(9999, f);
  ASSERT_EQ(round.size(), 1u);
  auto part = decode_stats_report(round[0], nullptr);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->boot, 1234u);  // one run, one boot
  EXPECT_EQ(part->sequence, 3u);
  ASSERT_EQ(part->rows.size(), 1u);
  EXPECT_EQ(part->rows[0].pair, kHard);
  // Round 4 is a refresh: everything again; a full report for a new member too.
  EXPECT_EQ(reporter.next_round(9999, f).size(), 2u);
  round = reporter.full_report(9999, f);
  ASSERT_EQ(round.size(), 2u);
  EXPECT_EQ(decode_stats_report(round[0], nullptr)->sequence, 5u);
}

}  // namespace
}  // namespace qp2p
