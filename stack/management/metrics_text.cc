// Prometheus text exposition format writer (metrics_text.h).
#include "stack/management/metrics_text.h"

#include <algorithm>
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
  text_ += type == Type::kCounter ? " counter\n" : " gauge\n";
}

void MetricsText::sample(std::uint64_t value, const Labels& labels) {
  sample_text(std::to_string(value), labels);
}

void MetricsText::sample_seconds(std::uint64_t microseconds, const Labels& labels) {
  std::string fraction = std::to_string(microseconds % 1000000);
  fraction.insert(0, 6 - fraction.size(), '0');
  sample_text(std::to_string(microseconds / 1000000) + "." + fraction, labels);
}

void MetricsText::sample_text(const std::string& value, const Labels& labels) {
  if (current_.empty()) throw std::logic_error("metric sample before any family");
  text_ += current_;
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
