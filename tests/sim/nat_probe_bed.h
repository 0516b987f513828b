// The bed the NAT behaviour tests probe with plain ns-3 sockets (udp_probe.h):
//
//   server node (a supernode site of the topology, no application): addresses A and B
//       s1 = A:3478   s2 = A:3479   s3 = B:3478   s4 = A:3480 (never contacted by the host)
//   x  = an "open" host on the core (a third address, never contacted by the host)
//   h, h2 = two hosts behind the NAT site under test, port 5000 each
//
// The NAT site is built by TopologyHelper from a preset name plus NatGateway attributes.
// Destroying the bed closes the probes and the simulator.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ns3/simulator.h"
#include "ns3/string.h"
#include "sim/helper/topology-helper.h"
#include "tests/sim/udp_probe.h"

namespace qp2p_sim_test {

inline constexpr uint16_t kHostPort = 5000;

class NatProbeBed {
 public:
  using Attributes = std::vector<std::pair<std::string, std::string>>;

  explicit NatProbeBed(const std::string& preset, const Attributes& attributes = {}) {
    ns3::TopologyHelper builder;
    ns3::LinkParameters core;
    core.delay = ns3::MilliSeconds(5);
    builder.SetCoreLink(core);
    ns3::LinkParameters access;
    access.delay = ns3::MilliSeconds(1);
    builder.SetAccessLink(access);
    for (const auto& [name, value] : attributes) {
      builder.SetNatAttribute(name, ns3::StringValue(value));
    }
    builder.AddSupernodes(1);
    builder.AddNat("open", 1);
    builder.AddNat(preset, 2);
    topology = builder.Build();

    const ns3::SupernodeSite& server = topology.supernodes[0];
    s1 = std::make_unique<UdpProbe>(server.node, server.primary, 3478);
    s2 = std::make_unique<UdpProbe>(server.node, server.primary, 3479);
    s3 = std::make_unique<UdpProbe>(server.node, server.alternate, 3478);
    s4 = std::make_unique<UdpProbe>(server.node, server.primary, 3480);
    const ns3::NatSite& open = topology.nats[0];
    x = std::make_unique<UdpProbe>(open.hosts.Get(0), open.hostAddresses[0], 4000);
    const ns3::NatSite& site = nat();
    h = std::make_unique<UdpProbe>(site.hosts.Get(0), site.hostAddresses[0], kHostPort);
    h2 = std::make_unique<UdpProbe>(site.hosts.Get(1), site.hostAddresses[1], kHostPort);
  }
  ~NatProbeBed() {
    s1.reset();
    s2.reset();
    s3.reset();
    s4.reset();
    x.reset();
    h.reset();
    h2.reset();
    ns3::Simulator::Destroy();
  }
  NatProbeBed(const NatProbeBed&) = delete;
  NatProbeBed& operator=(const NatProbeBed&) = delete;

  const ns3::NatSite& nat() const { return topology.nats[1]; }
  // The address the Internet sees for the NAT site (the host's own for "open").
  ns3::Ipv4Address PublicAddress() const {
    return nat().preset == "open" ? nat().hostAddresses[0] : nat().publicAddress;
  }
  void RunUntil(ns3::Time t) {
    ns3::Simulator::Stop(t - ns3::Simulator::Now());
    ns3::Simulator::Run();
  }

  ns3::Topology topology;
  std::unique_ptr<UdpProbe> s1, s2, s3, s4, x, h, h2;
};

}  // namespace qp2p_sim_test
