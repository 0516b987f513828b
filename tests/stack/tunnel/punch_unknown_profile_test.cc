// plan_punch with a peer whose NAT profile is unknown (it published none: discovery failed, or
// its profile's publish was lost; or discovery could not tell its mapping), run against the
// NAT's ground truth in the lab (tunnel_lab.h): the conservative plan (port prediction around
// the unknown side's newest mapping, punch_planner.h) must still get a direct tunnel wherever
// the pair is feasible, including the symmetric-sequential NAT that simultaneous open alone
// cannot pass. Loss 0 and 20%; deterministic seeds.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "stack/tunnel/punch_planner.h"
#include "tests/stack/tunnel/nat_ground_truth.h"
#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

using tunnel::PairPlan;
using tunnel::PunchPeer;

constexpr Duration kOneWay = 15ms;
constexpr Duration kServiceRtt = 2 * kOneWay;

enum class Withheld { kProfile, kMapping };

struct Outcome {
  bool feasible = false;
  bool direct = false;
  std::string rationale;
};

// A knows its NAT (`known`); B's (`unknown`) is withheld from the planner as `how` says.
Outcome run(const std::string& known, const std::string& unknown, Withheld how,
            std::uint64_t seed, double loss) {
  Network net(seed, kOneWay, loss);
  Random r = Random::from_u64(0x51 ^ (seed << 8));
  const Identity ia = Identity::generate(r), ib = Identity::generate(r);
  tunnel::AttemptNonce nonce{};
  r.fill(nonce.data(), nonce.size());
  std::optional<std::size_t> shared_a, shared_b;
  const IpAddress host_a = known == "open" ? ip("203.0.113.10") : kHostA;
  const std::size_t site_a = add_side(net, known, 0, host_a, shared_a);
  const std::size_t site_b = add_side(net, unknown, 1, kHostB, shared_b);
  const Endpoint main_a{host_a, kFirstPort}, main_b{kHostB, kFirstPort};

  PunchPeer pa, pb;
  pa.id = ia.id();
  pa.reflexive = net.reflexive(site_a, main_a);
  pa.profile = profile_of(known, pa.reflexive);
  pa.host = {main_a};
  pa.rtt = kServiceRtt;
  pb.id = ib.id();
  pb.reflexive = net.reflexive(site_b, main_b);
  if (how == Withheld::kMapping) {
    NatProfile p = profile_of(unknown, pb.reflexive);
    p.mapping = NatProfile::Behaviour::kUnknown;
    p.filtering = NatProfile::Behaviour::kUnknown;
    p.complete = false;
    pb.profile = p;
  }
  pb.host = {main_b};
  pb.rtt = kServiceRtt;

  const PairPlan plan = tunnel::plan_punch(pa, pb);
  Outcome out;
  out.feasible = plan.direct_feasible;
  out.rationale = plan.rationale;
  if (!plan.direct_feasible) return out;
  const Instant arrive = net.now() + kServiceRtt;
  std::unique_ptr<HolePunch> a, b;
  auto make = [&](const tunnel::PunchPlan& pp, const Identity& id, const Endpoint& main,
                  std::size_t site, std::uint64_t salt) {
    std::vector<Endpoint> locals{main};
    for (std::size_t i = 1; i < pp.local_sockets; ++i)
      locals.push_back(Endpoint{main.address, static_cast<std::uint16_t>(kFirstPort + i)});
    auto punch = std::make_unique<HolePunch>(
        tunnel::make_punch_config(pp, id, nonce, std::move(locals), arrive + pp.start_after),
        Random::from_u64(seed * 4 + salt));
    net.attach(site, punch.get());
    return punch;
  };
  a = make(plan.a, ia, main_a, site_a, 1);
  b = make(plan.b, ib, main_b, site_b, 2);
  bool a_up = false, b_up = false, a_done = false, b_done = false;
  net.on_step([&](Instant) {
    while (auto e = a->poll_event()) {
      a_done = true;
      a_up = std::holds_alternative<tunnel::hole_punch_event::Established>(*e);
    }
    while (auto e = b->poll_event()) {
      b_done = true;
      b_up = std::holds_alternative<tunnel::hole_punch_event::Established>(*e);
    }
  });
  net.run_until([&] { return a_done && b_done; }, kServiceRtt + plan.a.deadline + 1s);
  out.direct = a_up && b_up;
  return out;
}

struct Case {
  std::string known, unknown;
};

// Every feasible pair with the second side unknown; "symmetric" (random) only against sides
// that do not need to name its ports (endpoint-independent mapping).
const std::vector<Case> kCases{
    {"port-restricted-cone", "symmetric-sequential"}, {"full-cone", "symmetric-sequential"},
    {"restricted-cone", "symmetric-sequential"},      {"open", "symmetric-sequential"},
    {"port-restricted-cone", "port-restricted-cone"}, {"port-restricted-cone", "full-cone"},
    {"port-restricted-cone", "cgnat"},                {"full-cone", "symmetric"},
    {"symmetric-sequential", "port-restricted-cone"}, {"symmetric", "full-cone"},
};

class PunchUnknownProfile : public ::testing::TestWithParam<double> {};

TEST_P(PunchUnknownProfile, FeasiblePairsStillGetDirectTunnels) {
  const double loss = GetParam();
  const int trials = loss > 0 ? 3 : 5;
  for (Withheld how : {Withheld::kProfile, Withheld::kMapping}) {
    for (const Case& c : kCases) {
      for (int i = 0; i < trials; ++i) {
        const std::uint64_t seed = 4242 + static_cast<std::uint64_t>(i) * 7919;
        const Outcome o = run(c.known, c.unknown, how, seed, loss);
        SCOPED_TRACE(c.known + " x " + c.unknown + " (" +
                     (how == Withheld::kProfile ? "no profile" : "mapping unknown") +
                     ") seed " + std::to_string(seed) + ": " + o.rationale);
        EXPECT_TRUE(o.feasible) << "an unknown profile must never make a pair infeasible";
        EXPECT_TRUE(o.direct);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Loss, PunchUnknownProfile, ::testing::Values(0.0, 0.20),
                         [](const ::testing::TestParamInfo<double>& info) {
                           return "loss" + std::to_string(static_cast<int>(info.param * 100));
                         });

}  // namespace
}  // namespace qp2p::tunnel_lab
