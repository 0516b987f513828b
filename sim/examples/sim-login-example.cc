// One supernode on a public core and one peer behind each NAT preset (open, the RFC 4787
// presets and the cgnat chain); every peer logs in. Prints, per peer: the preset, whether it
// registered, the mapped endpoint the supernode saw and the NAT's public address.
//
//   sim-login-example [--hosts=1] [--sites=1] [--delay=5ms] [--loss=0] [--stop=10s]
//                     [--RngRun=N] [--ns3::NatGateway::MappingTimeout=30s] [--verbose]
//                     [--Qp2pLogLevel=info] [--summary] [--discover]
//
// --discover gives each peer five extra sockets for the session's RFC 5780 NAT discovery and
// prints what it found next to the preset.
//
// --sites=N builds N NAT sites per preset (--sites=143 --summary: about 1,000 NATs and peers)
//
// Any attribute default can be changed on the command line (--ns3::PeerApplication::...).
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nat-models/nat_behaviour.h"
#include "ns3/command-line.h"
#include "ns3/log.h"
#include "ns3/node-list.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/helper/topology-helper.h"
#include "sim/model/peer-application.h"
#include "sim/model/supernode-application.h"
#include "stack/discovery/nat_discovery.h"

using namespace ns3;

int main(int argc, char* argv[]) {
  uint32_t hosts = 1;
  uint32_t sites = 1;
  bool summary = false;
  Time delay = MilliSeconds(5);
  double loss = 0.0;
  Time stop = Seconds(10);
  bool verbose = false;
  bool discover = false;
  CommandLine cmd(__FILE__);
  cmd.AddValue("hosts", "Hosts (peers) behind each NAT", hosts);
  cmd.AddValue("delay", "One-way delay of every core link", delay);
  cmd.AddValue("loss", "Packet loss probability on every receiving device", loss);
  cmd.AddValue("stop", "Simulated time", stop);
  cmd.AddValue("sites", "NAT sites per preset", sites);
  cmd.AddValue("summary", "Print one line per preset instead of one per peer", summary);
  cmd.AddValue("discover", "Run NAT discovery in every peer and print its result", discover);
  cmd.AddValue("verbose", "Print every peer event as it happens", verbose);
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
  for (auto name : qp2p::nat::preset_names()) presets.emplace_back(name);
  for (auto name : qp2p::nat::chain_preset_names()) presets.emplace_back(name);
  for (uint32_t s = 0; s < sites; ++s) {
    for (const std::string& preset : presets) builder.AddNat(preset, hosts);
  }
  const auto wallStart = std::chrono::steady_clock::now();
  Topology topology = builder.Build();
  const auto wallBuilt = std::chrono::steady_clock::now();

  SupernodeHelper supernodeHelper;
  ApplicationContainer supernodes = supernodeHelper.Install(topology.supernodes[0].node);
  supernodes.Start(Seconds(0));

  PeerHelper peerHelper(topology.SupernodeEndpoints());
  std::vector<Ptr<PeerApplication>> peers;
  std::vector<std::string> peerPresets;
  std::vector<const NatSite*> peerSites;
  for (const NatSite& site : topology.nats) {
    peerHelper.SetAttribute("Metadata", StringValue("preset=" + site.preset));
    peerHelper.SetAttribute("DiscoverySockets",
                            UintegerValue(discover ? qp2p::kDefaultNatDiscoveryExtraSockets : 0));
    ApplicationContainer apps = peerHelper.Install(site.hosts);
    for (uint32_t i = 0; i < apps.GetN(); ++i) {
      Ptr<PeerApplication> peer = DynamicCast<PeerApplication>(apps.Get(i));
      // Staggered logins, 1 ms apart (10 ms apart for the default single-site table).
      peer->SetStartTime(MilliSeconds(100) + MilliSeconds(sites > 1 ? 1 : 10) * peers.size());
      if (verbose) {
        const std::string label = site.preset;
        peer->TraceConnectWithoutContext("Event",
                                         MakeBoundCallback(
                                             +[](std::string label, const std::string& json) {
                                               std::cout << Simulator::Now().As(Time::MS) << " "
                                                         << label << " " << json << "\n";
                                             },
                                             label));
      }
      peers.push_back(peer);
      peerPresets.push_back(site.preset);
      peerSites.push_back(&site);
    }
  }

  Simulator::Stop(stop);
  Simulator::Run();
  const auto wallRun = std::chrono::steady_clock::now();

  uint32_t registered = 0;
  std::map<std::string, std::pair<uint32_t, uint32_t>> perPreset;  // registered, total
  if (!summary) {
    std::cout << std::left << std::setw(22) << "preset" << std::setw(12) << "registered"
              << std::setw(24) << "mapped"
              << std::setw(14) << "nat-public" << (discover ? "discovered" : "") << "\n";
  }
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const bool ok = peers[i]->IsRegistered();
    registered += ok;
    perPreset[peerPresets[i]].first += ok;
    perPreset[peerPresets[i]].second += 1;
    if (summary) continue;
    const InetSocketAddress mapped = peers[i]->GetMappedEndpoint();
    std::ostringstream m;
    m << mapped.GetIpv4() << ":" << mapped.GetPort();
    std::ostringstream pub;
    if (peerSites[i]->preset == "open") {
      pub << "-";
    } else {
      pub << peerSites[i]->publicAddress;
    }
    std::cout << std::setw(22) << peerPresets[i] << std::setw(12) << (ok ? "yes" : "no")
              << std::setw(24) << (ok ? m.str() : "-") << std::setw(14) << pub.str();
    if (discover) {
      const auto& profile = peers[i]->GetSession()->nat_profile();
      std::cout << (profile ? profile->describe() : std::string("(no profile)"));
    }
    std::cout << "\n";
  }
  if (summary) {
    for (const auto& [preset, counts] : perPreset) {
      std::cout << std::left << std::setw(22) << preset << counts.first << "/" << counts.second
                << " registered\n";
    }
    using ms = std::chrono::milliseconds;
    std::cout << "nodes " << NodeList::GetNNodes() << ", build "
              << std::chrono::duration_cast<ms>(wallBuilt - wallStart).count() << " ms, run "
              << std::chrono::duration_cast<ms>(wallRun - wallBuilt).count() << " ms (wall)\n";
  }
  Ptr<SupernodeApplication> sn = DynamicCast<SupernodeApplication>(supernodes.Get(0));
  std::cout << registered << "/" << peers.size() << " peers registered; supernode reports "
            << sn->GetOnlinePeers() << " online\n";
  Simulator::Destroy();
  return registered == peers.size() ? 0 : 1;
}
