// Opening checks against hostile gateways (issue 7: "the hostile ICMP gateway is handled: direct
// if possible, relay otherwise, never a failure"; hole_punch.h, "Opening checks"). A hostile NAT
// answers a check that arrives before its own side sent towards the peer with ICMP and keeps the
// refused flow, which then moves its side's mapping towards the peer (nat-models/nat_table.h):
// two port-restricted NATs then never meet, although the pair is feasible. With open_ttl each
// side's first check on every pair opens its own NAT and expires on the Internet (the lab's TTL
// model, tunnel_lab.h), so the peer's first full check finds the NAT open.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

constexpr std::uint8_t kOneNatTtl = 2;  // passes the host's NAT, expires on the Internet

NatBehaviour hostile(std::string_view name) {
  NatBehaviour b = preset(name);
  b.icmp_on_unsolicited = true;
  return b;
}

// B starts 40 ms after A, more than a one-way trip (15 ms): A's first checks reach B's NAT
// before B has sent anything, as when one side's plan arrives later.
Scenario port_restricted_pair(std::uint8_t open_ttl, bool hostile_gateways, std::uint64_t seed) {
  Scenario s;
  s.seed = seed;
  s.a.nat = hostile_gateways ? hostile("port-restricted-cone") : preset("port-restricted-cone");
  s.b.nat = s.a.nat;
  s.b.start_skew = 40ms;
  s.a.open_ttl = open_ttl;
  s.b.open_ttl = open_ttl;
  return s;
}

TEST(PunchOpeningChecks, WithoutThemAHostileGatewayMovesTheLateSidesMapping) {
  PunchLab lab(port_restricted_pair(0, true, 1));
  EXPECT_FALSE(lab.run_punch());
  EXPECT_FALSE(lab.a().established);
  EXPECT_FALSE(lab.b().established);
  const auto& b_nat = lab.net().nat(lab.b().site).counters();
  EXPECT_GE(b_nat.refused_flows, 1u) << "A's early checks were refused by B's gateway";
  EXPECT_GE(b_nat.displaced_flows, 1u) << "and B's own flow to A moved off its port";
}

TEST(PunchOpeningChecks, OpenBothHostileGatewaysBeforeTheFirstFullCheck) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    PunchLab lab(port_restricted_pair(kOneNatTtl, true, seed));
    ASSERT_TRUE(lab.run_punch());
    EXPECT_EQ(lab.a().established->remote, lab.b().reflexive);
    EXPECT_EQ(lab.b().established->remote, lab.a().reflexive);
    for (PeerState* p : {&lab.a(), &lab.b()}) {
      EXPECT_EQ(lab.net().nat(p->site).counters().refused_flows, 0u);
      // One opening check per pair (host and server-reflexive candidate), none reached the peer.
      EXPECT_EQ(p->punch->counters().opening_checks_sent, 2u);
    }
    EXPECT_EQ(lab.net().counters().dropped_ttl, 4u);
    // Within a few round trips of B's start (one way 15 ms).
    EXPECT_LE(lab.b().established_at - (lab.start() + 40ms), 100ms);
  }
}

// Without hostile gateways opening checks never delay the attempt: the late side's NAT is open
// before its first check, so the early side's checks get through sooner, if anything.
TEST(PunchOpeningChecks, NeverSlowerBehindOrdinaryGateways) {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(seed);
    PunchLab without(port_restricted_pair(0, false, seed));
    PunchLab with(port_restricted_pair(kOneNatTtl, false, seed));
    ASSERT_TRUE(without.run_punch());
    ASSERT_TRUE(with.run_punch());
    EXPECT_LE(with.a().established_at, without.a().established_at);
    EXPECT_LE(with.b().established_at, without.b().established_at);
    EXPECT_EQ(with.a().established->remote, without.a().established->remote);
    EXPECT_LE(with.a().punch->counters().checks_sent, without.a().punch->counters().checks_sent);
  }
}

