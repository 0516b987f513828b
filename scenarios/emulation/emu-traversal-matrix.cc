// Scenario: the traversal matrix through real Linux NATs, the emulated twin of
// scenarios/traversal-matrix. Per pair of NAT presets (or both peers behind one NAT), a
// test-bed of one real qp2p-supernode and two hosts behind real NATs (emu_topology.h); per
// trial two fresh qp2p-peer processes with NAT discovery on log in and publish their profile,
// A sends `connect B` (B runs with --auto-accept), and the trial waits for the tunnel on both
// sides, then sends a few tdata lines each way through it.
//
//   emu-traversal-matrix [--trials=1] [--pairs=FILTER] [--loss=0] [--hostile]
//                        [--json=traversal-matrix-emu.json] [--heatmap=PATH.png]
//                        [--bin-dir=DIR]
//
// --pairs uses the ns-3 scenario's syntax ("A:B", "A:same", or a word of the label). Trials of
// one pair share its test-bed (fresh processes, keys and ports each trial; the gateways keep
// their conntrack state, as a real NAT would). --hostile makes every gateway answer
// unsolicited UDP with ICMP. The supernode runs its TURN service (--turn-secret) for the relay
// fallback of tunnels (docs/protocol.md section 8.6).
//
// Output: one row per pair (trials, direct %, relay %, failed %, setup p50/p95 in
// wall-clock ms from A's connect to the tunnel on both sides, A's punch strategy, verdict), the
// failure reasons under it, the ns-3 scenario's heatmap (--heatmap, through gnuplot; its
// traversal-heatmap.cc) and JSON in the ns-3 scenario's shape:
//   {"pairs":[{"a","b","same_nat","trials","direct","relay","failed",
//              "setup_ms_p50","setup_ms_p95"}],
//    "summary":{"expectations_met":bool,"violations":[..],"trials":N,
//               "loss":P,"hostile":bool,"wall_seconds":S,"world":"emulation"}}
// Expectations are the ns-3 scenario's (scenarios/traversal-matrix/traversal-pairs.h): a tunnel
// in every trial, 100% direct for endpoint-independent pairs and one shared NAT, >= 95% direct
// for the other feasible pairs, 100% relay for infeasible ones; with --hostile only the tunnel
// and the relay of infeasible pairs. Exit status 1 when one fails, 77 when not root or without
// namespaces, 128+N when interrupted by signal N (after cleaning up).
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
#include "scenarios/emulation/emu_peer.h"
#include "scenarios/emulation/emu_processes.h"
#include "scenarios/emulation/emu_topology.h"
#include "scenarios/traversal-matrix/traversal-heatmap.h"
#include "scenarios/traversal-matrix/traversal-pairs.h"
#include "scenarios/report_math.h"

using namespace qp2p;
using Json = nlohmann::ordered_json;
using emu::EmuPeer;
using matrix::PairSpec;

