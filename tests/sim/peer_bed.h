// A simulated qp2p network for the peer tests: one supernode on the core and `hosts` peers
// behind each NAT preset (every single preset, "open" and the cgnat chain), each a
// PeerApplication. It records per peer the Registered trace and every event line, and per site
// the outbound translations of its outermost gateway. Destroying the bed destroys the simulator.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nat-models/nat_behaviour.h"
#include "ns3/application-container.h"
#include "ns3/inet-socket-address.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/helper/topology-helper.h"
#include "sim/model/peer-application.h"
#include "sim/model/supernode-application.h"

namespace qp2p_sim_test {

inline std::vector<std::string> AllPresets() {
  std::vector<std::string> out;
  for (auto name : qp2p::nat::preset_names()) out.emplace_back(name);
  for (auto name : qp2p::nat::chain_preset_names()) out.emplace_back(name);
  return out;
}

struct PeerRecord {
  std::string preset;
  std::size_t site = 0;
  ns3::Ptr<ns3::PeerApplication> app;
  int registrations = 0;
  std::string supernodeId;
  ns3::InetSocketAddress mapped{ns3::Ipv4Address::GetAny(), 0};
  std::vector<std::string> events;  // "<time us> <json>"
};

struct PeerBedOptions {
  uint32_t hostsPerNat = 1;
  std::vector<std::string> presets = AllPresets();
  double loss = 0.0;
  ns3::Time coreDelay = ns3::MilliSeconds(10);
  // NatGateway attributes for every single-preset gateway.
  std::vector<std::pair<std::string, std::string>> natAttributes;
};

class PeerBed {
 public:
  explicit PeerBed(const PeerBedOptions& options) {
    ns3::TopologyHelper builder;
    ns3::LinkParameters core;
    core.delay = options.coreDelay;
    core.loss = options.loss;
    builder.SetCoreLink(core);
    ns3::LinkParameters access;
    access.delay = ns3::MilliSeconds(1);
    access.loss = options.loss;
    builder.SetAccessLink(access);
    for (const auto& [name, value] : options.natAttributes) {
      builder.SetNatAttribute(name, ns3::StringValue(value));
    }
    builder.AddSupernodes(1);
    for (const std::string& preset : options.presets) builder.AddNat(preset, options.hostsPerNat);
    topology = builder.Build();

    ns3::SupernodeHelper supernodeHelper;
    supernode = ns3::DynamicCast<ns3::SupernodeApplication>(
        supernodeHelper.Install(topology.supernodes[0].node).Get(0));

    outbound.resize(topology.nats.size());
    ns3::PeerHelper peerHelper(topology.SupernodeEndpoints());
    for (std::size_t s = 0; s < topology.nats.size(); ++s) {
      const ns3::NatSite& site = topology.nats[s];
      if (!site.gateways.empty()) {
        site.gateways[0]->TraceConnectWithoutContext(
            "Translate", ns3::MakeCallback(&PeerBed::OnTranslate, this).Bind(s));
      }
      peerHelper.SetAttribute("Metadata", ns3::StringValue("preset=" + site.preset));
      ns3::ApplicationContainer apps = peerHelper.Install(site.hosts);
      for (uint32_t i = 0; i < apps.GetN(); ++i) {
        auto app = ns3::DynamicCast<ns3::PeerApplication>(apps.Get(i));
        app->SetStartTime(ns3::MilliSeconds(100 + 10 * peers.size()));
        PeerRecord record;
        record.preset = site.preset;
        record.site = s;
        record.app = app;
        peers.push_back(record);
      }
    }
    for (std::size_t p = 0; p < peers.size(); ++p) {
      peers[p].app->TraceConnectWithoutContext(
          "Registered", ns3::MakeCallback(&PeerBed::OnRegistered, this).Bind(p));
      peers[p].app->TraceConnectWithoutContext("Event",
                                               ns3::MakeCallback(&PeerBed::OnEvent, this).Bind(p));
    }
  }
  ~PeerBed() {
    peers.clear();
    ns3::Simulator::Destroy();
  }
  PeerBed(const PeerBed&) = delete;
  PeerBed& operator=(const PeerBed&) = delete;

  void RunUntil(ns3::Time t) {
    ns3::Simulator::Stop(t - ns3::Simulator::Now());
    ns3::Simulator::Run();
  }
  std::size_t Registered() const {
    std::size_t n = 0;
    for (const auto& p : peers) n += p.app->IsRegistered();
    return n;
  }
  // Every peer's event lines, in peer order: the run's observable output.
  std::string Transcript() const {
    std::string out;
    for (std::size_t p = 0; p < peers.size(); ++p) {
      for (const std::string& e : peers[p].events) {
        out += std::to_string(p) + " " + e + "\n";
      }
    }
    return out;
  }

  ns3::Topology topology;
  ns3::Ptr<ns3::SupernodeApplication> supernode;
  std::vector<PeerRecord> peers;
  // Per site: the external endpoints its outermost gateway gave outbound packets, by target.
  std::vector<std::multimap<std::string, std::string>> outbound;

 private:
  static std::string Text(const ns3::Address& a) {
    const auto inet = ns3::InetSocketAddress::ConvertFrom(a);
    std::ostringstream os;
    os << inet.GetIpv4() << ":" << inet.GetPort();
    return os.str();
  }
  void OnTranslate(std::size_t site, const std::string& kind, const ns3::Address&,
                   const ns3::Address&, const ns3::Address& newSource,
                   const ns3::Address& newDestination) {
    if (kind == "outbound") outbound[site].emplace(Text(newDestination), Text(newSource));
  }
  void OnRegistered(std::size_t peer, const std::string& supernodeId, const ns3::Address&,
                    const ns3::Address& mapped) {
    peers[peer].registrations++;
    peers[peer].supernodeId = supernodeId;
    peers[peer].mapped = ns3::InetSocketAddress::ConvertFrom(mapped);
  }
  void OnEvent(std::size_t peer, const std::string& json) {
    peers[peer].events.push_back(std::to_string(ns3::Simulator::Now().GetMicroSeconds()) + " " +
                                 json);
  }
};

}  // namespace qp2p_sim_test
