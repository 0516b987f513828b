// The Prometheus text format writer: HELP and TYPE lines, labels escaped, invalid names and
// counters without _total refused, a family written once; histograms with cumulative buckets,
// +Inf, _sum and _count.
#include <gtest/gtest.h>

#include "stack/management/metrics_text.h"

namespace qp2p::management {
namespace {

TEST(MetricsText, WritesFamiliesWithEscapedLabels) {
  MetricsText m;
  m.family("qp2p_drops_total", MetricsText::Type::kCounter, "Drops\\by reason\nsecond line.");
  m.sample(3, {{"reason", "a\"b\\c\nd"}, {"kind", "x"}});
  m.family("qp2p_peers", MetricsText::Type::kGauge, "Peers.");
  m.sample(7);
  EXPECT_EQ(m.text(),
            "# HELP qp2p_drops_total Drops\\\\by reason\\nsecond line.\n"
            "# TYPE qp2p_drops_total counter\n"
            "qp2p_drops_total{reason=\"a\\\"b\\\\c\\nd\",kind=\"x\"} 3\n"
            "# HELP qp2p_peers Peers.\n"
            "# TYPE qp2p_peers gauge\n"
            "qp2p_peers 7\n");
}

TEST(MetricsText, SecondsFromMicroseconds) {
  MetricsText m;
  m.family("qp2p_take_seconds_total", MetricsText::Type::kCounter, "Time.");
  m.sample_seconds(1234567);
  m.sample_seconds(42, {{"kind", "short"}});
  EXPECT_EQ(m.text(),
            "# HELP qp2p_take_seconds_total Time.\n"
            "# TYPE qp2p_take_seconds_total counter\n"
            "qp2p_take_seconds_total 1.234567\n"
            "qp2p_take_seconds_total{kind=\"short\"} 0.000042\n");
}

TEST(MetricsText, RefusesInvalidNamesAndRepeats) {
  MetricsText m;
  EXPECT_THROW(m.sample(1), std::logic_error);
  EXPECT_THROW(m.family("9lives", MetricsText::Type::kGauge, ""), std::invalid_argument);
  EXPECT_THROW(m.family("has-dash", MetricsText::Type::kGauge, ""), std::invalid_argument);
  EXPECT_THROW(m.family("requests", MetricsText::Type::kCounter, ""), std::invalid_argument);
  m.family("ok_total", MetricsText::Type::kCounter, "");
  EXPECT_THROW(m.family("ok_total", MetricsText::Type::kCounter, ""), std::invalid_argument);
  EXPECT_THROW(m.sample(1, {{"bad-label", "x"}}), std::invalid_argument);
  EXPECT_THROW(m.sample(1, {{"__reserved", "x"}}), std::invalid_argument);
}

TEST(MetricsText, WritesHistogramsWithCumulativeBuckets) {
  MetricsText m;
  m.family("qp2p_setup_seconds", MetricsText::Type::kHistogram, "Setup.");
  EXPECT_THROW(m.sample(1), std::logic_error) << "a histogram has no plain samples";
  m.histogram({{"path", "direct"}}, {0.05, 0.1, 120}, {1, 3, 3}, 0.275, 4);
  EXPECT_EQ(m.text(),
            "# HELP qp2p_setup_seconds Setup.\n"
            "# TYPE qp2p_setup_seconds histogram\n"
            "qp2p_setup_seconds_bucket{path=\"direct\",le=\"0.05\"} 1\n"
            "qp2p_setup_seconds_bucket{path=\"direct\",le=\"0.1\"} 3\n"
            "qp2p_setup_seconds_bucket{path=\"direct\",le=\"120\"} 3\n"
            "qp2p_setup_seconds_bucket{path=\"direct\",le=\"+Inf\"} 4\n"
            "qp2p_setup_seconds_sum{path=\"direct\"} 0.275\n"
            "qp2p_setup_seconds_count{path=\"direct\"} 4\n");
  // Counts that decrease, or exceed the total, and a label named le are refused.
  EXPECT_THROW(m.histogram({}, {1, 2}, {2, 1}, 0, 2), std::invalid_argument);
  EXPECT_THROW(m.histogram({}, {1, 2}, {1, 3}, 0, 2), std::invalid_argument);
  EXPECT_THROW(m.histogram({{"le", "1"}}, {1}, {0}, 0, 0), std::invalid_argument);
  m.family("qp2p_peers", MetricsText::Type::kGauge, "Peers.");
  EXPECT_THROW(m.histogram({}, {1}, {0}, 0, 0), std::logic_error) << "not a histogram family";
}

}  // namespace
}  // namespace qp2p::management
