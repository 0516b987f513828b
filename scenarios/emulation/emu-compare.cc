// emu-compare: the cross-validation of issue 7. Reads the JSON of an ns-3 scenario and of its
// emulated twin (nat-discovery or traversal-matrix, same shapes) and prints, per preset, the
// profile discovered in ns-3 and behind the real NAT, or, per pair, the traversal class (direct
// / relay / failed / mixed) in both worlds, marking every disagreement. Two traversal matrices
// must have been run alike: both with hostile gateways or both without (summary.hostile). Where
// ns-3's trials of a pair were mixed (with hostile gateways the outcome depends on whose check
// reaches the other NAT first), the pair agrees when every outcome the emulation saw is one
// ns-3 saw too ("within ns-3's mix").
//
//   emu-compare --ns3 nat-discovery.json --emu nat-discovery-emu.json
//   emu-compare --ns3 traversal-matrix.json --emu traversal-matrix-emu.json
//
// Exit status: 0 the two agree on everything both ran, 1 they disagree somewhere, 2 bad input,
// 77 with --skip-missing-emu when the emulated run left no JSON (it was skipped: not root).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

using Json = nlohmann::json;

namespace {

std::optional<Json> load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "emu-compare: cannot read " << path << "\n";
    return std::nullopt;
  }
  Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    std::cerr << "emu-compare: " << path << " is not a JSON object\n";
    return std::nullopt;
  }
  return j;
}

std::string text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// "EI/APD/random hairpin=on levels=2" from a nat-discovery result row.
std::string profile(const Json& r) {
  if (r.value("mapping", Json()).is_null())
    return "(no profile: " + r.value("failure", std::string("?")) + ")";
  std::string alloc = text(r["allocation"]);
  if (alloc == "sequential") alloc += "(" + text(r.value("delta", Json(0))) + ")";
  return text(r["mapping"]) + " / " + text(r["filtering"]) + " / " + alloc + " / hairpin " +
         (r.value("hairpin", false) ? "on" : "off") + " / levels " + text(r["nat_levels"]);
}

// The most frequent profile per preset.
std::map<std::string, std::string> profiles(const Json& doc) {
  std::map<std::string, std::map<std::string, int>> counts;
  for (const auto& r : doc.value("results", Json::array()))
    ++counts[r.value("preset", "")][profile(r)];
  std::map<std::string, std::string> out;
  for (const auto& [preset, seen] : counts) {
    int best = -1;
    for (const auto& [p, n] : seen) {
      if (n > best) {
        best = n;
        out[preset] = p;
      }
    }
  }
  return out;
}

std::string pair_label(const Json& p) {
  return p.value("same_nat", false) ? text(p["a"]) + " (same NAT)"
                                    : text(p["a"]) + " x " + text(p["b"]);
}

std::string traversal_class(const Json& p) {
  const int n = p.value("trials", 0);
  if (n == 0) return "-";
  const int direct = p.value("direct", 0), relay = p.value("relay", 0);
  const int failed = p.value("failed", 0);
  if (direct == n) return "direct";
  if (relay == n) return "relay";
  if (failed == n) return "failed";
  return "mixed (" + std::to_string(direct) + "d/" + std::to_string(relay) + "r/" +
         std::to_string(failed) + "f)";
}

std::map<std::string, std::string> classes(const Json& doc) {
  std::map<std::string, std::string> out;
  for (const Json& p : doc.value("pairs", Json::array())) out[pair_label(p)] = traversal_class(p);
  return out;
}

// The outcomes a pair's trials showed ("direct", "relay", "failed"), per pair label.
std::map<std::string, std::set<std::string>> outcomes(const Json& doc) {
  std::map<std::string, std::set<std::string>> out;
  for (const Json& p : doc.value("pairs", Json::array())) {
    auto& seen = out[pair_label(p)];
    for (const char* k : {"direct", "relay", "failed"}) {
      if (p.value(k, 0) > 0) seen.insert(k);
    }
  }
  return out;
}

bool hostile(const Json& doc) {
  return doc.contains("summary") && doc["summary"].value("hostile", false);
}

// ns3_outcomes / emu_outcomes: for traversal matrices (the mix rule above); empty otherwise.
int compare(const std::map<std::string, std::string>& ns3,
            const std::map<std::string, std::string>& emu, const std::string& what, int width,
            const std::map<std::string, std::set<std::string>>& ns3_outcomes = {},
            const std::map<std::string, std::set<std::string>>& emu_outcomes = {}) {
  int differ = 0, both = 0;
  std::cout << std::left << std::setw(width) << what << " ns-3  |  emulation\n";
  for (const auto& [key, sim] : ns3) {
    auto it = emu.find(key);
    if (it == emu.end()) continue;
    ++both;
    bool same = sim == it->second;
    bool within_mix = false;
    if (!same && sim.rfind("mixed", 0) == 0 && ns3_outcomes.count(key) && emu_outcomes.count(key)) {
      const auto& seen = ns3_outcomes.at(key);
      const auto& real = emu_outcomes.at(key);
      within_mix = !real.empty() && std::includes(seen.begin(), seen.end(), real.begin(), real.end());
      same = within_mix;
    }
    differ += !same;
    std::cout << std::setw(width) << key
              << (within_mix ? "agree within ns-3's mix: " + sim + "  |  " + it->second
                  : same     ? "agree: " + sim
                             : "DIFFER: " + sim + "  |  " + it->second)
              << "\n";
  }
  std::cout << both << " compared, " << differ << " disagreements\n";
  return differ == 0 && both > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Compare an ns-3 scenario's JSON with its emulated twin's"};
  std::string ns3_path, emu_path;
  app.add_option("--ns3", ns3_path, "JSON of the ns-3 scenario")->required();
  app.add_option("--emu", emu_path, "JSON of the emulated scenario")->required();
  bool skip_missing = false;
  app.add_flag("--skip-missing-emu", skip_missing,
               "exit 77 (ctest's skip) when the emulated JSON does not exist");
  CLI11_PARSE(app, argc, argv);
  if (skip_missing && !std::ifstream(emu_path)) {
    std::cerr << "emu-compare: skipped: no " << emu_path << " (the emulated run did not run)\n";
    return 77;
  }
  auto ns3 = load(ns3_path);
  auto emu = load(emu_path);
  if (!ns3 || !emu) return 2;
  if (ns3->contains("results") && emu->contains("results")) {
    return compare(profiles(*ns3), profiles(*emu), "preset", 22);
  }
  if (ns3->contains("pairs") && emu->contains("pairs")) {
    if (hostile(*ns3) != hostile(*emu)) {
      std::cerr << "emu-compare: one matrix ran with hostile gateways, the other without ("
                << "ns-3 " << (hostile(*ns3) ? "hostile" : "not") << ", emulation "
                << (hostile(*emu) ? "hostile" : "not") << ")\n";
      return 2;
    }
    return compare(classes(*ns3), classes(*emu), "pair", 44, outcomes(*ns3), outcomes(*emu));
  }
  std::cerr << "emu-compare: the files are not both nat-discovery or both traversal-matrix JSON\n";
  return 2;
}
