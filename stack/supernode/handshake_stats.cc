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

}  // namespace qp2p
