// The traversal matrix's pairs and what each must show, shared by the ns-3 scenario
// (traversal-matrix-scenario.cc) and its emulated twin (scenarios/emulation/
// emu-traversal-matrix.cc): the pair list over the nat-models presets, the --pairs filter, and
// the expectations of issues 4 and 7 ("direct if possible, relay otherwise, never a failure").
// Header-only and free of ns-3 so the emulation builds without it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "nat-models/nat_behaviour.h"
#include "scenarios/report_math.h"

namespace qp2p::matrix {

struct PairSpec {
  std::string a;
  std::string b;
  bool same_nat = false;
  // "full-cone x symmetric", "symmetric (same NAT)" (the ns-3 labels).
  std::string label() const { return same_nat ? a + " (same NAT)" : a + " x " + b; }
};

inline nat::NatBehaviour outer_behaviour(const std::string& preset) {
  if (auto chain = nat::chain_preset(preset)) return chain->carrier;
  return *nat::preset(preset);
}

inline bool endpoint_independent(const std::string& preset) {
  return outer_behaviour(preset).mapping == nat::Dependency::kEndpointIndependent;
}

// Both mappings endpoint-independent, or one shared NAT: 100% direct expected.
inline bool eim_pair(const PairSpec& p) {
  return p.same_nat || (endpoint_independent(p.a) && endpoint_independent(p.b));
}

// Both mappings destination-dependent and one side random: direct is infeasible
// (stack/tunnel/punch_planner.h) and the tunnel goes through the supernode's relay (protocol.md
// section 8.6).
inline bool infeasible_pair(const PairSpec& p) {
  if (p.same_nat || endpoint_independent(p.a) || endpoint_independent(p.b)) return false;
  return outer_behaviour(p.a).port_allocation == nat::PortAllocation::kRandom ||
         outer_behaviour(p.b).port_allocation == nat::PortAllocation::kRandom;
}

inline std::vector<std::string> all_presets() {
  std::vector<std::string> out;
  for (auto n : nat::preset_names()) out.emplace_back(n);
  for (auto n : nat::chain_preset_names()) out.emplace_back(n);
  return out;
}

// Every unordered pair (a before b in preset order), then each preset behind one shared NAT.
inline std::vector<PairSpec> all_pairs() {
  const auto presets = all_presets();
  std::vector<PairSpec> out;
  for (std::size_t i = 0; i < presets.size(); ++i) {
    for (std::size_t j = i; j < presets.size(); ++j) out.push_back({presets[i], presets[j], false});
  }
  for (const auto& p : presets) out.push_back({p, p, true});
  return out;
}

// "A:B" keeps the pair of presets A and B (either order; "A:same": one shared NAT of A); any
// other item keeps the pairs whose label contains it.
inline bool selected(const PairSpec& pair, const std::string& filter) {
  if (filter.empty()) return true;
  std::stringstream items(filter);
  std::string item;
  while (std::getline(items, item, ',')) {
    const std::size_t colon = item.find(':');
    if (colon != std::string::npos) {
      const std::string x = item.substr(0, colon);
      const std::string y = item.substr(colon + 1);
      if (y == "same"
              ? pair.same_nat && pair.a == x
              : !pair.same_nat && ((pair.a == x && pair.b == y) || (pair.a == y && pair.b == x))) {
        return true;
      }
    } else if (!item.empty() && pair.label().find(item) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// How a pair's trials ended: a tunnel direct on both sides, a tunnel through the relay, or none.
struct Tally {
  std::uint32_t trials = 0;
  std::uint32_t direct = 0;
  std::uint32_t relay = 0;
  std::uint32_t failed = 0;
};

// The pair's expectations, one line per violation (empty: met). Every trial ends with a tunnel
// (issue 7: never a failure). Infeasible pairs: relayed in every trial. Otherwise direct: in
// every trial for endpoint-independent pairs and one shared NAT, in >= 95% for the others.
// With hostile gateways (icmp_on_unsolicited) a refused check can move or block a mapping
// (nat-models/nat_table.h), so feasible pairs may fall back to the relay: only "a tunnel in
// every trial" is expected of them (`hostile`; the ns-3 scenario also sets it above 5% loss).
inline std::vector<std::string> violations(const PairSpec& pair, const Tally& t, bool hostile) {
  std::vector<std::string> out;
  const std::string of = " of " + std::to_string(t.trials) + " trials";
  if (t.failed > 0) out.push_back(std::to_string(t.failed) + of + " without a tunnel");
  if (infeasible_pair(pair)) {
    if (t.relay != t.trials) out.push_back("relayed in " + std::to_string(t.relay) + of +
                                           " (direct is infeasible: 100% relay expected)");
  } else if (!hostile && eim_pair(pair)) {
    if (t.direct != t.trials) {
      out.push_back("direct in " + std::to_string(t.direct) + of +
                    " (endpoint-independent mappings: 100% expected)");
    }
  } else if (!hostile && t.direct * 100 < 95 * t.trials) {
    out.push_back("direct in " + std::to_string(t.direct) + of + " (at least 95% expected)");
  }
  for (auto& line : out) line = pair.label() + ": " + line;
  return out;
}

using report::percentile;  // nearest rank (scenarios/report_math.h)

}  // namespace qp2p::matrix
