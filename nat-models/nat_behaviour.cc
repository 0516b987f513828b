// NAT behaviour axes (RFC 4787 sections 4.1, 4.2.1, 4.3, 5, 6): text forms, validation and the
// presets. The classic cone names map onto the axes as RFC 4787 section 3 relates them:
//   full cone             = endpoint-independent mapping + endpoint-independent filtering
//   restricted cone       = endpoint-independent mapping + address-dependent filtering
//   port-restricted cone  = endpoint-independent mapping + address-and-port-dependent filtering
//   symmetric             = address-and-port-dependent mapping + address-and-port-dependent
//                           filtering
// Cone presets preserve ports, as Linux masquerade does (DESIGN.md, emulation facts), so that a
// simulated NAT and its netfilter twin allocate alike when no two inner hosts clash on a port.
#include "nat-models/nat_behaviour.h"

#include <array>
#include <utility>

namespace qp2p::nat {
namespace {

constexpr std::array<std::pair<Dependency, std::string_view>, 3> kDependencyNames{{
    {Dependency::kEndpointIndependent, "endpoint-independent"},
    {Dependency::kAddressDependent, "address-dependent"},
    {Dependency::kAddressAndPortDependent, "address-and-port-dependent"},
}};

constexpr std::array<std::pair<PortAllocation, std::string_view>, 3> kAllocationNames{{
    {PortAllocation::kPreserving, "preserving"},
    {PortAllocation::kSequential, "sequential"},
    {PortAllocation::kRandom, "random"},
}};

// RFC 7422-style block for the carrier NAT: 512 ports per block and at most 4 blocks (2048 ports)
// per subscriber, within the ranges operators report; small enough that a subscriber's ports are
// confined, large enough that ordinary peers never hit the quota in a scenario.
constexpr std::uint16_t kCarrierPortBlockSize = 512;
constexpr std::uint16_t kCarrierMaxBlocksPerHost = 4;

NatBehaviour cone(Dependency filtering) {
  NatBehaviour b;
  b.mapping = Dependency::kEndpointIndependent;
  b.filtering = filtering;
  b.port_allocation = PortAllocation::kPreserving;
  return b;
}

NatBehaviour symmetric(PortAllocation allocation) {
  NatBehaviour b;
  b.mapping = Dependency::kAddressAndPortDependent;
  b.filtering = Dependency::kAddressAndPortDependent;
  b.port_allocation = allocation;
  b.sequential_delta = 1;
  return b;
}

}  // namespace

std::optional<std::string> NatBehaviour::validate() const {
  if (!translating) return std::nullopt;
  if (port_min == 0) return "port_min must be at least 1";
  if (port_min > port_max) return "port_min must not exceed port_max";
  if (sequential_delta == 0) return "sequential_delta must be at least 1";
  if (mapping_timeout <= Duration::zero()) return "mapping_timeout must be positive";
  const std::uint32_t pool = std::uint32_t{port_max} - port_min + 1;
  if (port_block_size > pool) return "port_block_size must not exceed the port pool";
  if (max_blocks_per_host != 0 && port_block_size == 0) {
    return "max_blocks_per_host needs port_block_size";
  }
  return std::nullopt;
}

bool operator==(const NatBehaviour& a, const NatBehaviour& b) {
  return a.translating == b.translating && a.mapping == b.mapping && a.filtering == b.filtering &&
         a.port_allocation == b.port_allocation && a.sequential_delta == b.sequential_delta &&
         a.port_min == b.port_min && a.port_max == b.port_max &&
         a.port_block_size == b.port_block_size && a.max_blocks_per_host == b.max_blocks_per_host &&
         a.mapping_timeout == b.mapping_timeout && a.inbound_refreshes == b.inbound_refreshes &&
         a.hairpinning == b.hairpinning && a.icmp_on_unsolicited == b.icmp_on_unsolicited;
}

std::string_view to_string(Dependency d) {
  for (const auto& [value, name] : kDependencyNames) {
    if (value == d) return name;
  }
  return "unknown";
}

std::string_view to_string(PortAllocation p) {
  for (const auto& [value, name] : kAllocationNames) {
    if (value == p) return name;
  }
  return "unknown";
}

std::optional<Dependency> parse_dependency(std::string_view text) {
  for (const auto& [value, name] : kDependencyNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::optional<PortAllocation> parse_port_allocation(std::string_view text) {
  for (const auto& [value, name] : kAllocationNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::string describe(const NatBehaviour& b) {
  if (!b.translating) return "no-translation";
  std::string out;
  out += "mapping=";
  out += to_string(b.mapping);
  out += " filtering=";
  out += to_string(b.filtering);
  out += " ports=";
  out += to_string(b.port_allocation);
  if (b.port_allocation == PortAllocation::kSequential) {
    out += "(+" + std::to_string(b.sequential_delta) + ")";
  }
  out += " " + std::to_string(b.port_min) + "-" + std::to_string(b.port_max);
  if (b.port_block_size != 0) {
    out += " blocks=" + std::to_string(b.port_block_size);
    if (b.max_blocks_per_host != 0) out += "x" + std::to_string(b.max_blocks_per_host);
  }
  out += " timeout=" + std::to_string(to_ms(b.mapping_timeout) / 1000) + "s";
  if (b.inbound_refreshes) out += " inbound-refresh";
  out += b.hairpinning ? " hairpin=on" : " hairpin=off";
  if (b.icmp_on_unsolicited) out += " hostile";
  return out;
}

std::optional<NatBehaviour> preset(std::string_view name) {
  if (name == "open") {
    NatBehaviour b;
    b.translating = false;
    b.mapping = Dependency::kEndpointIndependent;
    b.filtering = Dependency::kEndpointIndependent;
    return b;
  }
  if (name == "full-cone") return cone(Dependency::kEndpointIndependent);
  if (name == "restricted-cone") return cone(Dependency::kAddressDependent);
  if (name == "port-restricted-cone") return cone(Dependency::kAddressAndPortDependent);
  if (name == "symmetric") return symmetric(PortAllocation::kRandom);
  if (name == "symmetric-sequential") return symmetric(PortAllocation::kSequential);
  return std::nullopt;
}

const std::vector<std::string_view>& preset_names() {
  static const std::vector<std::string_view> names{
      "open",
      "full-cone",
      "restricted-cone",
      "port-restricted-cone",
      "symmetric",
      "symmetric-sequential",
  };
  return names;
}

std::optional<NatChainPreset> chain_preset(std::string_view name) {
  if (name != "cgnat") return std::nullopt;
  // Carrier: RFC 6888 asks a CGN to keep RFC 4787's endpoint-independent mapping and paired
  // pooling and to limit ports per subscriber; port blocks (RFC 7422) are how deployed CGNs do
  // that. Filtering is address-and-port-dependent, the stricter and widely deployed choice (the
  // home NAT filters that way anyway, so the chain admits the same remotes). Random ports inside
  // the block defeat port prediction from the inner port. Hairpinning on (RFC 4787 REQ-9), so two
  // subscribers of one carrier reach each other through their public endpoints.
  NatChainPreset chain;
  chain.carrier.mapping = Dependency::kEndpointIndependent;
  chain.carrier.filtering = Dependency::kAddressAndPortDependent;
  chain.carrier.port_allocation = PortAllocation::kRandom;
  chain.carrier.port_block_size = kCarrierPortBlockSize;
  chain.carrier.max_blocks_per_host = kCarrierMaxBlocksPerHost;
  chain.carrier.hairpinning = true;
  chain.home = *preset("port-restricted-cone");
  return chain;
}

const std::vector<std::string_view>& chain_preset_names() {
  static const std::vector<std::string_view> names{"cgnat"};
  return names;
}

}  // namespace qp2p::nat
