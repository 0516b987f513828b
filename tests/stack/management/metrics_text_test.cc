// The Prometheus text format writer: HELP and TYPE lines, labels escaped, invalid names and
// counters without _total refused, a family written once.
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

}  // namespace
}  // namespace qp2p::management
