// The traversal matrix as a heatmap PNG through gnuplot: see traversal-heatmap.h.
#include "traversal-heatmap.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace ns3 {

namespace {

int IndexOf(const std::vector<std::string>& presets, const std::string& name) {
  for (std::size_t i = 0; i < presets.size(); ++i) {
    if (presets[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// Quotes for a gnuplot string literal (the names are plain preset words).
std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

}  // namespace

bool WriteHeatmap(const std::string& png, const std::vector<std::string>& presets,
                  const std::vector<HeatmapCell>& cells, const std::string& title,
                  std::string* error) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    *error = "gnuplot is not installed (apt-get install gnuplot-nox); no heatmap written";
    return false;
  }
  const int n = static_cast<int>(presets.size());
  // x: the column (the b preset, or n for "same NAT"), y: the row (the a preset), from the top.
  std::ostringstream measured;  // index 0: x y direct% label
  std::ostringstream relay;     // index 1: x y label
  for (const HeatmapCell& c : cells) {
    const int ia = IndexOf(presets, c.a);
    const int ib = IndexOf(presets, c.b);
    if (ia < 0 || ib < 0) continue;
    std::vector<std::pair<int, int>> at;  // (x, y); both triangles for a pair of two NATs
    if (c.sameNat) {
      at.push_back({n, ia});
    } else {
      at.push_back({ib, ia});
      if (ia != ib) at.push_back({ia, ib});
    }
    for (const auto& [x, y] : at) {
      if (c.relayOnly) {
        relay << x << ' ' << y << " \"relay\"\n";
      } else {
        measured << x << ' ' << y << ' ' << std::fixed << std::setprecision(1) << c.directPercent
                 << " \"" << std::setprecision(0) << c.directPercent << "%\"\n";
      }
    }
  }
  const std::string dat = png + ".dat";
  const std::string gp = png + ".gp";
  {
    std::ofstream out(dat);
    // gnuplot needs at least one point per index: a point outside the plotted range.
    out << "# x y direct% label (pairs measured)\n"
        << measured.str() << "-10 -10 0 \"\"\n\n\n"
        << "# x y label (direct infeasible: relay)\n"
        << relay.str() << "-10 -10 \"\"\n";
    if (!out) {
      *error = "cannot write " + dat;
      return false;
    }
  }
  std::ofstream script(gp);
  script << "set terminal png size " << 140 + 110 * (n + 1) << "," << 160 + 70 * n
         << " font \",10\"\n"
         << "set output " << Quoted(png) << "\n"
         << "set title " << Quoted(title) << "\n"
         << "set xrange [-0.5:" << n + 0.5 << "]\n"
         << "set yrange [" << n - 0.5 << ":-0.5]\n"
         << "set cbrange [0:100]\nset cblabel \"direct %\"\n"
         << "set palette defined (0 \"#d73027\", 50 \"#fee08b\", 95 \"#a6d96a\", 100 "
            "\"#1a9850\")\n"
         << "set style fill solid 1.0 border rgb \"white\"\n"
         << "set xtics rotate by -30 left nomirror\nset ytics nomirror\nunset key\n"
         << "set xtics (";
  for (int i = 0; i <= n; ++i) {
    script << (i ? ", " : "") << Quoted(i < n ? presets[i] : "same NAT") << ' ' << i;
  }
  script << ")\nset ytics (";
  for (int i = 0; i < n; ++i) {
    script << (i ? ", " : "") << Quoted(presets[i]) << ' ' << i;
  }
  script << ")\n"
         << "plot " << Quoted(dat) << " index 0 using 1:2:(0.5):(0.5):3 with boxxy lc palette, \\\n"
         << "     " << Quoted(dat)
         << " index 1 using 1:2:(0.5):(0.5) with boxxy lc rgb \"#9ecae1\", \\\n"
         << "     " << Quoted(dat) << " index 0 using 1:2:4 with labels, \\\n"
         << "     " << Quoted(dat) << " index 1 using 1:2:3 with labels\n";
  script.close();
  if (!script) {
    *error = "cannot write " + gp;
    return false;
  }
  const std::string command = "gnuplot " + Quoted(gp) + " 2>&1";
  if (std::system(command.c_str()) != 0) {
    *error = "gnuplot failed on " + gp;
    return false;
  }
  return true;
}

}  // namespace ns3
