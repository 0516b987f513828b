// Scenario: does a peer classify a real NAT right? The emulated twin of scenarios/nat-discovery:
// one real qp2p-supernode (two public addresses) and, behind a real Linux NAT of every preset
// (nftables in network namespaces, emu_topology.h), `qp2p-peer netcheck` classifying it. Each
// result is judged with the ns-3 scenario's rule (expected_profile.h) against the nat-models
// behaviour the gateways were built from. Root only.
//
//   emu-nat-discovery [--sites=1] [--presets=a,b,...] [--loss=0] [--hairpin=on|off] [--hostile]
//                     [--timeout=20] [--json=nat-discovery-emu.json] [--bin-dir=DIR]
//
// --sites gives every preset that many sites (one host each); --loss is a probability, as in
// ns-3, applied as random UDP loss on every gateway's forward path.
//
// Output: the ns-3 scenario's table (one row per preset: the profile most of its hosts
// detected, how many were correct, the expectation when not all were) and its JSON:
//   {"results":[{"preset","mapping","filtering","allocation","hairpin","nat_levels","correct",
//                "delta","expected":{...}[,"notes"|"failure"]}],
//    "summary":{"per_preset":{...},"peers","correct","correct_ratio","nat_sites",
//               "nat_gateways","namespaces","wall_seconds","loss","world":"emulation"}}
// Exit status: 0 every result correct, 1 otherwise, 2 bad command line, 77 not root / no
// namespaces (ctest's skip code), 128+N when interrupted by signal N (after cleaning up).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "scenarios/emulation/command_runner.h"
#include "scenarios/emulation/emu_processes.h"
#include "scenarios/emulation/emu_topology.h"
#include "scenarios/emulation/expected_profile.h"
#include "scenarios/report_math.h"

using namespace qp2p;
using Json = nlohmann::ordered_json;

namespace {

// Discovery's own deadline plus the process start and the JSON line.
constexpr std::chrono::seconds kNetcheckSlack{10};

std::string row(const Json& p) {
  std::ostringstream os;
  const std::string allocation = p.value("allocation", std::string("?"));
  std::string alloc_text = allocation;
  if (allocation == "sequential") {
    const int delta = p.value("delta", 0);
    alloc_text += std::string("(") + (delta >= 0 ? "+" : "") + std::to_string(delta) + ")";
  }
  os << std::left << std::setw(27) << p.value("mapping", std::string("?")) << std::setw(27)
     << p.value("filtering", std::string("?")) << std::setw(15) << alloc_text << std::setw(8)
     << (p.value("hairpin", false) ? "on" : "off") << std::setw(7) << p.value("nat_levels", -1);
  return os.str();
}

// The detected profile in the expected profile's shape (delta 0 unless sequential).
Json detected(const Json& netcheck) {
  Json d;
  d["mapping"] = netcheck.value("mapping", "unknown");
  d["filtering"] = netcheck.value("filtering", "unknown");
  d["allocation"] = netcheck.value("allocation", "unknown");
  d["delta"] = d["allocation"] == "sequential" ? netcheck.value("delta", 0) : 0;
  d["hairpin"] = netcheck.value("hairpin", false);
  d["nat_levels"] = netcheck.value("nat_levels", -1);
  return d;
}

struct Run {
  std::string preset;
  emu::ExpectedProfile expected;
  std::string host_netns;
  std::string gateway;
  std::optional<test::ChildProcess> process;
  std::optional<Json> result;  // the netcheck line (profile or error)
  bool done = false;
};

using qp2p::report::round_to;

}  // namespace

