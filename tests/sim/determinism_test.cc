// Same RngSeedManager seed and run: the whole simulated network (identities, NAT port choices,
// losses, every peer event and its time) replays byte for byte. Another run number gives other
// identities and ports, and the network still works.
#include <gtest/gtest.h>

#include <string>

#include "ns3/rng-seed-manager.h"
#include "tests/sim/peer_bed.h"

namespace qp2p_sim_test {
namespace {

struct RunOutput {
  std::string transcript;
  std::size_t registered = 0;
  std::size_t peers = 0;
};

RunOutput RunOnce(uint64_t run) {
  ns3::RngSeedManager::SetSeed(7);
  ns3::RngSeedManager::SetRun(run);
  PeerBedOptions options;
  options.hostsPerNat = 2;
  options.loss = 0.05;
  PeerBed bed(options);
  // Some traffic beyond logins: every peer looks up the next one and messages it.
  for (std::size_t i = 0; i < bed.peers.size(); ++i) {
    ns3::Ptr<ns3::PeerApplication> from = bed.peers[i].app;
    const std::string to = bed.peers[(i + 1) % bed.peers.size()].app->GetPeerId();
    ns3::Simulator::Schedule(ns3::Seconds(5), [from, to] {
      from->Lookup(to);
      from->SendMessage(to, "ping");
    });
  }
  bed.RunUntil(ns3::Seconds(30));
  RunOutput out;
  out.transcript = bed.Transcript();
  out.registered = bed.Registered();
  out.peers = bed.peers.size();
  return out;
}

TEST(Determinism, SameSeedAndRunReplayExactly) {
  const RunOutput first = RunOnce(1);
  const RunOutput second = RunOnce(1);
  EXPECT_EQ(first.registered, first.peers);
  EXPECT_GT(first.transcript.size(), 1000u);
  EXPECT_EQ(first.transcript, second.transcript);
}

TEST(Determinism, AnotherRunDiffersAndStillWorks) {
  const RunOutput first = RunOnce(1);
  const RunOutput other = RunOnce(2);
  EXPECT_EQ(other.registered, other.peers);
  EXPECT_NE(first.transcript, other.transcript);
  EXPECT_NE(other.transcript.find("\"event\":\"message\""), std::string::npos);
  EXPECT_NE(other.transcript.find("\"event\":\"delivered\""), std::string::npos);
}

}  // namespace
}  // namespace qp2p_sim_test
