// The traversal matrix in virtual time: every unordered pair of NAT presets (the six single
// presets of nat-models/nat_behaviour.h and the `cgnat` chain), plus both peers behind one
// shared NAT for each preset, N seeded trials per pair. Each trial builds both peers' NAT
// profiles from the NATs' ground truth (what discovery reports), asks plan_punch
// (stack/tunnel/punch_planner.h) for a plan, runs both HolePunch attempts from it (the side told
// to open K sockets opens K) and records direct success and setup time.
//
// Asserted (issue 4, "What it must show"):
//   both mappings endpoint-independent (or one shared NAT): 100% direct;
//   pairs needing port prediction or birthday probing: >= 95% direct;
//   plan_punch says direct is infeasible exactly for the pairs whose mappings are both
//   dependent with at least one random allocation (the arithmetic is in punch_planner.h);
//   median setup of endpoint-independent pairs without loss within 3 peer RTTs of the
//   synchronised start and within 3 RTTs (peer<->supernode plus peer<->peer) of the request.
// The same holds with 5% and 20% random loss on every link (fewer trials).
//
// Trials: 5 per pair without loss, 3 with loss; QP2P_MATRIX_TRIALS=N sets both, and
// QP2P_MATRIX_ONLY=TEXT keeps the pairs whose label contains TEXT. The table is
// printed: pair, trials, direct %, p50/p95 setup from the request in ms and from the start in
// peer RTTs, and the plan.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "stack/tunnel/punch_planner.h"
#include "tests/stack/tunnel/nat_ground_truth.h"
#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

using tunnel::PairPlan;
using tunnel::PunchPeer;

constexpr Duration kOneWay = 15ms;          // every link, peer<->peer and peer<->supernode
constexpr Duration kPeerRtt = 2 * kOneWay;  // peer<->peer round trip
constexpr Duration kServiceRtt = 2 * kOneWay;

const std::vector<std::string> kKinds{"open",      "full-cone",            "restricted-cone",
                                      "port-restricted-cone", "symmetric",
                                      "symmetric-sequential", "cgnat"};

bool dependent(const std::string& kind) {
  return kind == "symmetric" || kind == "symmetric-sequential";
}

struct PairSpec {
  std::string a, b;
  bool same_nat = false;
  std::string label() const { return same_nat ? a + " (same NAT)" : a + " x " + b; }
  bool eim() const { return same_nat || (!dependent(a) && !dependent(b)); }
  bool infeasible() const {
    return !same_nat && dependent(a) && dependent(b) && (a == "symmetric" || b == "symmetric");
  }
};

std::vector<PairSpec> all_pairs() {
  std::vector<PairSpec> out;
  for (std::size_t i = 0; i < kKinds.size(); ++i)
    for (std::size_t j = i; j < kKinds.size(); ++j) out.push_back({kKinds[i], kKinds[j], false});
  for (const auto& k : kKinds) out.push_back({k, k, true});
  return out;
}

struct Trial {
  bool feasible = false;
  bool direct = false;
  Duration from_request{};
  Duration from_start{};
  std::string rationale;
  std::string failure;  // a side's Failed reason, when not direct
};

struct PeerRun {
  std::size_t site = 0;
  Identity identity;
  Endpoint main;
  std::unique_ptr<HolePunch> punch;
  std::optional<Instant> established;
  std::optional<std::string> failed;
};

Trial run_trial(const PairSpec& pair, std::uint64_t seed, double loss) {
  Network net(seed, kOneWay, loss);
  PeerRun a, b;
  Random r = Random::from_u64(0x3a7 ^ (seed << 12));
  a.identity = Identity::generate(r);
  b.identity = Identity::generate(r);
  tunnel::AttemptNonce nonce{};
  r.fill(nonce.data(), nonce.size());

  // Hosts: one LAN address each; a shared NAT puts both on one LAN, "open" on the Internet.
  const bool lan = pair.same_nat && pair.a != "cgnat";
  const IpAddress host_a = pair.a == "open" ? ip("203.0.113.10") : kHostA;
  const IpAddress host_b =
      pair.b == "open" ? ip("203.0.113.11") : (lan ? ip("192.0.2.11") : kHostB);
  std::optional<std::size_t> shared_a, shared_b;
  a.site = add_side(net, pair.a, 0, host_a, shared_a);
  b.site = add_side(net, pair.b, 1, host_b, pair.same_nat ? shared_a : shared_b);
  a.main = Endpoint{host_a, kFirstPort};
  b.main = Endpoint{host_b, kFirstPort};

  auto peer = [&](PeerRun& p, const std::string& kind) {
    PunchPeer out;
    out.id = p.identity.id();
    out.reflexive = net.reflexive(p.site, p.main);
    out.profile = profile_of(kind, out.reflexive);
    out.host = {p.main};
    out.rtt = kServiceRtt;
    return out;
  };
  const PunchPeer pa = peer(a, pair.a), pb = peer(b, pair.b);
  const PairPlan plan = tunnel::plan_punch(pa, pb);
  Trial t;
  t.feasible = plan.direct_feasible;
  t.rationale = plan.rationale;
  if (!plan.direct_feasible) return t;

  // A asks at `request`; its request reaches the service one one-way delay later, which sends
  // both plans at once; each plan arrives one more one-way delay later.
  const Instant request = net.now();
  const Instant plans_arrive = request + kServiceRtt / 2 + kServiceRtt / 2;
  auto start = [&](PeerRun& p, const tunnel::PunchPlan& pp, std::uint64_t salt) {
    std::vector<Endpoint> locals{p.main};
    for (std::size_t i = 1; i < pp.local_sockets; ++i)
      locals.push_back(Endpoint{p.main.address, static_cast<std::uint16_t>(kFirstPort + i)});
    p.punch = std::make_unique<HolePunch>(
        tunnel::make_punch_config(pp, p.identity, nonce, std::move(locals),
                                  plans_arrive + pp.start_after),
        Random::from_u64(seed * 4 + salt));
    net.attach(p.site, p.punch.get());
  };
  start(a, plan.a, 1);
  start(b, plan.b, 2);
  const Instant sync_start = plans_arrive + std::max(plan.a.start_after, plan.b.start_after);
  net.on_step([&](Instant now) {
    for (PeerRun* p : {&a, &b}) {
      while (auto e = p->punch->poll_event()) {
        if (std::holds_alternative<tunnel::hole_punch_event::Established>(*e)) p->established = now;
        else p->failed = std::get<tunnel::hole_punch_event::Failed>(*e).reason;
      }
    }
  });
  const auto done = [&] { return (a.established || a.failed) && (b.established || b.failed); };
  net.run_until(done, kServiceRtt + plan.a.deadline + plan.b.deadline + 1s);
  t.direct = a.established && b.established;
  if (!t.direct) {
    auto tally = [](const PeerRun& p) {
      const auto& k = p.punch->counters();
      return std::string(p.established ? "established" : p.failed ? *p.failed : "running") +
             " [req in " + std::to_string(k.requests_received) + ", resp in " +
             std::to_string(k.responses_received) + ", pairs ok " +
             std::to_string(k.pairs_succeeded) + "]";
    };
    t.failure = "a: " + tally(a) + "; b: " + tally(b);
  }
  if (t.direct) {
    const Instant both = std::max(*a.established, *b.established);
    t.from_request = both - request;
    t.from_start = both - sync_start;
  }
  return t;
}

