// Scenario: does a peer classify its NAT right? In ns-3, one supernode (two public addresses)
// and peers behind every NAT preset ("open", the RFC 4787 single presets and the cgnat chain),
// each peer behind its own NAT site. Every peer is a PeerApplication: it logs in, then runs the
// session's NAT discovery (RFC 5780 tests against the supernode's STUN services, NAT-PMP to its
// default gateway for the number of NAT levels). Each result is judged against the behaviour
// the site's NatGateway(s) were configured with.
//
//   nat-discovery-scenario [--sites=2 | --peers=N] [--loss=0] [--delay=10ms] [--stop=60s]
//                          [--discovery-sockets=5] [--json=nat-discovery.json] [--RngRun=1]
//                          [--RngSeed=1]
//                          [--ns3::NatGateway::SequentialDelta=2] [--ns3::NatGateway::NatPmp=0]
//
// --sites gives every preset that many peers; --peers (when non-zero) instead spreads that many
// peers over the presets round-robin (the 1,000-peer benchmark: --peers=1000). The run stops
// when every peer has a result (or at --stop).
//
// Output: a table, one row per preset: the profile most of its peers detected (mapping,
// filtering, allocation(+delta), hairpin, levels) and how many were entirely correct; then one
// line with the counts, wall time, peak memory and simulated time. JSON (--json):
//   {"results":[{"preset":..,"mapping":..,"filtering":..,"allocation":..,"hairpin":..,
//                "nat_levels":N,"correct":true, "delta":D, "expected":{...}},...],
//    "summary":{"per_preset":{"<preset>":{"peers":N,"correct":N},...},"peers":N,"correct":N,
//               "correct_ratio":R,"registered":N,"nat_sites":N,"nat_gateways":N,"nodes":N,
//               "wall_seconds":S,"peak_rss_mb":M,"simulated_seconds":S,"seed":N,"run":N,
//               "loss":P}}
// mapping and filtering in RFC 4787's words, allocation preserving|sequential|random ("unknown"
// when undecided; null when the peer has no profile, with "failure" saying why). "correct":
// every field equals the expected behaviour, and the delta too for sequential allocation.
// Exit status 1 when any result is not correct, so tests and CI can run it.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "nat-models/nat_behaviour.h"
#include "ns3/command-line.h"
#include "ns3/node-list.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/helper/topology-helper.h"
#include "sim/model/peer-application.h"
#include "stack/discovery/nat_discovery.h"
#include "stack/discovery/nat_profile.h"
#include "scenarios/report_math.h"

using namespace ns3;
using Json = nlohmann::ordered_json;

namespace {

// What a peer must report, in the words of its JSON fields.
struct Profile {
  std::string mapping;
  std::string filtering;
  std::string allocation;
  int delta = 0;  // sequential only
  bool hairpin = false;
  int levels = 0;

