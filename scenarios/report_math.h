// Number formatting and statistics shared by the scenario programs (ns-3 and emulation) for their
// tables and JSON output.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace qp2p::report {

// `value` rounded to `decimals` decimal places (JSON figures stay short and stable).
inline double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

// Nearest-rank percentile (q in [0, 1]); 0 for no samples.
inline double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank > 0 ? rank - 1 : 0)];
}

}  // namespace qp2p::report
