// Number formatting shared by the scenario programs (ns-3 and emulation) for their JSON output.
#pragma once

#include <cmath>

namespace qp2p::report {

// `value` rounded to `decimals` decimal places (JSON figures stay short and stable).
inline double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

}  // namespace qp2p::report
