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
  if (!p.profile) return false;  // unknown: plan for the common endpoint-independent mapping
  const Behaviour m = p.profile->mapping;
  return m == Behaviour::kAddressDependent || m == Behaviour::kAddressAndPortDependent;
}

// Behind a NAT whose mapping behaviour is not known (no profile published, or discovery lost
// the tests that decide it, e.g. under heavy loss): it may map every destination to its own port.
bool unknown_mapping(const PunchPeer& p) {
  return behind_nat(p) && (!p.profile || p.profile->mapping == Behaviour::kUnknown);
}

bool random_dependent(const PunchPeer& p) {
  return dependent_mapping(p) && p.profile->allocation == Allocation::kRandom;
}

bool sequential_dependent(const PunchPeer& p) {
  return dependent_mapping(p) && p.profile->allocation == Allocation::kSequential;
}

// Both sit behind one NAT (the server saw one public address): the LAN or a hairpin path.
bool same_nat(const PunchPeer& a, const PunchPeer& b) {
  return behind_nat(a) && behind_nat(b) && a.reflexive.address == b.reflexive.address &&
         !a.reflexive.address.is_unspecified();
}

// Checks from an unpredictable port of the remote's address get through our NAT once we have
// sent anything to that address (RFC 4787 section 5: EIF or ADF).
bool admits_unknown_port(const PunchPeer& p) {
  if (!behind_nat(p)) return true;
  if (!p.profile) return false;  // unknown: assume the strictest filtering
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
  if (same_nat(self, remote)) {
    why = "same-nat simultaneous-open";
    return plan;
  }
  if (sequential_dependent(remote)) {
    plan.strategy = PunchStrategy::kPortPrediction;
    plan.prediction.delta = remote.profile->sequential_delta != 0 ? remote.profile->sequential_delta : 1;
    // Both sequential: skip the remote's mappings towards our candidates (header comment).
    const long skip = sequential_dependent(self) ? static_cast<long>(candidates_of(self).size()) : 0;
    // From the newest mapping NAT discovery saw when the peer published it (discovery opened
    // several after the login's), else from the login's.
    const long from = remote.profile->last_port != 0 ? remote.profile->last_port
                                                    : remote.reflexive.port;
    const long base = from + skip * plan.prediction.delta;
    plan.prediction.base = remote.reflexive;
    if (base >= 1 && base <= 65535) plan.prediction.base.port = static_cast<std::uint16_t>(base);
    plan.prediction.before = cfg.predicted_ports_before;
    plan.prediction.after = cfg.predicted_ports_after;
    why = std::string("prediction(") + (plan.prediction.delta > 0 ? "+" : "") +
          std::to_string(plan.prediction.delta) + ")";
  } else if (unknown_mapping(remote) &&
             (!remote.profile || remote.profile->allocation != Allocation::kRandom)) {
    // Conservative for an unknown mapping: the candidates plus a prediction window around the
    // newest mapping seen. An endpoint-independent NAT is reached on the candidates as before
    // (the window only adds checks); a sequential per-destination one on a predicted port.
    // Random allocation is left to the branches below (a window cannot guess random ports).
    plan.strategy = PunchStrategy::kPortPrediction;
    plan.prediction.delta =
        remote.profile && remote.profile->sequential_delta != 0 ? remote.profile->sequential_delta : 1;
    const long from = remote.profile && remote.profile->last_port != 0 ? remote.profile->last_port
                                                                       : remote.reflexive.port;
    plan.prediction.base = remote.reflexive;
    if (from >= 1 && from <= 65535) plan.prediction.base.port = static_cast<std::uint16_t>(from);
    plan.prediction.before = cfg.predicted_ports_before;
    plan.prediction.after = cfg.predicted_ports_after;
    why = "prediction(" + std::string(plan.prediction.delta > 0 ? "+" : "") +
          std::to_string(plan.prediction.delta) + ", remote mapping unknown)";
  } else if (random_dependent(remote) && !dependent_mapping(self) && !admits_unknown_port(self)) {
    plan.strategy = PunchStrategy::kBirthday;
    plan.birthday.address = remote.reflexive.address;
    plan.birthday.probes = cfg.birthday_probes;
    why = "birthday(" + std::to_string(cfg.birthday_probes) + " probes)";
  } else {
    why = "simultaneous-open";
  }
  // The side behind the random-port NAT opens K mappings for the remote's birthday probes.
  if (random_dependent(self) && !dependent_mapping(remote) && !admits_unknown_port(remote))
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
  pair.same_nat = same_nat(a, b);
  // Both map every destination to its own port and at least one side's ports are random: a
  // hit needs a guess of a fresh random port per probe (header comment: at most 7.8%).
  if (!pair.same_nat && dependent_mapping(a) && dependent_mapping(b) &&
      (random_dependent(a) || random_dependent(b))) {
    pair.direct_feasible = false;
    pair.rationale = "relay: both sides map every destination to its own port, and " +
                     std::string(random_dependent(a) && random_dependent(b) ? "both" : "one") +
                     " allocate" + (random_dependent(a) && random_dependent(b) ? "" : "s") +
                     " them randomly";
    return pair;
  }
  pair.rationale = "a: " + why_a + " (" + std::to_string(pair.a.local_sockets) + " sockets), b: " +
                   why_b + " (" + std::to_string(pair.b.local_sockets) + " sockets)";
  return pair;
}

std::uint8_t opening_check_ttl(const NatProfile& own) {
  // Discovery reads a chain deeper than two as two: such a check then dies inside our own chain,
  // having opened only its inner NATs, and the attempt runs as without opening checks.
  if (own.nat_levels < 1) return 0;
  // An endpoint-independent filter admits the peer's first check whenever it comes: never
  // refused, nothing to open (and no extra datagrams queueing ahead of the first checks).
  if (own.filtering == NatProfile::Behaviour::kEndpointIndependent) return 0;
  return static_cast<std::uint8_t>(std::min(own.nat_levels, 2) + 1);
}

HolePunchConfig make_punch_config(const PunchPlan& plan, const Identity& identity,
                                  const AttemptNonce& nonce, std::vector<Endpoint> locals,
                                  Instant start) {
  HolePunchConfig c;
  c.identity = identity;
  c.remote = plan.remote;
  c.attempt_nonce = nonce;
  c.locals = std::move(locals);
  c.remote_candidates = plan.remote_candidates;
  c.strategy = plan.strategy;
  c.prediction = plan.prediction;
  c.birthday = plan.birthday;
  c.start = start;
  c.deadline = plan.deadline;
  return c;
}

}  // namespace qp2p::tunnel
