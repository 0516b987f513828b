// The unchanged sans-IO PeerSession registers with a Supernode through every NAT preset in ns-3:
// each peer's Registered event names, as its mapped endpoint, the external endpoint its NAT
// (for cgnat: the carrier NAT) gave the flow to the supernode, on the NAT's public address.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/sim/peer_bed.h"

namespace qp2p_sim_test {
namespace {

std::string Text(const ns3::InetSocketAddress& a) {
  std::ostringstream os;
  os << a.GetIpv4() << ":" << a.GetPort();
  return os.str();
}

TEST(PeerRegistration, EveryPresetRegistersWithItsNatMapping) {
  PeerBedOptions options;
  options.hostsPerNat = 2;
  PeerBed bed(options);
  bed.RunUntil(ns3::Seconds(5));

  const std::string supernode = Text(bed.topology.SupernodeEndpoints()[0]);
  for (const PeerRecord& p : bed.peers) {
    SCOPED_TRACE(p.preset);
    const ns3::NatSite& site = bed.topology.nats[p.site];
    ASSERT_EQ(p.registrations, 1);
    EXPECT_TRUE(p.app->IsRegistered());
    EXPECT_EQ(p.supernodeId, bed.supernode->GetPeerId());
    EXPECT_EQ(Text(p.mapped), Text(p.app->GetMappedEndpoint()));
    if (p.preset == "open") {
      EXPECT_EQ(Text(p.mapped), Text(p.app->GetLocalEndpoint()));
      continue;
    }
    EXPECT_EQ(p.mapped.GetIpv4(), site.publicAddress);
    EXPECT_NE(p.mapped.GetIpv4(), p.app->GetLocalEndpoint().GetIpv4());
    // The mapped endpoint is one the NAT gave this site's flows to the supernode.
    bool found = false;
    auto [begin, end] = bed.outbound[p.site].equal_range(supernode);
    for (auto it = begin; it != end; ++it) found |= it->second == Text(p.mapped);
    EXPECT_TRUE(found) << Text(p.mapped);
  }
  // Two hosts behind one NAT get two different external endpoints.
  for (std::size_t i = 0; i + 1 < bed.peers.size(); i += 2) {
    EXPECT_NE(Text(bed.peers[i].mapped), Text(bed.peers[i + 1].mapped)) << bed.peers[i].preset;
  }
  EXPECT_EQ(bed.supernode->GetOnlinePeers(), bed.peers.size());
}

TEST(PeerRegistration, RegistersThroughLossyLinks) {
  PeerBedOptions options;
  options.loss = 0.1;  // on every receiving device: a round trip crosses up to 8 of them
  PeerBed bed(options);
  bed.RunUntil(ns3::Seconds(60));
  EXPECT_EQ(bed.Registered(), bed.peers.size());
  EXPECT_EQ(bed.supernode->GetOnlinePeers(), bed.peers.size());
}

}  // namespace
}  // namespace qp2p_sim_test