namespace {

// Login, NAT discovery (its deadline is 20 s) and publish of both peers.
constexpr std::chrono::seconds kReadyTimeout{45};
// From A's connect to a tunnel (or its end), as in ns-3's TrialParameters: a failed direct
// attempt (10 s) and a relayed one (30 s).
constexpr std::chrono::seconds kTunnelTimeout{60};
// The supernode's TURN secret (qp2p-supernode --turn-secret).
constexpr const char* kTurnSecret = "traversal-matrix";
constexpr int kDataMessages = 5;  // tdata lines each way once the tunnel is up
constexpr std::chrono::seconds kDataWait{3};

enum class Kind { kDirect, kRelay, kFailed };

struct Trial {
  Kind kind = Kind::kFailed;
  std::string failure;
  std::string strategy;  // A's punch strategy, "none (relay)" when infeasible
  double setup_ms = 0.0;
};

struct PairResult {
  PairSpec pair;
  matrix::Tally tally;
  std::vector<double> setup_ms;
  std::map<std::string, int> strategies;
  std::vector<std::string> failures;
  std::vector<std::string> violations;
};

auto about(const std::string& id) {
  return [id](const EmuPeer::Json& j) { return j.value("peer", "") == id; };
}

// Ready: the profile is published (the "published" after "nat"), or discovery failed.
bool ready(const EmuPeer& p) {
  const auto* nat = p.find("nat");
  if (!nat)
    return p.find("error", [](const EmuPeer::Json& j) {
      return j.value("command", "") == "netcheck";
    }) != nullptr;
  for (const auto& e : p.events()) {
    if (e.at >= nat->at && e.json.value("event", "") == "published") return true;
  }
  return false;
}

std::string profile_of(const EmuPeer& p) {
  const auto* nat = p.find("nat");
  if (!nat) return "-";
  return nat->json.value("mapping", "?") + "/" + nat->json.value("allocation", "?");
}

Trial run_trial(const emu::Topology& topology, const PairSpec& pair, int t,
                const std::string& server, const emu::RunDir& dir, const std::string& bin_dir) {
  Trial out;
  const auto& sites = topology.sites();
  const emu::Host& host_a = sites.at(0).hosts.at(0);
  const emu::Host& host_b = pair.same_nat ? sites.at(0).hosts.at(1) : sites.at(1).hosts.at(0);
  const std::string peer = emu::binary_path(bin_dir, "qp2p-peer");
  const std::string tag = std::to_string(t);
  // The gateway lets discovery count NAT levels (cgnat: two), which the opening checks' TTL
  // needs (docs/protocol.md section 8.5).
  auto args = [&](const emu::Host& host, const std::string& key, bool accept) {
    std::vector<std::string> a = {"--supernode", server, "--key", dir.file(key), "--nat-discovery"};
    if (accept) a.push_back("--auto-accept");
    if (!host.gateway.empty()) a.insert(a.end(), {"--gateway", host.gateway});
    return a;
  };
  EmuPeer a(topology, host_a.netns, peer, args(host_a, "a" + tag + ".key", false));
  EmuPeer b(topology, host_b.netns, peer, args(host_b, "b" + tag + ".key", true));
  auto finish = [&](Trial r) {
    a.stop();
    b.stop();
    return r;
  };
  if (!emu::wait_until(
          {&a, &b}, [&] { return ready(a) && ready(b); }, kReadyTimeout)) {
    out.failure = std::string("not ready: a ") +
                  (ready(a)               ? "ready"
                   : a.find("registered") ? "registered"
                                          : "not registered") +
                  ", b " +
                  (ready(b)               ? "ready"
                   : b.find("registered") ? "registered"
                                          : "not registered");
    return finish(out);
  }
  const std::string id_a = a.find("registered")->json.value("peer_id", "");
  const std::string id_b = b.find("registered")->json.value("peer_id", "");
  const auto connect_at = EmuPeer::Clock::now();
  a.command("connect " + id_b);
  auto ended = [&](const EmuPeer& p, const std::string& other) {
    return p.find("tunnel-closed", about(other)) || p.find("tunnel-refused", about(other)) ||
           p.find("error",
                  [](const EmuPeer::Json& j) { return j.value("command", "") == "connect"; });
  };
  emu::wait_until(
      {&a, &b},
      [&] {
        return (a.find("tunnel", about(id_b)) && b.find("tunnel", about(id_a))) || ended(a, id_b);
      },
      kTunnelTimeout);
  if (const auto* punch = a.find("punch-start", about(id_b))) {
    out.strategy = punch->json.value("direct_feasible", false)
                       ? punch->json.value("strategy", std::string("?"))
                       : "none (relay)";
  }
  const auto* up_a = a.find("tunnel", about(id_b));
  const auto* up_b = b.find("tunnel", about(id_a));
  if (up_a && up_b) {
    out.setup_ms =
        std::chrono::duration<double, std::milli>(std::max(up_a->at, up_b->at) - connect_at)
            .count();
    for (int i = 0; i < kDataMessages; ++i) {
      a.command("tsend " + id_b + " a->b " + std::to_string(i));
      b.command("tsend " + id_a + " b->a " + std::to_string(i));
    }
    auto count = [](const EmuPeer& p, const std::string& from) {
      int n = 0;
      for (const auto& e : p.events()) {
        n += e.json.value("event", "") == "tdata" && e.json.value("from", "") == from;
      }
      return n;
    };
    emu::wait_until(
        {&a, &b},
        [&] { return count(b, id_a) >= kDataMessages && count(a, id_b) >= kDataMessages; },
        kDataWait);
    if (count(b, id_a) == 0 || count(a, id_b) == 0) {
      out.failure = std::string("tunnel up but no data ") + (count(b, id_a) == 0 ? "a->b" : "b->a");
      return finish(out);
    }
    const bool direct =
        up_a->json.value("path", "") == "direct" && up_b->json.value("path", "") == "direct";
    out.kind = direct ? Kind::kDirect : Kind::kRelay;
    return finish(out);
  }
  const auto* closed = a.find("tunnel-closed", about(id_b));
  const auto* closed_b = b.find("tunnel-closed", about(id_a));
  std::string why =
      closed     ? "a: " + closed->json.value("reason", std::string())
      : closed_b ? "b: " + closed_b->json.value("reason", std::string())
      : up_a     ? "only a established"
      : up_b     ? "only b established"
                 : "no tunnel " + std::to_string(kTunnelTimeout.count()) + " s after the request";
  why += " [profiles a " + profile_of(a) + ", b " + profile_of(b) + "]";
  out.failure = why;
  return finish(out);
}

std::string percent(std::uint32_t part, std::uint32_t whole) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(0) << (whole ? 100.0 * part / whole : 0.0);
  return os.str();
}

