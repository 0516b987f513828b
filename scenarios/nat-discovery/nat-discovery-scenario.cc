// Scenario: how well RFC 5780 discovery (stack/discovery) classifies each NAT preset, in ns-3.
// One supernode with two public addresses; `--sites` NAT sites per preset (every single preset,
// "open" and the cgnat chain), one host each running NatDiscoveryApplication; links with
// `--delay` and `--loss`. For every preset it prints how many hosts got each axis right (the
// truth is the NatGateway's configured behaviour) and writes every host's profile and truth as
// JSON (`--json=FILE`, default nat-discovery.json).
//
//   nat-discovery-scenario [--sites=10] [--loss=0.02] [--delay=10ms] [--json=out.json]
//                          [--RngRun=N] [--ns3::NatGateway::SequentialDelta=2] ...
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nat-models/nat_behaviour.h"
#include "ns3/command-line.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/helper/topology-helper.h"
#include "sim/model/nat-discovery-application.h"
#include "stack/discovery/nat_profile.h"

using namespace ns3;

namespace {

std::string Word(qp2p::nat::Dependency d) { return std::string(qp2p::nat::to_string(d)); }
std::string Word(qp2p::nat::PortAllocation a) { return std::string(qp2p::nat::to_string(a)); }

struct Truth {
  std::string mapping;
  std::string filtering;
  std::string allocation;
  bool hairpin = false;
  int levels = 1;
};

// What discovery should report for a site: the outermost NAT's mapping and allocation, the
// strictest filter on the path; hairpinning by the outermost NAT (an inner NAT passes a packet
// for the outer public address on outwards); no NAT for "open" (a host reaches itself).
Truth TruthOf(const NatSite& site) {
  Truth t;
  if (site.gateways.empty()) {
    t.mapping = t.filtering = "endpoint-independent";
    t.allocation = "preserving";
    t.hairpin = true;
    t.levels = 0;
    return t;
  }
  const qp2p::nat::NatBehaviour outer = site.gateways.front()->GetBehaviour();
  auto filtering = outer.filtering;
  for (const auto& gw : site.gateways)
    filtering = std::max(filtering, gw->GetBehaviour().filtering);
  t.mapping = Word(outer.mapping);
  t.filtering = Word(filtering);
  t.allocation = Word(outer.port_allocation);
  t.hairpin = outer.hairpinning;
  return t;
}

}  // namespace

int main(int argc, char* argv[]) {
  uint32_t sites = 10;
  double loss = 0.02;
  Time delay = MilliSeconds(10);
  std::string jsonPath = "nat-discovery.json";
  CommandLine cmd(__FILE__);
  cmd.AddValue("sites", "NAT sites (one host each) per preset", sites);
  cmd.AddValue("loss", "Packet loss probability on every receiving device", loss);
  cmd.AddValue("delay", "One-way delay of every core link", delay);
  cmd.AddValue("json", "Where to write the per-host results", jsonPath);
  cmd.Parse(argc, argv);

  TopologyHelper builder;
  LinkParameters core;
  core.delay = delay;
  core.loss = loss;
  builder.SetCoreLink(core);
  LinkParameters access;
  access.delay = MilliSeconds(1);
  access.loss = loss;
  builder.SetAccessLink(access);
  builder.AddSupernodes(1);
  std::vector<std::string> presets;
  for (auto n : qp2p::nat::preset_names()) presets.emplace_back(n);
  for (auto n : qp2p::nat::chain_preset_names()) presets.emplace_back(n);
  for (uint32_t s = 0; s < sites; ++s) {
    for (const auto& p : presets) builder.AddNat(p, 1);
  }
  Topology topology = builder.Build();

  SupernodeHelper supernodeHelper;
  supernodeHelper.Install(topology.supernodes[0].node);
  NatDiscoveryHelper discoveryHelper(topology.SupernodeEndpoints()[0]);
  std::vector<Ptr<NatDiscoveryApplication>> apps;
  for (std::size_t i = 0; i < topology.nats.size(); ++i) {
    auto app = DynamicCast<NatDiscoveryApplication>(
        discoveryHelper.Install(topology.nats[i].hosts.Get(0)).Get(0));
    app->SetStartTime(MilliSeconds(500) + MilliSeconds(5) * i);
    apps.push_back(app);
  }
  Simulator::Stop(Seconds(60));
  Simulator::Run();

  struct Tally {
    uint32_t hosts = 0, completed = 0, mapping = 0, filtering = 0, allocation = 0, hairpin = 0,
             levels = 0;
  };
  std::map<std::string, Tally> tallies;
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < apps.size(); ++i) {
    const NatSite& site = topology.nats[i];
    const Truth truth = TruthOf(site);
    Tally& t = tallies[site.preset];
    ++t.hosts;
    nlohmann::json row{{"preset", site.preset},
                       {"truth",
                        {{"mapping", truth.mapping},
                         {"filtering", truth.filtering},
                         {"allocation", truth.allocation},
                         {"hairpin", truth.hairpin},
                         {"levels", truth.levels}}}};
    const auto& profile = apps[i]->GetProfile();
    if (profile) {
      ++t.completed;
      const std::string mapping(qp2p::to_string(profile->mapping));
      const std::string filtering(qp2p::to_string(profile->filtering));
      const std::string allocation(qp2p::to_string(profile->allocation));
      t.mapping += mapping == truth.mapping;
      t.filtering += filtering == truth.filtering;
      t.allocation += allocation == truth.allocation;
      t.hairpin += profile->hairpin == truth.hairpin;
      t.levels += profile->nat_levels == truth.levels;
      row["reported"] = {{"mapping", mapping},
                         {"filtering", filtering},
                         {"allocation", allocation},
                         {"delta", profile->sequential_delta},
                         {"hairpin", profile->hairpin},
                         {"levels", profile->nat_levels},
                         {"mapped", profile->mapped.to_string()},
                         {"notes", profile->notes}};
    } else {
      row["reported"] = nullptr;
      row["failure"] = apps[i]->IsFinished() ? apps[i]->GetFailure() : "did not finish";
    }
    out.push_back(row);
  }

  std::cout << "seed " << RngSeedManager::GetSeed() << " run " << RngSeedManager::GetRun()
            << ", loss " << loss << ", " << sites << " site(s) per preset\n";
  std::cout << std::left << std::setw(22) << "preset" << std::setw(11) << "completed"
            << std::setw(9) << "mapping" << std::setw(11) << "filtering" << std::setw(12)
            << "allocation" << std::setw(9) << "hairpin"
            << "levels\n";
  for (const auto& p : presets) {
    const Tally& t = tallies[p];
    auto frac = [&](uint32_t n) { return std::to_string(n) + "/" + std::to_string(t.hosts); };
    std::cout << std::setw(22) << p << std::setw(11) << frac(t.completed) << std::setw(9)
              << frac(t.mapping) << std::setw(11) << frac(t.filtering) << std::setw(12)
              << frac(t.allocation) << std::setw(9) << frac(t.hairpin) << frac(t.levels) << "\n";
  }
  std::ofstream(jsonPath) << out.dump(2) << "\n";
  std::cout << "per-host results: " << jsonPath << "\n";
  Simulator::Destroy();
  return 0;
}
