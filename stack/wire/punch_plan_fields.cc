// PunchPlan <-> PunchStart fields (punch_plan_fields.h).
#include "stack/wire/punch_plan_fields.h"

#include <algorithm>

namespace qp2p::wire {

namespace {

// Bytes left for remote candidates in a sealed punch-start (docs/protocol.md section 5.5): the
// body is at most 1232 - 16 - 32 bytes, of which 73 are the push's own fields, 12 the plan's
// fixed fields, at most 27 a strategy's (an IPv6 prediction base) and at most 196 the relay
// credentials that follow the plan. 43 IPv6 or all 64 IPv4 candidates fit.
constexpr std::size_t kRelayCredentialsMax =
    2 + kMaxRelayUsernameBytes + 2 + kMaxRelayPasswordBytes;
constexpr std::size_t kCandidateBudget =
    kMaxDatagram - kHeaderSize - kTrailerSize - 73 - 12 - 27 - kRelayCredentialsMax;

std::uint32_t rounded_ms(Duration d, std::uint32_t lo, std::uint32_t hi) {
  const std::int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  const std::int64_t ms = (us + 500) / 1000;
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, lo, hi));
}

PlanStrategy strategy_code(tunnel::PunchStrategy s) {
  switch (s) {
    case tunnel::PunchStrategy::kSimultaneousOpen:
      return PlanStrategy::kSimultaneousOpen;
    case tunnel::PunchStrategy::kPortPrediction:
      return PlanStrategy::kPortPrediction;
    case tunnel::PunchStrategy::kBirthday:
      return PlanStrategy::kBirthday;
  }
  return PlanStrategy::kSimultaneousOpen;
}

tunnel::PunchStrategy strategy_of(PlanStrategy s) {
  switch (s) {
    case PlanStrategy::kSimultaneousOpen:
      return tunnel::PunchStrategy::kSimultaneousOpen;
    case PlanStrategy::kPortPrediction:
      return tunnel::PunchStrategy::kPortPrediction;
    case PlanStrategy::kBirthday:
      return tunnel::PunchStrategy::kBirthday;
  }
  return tunnel::PunchStrategy::kSimultaneousOpen;
}

std::uint8_t kind_code(tunnel::CandidateKind k) {
  switch (k) {
    case tunnel::CandidateKind::kHost:
      return 0;
    case tunnel::CandidateKind::kServerReflexive:
      return 1;
    case tunnel::CandidateKind::kPredicted:
      return 2;
    case tunnel::CandidateKind::kBirthdayProbe:
      return 3;
    case tunnel::CandidateKind::kPeerReflexive:
      return 4;
    case tunnel::CandidateKind::kRelayed:  // never in a PunchStart (TunnelRelayed carries it)
      return 1;
  }
  return 0;
}

tunnel::CandidateKind kind_of(std::uint8_t code) {
  switch (code) {
    case 1:
      return tunnel::CandidateKind::kServerReflexive;
    case 2:
      return tunnel::CandidateKind::kPredicted;
    case 3:
      return tunnel::CandidateKind::kBirthdayProbe;
    case 4:
      return tunnel::CandidateKind::kPeerReflexive;
    default:
      return tunnel::CandidateKind::kHost;
  }
}

}  // namespace

PunchPlanFields to_fields(const tunnel::PunchPlan& plan) {
  PunchPlanFields f;
  f.strategy = strategy_code(plan.strategy);
  f.local_sockets = static_cast<std::uint16_t>(
      std::clamp<std::size_t>(plan.local_sockets, 1, tunnel::kMaxLocalEndpoints));
  f.start_after_ms = rounded_ms(plan.start_after, 0, kMaxStartAfterMs);
  f.deadline_ms =
      rounded_ms(plan.deadline, 1, static_cast<std::uint32_t>(to_ms(tunnel::kMaxPunchDeadline)));
  std::size_t bytes = 0;
  for (const auto& c : plan.remote_candidates) {
    const std::size_t size = 1 + (c.endpoint.address.is_v4() ? 7 : 19);
    if (f.remote_candidates.size() >= tunnel::kMaxRemoteCandidates ||
        bytes + size > kCandidateBudget)
      break;
    bytes += size;
    f.remote_candidates.push_back({c.endpoint, kind_code(c.kind)});
  }
  if (plan.strategy == tunnel::PunchStrategy::kPortPrediction) {
    f.prediction_base = plan.prediction.base;
    const int delta = std::clamp(plan.prediction.delta, -65535, 65535);
    f.prediction_delta = delta == 0 ? 1 : delta;
    const int limit = static_cast<int>(tunnel::kMaxPredictedPorts);
    const int before = std::clamp(plan.prediction.before, 0, limit);
    const int after = std::clamp(plan.prediction.after, 0, limit - before);
    f.prediction_before = static_cast<std::uint16_t>(before);
    f.prediction_after = static_cast<std::uint16_t>(after);
  } else if (plan.strategy == tunnel::PunchStrategy::kBirthday) {
    f.birthday_address = plan.birthday.address;
    f.birthday_port_min = std::max<std::uint16_t>(plan.birthday.port_min, 1);
    f.birthday_port_max = std::max(plan.birthday.port_max, f.birthday_port_min);
    const int range = f.birthday_port_max - f.birthday_port_min + 1;
    f.birthday_probes = static_cast<std::uint16_t>(std::clamp(
        plan.birthday.probes, 0, std::min(range, static_cast<int>(tunnel::kMaxBirthdayProbes))));
  }
  return f;
}

tunnel::PunchPlan from_fields(const PunchPlanFields& f, const PeerId& remote) {
  tunnel::PunchPlan plan;
  plan.remote = remote;
  plan.strategy = strategy_of(f.strategy);
  plan.local_sockets = f.local_sockets;
  plan.start_after = std::chrono::milliseconds(f.start_after_ms);
  plan.deadline = std::chrono::milliseconds(f.deadline_ms);
  for (const auto& c : f.remote_candidates)
    plan.remote_candidates.push_back({c.endpoint, kind_of(c.kind)});
  if (f.strategy == PlanStrategy::kPortPrediction) {
    plan.prediction.base = f.prediction_base;
    plan.prediction.delta = f.prediction_delta;
    plan.prediction.before = f.prediction_before;
    plan.prediction.after = f.prediction_after;
  } else if (f.strategy == PlanStrategy::kBirthday) {
    plan.birthday.address = f.birthday_address;
    plan.birthday.probes = f.birthday_probes;
    plan.birthday.port_min = f.birthday_port_min;
    plan.birthday.port_max = f.birthday_port_max;
  }
  return plan;
}

}  // namespace qp2p::wire
