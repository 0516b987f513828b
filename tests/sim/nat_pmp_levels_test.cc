// NAT levels through NAT-PMP (RFC 6886) in ns-3: the NatGateway answers the external address
// request on its inside address, port 5351; a peer asks its default gateway during discovery.
// Behind cgnat the home gateway's external address lies on the carrier's inside, so the peer
// counts two NATs; behind a single home NAT, one. With NatPmp off on the gateways the peers
// report one level and say why. The responder itself is probed with plain sockets.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ns3/boolean.h"
#include "ns3/ipv4.h"
#include "ns3/uinteger.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/model/nat-discovery-application.h"
#include "sim/model/nat-gateway.h"
#include "sim/model/qp2p-sim-utils.h"
#include "stack/discovery/nat_discovery.h"
#include "stack/discovery/nat_pmp.h"
#include "tests/sim/nat_probe_bed.h"
#include "tests/sim/peer_bed.h"

namespace qp2p_sim_test {
namespace {

bool HasNote(const qp2p::NatProfile& p, const std::string& text) {
  return std::any_of(p.notes.begin(), p.notes.end(),
                     [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

std::string Describe(const qp2p::NatProfile& p) {
  std::string out = p.describe();
  for (const auto& n : p.notes) out += "\n  note: " + n;
  return out;
}

// A peer behind port-restricted-cone and one behind cgnat, logged in and through discovery.
struct LevelsRun {
  std::vector<std::string> presets;
  std::vector<std::optional<qp2p::NatProfile>> profiles;
  std::vector<uint64_t> answered;  // per site: NAT-PMP answers of each gateway, outermost first
  std::vector<uint64_t> innerAnswered;
};

LevelsRun RunPeers(bool natPmp) {
  PeerBedOptions options;
  options.presets = {"port-restricted-cone", "cgnat"};
  PeerBed bed(options);
  for (const ns3::NatSite& site : bed.topology.nats) {
    for (const auto& gateway : site.gateways) {
      gateway->SetAttribute("NatPmp", ns3::BooleanValue(natPmp));
    }
  }
  for (auto& peer : bed.peers) {
    peer.app->SetAttribute("DiscoverySockets",
                           ns3::UintegerValue(qp2p::kDefaultNatDiscoveryExtraSockets));
  }
  bed.RunUntil(ns3::Seconds(30));
  LevelsRun run;
  for (const auto& peer : bed.peers) {
    EXPECT_TRUE(peer.app->IsRegistered()) << peer.preset;
    run.presets.push_back(peer.preset);
    run.profiles.push_back(peer.app->GetSession()->nat_profile());
  }
  for (const ns3::NatSite& site : bed.topology.nats) {
    run.answered.push_back(site.gateways.front()->GetCounters().natPmpAnswered);
    run.innerAnswered.push_back(site.gateways.back()->GetCounters().natPmpAnswered);
  }
  return run;
}

TEST(NatPmpLevels, PeerCountsTwoLevelsBehindCgnatAndOneBehindAHomeNat) {
  const LevelsRun run = RunPeers(true);
  ASSERT_EQ(run.presets, (std::vector<std::string>{"port-restricted-cone", "cgnat"}));
  ASSERT_TRUE(run.profiles[0] && run.profiles[1]);
  const qp2p::NatProfile& home = *run.profiles[0];
  const qp2p::NatProfile& chain = *run.profiles[1];
  EXPECT_EQ(home.nat_levels, 1) << Describe(home);
  EXPECT_FALSE(HasNote(home, "NAT-PMP")) << Describe(home);
  EXPECT_EQ(chain.nat_levels, 2) << Describe(chain);
  EXPECT_TRUE(HasNote(chain, "two NATs or more")) << Describe(chain);
  EXPECT_TRUE(chain.complete) << Describe(chain);
  // The home gateway answered; the carrier was never asked (the host asks its default gateway).
  EXPECT_EQ(run.answered[0], 1u);
  EXPECT_EQ(run.innerAnswered[1], 1u);
  EXPECT_EQ(run.answered[1], 0u);
}

TEST(NatPmpLevels, WithoutNatPmpPeersReportOneLevelAndSayWhy) {
  const LevelsRun run = RunPeers(false);
  for (std::size_t i = 0; i < run.profiles.size(); ++i) {
    ASSERT_TRUE(run.profiles[i]) << run.presets[i];
    const qp2p::NatProfile& p = *run.profiles[i];
    EXPECT_EQ(p.nat_levels, 1) << run.presets[i] << ": " << Describe(p);
    EXPECT_TRUE(HasNote(p, "gateway does not speak NAT-PMP; a second NAT level would not be seen"))
        << run.presets[i] << ": " << Describe(p);
    EXPECT_EQ(run.answered[i] + run.innerAnswered[i], 0u);
  }
}

TEST(NatPmpLevels, DiscoveryApplicationAsksItsDefaultGatewayToo) {
  ns3::TopologyHelper builder;
  builder.AddSupernodes(1);
  builder.AddNat("cgnat", 1);
  builder.AddNat("symmetric", 1);
  ns3::Topology topology = builder.Build();
  ns3::SupernodeHelper().Install(topology.supernodes[0].node);
  ns3::NatDiscoveryHelper helper(topology.SupernodeEndpoints()[0]);
  std::vector<ns3::Ptr<ns3::NatDiscoveryApplication>> apps;
  for (const ns3::NatSite& site : topology.nats) {
    apps.push_back(
        ns3::DynamicCast<ns3::NatDiscoveryApplication>(helper.Install(site.hosts.Get(0)).Get(0)));
    apps.back()->SetStartTime(ns3::MilliSeconds(200));
  }
  ns3::Simulator::Stop(ns3::Seconds(30));
  ns3::Simulator::Run();
  ASSERT_TRUE(apps[0]->GetProfile()) << apps[0]->GetFailure();
  ASSERT_TRUE(apps[1]->GetProfile()) << apps[1]->GetFailure();
  EXPECT_EQ(apps[0]->GetProfile()->nat_levels, 2) << Describe(*apps[0]->GetProfile());
  EXPECT_EQ(apps[1]->GetProfile()->nat_levels, 1) << Describe(*apps[1]->GetProfile());
  apps.clear();
  ns3::Simulator::Destroy();
}

std::string Text(const qp2p::Bytes& b) { return std::string(b.begin(), b.end()); }

qp2p::Bytes BytesOf(const std::string& s) { return qp2p::Bytes(s.begin(), s.end()); }

ns3::Ipv4Address InterfaceAddress(ns3::Ptr<ns3::Node> node, uint32_t interface) {
  return node->GetObject<ns3::Ipv4>()->GetAddress(interface, 0).GetLocal();
}

TEST(NatPmpResponder, AnswersTheExternalAddressOpcodeOnlyAndOnlyInside) {
  NatProbeBed bed("cgnat");
  const ns3::NatSite& site = bed.nat();
  auto server = ns3::NatGateway::GetNatPmpServer(site.hosts.Get(0));
  ASSERT_TRUE(server);
  const ns3::Ipv4Address home = server->GetIpv4();
  const ns3::Ipv4Address homeExternal = InterfaceAddress(site.gatewayNodes[1], 1);
  const ns3::Ipv4Address carrierInside = InterfaceAddress(site.gatewayNodes[0], 2);
  const uint16_t port = qp2p::nat_pmp::kServerPort;

  qp2p::Bytes request;
  qp2p::nat_pmp::append_external_address_request(request);
  const qp2p::Bytes mapUdp{0, 1, 0, 0, 0x13, 0x88, 0x13, 0x88, 0, 0, 0x0e, 0x10};
  bed.h->SendAt(ns3::Seconds(1), home, port, Text(request));
  bed.h->SendAt(ns3::Seconds(2), home, port, Text(mapUdp));
  bed.h->SendAt(ns3::Seconds(3), home, port, Text({1, 0}));     // version 1
  bed.h->SendAt(ns3::Seconds(4), home, port, Text({0, 0x80}));  // a response: ignored
  // The carrier answers its own inside too (through the home NAT), with the public address.
  bed.h->SendAt(ns3::Seconds(5), carrierInside, port, Text(request));
  // From the Internet, to the public address: nothing.
  bed.s1->SendAt(ns3::Seconds(6), site.publicAddress, port, Text(request));
  bed.RunUntil(ns3::Seconds(8));

  const auto& got = bed.h->received();
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].from, (SeenFrom{home, port})) << i;
  }
  auto external = qp2p::nat_pmp::parse_external_address_response(BytesOf(got[0].text).data(),
                                                                 got[0].text.size());
  ASSERT_TRUE(external);
  EXPECT_EQ(external->result, 0);
  EXPECT_EQ(external->external, ns3::ToIpAddress(homeExternal));
  EXPECT_EQ(external->epoch_seconds, 1u);

  qp2p::Bytes unsupported = mapUdp;
  unsupported[1] = 0x81;
  unsupported[3] = 5;
  EXPECT_EQ(BytesOf(got[1].text), unsupported);
  EXPECT_EQ(BytesOf(got[2].text), (qp2p::Bytes{0, 0x80, 0, 1, 0, 0, 0, 3}));

  EXPECT_EQ(got[3].from.address, carrierInside);
  auto carrier = qp2p::nat_pmp::parse_external_address_response(BytesOf(got[3].text).data(),
                                                                got[3].text.size());
  ASSERT_TRUE(carrier);
  EXPECT_EQ(carrier->external, ns3::ToIpAddress(site.publicAddress));
  EXPECT_TRUE(bed.s1->received().empty());
  EXPECT_EQ(site.gateways[1]->GetCounters().natPmpAnswered, 3u);
  EXPECT_EQ(site.gateways[0]->GetCounters().natPmpAnswered, 1u);
}

}  // namespace
}  // namespace qp2p_sim_test
