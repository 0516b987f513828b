// Port-restricted cone <-> symmetric NAT with random port allocation: birthday probing. B, behind
// the symmetric NAT, checks A's reflexive endpoint from K = 256 local ports (K random external
// ports); A checks M = 2048 random ports on B's NAT address, each of which opens A's filter for
// that port. When one of A's probes names one of B's K ports, B's next check from it gets
// through, A answers, and the pair succeeds. Expected success 1 - (1 - K/N)^M with N = 64512
// pool ports: 99.97%. Asserted: at least 95% of 40 seeded trials (the measured rate is printed).
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

constexpr int kTrials = 40;
constexpr int kLocalPorts = 256;
constexpr int kProbes = 2048;

Scenario birthday_scenario(std::uint64_t seed) {
  Scenario s;
  s.seed = seed;
  s.a.nat = preset("port-restricted-cone");
  s.a.strategy = PunchStrategy::kBirthday;
  s.a.birthday_probes = kProbes;
  s.b.nat = preset("symmetric");
  s.b.strategy = PunchStrategy::kBirthday;
  s.b.sockets = kLocalPorts;
  s.tunnels = false;
  return s;
}

TEST(PunchBirthday, SucceedsInAtLeast95PercentOf40Trials) {
  int successes = 0;
  Duration slowest{}, total{};
  std::uint64_t max_checks = 0;
  for (int seed = 1; seed <= kTrials; ++seed) {
    PunchLab lab(birthday_scenario(static_cast<std::uint64_t>(seed)));
    if (lab.run_punch()) {
      ++successes;
      const Duration t = std::max(lab.a().established_at, lab.b().established_at) - lab.start();
      slowest = std::max(slowest, t);
      total += t;
      // The path A uses is one of its probes, and B's is A's reflexive endpoint.
      EXPECT_EQ(lab.a().established->remote.address, lab.b().reflexive.address);
      EXPECT_EQ(lab.b().established->remote, lab.a().reflexive);
    }
    max_checks = std::max({max_checks, lab.a().punch->counters().checks_sent,
                           lab.b().punch->counters().checks_sent});
  }
  std::cout << "[ measured ] birthday port-restricted<->symmetric-random: " << successes << "/"
            << kTrials << " = " << 100.0 * successes / kTrials << "% (K=" << kLocalPorts
            << " local ports, M=" << kProbes << " probes); mean time "
            << (successes ? to_ms(total / successes) : 0) << " ms, slowest " << to_ms(slowest)
            << " ms; at most " << max_checks << " checks by one side\n";
  RecordProperty("birthday_successes", successes);
  EXPECT_GE(successes * 100, 95 * kTrials);
  // Rate bound: never more checks than the deadline allows at one per min_send_gap.
  EXPECT_LE(max_checks, static_cast<std::uint64_t>(tunnel::kDefaultPunchDeadline /
                                                   tunnel::kDefaultCheckMinGap) + 1);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
