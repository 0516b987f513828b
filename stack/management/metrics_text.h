// A writer of the Prometheus text exposition format, version 0.0.4 (the format `promtool check
// metrics` reads; https://prometheus.io/docs/instrumenting/exposition_formats/): one family is a
// `# HELP` line, a `# TYPE` line and its samples, each `name{label="value",...} number`. Names
// are checked against the data model's pattern and label values escaped, so the output is valid
// whatever the strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qp2p::management {

class MetricsText {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  // Starts a family. Counter names end in "_total" (promtool's lint); throws
  // std::invalid_argument for a name outside [a-zA-Z_:][a-zA-Z0-9_:]* or a family named twice.
  void family(std::string_view name, Type type, std::string_view help);
  // A sample of the current family.
  void sample(std::uint64_t value, const Labels& labels = {});
  // One histogram of the current (kHistogram) family: `<name>_bucket{...,le="b"}` for each upper
  // bound with its cumulative count, then le="+Inf" (= count), `<name>_sum` and `<name>_count`.
  // `cumulative` holds one count per bound, non-decreasing and at most `count`.
  void histogram(const Labels& labels, const std::vector<double>& bounds,
                 const std::vector<std::uint64_t>& cumulative, double sum, std::uint64_t count);
  // A sample in seconds (the base unit promtool wants for time) from whole microseconds.
  void sample_seconds(std::uint64_t microseconds, const Labels& labels = {});

  const std::string& text() const { return text_; }

 private:
  void series(std::string_view suffix, const Labels& labels, std::string_view value);

  std::string text_;
  std::string current_;
  Type type_ = Type::kCounter;
  std::vector<std::string> names_;
};

}  // namespace qp2p::management
