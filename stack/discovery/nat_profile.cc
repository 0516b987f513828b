// NAT profile words and metadata form (see nat_profile.h).
#include "stack/discovery/nat_profile.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace qp2p {
namespace {

constexpr std::array<std::pair<NatProfile::Behaviour, std::string_view>, 4> kBehaviourNames{{
    {NatProfile::Behaviour::kEndpointIndependent, "endpoint-independent"},
    {NatProfile::Behaviour::kAddressDependent, "address-dependent"},
    {NatProfile::Behaviour::kAddressAndPortDependent, "address-and-port-dependent"},
    {NatProfile::Behaviour::kUnknown, "unknown"},
}};

constexpr std::array<std::pair<NatProfile::Allocation, std::string_view>, 4> kAllocationNames{{
    {NatProfile::Allocation::kPreserving, "preserving"},
    {NatProfile::Allocation::kSequential, "sequential"},
    {NatProfile::Allocation::kRandom, "random"},
    {NatProfile::Allocation::kUnknown, "unknown"},
}};

// Bounds on published numbers: a port delta fits in 16 bits; more than a handful of NAT levels
// is not something a peer could observe.
constexpr int kMaxDelta = 65535;
constexpr int kMaxLevels = 8;

std::optional<int> parse_int(std::string_view text, int min, int max) {
  int value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') return std::nullopt;  // one spelling per value
  auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc() || end != last || value < min || value > max) return std::nullopt;
  return value;
}

bool known(NatProfile::Behaviour b) { return b != NatProfile::Behaviour::kUnknown; }

}  // namespace

std::string_view to_string(NatProfile::Behaviour b) {
  for (const auto& [value, name] : kBehaviourNames) {
    if (value == b) return name;
  }
  return "unknown";
}

std::string_view to_string(NatProfile::Allocation a) {
  for (const auto& [value, name] : kAllocationNames) {
    if (value == a) return name;
  }
  return "unknown";
}

std::optional<NatProfile::Behaviour> parse_nat_behaviour(std::string_view text) {
  for (const auto& [value, name] : kBehaviourNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::optional<NatProfile::Allocation> parse_nat_allocation(std::string_view text) {
  for (const auto& [value, name] : kAllocationNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

wire::MetaEntries NatProfile::to_meta() const {
  wire::MetaEntries out;
  out.emplace_back(nat_meta::kAllocation, to_string(allocation));
  if (allocation == Allocation::kSequential) {
    out.emplace_back(nat_meta::kDelta, std::to_string(sequential_delta));
  }
  out.emplace_back(nat_meta::kFiltering, to_string(filtering));
  out.emplace_back(nat_meta::kHairpin, hairpin ? "true" : "false");
  if (allocation == Allocation::kSequential && last_port != 0) {
    out.emplace_back(nat_meta::kLastPort, std::to_string(last_port));
  }
  out.emplace_back(nat_meta::kLevels, std::to_string(std::clamp(nat_levels, 0, kMaxLevels)));
  out.emplace_back(nat_meta::kMapping, to_string(mapping));
  return out;  // already in key order
}

std::optional<NatProfile> NatProfile::from_meta(const wire::MetaEntries& entries) {
  NatProfile p;
  bool have_mapping = false;
  std::optional<int> delta;
  for (const auto& [key, value] : entries) {
    if (key == nat_meta::kMapping) {
      auto b = parse_nat_behaviour(value);
      if (!b) return std::nullopt;
      p.mapping = *b;
      have_mapping = true;
    } else if (key == nat_meta::kFiltering) {
      auto b = parse_nat_behaviour(value);
      if (!b) return std::nullopt;
      p.filtering = *b;
    } else if (key == nat_meta::kAllocation) {
      auto a = parse_nat_allocation(value);
      if (!a) return std::nullopt;
      p.allocation = *a;
    } else if (key == nat_meta::kDelta) {
      delta = parse_int(value, -kMaxDelta, kMaxDelta);
      if (!delta) return std::nullopt;
    } else if (key == nat_meta::kLastPort) {
      auto port = parse_int(value, 1, 65535);
      if (!port) return std::nullopt;
      p.last_port = static_cast<std::uint16_t>(*port);
    } else if (key == nat_meta::kHairpin) {
      if (value != "true" && value != "false") return std::nullopt;
      p.hairpin = value == "true";
    } else if (key == nat_meta::kLevels) {
      auto levels = parse_int(value, 0, kMaxLevels);
      if (!levels) return std::nullopt;
      p.nat_levels = *levels;
    }
  }
  if (!have_mapping) return std::nullopt;
  if (p.allocation == Allocation::kSequential) {
    // A sequential allocation without its step says nothing a predictor could use.
    if (!delta || *delta == 0) return std::nullopt;
    p.sequential_delta = *delta;
  } else {
    p.last_port = 0;
  }
  p.complete = known(p.mapping) && known(p.filtering) && p.allocation != Allocation::kUnknown;
  return p;
}

std::string NatProfile::describe() const {
  std::string out = "mapping=";
  out += to_string(mapping);
  out += " filtering=";
  out += to_string(filtering);
  out += " allocation=";
  out += to_string(allocation);
  if (allocation == Allocation::kSequential) {
    out +=
        "(" + std::string(sequential_delta > 0 ? "+" : "") + std::to_string(sequential_delta) + ")";
  }
  out += hairpin ? " hairpin=on" : " hairpin=off";
  out += " levels=" + std::to_string(nat_levels);
  out += " mapped=" + mapped.to_string();
  if (!complete) out += " (incomplete)";
  return out;
}

bool operator==(const NatProfile& a, const NatProfile& b) {
  return a.mapping == b.mapping && a.filtering == b.filtering && a.allocation == b.allocation &&
         a.sequential_delta == b.sequential_delta && a.last_port == b.last_port && a.hairpin == b.hairpin &&
         a.nat_levels == b.nat_levels && a.mapped == b.mapped && a.complete == b.complete;
}

}  // namespace qp2p
