// NatDiscovery's conclusions: how the outcomes of the RFC 5780 tests (sections 4.3-4.5), the
// allocation samples and the NAT-PMP answer (RFC 6886) become an RFC 4787 profile. The test
// sequence that gathers them is in nat_discovery.cc.
#include <algorithm>
#include <set>
#include <utility>

#include "stack/discovery/nat_discovery.h"
#include "stack/discovery/nat_pmp.h"
#include "stack/discovery/port_allocation.h"

namespace qp2p {

namespace {
// RFC 6598 shared address space 100.64.0.0/10 (carrier-grade NAT inside addresses).
constexpr std::uint32_t kSharedSpacePrefix = 0x64400000;
constexpr std::uint32_t kSharedSpaceMask = 0xFFC00000;

bool in_shared_address_space(const IpAddress& a) {
  return a.is_v4() && (a.v4_host_order() & kSharedSpaceMask) == kSharedSpacePrefix;
}

}  // namespace

// --- conclusions --------------------------------------------------------------------------------

void NatDiscovery::finish(Instant now) {
  NatProfile profile;
  profile.mapped = probes_[*binding_[0]].mapped;
  conclude_levels(profile);
  profile.mapping = conclude_mapping(profile);
  profile.filtering = conclude_filtering(profile);
  conclude_allocation(profile);
  conclude_hairpin(profile);
  profile.complete = profile.mapping != NatProfile::Mapping::kUnknown &&
                     profile.filtering != NatProfile::Filtering::kUnknown &&
                     profile.allocation != NatProfile::Allocation::kUnknown;
  for (const auto& n : profile.notes) note(now, "note: " + n);
  note(now, "result: " + profile.describe());
  state_ = State::kDone;
  tracker_.clear();
  answered_tracker_.clear();
  gateway_tracker_.clear();
  events_.push_back(nat_discovery_event::Completed{std::move(profile)});
}

void NatDiscovery::conclude_levels(NatProfile& profile) const {
  const Endpoint& local = sockets_[0];
  if (profile.mapped == local) {
    profile.nat_levels = 0;
    return;
  }
  profile.nat_levels = 1;
  if (local.address.is_unspecified()) {
    profile.notes.push_back("primary local address unspecified: a NAT is assumed");
  }
  if (in_shared_address_space(local.address)) {
    profile.notes.push_back("local address in RFC 6598 shared space: the NAT is carrier-grade");
  }
  const std::optional<IpAddress>& external =
      config_.gateway_external ? config_.gateway_external : gateway_external_;
  if (!external) {
    switch (gateway_query_) {
      case GatewayQuery::kNoAnswer:
        profile.notes.push_back(
            "levels: gateway does not speak NAT-PMP; a second NAT level would not be seen");
        break;
      case GatewayQuery::kError:
        profile.notes.push_back(
            "levels: gateway answered NAT-PMP with result code " + std::to_string(gateway_result_) +
            " (" + nat_pmp::describe(gateway_result_) + "); a second NAT level would not be seen");
        break;
      default:
        profile.notes.push_back(
            "levels: a second NAT is not observable by STUN alone (no gateway external address)");
        break;
    }
    return;
  }
  const IpAddress& gw = *external;
  if (gw == profile.mapped.address) return;
  profile.nat_levels = 2;
  std::string n = "levels: gateway reports external address " + gw.to_string() +
                  ", the supernode sees " + profile.mapped.address.to_string() +
                  ": two NATs or more (a deeper chain looks the same)";
  if (in_shared_address_space(gw)) n += " (RFC 6598 shared space: a carrier-grade NAT beyond)";
  profile.notes.push_back(std::move(n));
}

NatProfile::Mapping NatDiscovery::conclude_mapping(NatProfile& profile) const {
  using M = NatProfile::Mapping;
  if (!other_) {
    profile.notes.push_back("mapping: not tested (no OTHER-ADDRESS)");
    return M::kUnknown;
  }
  if (!answered(mapping_ii_)) {
    profile.notes.push_back("mapping: test II unanswered");
    return M::kUnknown;
  }
  const Endpoint& x1 = probes_[*binding_[0]].mapped;
  const Endpoint& x2 = probes_[*mapping_ii_].mapped;
  if (!two_ips_) {
    if (x2 != x1) return M::kAddressAndPortDependent;
    if (profile.nat_levels == 0) return M::kEndpointIndependent;  // no translation at all
    profile.notes.push_back(
        "mapping: endpoint-independent or address-dependent (single supernode IP)");
    return M::kUnknown;
  }
  if (x2 == x1) return M::kEndpointIndependent;
  if (!answered(mapping_iii_)) {
    profile.notes.push_back("mapping: test III unanswered");
    return M::kUnknown;
  }
  return probes_[*mapping_iii_].mapped == x2 ? M::kAddressDependent : M::kAddressAndPortDependent;
}

NatProfile::Filtering NatDiscovery::conclude_filtering(NatProfile& profile) const {
  using F = NatProfile::Filtering;
  if (!other_ || !filtering_iii_) {
    profile.notes.push_back("filtering: not tested");
    return F::kUnknown;
  }
  // Whether the change-IP test could tell endpoint-independent from address-dependent.
  bool ip_tested = false;
  if (filtering_ii_) {
    const Probe& ii = probes_[*filtering_ii_];
    switch (ii.outcome) {
      case Outcome::kAnswered:
        return F::kEndpointIndependent;
      case Outcome::kNoAnswer:
        ip_tested = true;
        break;
      case Outcome::kError:
        profile.notes.push_back(ii.error_code == 420
                                    ? "filtering: server refused to change IP (420)"
                                    : "filtering: change IP+port test failed");
        break;
      case Outcome::kCancelled:
      case Outcome::kPending:
        profile.notes.push_back("filtering: change IP+port test unfinished");
        return F::kUnknown;
    }
  }
  const Probe& iii = probes_[*filtering_iii_];
  switch (iii.outcome) {
    case Outcome::kAnswered:
      if (ip_tested) return F::kAddressDependent;
      profile.notes.push_back(
          "filtering: endpoint-independent or address-dependent (no change of IP possible)");
      return F::kUnknown;
    case Outcome::kNoAnswer:
      return F::kAddressAndPortDependent;
    case Outcome::kError:
      profile.notes.push_back("filtering: change port test failed (error " +
                              std::to_string(iii.error_code) + ")");
      return F::kUnknown;
    case Outcome::kCancelled:
    case Outcome::kPending:
      break;
  }
  profile.notes.push_back("filtering: change port test unfinished");
  return F::kUnknown;
}

void NatDiscovery::conclude_allocation(NatProfile& profile) const {
  // The bindings opened one new mapping per socket, then the mapping tests' new external
  // endpoints continue the sequence (nothing else allocated in between); a reused mapping is
  // not a new allocation.
  std::vector<NewMapping> mappings;
  auto seen = [&](const Endpoint& e) {
    return std::any_of(mappings.begin(), mappings.end(),
                       [&](const NewMapping& m) { return m.external == e; });
  };
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    if (answered(binding_[i])) mappings.push_back({probes_[*binding_[i]].mapped, sockets_[i].port});
  }
  for (auto index : {mapping_ii_, mapping_iii_}) {
    if (answered(index) && !seen(probes_[*index].mapped)) {
      mappings.push_back({probes_[*index].mapped, std::nullopt});
    }
  }
  AllocationVerdict v = classify_port_allocation(mappings);
  profile.allocation = v.allocation;
  profile.sequential_delta = v.delta;
  if (v.allocation == NatProfile::Allocation::kSequential && v.delta != 0) {
    // The newest mapping is the furthest along the step; a hairpinned request we received shows
    // one more (its source is the mapping our other socket got towards our public address).
    std::vector<std::uint16_t> ports;
    for (const NewMapping& m : mappings) ports.push_back(m.external.port);
    for (std::size_t i : hairpin_)
      if (answered(i)) ports.push_back(probes_[i].mapped.port);
    const auto along = [&](std::uint16_t port) { return v.delta > 0 ? port : -int(port); };
    profile.last_port = *std::max_element(ports.begin(), ports.end(), [&](auto a, auto b) {
      return along(a) < along(b);
    });
  }
  profile.notes.insert(profile.notes.end(), v.notes.begin(), v.notes.end());
}

void NatDiscovery::conclude_hairpin(NatProfile& profile) const {
  profile.hairpin = hairpin_seen_;
  if (hairpin_seen_) return;
  if (hairpin_.empty()) {
    profile.notes.push_back("hairpin: not tested");
  } else if (std::any_of(hairpin_.begin(), hairpin_.end(), [&](std::size_t i) {
               return probes_[i].outcome == Outcome::kCancelled;
             })) {
    profile.notes.push_back("hairpin: test unfinished");
  }
}

}  // namespace qp2p
