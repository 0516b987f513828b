// What NAT discovery must report behind a site, in the words of qp2p-peer's JSON (RFC 4787):
// the rule of the ns-3 nat-discovery scenario (scenarios/nat-discovery), applied to the
// nat-models behaviours the emulated gateways were built from, so both worlds judge alike:
// mapping and allocation of the outermost NAT (what the Internet sees), the strictest filter on
// the path, hairpinning by the outermost NAT, one level per NAT; an open host reaches itself.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nat-models/nat_behaviour.h"

namespace qp2p::emu {

struct ExpectedProfile {
  std::string mapping;
  std::string filtering;
  std::string allocation;
  int delta = 0;  // sequential only
  bool hairpin = false;
  int levels = 0;

  nlohmann::ordered_json to_json() const {
    return {{"mapping", mapping}, {"filtering", filtering}, {"allocation", allocation},
            {"delta", delta},     {"hairpin", hairpin},     {"nat_levels", levels}};
  }
};

// `outer_first`: the site's gateways, outermost first; empty for an open host.
inline ExpectedProfile expected_profile(const std::vector<nat::NatBehaviour>& outer_first) {
  ExpectedProfile t;
  if (outer_first.empty()) {
    t.mapping = t.filtering = "endpoint-independent";
    t.allocation = "preserving";
    t.hairpin = true;
    return t;
  }
  const nat::NatBehaviour& outer = outer_first.front();
  auto filtering = outer.filtering;
  for (const auto& gw : outer_first) filtering = std::max(filtering, gw.filtering);
  t.mapping = std::string(nat::to_string(outer.mapping));
  t.filtering = std::string(nat::to_string(filtering));
  t.allocation = std::string(nat::to_string(outer.port_allocation));
  t.delta = outer.port_allocation == nat::PortAllocation::kSequential
                ? static_cast<int>(outer.sequential_delta)
                : 0;
  t.hairpin = outer.hairpinning;
  t.levels = static_cast<int>(outer_first.size());
  return t;
}

}  // namespace qp2p::emu
