// The traversal matrix's pairs and what each must show, for the emulated run: the same pair
// list, --pairs filter syntax and expectations as the ns-3 scenario
// (scenarios/traversal-matrix/traversal-matrix-scenario.cc, where they are explained), over the
// nat-models presets. Kept header-only and free of ns-3 so the emulation builds without it.
#pragma once

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "nat-models/nat_behaviour.h"

namespace qp2p::emu {

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
// (stack/tunnel/punch_planner.h); the pair is relayed, or relay-needed until the relay lands.
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

// Nearest-rank percentile.
inline double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank > 0 ? rank - 1 : 0)];
}

}  // namespace qp2p::emu
