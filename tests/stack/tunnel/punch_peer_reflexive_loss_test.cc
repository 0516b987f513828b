// A path that loses three datagrams of four each way (what a relayed path at 20% loss on each
// of its six links loses: 0.8^6 = 26% get through), where one side only ever reaches the other
// on a peer-reflexive pair: A behind a symmetric NAT (its checks to B leave from a mapping no
// one predicted), B behind a full cone (B's checks to A's server-reflexive endpoint are filtered
// by A's NAT). B's periodic checks on the peer-reflexive pair stop after
// kMaxChecksPerPeerReflexivePair; before the fix that was where an attempt could stall for good
// (B controlled: every one of its checks lost, the nomination never confirmed; B controlling:
// A stopped checking once its pair succeeded, nothing left to trigger B's checks, nothing
// nominated). Every seed now establishes on both sides within the relayed attempt's deadline.
#include <gtest/gtest.h>

#include <iostream>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

constexpr int kTrials = 30;

TEST(PunchPeerReflexiveLoss, ThreeQuartersLostEachWayStillEstablishesBothSides) {
  int established = 0, b_controlling = 0;
  Duration slowest{};
  for (int seed = 1; seed <= kTrials; ++seed) {
    Scenario s;
    s.seed = static_cast<std::uint64_t>(seed);
    s.a.nat = preset("symmetric");
    s.b.nat = preset("full-cone");
    s.loss = 0.74;
    s.deadline = tunnel::kRelayedAttemptDeadline;
    PunchLab lab(s);
    const bool ok = lab.run_punch();
    EXPECT_TRUE(ok) << "seed " << seed << ": a " << lab.a().failed.value_or("established")
                    << ", b " << lab.b().failed.value_or("established");
    if (!ok) continue;
    ++established;
    if (lab.b().punch->controlling()) ++b_controlling;
    // B's tunnel runs on the peer-reflexive pair (A's mapping towards B).
    EXPECT_NE(lab.b().established->remote, lab.a().reflexive) << "seed " << seed;
    EXPECT_GT(lab.b().punch->counters().peer_reflexive_pairs, 0u);
    slowest = std::max(slowest, std::max(lab.a().established_at, lab.b().established_at) -
                                    lab.start());
  }
  std::cout << "[ measured ] 74% loss, symmetric x full-cone: " << established << "/" << kTrials
            << " established (B controlling in " << b_controlling << "), slowest "
            << to_ms(slowest) << " ms\n";
  EXPECT_EQ(established, kTrials);
  // Both roles were exercised.
  EXPECT_GT(b_controlling, 0);
  EXPECT_LT(b_controlling, established);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
