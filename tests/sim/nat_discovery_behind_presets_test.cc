// End to end: the sans-IO RFC 5780 discovery (stack/discovery) runs in ns-3 from a host behind
// each NAT preset against a supernode with two public addresses (four STUN sockets), and must
// report the RFC 4787 axes the NatGateway was configured with. This exercises the supernode's
// change-IP answers from its second address, the adapter's several sockets per core, and the
// NAT model, against one another.
#include <gtest/gtest.h>

#include <string>

#include "nat-models/nat_behaviour.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/helper/topology-helper.h"
#include "sim/model/nat-discovery-application.h"
#include "stack/discovery/nat_profile.h"

namespace qp2p_sim_test {
namespace {

using Behaviour = qp2p::NatProfile::Behaviour;
using Allocation = qp2p::NatProfile::Allocation;

Behaviour Expected(qp2p::nat::Dependency d) {
  switch (d) {
    case qp2p::nat::Dependency::kEndpointIndependent:
      return Behaviour::kEndpointIndependent;
    case qp2p::nat::Dependency::kAddressDependent:
      return Behaviour::kAddressDependent;
    case qp2p::nat::Dependency::kAddressAndPortDependent:
      break;
  }
  return Behaviour::kAddressAndPortDependent;
}

Allocation Expected(qp2p::nat::PortAllocation a) {
  switch (a) {
    case qp2p::nat::PortAllocation::kPreserving:
      return Allocation::kPreserving;
    case qp2p::nat::PortAllocation::kSequential:
      return Allocation::kSequential;
    case qp2p::nat::PortAllocation::kRandom:
      break;
  }
  return Allocation::kRandom;
}

class NatDiscoveryBehindPreset : public ::testing::TestWithParam<std::string> {};

TEST_P(NatDiscoveryBehindPreset, ReportsTheConfiguredAxes) {
  const std::string preset = GetParam();
  ns3::TopologyHelper builder;
  builder.AddSupernodes(1);
  builder.AddNat(preset, 1);
  ns3::Topology topology = builder.Build();
  ns3::SupernodeHelper supernodes;
  supernodes.Install(topology.supernodes[0].node);
  ns3::NatDiscoveryHelper discovery(topology.SupernodeEndpoints()[0]);
  auto app = ns3::DynamicCast<ns3::NatDiscoveryApplication>(
      discovery.Install(topology.nats[0].hosts.Get(0)).Get(0));
  app->SetStartTime(ns3::Seconds(1));
  ns3::Simulator::Stop(ns3::Seconds(30));
  ns3::Simulator::Run();

  ASSERT_TRUE(app->IsFinished());
  ASSERT_TRUE(app->GetProfile().has_value());
  const qp2p::NatProfile& p = *app->GetProfile();
  std::string transcript;
  for (const auto& line : app->GetTranscript()) transcript += line + "\n";
  SCOPED_TRACE(p.describe() + "\n" + transcript);

  if (preset == "open") {
    EXPECT_EQ(p.nat_levels, 0);
    EXPECT_EQ(p.mapping, Behaviour::kEndpointIndependent);
    EXPECT_EQ(p.filtering, Behaviour::kEndpointIndependent);
  } else {
    // A chain looks like one NAT to STUN: the carrier is the part the Internet sees, the home
    // NAT (port-restricted cone) adds its filter. Its second level shows through NAT-PMP: the
    // home gateway's external address is not the mapped one.
    const auto chain = qp2p::nat::chain_preset(preset);
    const qp2p::nat::NatBehaviour b = chain ? chain->carrier : *qp2p::nat::preset(preset);
    EXPECT_EQ(p.nat_levels, chain ? 2 : 1);
    EXPECT_EQ(p.mapping, Expected(b.mapping));
    EXPECT_EQ(p.filtering, chain ? Behaviour::kAddressAndPortDependent : Expected(b.filtering));
    EXPECT_EQ(p.allocation, Expected(b.port_allocation));
    if (b.port_allocation == qp2p::nat::PortAllocation::kSequential) {
      EXPECT_EQ(p.sequential_delta, b.sequential_delta);
    }
    // Hairpinning is the outermost NAT's (an inner NAT passes the packet on outwards).
    EXPECT_EQ(p.hairpin, b.hairpinning);
    EXPECT_EQ(p.mapped.address.v4_host_order(), topology.nats[0].publicAddress.Get());
  }
  ns3::Simulator::Destroy();
}

std::vector<std::string> Presets() {
  std::vector<std::string> out;
  for (auto name : qp2p::nat::preset_names()) out.emplace_back(name);
  for (auto name : qp2p::nat::chain_preset_names()) out.emplace_back(name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Presets, NatDiscoveryBehindPreset, ::testing::ValuesIn(Presets()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace qp2p_sim_test
