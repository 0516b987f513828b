// The topology helper and runtime at the scale the test-bed needs: 1,000 NAT sites (all presets
// in turn, cgnat chains included) with one peer each, one supernode; every peer registers.
// Static routes and the core's hash routing keep this to a few seconds of wall time.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "tests/sim/peer_bed.h"

namespace qp2p_sim_test {
namespace {

TEST(TopologyScale, ThousandNatsThousandPeersRegister) {
  PeerBedOptions options;
  options.presets.clear();
  const std::vector<std::string> all = AllPresets();
  for (std::size_t i = 0; i < 1000; ++i) options.presets.push_back(all[i % all.size()]);
  const auto start = std::chrono::steady_clock::now();
  PeerBed bed(options);
  const auto built = std::chrono::steady_clock::now();
  bed.RunUntil(ns3::Seconds(30));
  const auto ran = std::chrono::steady_clock::now();
  EXPECT_EQ(bed.peers.size(), 1000u);
  EXPECT_EQ(bed.Registered(), bed.peers.size());
  EXPECT_EQ(bed.supernode->GetOnlinePeers(), bed.peers.size());
  using ms = std::chrono::milliseconds;
  std::cout << "build " << std::chrono::duration_cast<ms>(built - start).count() << " ms, 30 s run "
            << std::chrono::duration_cast<ms>(ran - built).count() << " ms (wall)\n";
}

}  // namespace
}  // namespace qp2p_sim_test
