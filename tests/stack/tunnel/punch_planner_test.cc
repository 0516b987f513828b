// plan_punch (stack/tunnel/punch_planner.h) as a pure function: the strategy, socket count,
// prediction base and start offsets it gives for representative profile pairs. The traversal
// matrix (punch_matrix_test.cc) runs these plans; this file pins the decisions themselves.
#include <gtest/gtest.h>

#include "stack/tunnel/punch_planner.h"
#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel {
namespace {

using namespace std::chrono_literals;
using B = NatProfile::Behaviour;
using A = NatProfile::Allocation;

PunchPeer peer(std::uint64_t seed, B mapping, B filtering, A allocation, std::string_view host,
               std::string_view reflexive, Duration rtt = 30ms) {
  Random r = Random::from_u64(seed);
  PunchPeer p;
  p.id = Identity::generate(r).id();
  NatProfile prof;
  prof.mapping = mapping;
  prof.filtering = filtering;
  prof.allocation = allocation;
  prof.sequential_delta = allocation == A::kSequential ? 1 : 0;
  prof.nat_levels = 1;
  prof.complete = true;
  p.profile = prof;
  p.host = {tunnel_lab::ep(host)};
  p.reflexive = tunnel_lab::ep(reflexive);
  p.rtt = rtt;
  return p;
}

PunchPeer port_restricted(std::uint64_t seed, std::string_view refl = "203.0.113.1:40000") {
  return peer(seed, B::kEndpointIndependent, B::kAddressAndPortDependent, A::kPreserving,
              "192.0.2.10:40000", refl);
}
PunchPeer symmetric(std::uint64_t seed, A allocation, std::string_view refl = "203.0.113.2:5000") {
  return peer(seed, B::kAddressAndPortDependent, B::kAddressAndPortDependent, allocation,
              "198.51.100.20:40000", refl);
}

TEST(PunchPlanner, BothSequentialPredictionsSkipTheOthersCandidateMappings) {
  const PairPlan p = plan_punch(symmetric(1, A::kSequential, "203.0.113.1:7000"),
                                symmetric(2, A::kSequential, "203.0.113.2:5000"));
  ASSERT_TRUE(p.direct_feasible);
  EXPECT_EQ(p.a.strategy, PunchStrategy::kPortPrediction);
  EXPECT_EQ(p.b.strategy, PunchStrategy::kPortPrediction);
  // Each side contacts the other's host and reflexive candidates first: 2 mappings to skip.
  EXPECT_EQ(p.a.prediction.base, tunnel_lab::ep("203.0.113.2:5002"));
  EXPECT_EQ(p.b.prediction.base, tunnel_lab::ep("203.0.113.1:7002"));
  EXPECT_EQ(p.a.local_sockets, 1u);
}

TEST(PunchPlanner, SequentialAgainstConePredictsFromTheReflexivePort) {
  const PairPlan p = plan_punch(port_restricted(3), symmetric(4, A::kSequential));
  ASSERT_TRUE(p.direct_feasible);
  EXPECT_EQ(p.a.strategy, PunchStrategy::kPortPrediction);
  EXPECT_EQ(p.a.prediction.base, tunnel_lab::ep("203.0.113.2:5000"));
  EXPECT_EQ(p.b.strategy, PunchStrategy::kSimultaneousOpen);
}

TEST(PunchPlanner, SequentialPredictionStartsFromTheNewestPublishedMapping) {
  PunchPeer seq = symmetric(3, A::kSequential, "203.0.113.2:5000");
  seq.profile->last_port = 5007;  // NAT discovery opened seven mappings after the login's
  const PairPlan p = plan_punch(port_restricted(4), seq);
  ASSERT_EQ(p.a.strategy, PunchStrategy::kPortPrediction);
  EXPECT_EQ(p.a.prediction.base, tunnel_lab::ep("203.0.113.2:5007"));
}

TEST(PunchPlanner, RandomAgainstPortRestrictedIsBirthdayWithKSockets) {
  const PunchPlannerConfig cfg;
  const PairPlan p = plan_punch(port_restricted(5), symmetric(6, A::kRandom), cfg);
  ASSERT_TRUE(p.direct_feasible);
  EXPECT_EQ(p.a.strategy, PunchStrategy::kBirthday);
  EXPECT_EQ(p.a.birthday.probes, cfg.birthday_probes);
  EXPECT_EQ(p.a.birthday.address, tunnel_lab::ip("203.0.113.2"));
  EXPECT_EQ(p.a.local_sockets, 1u);
  EXPECT_EQ(p.b.local_sockets, cfg.birthday_local_sockets);
}

TEST(PunchPlanner, DependentMappingsWithARandomSideGoToTheRelay) {
  EXPECT_FALSE(plan_punch(symmetric(7, A::kRandom, "203.0.113.1:1"),
                          symmetric(8, A::kSequential)).direct_feasible);
  EXPECT_FALSE(plan_punch(symmetric(9, A::kRandom, "203.0.113.1:1"),
                          symmetric(10, A::kRandom)).direct_feasible);
}

TEST(PunchPlanner, SameNatIsSimultaneousOpenEvenForRandomSymmetric) {
  const PairPlan p = plan_punch(symmetric(11, A::kRandom, "203.0.113.2:6000"),
                                symmetric(12, A::kRandom, "203.0.113.2:5000"));
  ASSERT_TRUE(p.direct_feasible);
  EXPECT_TRUE(p.same_nat);
  EXPECT_EQ(p.a.strategy, PunchStrategy::kSimultaneousOpen);
  EXPECT_EQ(p.a.local_sockets, 1u);
  ASSERT_FALSE(p.a.remote_candidates.empty());
  EXPECT_EQ(p.a.remote_candidates.front().kind, CandidateKind::kHost);
}

TEST(PunchPlanner, TheNearerSideWaitsForTheFartherOne) {
  PunchPeer near = port_restricted(13);
  near.rtt = 20ms;
  PunchPeer far = symmetric(14, A::kSequential);
  far.rtt = 100ms;
  PunchPlannerConfig cfg;
  const PairPlan p = plan_punch(near, far, cfg);
  // Plans leave together; the near one arrives 40 ms earlier and waits that much longer.
  EXPECT_EQ(p.a.start_after, 40ms + cfg.start_margin);
  EXPECT_EQ(p.b.start_after, cfg.start_margin);
}

TEST(PunchPlanner, AnUnknownProfileIsPlannedConservatively) {
  PunchPeer unknown = port_restricted(18);
  unknown.profile.reset();
  const PairPlan p = plan_punch(unknown, symmetric(19, A::kRandom));
  EXPECT_TRUE(p.direct_feasible);
  // Its filtering may be strict: the random side still gets probed.
  EXPECT_EQ(p.a.strategy, PunchStrategy::kBirthday);
  // Its mapping may be per destination: the side punching towards it predicts around its
  // reflexive port (the candidates are still checked).
  EXPECT_EQ(p.b.strategy, PunchStrategy::kPortPrediction);
  EXPECT_EQ(p.b.prediction.base, unknown.reflexive);
  EXPECT_EQ(p.b.prediction.delta, 1);
  EXPECT_EQ(p.b.remote_candidates.size(), 2u);
  const PairPlan q = plan_punch(port_restricted(20, "203.0.113.5:40000"), unknown);
  EXPECT_TRUE(q.direct_feasible);
  EXPECT_EQ(q.a.strategy, PunchStrategy::kPortPrediction);
  EXPECT_EQ(q.b.strategy, PunchStrategy::kSimultaneousOpen);
  // A mapping discovery could not tell, with a known sequential allocation: the same, from the
  // newest mapping it saw and with its step.
  PunchPeer partly = symmetric(21, A::kSequential);
  partly.profile->mapping = B::kUnknown;
  partly.profile->sequential_delta = 2;
  partly.profile->last_port = 5004;
  const PairPlan r = plan_punch(port_restricted(22), partly);
  EXPECT_TRUE(r.direct_feasible);
  EXPECT_EQ(r.a.strategy, PunchStrategy::kPortPrediction);
  EXPECT_EQ(r.a.prediction.base, tunnel_lab::ep("203.0.113.2:5004"));
  EXPECT_EQ(r.a.prediction.delta, 2);
  // Unknown mapping with random allocation: a window cannot guess random ports, and an
  // unknown mapping never makes a pair infeasible.
  partly.profile->allocation = A::kRandom;
  const PairPlan s = plan_punch(symmetric(23, A::kRandom), partly);
  EXPECT_TRUE(s.direct_feasible);
  EXPECT_EQ(s.a.strategy, PunchStrategy::kSimultaneousOpen);
}

TEST(PunchPlanner, MakePunchConfigCarriesThePlan) {
  const PairPlan p = plan_punch(port_restricted(15), symmetric(16, A::kRandom));
  Random r = Random::from_u64(17);
  const Identity me = Identity::generate(r);
  AttemptNonce nonce{};
  nonce[0] = 9;
  const Instant start = instant_from_us(5'000'000);
  const HolePunchConfig c = make_punch_config(p.a, me, nonce, {tunnel_lab::ep("192.0.2.10:40000")},
                                              start);
  EXPECT_EQ(c.remote, p.a.remote);
  EXPECT_EQ(c.strategy, PunchStrategy::kBirthday);
  EXPECT_EQ(c.birthday.probes, p.a.birthday.probes);
  EXPECT_EQ(c.attempt_nonce, nonce);
  EXPECT_EQ(c.start, start);
  EXPECT_EQ(c.locals.size(), 1u);
  EXPECT_EQ(c.remote_candidates.size(), p.a.remote_candidates.size());
}

// Opening checks pass every NAT of ours and expire at the first router behind them.
TEST(PunchPlanner, OpeningCheckTtlIsOneHopPerNatLevelPlusOne) {
  NatProfile own;
  own.nat_levels = 0;
  EXPECT_EQ(opening_check_ttl(own), 0) << "no NAT: nothing to open";
  own.nat_levels = 1;
  EXPECT_EQ(opening_check_ttl(own), 2);
  own.nat_levels = 2;
  EXPECT_EQ(opening_check_ttl(own), 3) << "cgnat: home NAT, carrier NAT, then a router";
  own.nat_levels = 7;
  EXPECT_EQ(opening_check_ttl(own), 3) << "discovery never counts more than two";
}

}  // namespace
}  // namespace qp2p::tunnel
