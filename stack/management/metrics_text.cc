// Prometheus text exposition format writer (metrics_text.h).
#include "stack/management/metrics_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace qp2p::management {

namespace {

bool valid_name(std::string_view name, bool label) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                       (!label && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Label values escape backslash, double quote and line feed; HELP text backslash and line feed.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
}

// A float as Go's strconv would read it back exactly, without exponent noise for the usual
// values ("0.05", "120", "3.25").
std::string number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<std::int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest form that reads back the same.
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

}  // namespace

void MetricsText::family(std::string_view name, Type type, std::string_view help) {
  if (!valid_name(name, false)) throw std::invalid_argument("bad metric name " + std::string(name));
  if (type == Type::kCounter && (name.size() < 6 || name.substr(name.size() - 6) != "_total"))
    throw std::invalid_argument("counter " + std::string(name) + " must end in _total");
  if (std::find(names_.begin(), names_.end(), name) != names_.end())
    throw std::invalid_argument("metric family " + std::string(name) + " written twice");
  names_.emplace_back(name);
  current_ = std::string(name);
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  append_escaped(text_, help, false);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += type == Type::kCounter ? " counter\n" : type == Type::kGauge ? " gauge\n" : " histogram\n";
  type_ = type;
}

void MetricsText::sample(std::uint64_t value, const Labels& labels) {
  if (type_ == Type::kHistogram) throw std::logic_error("a histogram's samples come from histogram()");
  series({}, labels, std::to_string(value));
}

void MetricsText::histogram(const Labels& labels, const std::vector<double>& bounds,
                            const std::vector<std::uint64_t>& cumulative, double sum,
                            std::uint64_t count) {
  if (type_ != Type::kHistogram) throw std::logic_error("histogram() outside a histogram family");
  if (bounds.size() != cumulative.size() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      !std::is_sorted(cumulative.begin(), cumulative.end()) ||
      (!cumulative.empty() && cumulative.back() > count))
    throw std::invalid_argument("histogram buckets out of order");
  for (const auto& l : labels)
    if (l.first == "le") throw std::invalid_argument("histogram label le is reserved");
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    const std::string le = i < bounds.size() ? number(bounds[i]) : "+Inf";
    with_le.back().second = le;
    series("_bucket", with_le, std::to_string(i < bounds.size() ? cumulative[i] : count));
  }
  series("_sum", labels, number(sum));
  series("_count", labels, std::to_string(count));
}

void MetricsText::sample_seconds(std::uint64_t microseconds, const Labels& labels) {
  std::string fraction = std::to_string(microseconds % 1000000);
  fraction.insert(0, 6 - fraction.size(), '0');
  series({}, labels, std::to_string(microseconds / 1000000) + "." + fraction);
}

void MetricsText::series(std::string_view suffix, const Labels& labels, std::string_view value) {
  if (current_.empty()) throw std::logic_error("metric sample before any family");
  text_ += current_;
  text_ += suffix;
  if (!labels.empty()) {
    text_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (!valid_name(labels[i].first, true) || labels[i].first.substr(0, 2) == "__")
        throw std::invalid_argument("bad label name " + std::string(labels[i].first));
      if (i) text_ += ',';
      text_ += labels[i].first;
      text_ += "=\"";
      append_escaped(text_, labels[i].second, true);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += value;
  text_ += '\n';
}

}  // namespace qp2p::management