  // "endpoint-independent address-and-port-dependent sequential(+1) hairpin=off levels=1"
  std::string Row() const {
    std::ostringstream os;
    os << std::left << std::setw(27) << mapping << std::setw(27) << filtering << std::setw(15)
       << (allocation == "sequential"
               ? allocation + "(" + (delta >= 0 ? "+" : "") + std::to_string(delta) + ")"
               : allocation)
       << std::setw(8) << (hairpin ? "on" : "off") << std::setw(7) << levels;
    return os.str();
  }
  bool operator==(const Profile& o) const {
    return mapping == o.mapping && filtering == o.filtering && allocation == o.allocation &&
           (allocation != "sequential" || delta == o.delta) && hairpin == o.hairpin &&
           levels == o.levels;
  }
  bool operator<(const Profile& o) const { return Row() < o.Row(); }
};

std::string Word(qp2p::nat::Dependency d) { return std::string(qp2p::nat::to_string(d)); }
std::string Word(qp2p::nat::PortAllocation a) { return std::string(qp2p::nat::to_string(a)); }

// The truth for a site: mapping and allocation of the outermost NAT (what the Internet sees),
// the strictest filter on the path, hairpinning by the outermost NAT (an inner NAT passes a
// packet for the outer public address on outwards), one level per NAT; no NAT for "open" (a
// host reaches itself).
Profile Expected(const NatSite& site) {
  Profile t;
  if (site.gateways.empty()) {
    t.mapping = t.filtering = "endpoint-independent";
    t.allocation = "preserving";
    t.hairpin = true;
    t.levels = 0;
    return t;
  }
  const qp2p::nat::NatBehaviour outer = site.gateways.front()->GetBehaviour();
  auto filtering = outer.filtering;
  for (const auto& gw : site.gateways) {
    filtering = std::max(filtering, gw->GetBehaviour().filtering);
  }
  t.mapping = Word(outer.mapping);
  t.filtering = Word(filtering);
  t.allocation = Word(outer.port_allocation);
  t.delta = outer.port_allocation == qp2p::nat::PortAllocation::kSequential
                ? static_cast<int>(outer.sequential_delta)
                : 0;
  t.hairpin = outer.hairpinning;
  t.levels = static_cast<int>(site.gateways.size());
  return t;
}

Profile Detected(const qp2p::NatProfile& p) {
  Profile d;
  d.mapping = std::string(qp2p::to_string(p.mapping));
  d.filtering = std::string(qp2p::to_string(p.filtering));
  d.allocation = std::string(qp2p::to_string(p.allocation));
  d.delta = p.allocation == qp2p::NatProfile::Allocation::kSequential ? p.sequential_delta : 0;
  d.hairpin = p.hairpin;
  d.levels = p.nat_levels;
  return d;
}

Json ProfileJson(const Profile& p) {
  return Json{{"mapping", p.mapping}, {"filtering", p.filtering}, {"allocation", p.allocation},
              {"delta", p.delta},     {"hairpin", p.hairpin},     {"nat_levels", p.levels}};
}

struct PeerResult {
  std::string preset;
  Profile expected;
  std::optional<qp2p::NatProfile> profile;
  std::string failure;  // discovery failed: why
  bool done = false;    // classified or failed
};

double PeakRssMb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

constexpr auto Round = qp2p::report::round_to;

}  // namespace

