// Test helpers shared by the traversal matrix and the tunnel-manager tests: a preset name
// ("open", the cone and symmetric presets of nat-models/nat_behaviour.h, or the "cgnat" chain)
// turned into lab sites (tunnel_lab.h) and into the NatProfile NAT discovery reports for it
// (stack/discovery/nat_profile.h, RFC 4787 terms). Header-only.
#pragma once

#include <optional>
#include <string>

#include "stack/discovery/nat_profile.h"
#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {

// What NAT discovery reports for a NAT (or a chain: the stricter axis of the two, the carrier's
// allocation, two levels).
inline NatProfile profile_of(const std::string& kind, const Endpoint& mapped) {
  NatProfile p;
  auto behaviour = [](nat::Dependency d) {
    switch (d) {
      case nat::Dependency::kEndpointIndependent: return NatProfile::Behaviour::kEndpointIndependent;
      case nat::Dependency::kAddressDependent: return NatProfile::Behaviour::kAddressDependent;
      case nat::Dependency::kAddressAndPortDependent:
        return NatProfile::Behaviour::kAddressAndPortDependent;
    }
    return NatProfile::Behaviour::kUnknown;
  };
  auto allocation = [](nat::PortAllocation a) {
    switch (a) {
      case nat::PortAllocation::kPreserving: return NatProfile::Allocation::kPreserving;
      case nat::PortAllocation::kSequential: return NatProfile::Allocation::kSequential;
      case nat::PortAllocation::kRandom: return NatProfile::Allocation::kRandom;
    }
    return NatProfile::Allocation::kUnknown;
  };
  NatBehaviour outer, inner;
  if (kind == "cgnat") {
    const auto chain = nat::chain_preset("cgnat").value();
    outer = chain.carrier;
    inner = chain.home;
    p.nat_levels = 2;
  } else {
    outer = inner = preset(kind);
    p.nat_levels = outer.translating ? 1 : 0;
  }
  p.mapping = behaviour(std::max(outer.mapping, inner.mapping));
  p.filtering = behaviour(std::max(outer.filtering, inner.filtering));
  if (!outer.translating) p.filtering = NatProfile::Behaviour::kEndpointIndependent;
  p.allocation = allocation(outer.port_allocation);
  if (outer.port_allocation == nat::PortAllocation::kSequential)
    p.sequential_delta = outer.sequential_delta;
  p.hairpin = outer.hairpinning;
  p.mapped = mapped;
  p.complete = true;
  return p;
}

// One side's NAT(s) and host; `shared` is the node a same-NAT pair's second host joins.
inline std::size_t add_side(Network& net, const std::string& kind, int index, IpAddress host,
                     std::optional<std::size_t>& shared) {
  const IpAddress public_ip = index == 0 ? kPublicA : kPublicB;
  if (kind == "cgnat") {
    // Two subscribers of one carrier when shared; each has its own home NAT.
    const auto chain = nat::chain_preset("cgnat").value();
    if (!shared) shared = net.add_nat(chain.carrier, public_ip);
    const std::size_t home =
        net.add_nat(chain.home, index == 0 ? ip("100.64.0.1") : ip("100.64.0.2"), *shared);
    return net.add_site_behind(home, host);
  }
  const NatBehaviour b = preset(kind);
  if (!b.translating) return net.add_site(b, host, host);
  if (!shared) shared = net.add_nat(b, public_ip);
  return net.add_site_behind(*shared, host);
}

}  // namespace qp2p::tunnel_lab
