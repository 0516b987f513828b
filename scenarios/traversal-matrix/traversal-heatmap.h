// The traversal matrix as a heatmap PNG, drawn by gnuplot (an external program: the scenario
// writes the data and the script next to the PNG and runs `gnuplot`). Rows and columns are the
// presets; the extra last column is "both peers behind one NAT of the row's preset". A cell's
// colour is the share of trials with a direct tunnel; its label the direct %, or "relay" where
// direct is infeasible, or "-" for a pair that was not run.
#pragma once

#include <string>
#include <vector>

namespace ns3 {

struct HeatmapCell {
  std::string a;
  std::string b;
  bool sameNat = false;
  double directPercent = 0.0;
  bool relayOnly = false;  // direct infeasible: the label says "relay"
};

// Writes `png` (and png + ".dat", png + ".gp"). Returns false with `error` set when gnuplot is
// missing or fails.
bool WriteHeatmap(const std::string& png, const std::vector<std::string>& presets,
                  const std::vector<HeatmapCell>& cells, const std::string& title,
                  std::string* error);

}  // namespace ns3
