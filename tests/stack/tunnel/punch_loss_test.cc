// Hole punching between port-restricted cone NATs over lossy paths: with 5% and with 20% of
// datagrams lost (each way, after the sender's NAT), every one of 20 seeded attempts still
// establishes, and within a bounded time (checks repeat every 20 ms per pair).
#include <gtest/gtest.h>

#include <iostream>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

constexpr int kTrials = 20;

void run_with_loss(double loss, Duration bound) {
  int successes = 0;
  Duration slowest{};
  std::uint64_t lost = 0;
  for (int seed = 1; seed <= kTrials; ++seed) {
    Scenario s;
    s.seed = static_cast<std::uint64_t>(seed);
    s.loss = loss;
    PunchLab lab(s);
    const bool ok = lab.run_punch();
    EXPECT_TRUE(ok) << "seed " << seed << ": " << lab.a().failed.value_or("")
                    << lab.b().failed.value_or("");
    if (!ok) continue;
    ++successes;
    slowest = std::max(slowest, std::max(lab.a().established_at, lab.b().established_at) -
                                    lab.start());
    lost += lab.net().counters().dropped_loss;
  }
  std::cout << "[ measured ] " << loss * 100 << "% loss: " << successes << "/" << kTrials
            << " established, slowest " << to_ms(slowest) << " ms, " << lost
            << " datagrams lost\n";
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(successes, kTrials);
  EXPECT_LT(slowest, bound);
}

TEST(PunchLoss, FivePercent) { run_with_loss(0.05, 1s); }
TEST(PunchLoss, TwentyPercent) { run_with_loss(0.20, 2s); }

}  // namespace
}  // namespace qp2p::tunnel_lab