int main(int argc, char** argv) {
  const auto wall_start = std::chrono::steady_clock::now();
  CLI::App app{
      "Real qp2p-peer netcheck behind a real Linux NAT of every preset; prints the detected "
      "profile per preset and writes every result as JSON. Exit status 1 if any is wrong."};
  int sites = 1;
  std::vector<std::string> presets;
  double loss = 0.0;
  std::string hairpin;
  bool hostile = false;
  int timeout_seconds = 20;
  std::string json_path = "nat-discovery-emu.json";
  std::string bin_dir;
  app.add_option("--sites", sites, "sites per preset, one host each")->check(CLI::Range(1, 8));
  app.add_option("--presets", presets, "presets to run (default: all)")->delimiter(',');
  app.add_option("--loss", loss, "random UDP loss probability on every gateway")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--hairpin", hairpin, "override every site's hairpinning")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_flag("--hostile", hostile, "gateways answer unsolicited UDP with ICMP");
  app.add_option("--timeout", timeout_seconds, "netcheck's deadline in seconds")
      ->check(CLI::Range(1, 120));
  app.add_option("--json", json_path, "where to write the results");
  app.add_option("--bin-dir", bin_dir, "directory of qp2p-supernode and qp2p-peer")
      ->default_str(emu::default_binary_dir());
  CLI11_PARSE(app, argc, argv);
  if (presets.empty()) {
    for (auto n : nat::preset_names()) presets.emplace_back(n);
    for (auto n : nat::chain_preset_names()) presets.emplace_back(n);
  }

  std::remove(json_path.c_str());  // a run leaves its own results or none, never stale ones
  try {
    emu::Topology::check_environment();
  } catch (const emu::Unavailable& e) {
    std::cerr << "emu-nat-discovery: skipped: " << e.what() << "\n";
    return 77;
  }
  emu::install_interrupt_handlers();

  emu::TopologySpec spec;
  spec.loss_percent = static_cast<int>(std::lround(loss * 100.0));
  for (int s = 0; s < sites; ++s) {
    for (const auto& p : presets) {
      emu::SiteSpec site;
      site.preset = p;
      if (!hairpin.empty()) site.hairpin = hairpin == "on";
      site.hostile = hostile;
      spec.sites.push_back(site);
    }
  }

  std::vector<Run> runs;
  Json json_results = Json::array();
  int correct = 0;
  int gateways = 0;
  std::size_t namespaces = 0;
  double build_seconds = 0.0;
  try {
    emu::Topology topology(spec);  // declared before every process: torn down after them
    build_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    emu::RunDir dir(topology.prefix());
    auto supernode = emu::start_supernode(topology, 0, dir, bin_dir);
    const std::string server = emu::supernode_endpoint(topology, 0);
    for (const emu::Site& site : topology.sites()) {
      Run r;
      r.preset = site.preset;
      r.expected = emu::expected_profile(site.gateways);
      r.host_netns = site.hosts.front().netns;
      r.gateway = site.hosts.front().gateway;
      gateways += static_cast<int>(site.gateways.size());
      runs.push_back(std::move(r));
    }
    namespaces = emu::Topology::list_namespaces(topology.prefix()).size();
    // Every netcheck at once: each is a few dozen datagrams; the deadline bounds them all.
    for (Run& r : runs) {
      std::vector<std::string> args = {"netcheck", "--supernode", server, "--timeout",
                                       std::to_string(timeout_seconds)};
      if (!r.gateway.empty()) args.insert(args.end(), {"--gateway", r.gateway});
      r.process.emplace(
          topology.spawn_in(r.host_netns, emu::binary_path(bin_dir, "qp2p-peer"), args));
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds) + kNetcheckSlack;
    std::size_t pending = runs.size();
    while (pending > 0 && !emu::interrupted() && std::chrono::steady_clock::now() < deadline) {
      emu::drain(supernode);
      for (Run& r : runs) {
        if (r.done) continue;
        auto line = r.process->read_line(std::chrono::milliseconds(20));
        if (line && !line->empty() && line->front() == '{') {
          Json j = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
          if (!j.is_discarded() && (j.contains("mapping") || j.contains("error"))) r.result = j;
        }
        if (r.result || r.process->at_eof()) {
          r.done = true;
          --pending;
        }
      }
    }
    if (emu::interrupted()) {
      std::cerr << "emu-nat-discovery: interrupted; removing " << topology.prefix() << "*\n";
      return 128 + emu::interrupt_signal();  // destructors: processes, run dir, namespaces
    }
    for (Run& r : runs) r.process->stop(std::chrono::seconds(2));
    supernode.stop(std::chrono::seconds(2));
  } catch (const std::exception& e) {
    std::cerr << "emu-nat-discovery: " << e.what() << "\n";
    return emu::interrupted() ? 128 + emu::interrupt_signal() : 1;
  }
  const double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // Judge, tally per preset, print the ns-3 scenario's table.
  struct Tally {
    int peers = 0;
    int correct = 0;
    std::map<std::string, int> seen;  // row text -> count
    std::vector<std::string> failures;
    emu::ExpectedProfile expected;
  };
  std::map<std::string, Tally> tallies;
  for (Run& r : runs) {
    Tally& t = tallies[r.preset];
    if (t.peers++ == 0) t.expected = r.expected;
    Json out;
    out["preset"] = r.preset;
    const Json expected = r.expected.to_json();
    if (r.result && r.result->contains("mapping")) {
      const Json d = detected(*r.result);
      const bool ok = d == Json(expected);
      for (const char* key : {"mapping", "filtering", "allocation", "hairpin", "nat_levels"}) {
        out[key] = d[key];
      }
      out["correct"] = ok;
      out["delta"] = d["delta"];
      out["expected"] = expected;
      if (!ok && r.result->contains("notes")) out["notes"] = (*r.result)["notes"];
      ++t.seen[row(d)];
      t.correct += ok;
      correct += ok;
    } else {
      std::string why = r.result ? r.result->value("error", std::string("error"))
                                 : "no result within the deadline";
      if (!r.result && !r.process->lines().empty()) why += ": " + r.process->lines().back();
      for (const char* key : {"mapping", "filtering", "allocation", "hairpin", "nat_levels"}) {
        out[key] = nullptr;
      }
      out["correct"] = false;
      out["delta"] = nullptr;
      out["expected"] = expected;
      out["failure"] = why;
      t.failures.push_back(why);
    }
    json_results.push_back(std::move(out));
  }

  const int peers = static_cast<int>(runs.size());
  std::cout << "nat-discovery (emulated, real Linux NATs): loss " << loss << ", " << peers
            << " hosts (qp2p-peer netcheck)\n";
  std::cout << std::left << std::setw(22) << "preset" << std::setw(27) << "mapping" << std::setw(27)
            << "filtering" << std::setw(15) << "allocation" << std::setw(8) << "hairpin"
            << std::setw(7) << "levels"
            << "correct\n";
  for (const std::string& preset : presets) {
    const Tally& t = tallies[preset];
    if (t.peers == 0) continue;
    std::vector<std::pair<std::string, int>> seen(t.seen.begin(), t.seen.end());
    std::stable_sort(seen.begin(), seen.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    const std::string ratio = std::to_string(t.correct) + "/" + std::to_string(t.peers);
    std::cout << std::setw(22) << preset;
    if (seen.empty()) {
      std::cout << std::setw(84) << "(no profile)" << ratio << "\n";
    } else {
      std::cout << seen[0].first << ratio << "\n";
    }
    for (std::size_t k = 1; k < seen.size(); ++k) {
      std::cout << std::setw(22) << "  also" << seen[k].first << "(" << seen[k].second
                << " hosts)\n";
    }
    if (!t.failures.empty()) {
      std::cout << std::setw(22) << "  no profile" << t.failures.size() << " hosts, e.g. "
                << t.failures.front() << "\n";
    }
    if (t.correct < t.peers)
      std::cout << std::setw(22) << "  expected" << row(t.expected.to_json()) << "\n";
  }
  std::cout << correct << "/" << peers << " correct; " << gateways << " NAT gateways, "
            << namespaces << " namespaces\n";
  std::cout << std::fixed << std::setprecision(2) << "wall " << wall_seconds << " s (build "
            << build_seconds << " s)\n";

  Json per_preset = Json::object();
  for (const std::string& preset : presets) {
    const Tally& t = tallies[preset];
    if (t.peers > 0) per_preset[preset] = Json{{"peers", t.peers}, {"correct", t.correct}};
  }
  Json summary;
  summary["per_preset"] = per_preset;
  summary["peers"] = peers;
  summary["correct"] = correct;
  summary["correct_ratio"] = peers ? round_to(double(correct) / peers, 6) : 0.0;
  summary["nat_sites"] = peers - tallies["open"].peers;
  summary["nat_gateways"] = gateways;
  summary["namespaces"] = namespaces;
  summary["wall_seconds"] = round_to(wall_seconds, 3);
  summary["loss"] = loss;
  summary["world"] = "emulation";
  const Json out{{"results", std::move(json_results)}, {"summary", std::move(summary)}};
  std::ofstream file(json_path);
  file << out.dump(1) << "\n";
  if (!file) {
    std::cerr << "emu-nat-discovery: cannot write " << json_path << "\n";
    return 2;
  }
  std::cout << "results: " << json_path << "\n";
  return correct == peers ? 0 : 1;
}