using qp2p::report::round_to;

}  // namespace

int main(int argc, char** argv) {
  const auto wall_start = std::chrono::steady_clock::now();
  CLI::App app{
      "Pairs of real Linux NATs: real qp2p-peer processes ask for a tunnel; prints "
      "direct/relay/failed shares and setup times, writes JSON. Exit status 1 if an "
      "expectation fails."};
  int trials = 1;
  std::string filter;
  double loss = 0.0;
  bool hostile = false;
  std::string json_path = "traversal-matrix-emu.json";
  std::string heatmap_path;
  std::string bin_dir;
  app.add_option("--trials", trials, "trials per pair")->check(CLI::Range(1, 100));
  app.add_option("--pairs", filter, "A:B, A:same, or a word of the pair label; comma-separated");
  app.add_option("--loss", loss, "random UDP loss probability on every gateway")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--hostile", hostile, "gateways answer unsolicited UDP with ICMP");
  app.add_option("--json", json_path, "where to write the results");
  app.add_option("--heatmap", heatmap_path, "where to write the heatmap PNG (gnuplot)");
  app.add_option("--bin-dir", bin_dir, "directory of qp2p-supernode and qp2p-peer")
      ->default_str(emu::default_binary_dir());
  CLI11_PARSE(app, argc, argv);

  std::remove(json_path.c_str());  // a run leaves its own results or none, never stale ones
  try {
    emu::Topology::check_environment();
  } catch (const emu::Unavailable& e) {
    std::cerr << "emu-traversal-matrix: skipped: " << e.what() << "\n";
    return 77;
  }
  emu::install_interrupt_handlers();

  std::vector<PairResult> results;
  try {
    for (const PairSpec& pair : matrix::all_pairs()) {
      if (!matrix::selected(pair, filter)) continue;
      emu::TopologySpec spec;
      spec.loss_percent = static_cast<int>(std::lround(loss * 100.0));
      emu::SiteSpec a{pair.a, pair.same_nat ? 2 : 1, std::nullopt, hostile};
      spec.sites.push_back(a);
      if (!pair.same_nat) spec.sites.push_back(emu::SiteSpec{pair.b, 1, std::nullopt, hostile});
      emu::Topology topology(spec);  // before the processes: torn down after them
      emu::RunDir dir(topology.prefix());
      auto supernode =
          emu::start_supernode(topology, 0, dir, bin_dir, {"--turn-secret", kTurnSecret});
      PairResult r;
      r.pair = pair;
      for (int t = 0; t < trials && !emu::interrupted(); ++t) {
        const Trial o =
            run_trial(topology, pair, t, emu::supernode_endpoint(topology, 0), dir, bin_dir);
        emu::drain(supernode);
        if (emu::interrupted()) break;
        ++r.tally.trials;
        if (!o.strategy.empty()) ++r.strategies[o.strategy];
        switch (o.kind) {
          case Kind::kDirect:
            ++r.tally.direct;
            break;
          case Kind::kRelay:
            ++r.tally.relay;
            break;
          case Kind::kFailed:
            ++r.tally.failed;
            r.failures.push_back("trial " + std::to_string(t) + ": " + o.failure);
            break;
        }
        if (o.kind == Kind::kDirect || o.kind == Kind::kRelay) r.setup_ms.push_back(o.setup_ms);
      }
      supernode.stop(std::chrono::seconds(2));
      if (emu::interrupted()) {
        std::cerr << "emu-traversal-matrix: interrupted; removing " << topology.prefix() << "*\n";
        return 128 + emu::interrupt_signal();
      }
      r.violations = matrix::violations(pair, r.tally, hostile);
      const matrix::Tally& n = r.tally;
      std::cerr << "emu-traversal-matrix: " << pair.label() << ": " << n.direct << " direct, "
                << n.relay << " relay, " << n.failed << " failed of " << n.trials << "\n";
      results.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    std::cerr << "emu-traversal-matrix: " << e.what() << "\n";
    return emu::interrupted() ? 128 + emu::interrupt_signal() : 1;
  }
  const double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  std::cout << "traversal-matrix (emulated, real Linux NATs"
            << (hostile ? ", hostile gateways" : "") << "): " << trials << " trials per pair, loss "
            << loss << "\n";
  std::cout << std::left << std::setw(44) << "pair" << std::right << std::setw(7) << "trials"
            << std::setw(8) << "direct" << std::setw(7) << "relay" << std::setw(8) << "failed"
            << std::setw(9) << "p50 ms" << std::setw(9) << "p95 ms"
            << "  " << std::left << std::setw(22) << "strategy (a)"
            << "verdict\n";
  std::vector<ns3::HeatmapCell> cells;
  Json pairs = Json::array();
  Json violations = Json::array();
  for (const PairResult& r : results) {
    const matrix::Tally& n = r.tally;
    std::string strategy = "-";
    int best = 0;
    for (const auto& [s, n] : r.strategies) {
      if (n > best) {
        best = n;
        strategy = s;
      }
    }
    const bool has_setup = !r.setup_ms.empty();
    const double p50 = matrix::percentile(r.setup_ms, 0.5);
    const double p95 = matrix::percentile(r.setup_ms, 0.95);
    std::cout << std::left << std::setw(44) << r.pair.label() << std::right << std::setw(7)
              << n.trials << std::setw(7) << percent(n.direct, n.trials) << "%" << std::setw(6)
              << percent(n.relay, n.trials) << "%" << std::setw(7) << percent(n.failed, n.trials)
              << "%" << std::setw(9)
              << (has_setup ? std::to_string(static_cast<int>(std::lround(p50))) : "-")
              << std::setw(9)
              << (has_setup ? std::to_string(static_cast<int>(std::lround(p95))) : "-") << "  "
              << std::left << std::setw(22) << strategy << (r.violations.empty() ? "ok" : "FAIL")
              << "\n";
    for (const auto& f : r.failures) std::cout << "    " << f << "\n";
    for (const auto& v : r.violations) {
      std::cout << "    ! " << v << "\n";
      violations.push_back(v);
    }
    Json p;
    p["a"] = r.pair.a;
    p["b"] = r.pair.b;
    p["same_nat"] = r.pair.same_nat;
    p["trials"] = n.trials;
    p["direct"] = n.direct;
    p["relay"] = n.relay;
    p["failed"] = n.failed;
    p["setup_ms_p50"] = has_setup ? Json(round_to(p50, 1)) : Json(nullptr);
    p["setup_ms_p95"] = has_setup ? Json(round_to(p95, 1)) : Json(nullptr);
    pairs.push_back(std::move(p));
    cells.push_back({r.pair.a, r.pair.b, r.pair.same_nat,
                     n.trials ? 100.0 * n.direct / n.trials : 0.0,
                     matrix::infeasible_pair(r.pair) && n.direct == 0});
  }
  const bool met = violations.empty();
  std::cout << results.size() << " pairs, "
            << (met ? "every expectation met" : "expectations FAILED") << "; wall " << std::fixed
            << std::setprecision(1) << wall_seconds << " s\n";
  Json summary;
  summary["expectations_met"] = met;
  summary["violations"] = violations;
  summary["trials"] = trials;
  summary["loss"] = loss;
  summary["hostile"] = hostile;
  summary["wall_seconds"] = round_to(wall_seconds, 3);
  summary["world"] = "emulation";
  std::ofstream file(json_path);
  file << Json{{"pairs", pairs}, {"summary", summary}}.dump(1) << "\n";
  if (!file) {
    std::cerr << "emu-traversal-matrix: cannot write " << json_path << "\n";
    return 2;
  }
  std::cout << "results: " << json_path << "\n";
  if (!heatmap_path.empty()) {
    std::ostringstream title;
    title << "qp2p traversal matrix, real Linux NATs" << (hostile ? " (hostile gateways)" : "")
          << ": direct %, " << trials << " trials per pair, loss " << loss;
    std::string error;
    if (ns3::WriteHeatmap(heatmap_path, matrix::all_presets(), cells, title.str(), &error)) {
      std::cout << "heatmap: " << heatmap_path << "\n";
    } else {
      std::cout << "heatmap skipped: " << error << "\n";
    }
  }
  return met ? 0 : 1;
}
