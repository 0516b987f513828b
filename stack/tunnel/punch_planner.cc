// Strategy choice for one pair of peers (punch_planner.h).
#include "stack/tunnel/punch_planner.h"

#include <algorithm>

namespace qp2p::tunnel {

namespace {

using Behaviour = NatProfile::Behaviour;
using Allocation = NatProfile::Allocation;

bool behind_nat(const PunchPeer& p) { return !p.profile || p.profile->nat_levels != 0; }

// The peer's NAT gives every destination its own mapping (RFC 4787 section 4.1: APDM or ADM).
bool dependent_mapping(const PunchPeer& p) {
  if (!behind_nat(p)) return false;
  const Behaviour m = p.profile->mapping;
  return m == Behaviour::kAddressDependent || m == Behaviour::kAddressAndPortDependent;
}

bool random_dependent(const PunchPeer& p) {
  return dependent_mapping(p) && p.profile->allocation == Allocation::kRandom;
}

// Checks from an unpredictable port of the remote's address get through our NAT once we have
// sent anything to that address (RFC 4787 section 5: EIF or ADF).
bool admits_unknown_port(const PunchPeer& p) {
  if (!behind_nat(p)) return true;
  const Behaviour f = p.profile->filtering;
  return f == Behaviour::kEndpointIndependent || f == Behaviour::kAddressDependent;
}

std::vector<Candidate> candidates_of(const PunchPeer& p) {
  std::vector<Candidate> out;
  for (const auto& h : p.host) out.push_back({h, CandidateKind::kHost});
  if (std::none_of(p.host.begin(), p.host.end(), [&](const Endpoint& h) { return h == p.reflexive; }))
    out.push_back({p.reflexive, CandidateKind::kServerReflexive});
  return out;
}

// The plan for `self`, punching towards `remote`.
PunchPlan plan_side(const PunchPeer& self, const PunchPeer& remote, const PunchPlannerConfig& cfg,
                    std::string& why) {
  PunchPlan plan;
  plan.remote = remote.id;
  plan.remote_candidates = candidates_of(remote);
  plan.deadline = cfg.deadline;
  if (dependent_mapping(remote) && remote.profile->allocation == Allocation::kSequential) {
    plan.strategy = PunchStrategy::kPortPrediction;
    plan.prediction.base = remote.reflexive;
    plan.prediction.delta = remote.profile->sequential_delta != 0 ? remote.profile->sequential_delta : 1;
    plan.prediction.before = cfg.predicted_ports_before;
    plan.prediction.after = cfg.predicted_ports_after;
    why = std::string("prediction(") + (plan.prediction.delta > 0 ? "+" : "") +
          std::to_string(plan.prediction.delta) + ")";
  } else if (random_dependent(remote) && !admits_unknown_port(self)) {
    plan.strategy = PunchStrategy::kBirthday;
    plan.birthday.address = remote.reflexive.address;
    plan.birthday.probes = cfg.birthday_probes;
    why = "birthday(" + std::to_string(cfg.birthday_probes) + " probes)";
  } else {
    why = "simultaneous-open";
  }
  // The side behind the random-port NAT opens K mappings for the remote's birthday probes.
  if (random_dependent(self) && !admits_unknown_port(remote))
    plan.local_sockets = cfg.birthday_local_sockets;
  return plan;
}

Duration one_way(const PunchPeer& p) { return p.rtt / 2; }

}  // namespace

const char* to_string(PunchStrategy strategy) {
  switch (strategy) {
    case PunchStrategy::kSimultaneousOpen: return "simultaneous-open";
    case PunchStrategy::kPortPrediction: return "port-prediction";
    case PunchStrategy::kBirthday: return "birthday";
  }
  return "unknown";
}

PairPlan plan_punch(const PunchPeer& a, const PunchPeer& b, const PunchPlannerConfig& config) {
  PairPlan pair;
  std::string why_a, why_b;
  pair.a = plan_side(a, b, config, why_a);
  pair.b = plan_side(b, a, config, why_b);
  const Duration latest = std::max(one_way(a), one_way(b));
  pair.a.start_after = latest - one_way(a) + config.start_margin;
  pair.b.start_after = latest - one_way(b) + config.start_margin;
  // Each side's mappings towards the other are unpredictable and neither filter admits an
  // unknown port: no packet of one can ever match a hole the other opened.
  if (random_dependent(a) && random_dependent(b) && !admits_unknown_port(a) &&
      !admits_unknown_port(b)) {
    pair.direct_feasible = false;
    pair.rationale = "relay: both sides map every destination to a random port";
    return pair;
  }
  pair.rationale = "a: " + why_a + " (" + std::to_string(pair.a.local_sockets) + " sockets), b: " +
                   why_b + " (" + std::to_string(pair.b.local_sockets) + " sockets)";
  return pair;
}

}  // namespace qp2p::tunnel
