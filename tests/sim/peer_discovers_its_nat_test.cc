// A PeerApplication with DiscoverySockets binds the extra sockets the PeerSession's built-in
// RFC 5780 discovery needs; after logging in, the session classifies its NAT through them
// (NatClassified trace) as the NatGateway was configured.
#include <gtest/gtest.h>

#include <string>

#include "ns3/uinteger.h"
#include "stack/discovery/nat_discovery.h"
#include "tests/sim/peer_bed.h"

namespace qp2p_sim_test {
namespace {

void OnClassified(std::string* out, const std::string& profile) { *out = profile; }

TEST(PeerDiscoversItsNat, ClassifiesEveryPresetAfterLogin) {
  PeerBedOptions options;
  options.presets = {"full-cone", "restricted-cone", "port-restricted-cone", "symmetric",
                     "symmetric-sequential"};
  PeerBed bed(options);
  std::vector<std::string> profiles(bed.peers.size());
  for (std::size_t i = 0; i < bed.peers.size(); ++i) {
    bed.peers[i].app->SetAttribute("DiscoverySockets",
                                   ns3::UintegerValue(qp2p::kDefaultNatDiscoveryExtraSockets));
    bed.peers[i].app->TraceConnectWithoutContext(
        "NatClassified", ns3::MakeBoundCallback(&OnClassified, &profiles[i]));
  }
  bed.RunUntil(ns3::Seconds(30));
  for (std::size_t i = 0; i < bed.peers.size(); ++i) {
    const qp2p::nat::NatBehaviour b = *qp2p::nat::preset(bed.peers[i].preset);
    SCOPED_TRACE(bed.peers[i].preset + ": " + profiles[i]);
    EXPECT_TRUE(bed.peers[i].app->IsRegistered());
    EXPECT_NE(profiles[i].find("mapping=" + std::string(qp2p::nat::to_string(b.mapping)) + " "),
              std::string::npos);
    EXPECT_NE(profiles[i].find("filtering=" + std::string(qp2p::nat::to_string(b.filtering)) + " "),
              std::string::npos);
  }
}

}  // namespace
}  // namespace qp2p_sim_test