int trials_for(double loss) {
  if (const char* env = std::getenv("QP2P_MATRIX_TRIALS")) {
    const int n = std::atoi(env);
    if (n > 0 && n <= 1000) return n;
  }
  return loss > 0 ? 3 : 5;
}

Duration percentile(std::vector<Duration> v, int pct) {
  if (v.empty()) return Duration::zero();
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, (v.size() * static_cast<std::size_t>(pct)) / 100);
  return v[pct == 50 ? (v.size() - 1) / 2 : i];
}

double in_rtts(Duration d) { return static_cast<double>(d.count()) / kPeerRtt.count(); }

class PunchMatrix : public ::testing::TestWithParam<double> {};

TEST_P(PunchMatrix, DirectWhereverFeasibleAndFast) {
  const double loss = GetParam();
  const int trials = trials_for(loss);
  char line[256];
  std::snprintf(line, sizeof line, "%-46s %6s %8s %8s %8s %8s %8s  %s\n", "pair", "trials",
                "direct%", "p50 ms", "p95 ms", "p50 RTT", "p95 RTT", "plan");
  std::cout << "[ matrix   ] one-way " << to_ms(kOneWay) << " ms on every link, loss " << loss * 100
            << "%\n" << line;
  const char* only = std::getenv("QP2P_MATRIX_ONLY");  // a substring of the pair's label
  for (const PairSpec& pair : all_pairs()) {
    if (only && pair.label().find(only) == std::string::npos) continue;
    int direct = 0, feasible = 0;
    std::vector<Duration> req, st;
    std::string rationale;
    std::vector<std::string> failures;
    for (int i = 0; i < trials; ++i) {
      const std::uint64_t seed = 1000 + static_cast<std::uint64_t>(i) * 7919 +
                                 static_cast<std::uint64_t>(loss * 1000) * 31;
      const Trial t = run_trial(pair, seed, loss);
      rationale = t.rationale;
      if (t.feasible && !t.direct) failures.push_back("seed " + std::to_string(seed) + " " + t.failure);
      feasible += t.feasible;
      if (t.direct) {
        ++direct;
        req.push_back(t.from_request);
        st.push_back(t.from_start);
      }
    }
    const double pct = 100.0 * direct / trials;
    std::snprintf(line, sizeof line, "%-46s %6d %7.0f%% %8lld %8lld %8.1f %8.1f  %s\n",
                  pair.label().c_str(), trials, pct,
                  static_cast<long long>(to_ms(percentile(req, 50))),
                  static_cast<long long>(to_ms(percentile(req, 95))),
                  in_rtts(percentile(st, 50)), in_rtts(percentile(st, 95)), rationale.c_str());
    std::cout << line;
    for (std::size_t i = 0; i < std::min<std::size_t>(failures.size(), 3); ++i)
      std::cout << "    failed: " << failures[i] << "\n";

    SCOPED_TRACE(pair.label() + " at " + std::to_string(loss * 100) + "% loss: " + rationale);
    if (pair.infeasible()) {
      EXPECT_EQ(feasible, 0) << "the planner must send this pair to the relay";
      continue;
    }
    EXPECT_EQ(feasible, trials) << "the planner gave up on a feasible pair";
    if (pair.eim()) {
      EXPECT_EQ(direct, trials);
    } else {
      EXPECT_GE(direct * 100, 95 * trials);
    }
    if (pair.eim() && loss == 0.0 && !req.empty()) {
      EXPECT_LE(percentile(st, 50), 3 * kPeerRtt);
      EXPECT_LE(percentile(req, 50), 3 * (kPeerRtt + kServiceRtt));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Loss, PunchMatrix, ::testing::Values(0.0, 0.05, 0.20),
                         [](const ::testing::TestParamInfo<double>& info) {
                           return "loss" + std::to_string(static_cast<int>(info.param * 100));
                         });

}  // namespace
}  // namespace qp2p::tunnel_lab