int main(int argc, char* argv[]) {
  const auto wallStart = std::chrono::steady_clock::now();
  uint32_t sites = 2;
  uint32_t totalPeers = 0;
  uint32_t discoverySockets = qp2p::kDefaultNatDiscoveryExtraSockets;
  double loss = 0.0;
  Time delay = MilliSeconds(10);
  Time stop = Seconds(60);
  std::string jsonPath = "nat-discovery.json";
  CommandLine cmd(__FILE__);
  cmd.Usage(
      "Peers behind every NAT preset log in and classify their NAT; prints the detected "
      "profile per preset and writes every result as JSON. Exit status 1 if any result "
      "is wrong.");
  cmd.AddValue("sites", "Peers per preset, each behind its own NAT site", sites);
  cmd.AddValue("peers", "Total peers, spread over the presets round-robin (0: use --sites)",
               totalPeers);
  cmd.AddValue("discovery-sockets",
               "Extra sockets per peer for discovery (qp2p-peer uses 5; fewer sockets, fewer "
               "allocation samples: with 3, random ports in a carrier's 512-port block can "
               "read as unknown)",
               discoverySockets);
  cmd.AddValue("loss", "Packet loss probability on every receiving device (core and access)", loss);
  cmd.AddValue("delay", "One-way delay of every core link (access links: 1 ms)", delay);
  cmd.AddValue("stop", "Simulated time limit (the run ends earlier once every peer has a result)",
               stop);
  cmd.AddValue("json", "Where to write the results", jsonPath);
  cmd.Parse(argc, argv);

  std::vector<std::string> presets;
  for (auto n : qp2p::nat::preset_names()) presets.emplace_back(n);
  for (auto n : qp2p::nat::chain_preset_names()) presets.emplace_back(n);
  const uint32_t peerCount =
      totalPeers > 0 ? totalPeers : sites * static_cast<uint32_t>(presets.size());

  TopologyHelper builder;
  builder.SetDelaysAndLoss(delay, MilliSeconds(1), loss);
  builder.AddSupernodes(1);
  for (uint32_t i = 0; i < peerCount; ++i) {
    builder.AddNat(presets[i % presets.size()], 1);
  }
  Topology topology = builder.Build();

  SupernodeHelper supernodeHelper;
  supernodeHelper.Install(topology.supernodes[0].node);
  PeerHelper peerHelper(topology.SupernodeEndpoints());
  peerHelper.SetAttribute("DiscoverySockets", UintegerValue(discoverySockets));

  std::vector<PeerResult> results(topology.nats.size());
  std::vector<Ptr<PeerApplication>> apps;
  uint32_t done = 0;
  uint32_t natGateways = 0;
  for (std::size_t i = 0; i < topology.nats.size(); ++i) {
    const NatSite& site = topology.nats[i];
    natGateways += static_cast<uint32_t>(site.gateways.size());
    results[i].preset = site.preset;
    results[i].expected = Expected(site);
    peerHelper.SetAttribute("Metadata", StringValue("preset=" + site.preset));
    auto app = DynamicCast<PeerApplication>(peerHelper.Install(site.hosts.Get(0)).Get(0));
    // Staggered logins, 2 ms apart.
    app->SetStartTime(MilliSeconds(100) + MilliSeconds(2) * i);
    app->SetEventHook([&results, &done, peerCount, i](const qp2p::PeerEvent& event) {
      PeerResult& r = results[i];
      if (r.done) return;
      if (auto* c = std::get_if<qp2p::peer_event::NatClassified>(&event)) {
        r.profile = c->profile;
      } else if (auto* f = std::get_if<qp2p::peer_event::NatDiscoveryFailed>(&event)) {
        r.failure = f->reason;
      } else {
        return;
      }
      r.done = true;
      if (++done == peerCount) Simulator::Stop();  // every peer has a result
    });
    apps.push_back(app);
  }
  const auto wallBuilt = std::chrono::steady_clock::now();

  Simulator::Stop(stop);
  Simulator::Run();
  const double simulated = Simulator::Now().GetSeconds();
  const auto wallRun = std::chrono::steady_clock::now();

  // Judge every peer.
  struct Tally {
    uint32_t peers = 0;
    uint32_t correct = 0;
    std::map<Profile, uint32_t> detected;  // profiles seen, with counts
    uint32_t failed = 0;
    std::vector<std::string> failures;
    Profile expected;  // the preset's (as configured; the same for all its sites)
  };
  std::map<std::string, Tally> tallies;
  Json jsonResults = Json::array();
  uint32_t correct = 0;
  uint32_t registered = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    PeerResult& r = results[i];
    Tally& t = tallies[r.preset];
    if (t.peers++ == 0) t.expected = r.expected;
    const bool isRegistered = apps[i]->IsRegistered();
    registered += isRegistered;
    Json row;
    row["preset"] = r.preset;
    bool ok = false;
    if (r.profile) {
      const Profile d = Detected(*r.profile);
      ok = d == r.expected;
      ++t.detected[d];
      row["mapping"] = d.mapping;
      row["filtering"] = d.filtering;
      row["allocation"] = d.allocation;
      row["hairpin"] = d.hairpin;
      row["nat_levels"] = d.levels;
      row["correct"] = ok;
      row["delta"] = d.delta;
      row["expected"] = ProfileJson(r.expected);
      if (!ok) row["notes"] = r.profile->notes;
    } else {
      const std::string why = !r.failure.empty() ? r.failure
                              : !isRegistered    ? "never registered"
                                                 : "discovery did not finish";
      ++t.failed;
      t.failures.push_back(why);
      for (const char* key : {"mapping", "filtering", "allocation", "hairpin", "nat_levels"}) {
        row[key] = nullptr;
      }
      row["correct"] = false;
      row["delta"] = nullptr;
      row["expected"] = ProfileJson(r.expected);
      row["failure"] = why;
    }
    t.correct += ok;
    correct += ok;
    jsonResults.push_back(std::move(row));
  }

  const double wallSeconds = std::chrono::duration<double>(wallRun - wallStart).count();
  const double buildSeconds = std::chrono::duration<double>(wallBuilt - wallStart).count();
  const double peakRss = PeakRssMb();
  const uint64_t seed = RngSeedManager::GetSeed();
  const uint64_t run = RngSeedManager::GetRun();

  // The human table: per preset, the profile most of its peers detected.
  std::cout << "nat-discovery: seed " << seed << " run " << run << ", loss " << loss << ", "
            << peerCount << " peers (login + discovery)\n";
  std::cout << std::left << std::setw(22) << "preset" << std::setw(27) << "mapping" << std::setw(27)
            << "filtering" << std::setw(15) << "allocation" << std::setw(8) << "hairpin"
            << std::setw(7) << "levels"
            << "correct\n";
  for (const std::string& preset : presets) {
    const Tally& t = tallies[preset];
    if (t.peers == 0) continue;
    std::vector<std::pair<Profile, uint32_t>> seen(t.detected.begin(), t.detected.end());
    std::stable_sort(seen.begin(), seen.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    const std::string ratio = std::to_string(t.correct) + "/" + std::to_string(t.peers);
    std::cout << std::setw(22) << preset;
    if (seen.empty()) {
      std::cout << std::setw(84) << "(no profile)" << ratio << "\n";
    } else {
      std::cout << seen[0].first.Row() << ratio;
      if (seen.size() > 1 || t.failed > 0) std::cout << "  (" << seen[0].second << " peers)";
      std::cout << "\n";
    }
    for (std::size_t k = 1; k < seen.size(); ++k) {
      std::cout << std::setw(22) << "  also" << seen[k].first.Row() << "(" << seen[k].second
                << " peers)\n";
    }
    if (t.failed > 0) {
      std::cout << std::setw(22) << "  no profile" << t.failed << " peers, e.g. "
                << t.failures.front() << "\n";
    }
    if (t.correct < t.peers) {
      std::cout << std::setw(22) << "  expected" << t.expected.Row() << "\n";
    }
  }
  std::cout << correct << "/" << peerCount << " correct; " << registered << " registered; "
            << peerCount << " peers, " << natGateways << " NAT gateways, " << NodeList::GetNNodes()
            << " nodes\n";
  std::cout << std::fixed << std::setprecision(2) << "wall " << wallSeconds << " s (build "
            << buildSeconds << " s, run " << wallSeconds - buildSeconds << " s), peak RSS "
            << peakRss << " MB, simulated " << simulated << " s\n";

  Json perPreset = Json::object();
  for (const std::string& preset : presets) {
    const Tally& t = tallies[preset];
    if (t.peers > 0) perPreset[preset] = Json{{"peers", t.peers}, {"correct", t.correct}};
  }
  Json summary;
  summary["per_preset"] = perPreset;
  summary["peers"] = peerCount;
  summary["correct"] = correct;
  summary["correct_ratio"] = peerCount ? Round(double(correct) / peerCount, 6) : 0.0;
  summary["registered"] = registered;
  summary["nat_sites"] = peerCount - tallies["open"].peers;
  summary["nat_gateways"] = natGateways;
  summary["nodes"] = NodeList::GetNNodes();
  summary["wall_seconds"] = Round(wallSeconds, 3);
  summary["peak_rss_mb"] = Round(peakRss, 1);
  summary["simulated_seconds"] = Round(simulated, 6);
  summary["seed"] = seed;
  summary["run"] = run;
  summary["loss"] = loss;
  const Json out{{"results", std::move(jsonResults)}, {"summary", std::move(summary)}};
  std::ofstream file(jsonPath);
  file << out.dump(1) << "\n";
  if (!file) {
    std::cerr << "nat-discovery: cannot write " << jsonPath << "\n";
    return 2;
  }
  std::cout << "results: " << jsonPath << "\n";

  apps.clear();
  Simulator::Destroy();
  return correct == peerCount ? 0 : 1;
}
