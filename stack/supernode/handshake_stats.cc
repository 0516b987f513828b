// Traversal statistics of the handshake service by pair of NAT profiles (handshake_stats.h).
#include "stack/supernode/handshake_stats.h"

#include <algorithm>

namespace qp2p {

namespace {

// RFC 4787 abbreviations; `suffix` is "M" (mapping) or "F" (filtering).
std::string abbreviate(NatProfile::Behaviour b, const char* suffix) {
  switch (b) {
    case NatProfile::Behaviour::kEndpointIndependent:
      return std::string("EI") + suffix;
    case NatProfile::Behaviour::kAddressDependent:
      return std::string("AD") + suffix;
    case NatProfile::Behaviour::kAddressAndPortDependent:
      return std::string("APD") + suffix;
    case NatProfile::Behaviour::kUnknown:
      break;
  }
  return "?";
}

}  // namespace

std::string nat_class(const std::optional<NatProfile>& profile) {
  if (!profile) return "unknown";
  if (profile->nat_levels == 0) return "none";
  return abbreviate(profile->mapping, "M") + "/" + abbreviate(profile->filtering, "F");
}

HandshakeStats::Pair HandshakeStats::pair_of(const std::optional<NatProfile>& a,
                                             const std::optional<NatProfile>& b) {
  std::string x = nat_class(a), y = nat_class(b);
  if (y < x) std::swap(x, y);
  return {std::move(x), std::move(y)};
}

void HandshakeStats::accepted(const Pair& pair, const tunnel::PairPlan& plan) {
  NatPairCounters& c = pairs_[pair];
  ++c.accepted;
  if (!plan.direct_feasible) {
    ++c.relay;
    return;
  }
  switch (std::max(plan.a.strategy, plan.b.strategy)) {
    case tunnel::PunchStrategy::kSimultaneousOpen:
      ++c.simultaneous_open;
      break;
    case tunnel::PunchStrategy::kPortPrediction:
      ++c.port_prediction;
      break;
    case tunnel::PunchStrategy::kBirthday:
      ++c.birthday;
      break;
  }
}

void HandshakeStats::outcome(const Pair& pair, wire::OutcomePath path, std::uint32_t setup_ms,
                             std::uint32_t rtt_ms) {
  NatPairCounters& c = pairs_[pair];
  switch (path) {
    case wire::OutcomePath::kDirect:
      ++c.outcome_direct;
      c.direct_setup.add(setup_ms);
      c.tunnel_rtt_ms_sum += rtt_ms;
      break;
    case wire::OutcomePath::kRelay:
      ++c.outcome_relay;
      c.relay_setup.add(setup_ms);
      c.tunnel_rtt_ms_sum += rtt_ms;
      break;
    case wire::OutcomePath::kFailed:
      ++c.outcome_failed;
      break;
  }
}

void SetupHistogram::add(std::uint32_t ms) {
  const auto* at = std::lower_bound(kBoundsMs.begin(), kBoundsMs.end(), ms);
  ++buckets[static_cast<std::size_t>(at - kBoundsMs.begin())];
  ++count;
  sum_ms += ms;
}

void SetupHistogram::merge(const SetupHistogram& other) {
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum_ms += other.sum_ms;
}

double SetupHistogram::quantile(double q) const {
  if (count == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < kBoundsMs.size(); ++i) {
    if (buckets[i] > 0 && static_cast<double>(below + buckets[i]) >= rank) {
      const double lower = i == 0 ? 0.0 : kBoundsMs[i - 1];
      const double fraction = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
      return lower + (kBoundsMs[i] - lower) * fraction;
    }
    below += buckets[i];
  }
  return kBoundsMs.back();
}

}  // namespace qp2p