// Birthday probing (port-restricted <-> random symmetric) behind hostile gateways: B's checks from
// its 256 sockets would reach A's NAT before A's probe to that port opened it there, and each
// refusal moves A's later probe to that port elsewhere. B's checks stay opening checks until A
// reached the pair, so only A's probes cross the Internet.
Scenario hostile_birthday(std::uint8_t open_ttl, std::uint64_t seed) {
  Scenario s;
  s.seed = seed;
  s.a.nat = hostile("port-restricted-cone");
  s.a.strategy = PunchStrategy::kBirthday;
  s.a.birthday_probes = 2048;
  s.b.nat = hostile("symmetric");
  s.b.strategy = PunchStrategy::kBirthday;
  s.b.sockets = 256;
  s.a.open_ttl = open_ttl;
  s.b.open_ttl = open_ttl;
  s.tunnels = false;
  return s;
}

TEST(PunchOpeningChecks, BirthdayProbingBehindHostileGateways) {
  constexpr int kTrials = 5;
  int without = 0, with = 0;
  for (std::uint64_t seed = 1; seed <= kTrials; ++seed) {
    SCOPED_TRACE(seed);
    PunchLab plain(hostile_birthday(0, seed));
    if (plain.run_punch()) ++without;
    PunchLab lab(hostile_birthday(kOneNatTtl, seed));
    if (lab.run_punch()) {
      ++with;
      EXPECT_EQ(lab.b().established->remote, lab.a().reflexive);
    }
    EXPECT_EQ(lab.net().nat(lab.a().site).counters().refused_flows, 0u)
        << "no check of B reached A's NAT";
    // The probes are never opening checks; B opened its 256 pairs towards A's public endpoint.
    EXPECT_EQ(lab.a().punch->counters().opening_checks_sent, 2u);
    EXPECT_EQ(lab.b().punch->counters().opening_checks_sent, 256u);
  }
  std::cout << "[ measured ] hostile birthday: " << without << "/" << kTrials
            << " direct without opening checks, " << with << "/" << kTrials << " with\n";
  EXPECT_EQ(with, kTrials);
  EXPECT_LT(without, kTrials);
}

// The opening round itself: before the start, one per pair in pair order at open_ttl, one per
// kOpeningCheckGap; then the ordinary checks at the default TTL.
TEST(PunchOpeningChecks, LeaveBeforeTheStartInPairOrder) {
  Random r = Random::from_u64(7);
  HolePunchConfig c;
  c.identity = Identity::generate(r);
  c.remote = Identity::generate(r).id();
  c.locals = {ep("192.0.2.10:40000")};
  c.remote_candidates = {{ep("198.51.100.20:40000"), tunnel::CandidateKind::kHost},
                         {ep("203.0.113.2:40000"), tunnel::CandidateKind::kServerReflexive}};
  c.strategy = PunchStrategy::kPortPrediction;
  c.prediction.base = ep("203.0.113.2:40000");
  c.prediction.after = 2;
  const Instant launch = instant_from_us(1'000'000);
  c.start = launch + 5ms;
  c.open_ttl = 3;
  HolePunch punch(c, Random::from_u64(8));
  std::vector<Datagram> sent;
  std::vector<Instant> at;
  Instant now = launch;
  for (int step = 0; step < 20 && sent.size() < 6; ++step) {
    now = std::max(now, punch.poll_timeout());
    punch.handle_timeout(now);
    while (auto d = punch.poll_transmit()) {
      sent.push_back(*d);
      at.push_back(now);
    }
  }
  ASSERT_EQ(sent.size(), 6u);
  const std::vector<Endpoint> order = {ep("198.51.100.20:40000"), ep("203.0.113.2:40000"),
                                       ep("203.0.113.2:40001"), ep("203.0.113.2:40002")};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(sent[i].remote, order[i]);
    EXPECT_EQ(sent[i].ttl, 3);
    EXPECT_EQ(at[i], launch + i * tunnel::kOpeningCheckGap);
  }
  for (std::size_t i = 4; i < 6; ++i) {
    EXPECT_EQ(sent[i].ttl, 0) << "ordinary checks at the socket's TTL";
    EXPECT_GE(at[i], c.start);
  }
  EXPECT_EQ(punch.counters().opening_checks_sent, 4u);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
