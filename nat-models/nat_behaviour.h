// NAT behaviour on RFC 4787's axes, as plain data: what a NatTable (nat_table.h) is configured
// with, and the classic cone names as presets over those axes.
//
//   RFC 4787 section 4.1    mapping behaviour: which outbound flows share one external endpoint
//                           (endpoint-independent, address-dependent, address-and-port-dependent);
//                           REQ-2 IP address pooling "paired" (one external IP per inner IP).
//   RFC 4787 section 4.2.1  port assignment: port preservation, sequential or random allocation;
//                           REQ-4 no port overloading (one external port serves one mapping).
//   RFC 4787 section 4.3    mapping refresh: REQ-5 timeout >= 2 min, REQ-6 outbound refreshes,
//                           inbound refresh optional.
//   RFC 4787 section 5      filtering behaviour: the same three dependencies as mapping.
//   RFC 4787 section 6      hairpinning: inner host to inner host via the external endpoint.
//   RFC 6888 / RFC 7422     carrier-grade NAT: paired pooling, per-subscriber port limits,
//                           port-block (port-range) allocation.
//
// Text forms use RFC 4787's words: "endpoint-independent", "address-dependent",
// "address-and-port-dependent"; allocation "preserving", "sequential", "random".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/core/instant.h"

namespace qp2p::nat {

// What a mapping (section 4.1) or a filter (section 5) depends on, beyond the inner endpoint.
enum class Dependency : std::uint8_t {
  kEndpointIndependent,      // nothing: one mapping / any remote admitted
  kAddressDependent,         // the remote IP address
  kAddressAndPortDependent,  // the remote IP address and port
};

// Section 4.2.1. Every strategy gives one mapping exactly one external port (no overloading).
enum class PortAllocation : std::uint8_t {
  kPreserving,  // the inner port if free, else the next free port above it (wrapping)
  kSequential,  // previous allocated port + delta (wrapping, skipping ports in use)
  kRandom,      // uniform over the free ports of the range
};

// Timing defaults, with the reason for each value.
// RFC 4787 REQ-5: a UDP mapping timer MUST NOT expire in less than two minutes.
inline constexpr Duration kDefaultMappingTimeout = std::chrono::seconds(120);
// IANA's dynamic + registered range without the well-known ports, as most NATs use.
inline constexpr std::uint16_t kDefaultPortMin = 1024;
inline constexpr std::uint16_t kDefaultPortMax = 65535;
// Linux nf_conntrack_udp_timeout: a UDP flow that never saw a reply lives 30 s after its last
// packet. The life of a flow a hostile gateway refused (icmp_on_unsolicited, below).
inline constexpr Duration kRefusedFlowTimeout = std::chrono::seconds(30);

struct NatBehaviour {
  // false: no translation at all (the "open" preset, a host with a public address). Every
  // other field is then ignored: outbound keeps its source, inbound is delivered as addressed.
  bool translating = true;

  Dependency mapping = Dependency::kEndpointIndependent;
  Dependency filtering = Dependency::kAddressAndPortDependent;

  PortAllocation port_allocation = PortAllocation::kPreserving;
  std::uint16_t sequential_delta = 1;  // kSequential only; >= 1

  // The external port pool, inclusive, per public address. Finite: when a new flow finds no
  // free port it is dropped and counted (NatCounters::drops_pool_exhausted).
  std::uint16_t port_min = kDefaultPortMin;
  std::uint16_t port_max = kDefaultPortMax;

  // RFC 7422 port-block allocation (0 = off, the pool is shared by every inner host). When set,
  // the pool is cut into aligned blocks of this many ports; an inner host (a "subscriber") gets a
  // block on its first flow and further blocks as it fills them, and port_allocation then works
  // inside the host's blocks. A block returns to the pool when its last mapping expires.
  std::uint16_t port_block_size = 0;
  // RFC 6888 per-subscriber port limit, in blocks (0 = unlimited). Port blocks only; a flow over
  // the limit is dropped and counted (NatCounters::drops_host_quota).
  std::uint16_t max_blocks_per_host = 0;

  // Section 4.3: a mapping expires this long after the last packet that refreshed it.
  Duration mapping_timeout = kDefaultMappingTimeout;
  // REQ-6: outbound packets always refresh; inbound ones only when this is set.
  bool inbound_refreshes = false;

  // Section 6 (REQ-9 says MUST, but many home routers and stock Linux masquerade do not).
  bool hairpinning = false;

  // Hostile gateway: answers unsolicited inbound packets with an ICMP error instead of dropping
  // them silently (a router whose INPUT policy accepts). The table only reports kReject; the
  // runtime decides what to send. As on Linux, the refused datagram leaves a flow
  // (remote -> external endpoint, kRefusedFlowTimeout) behind, and an inner host's later flow to
  // that remote cannot take that external port (netfilter keeps reply tuples unique; see
  // NatTable::translate_outbound).
  bool icmp_on_unsolicited = false;

  // Why this behaviour cannot be used (empty port range, delta 0, timeout <= 0, ...), or nullopt.
  std::optional<std::string> validate() const;
};

bool operator==(const NatBehaviour& a, const NatBehaviour& b);
inline bool operator!=(const NatBehaviour& a, const NatBehaviour& b) { return !(a == b); }

// RFC 4787 words. to_string returns a static string; parse is exact and case-sensitive.
std::string_view to_string(Dependency d);
std::string_view to_string(PortAllocation p);
std::optional<Dependency> parse_dependency(std::string_view text);
std::optional<PortAllocation> parse_port_allocation(std::string_view text);

// One line for tables and logs, e.g. "mapping=endpoint-independent
// filtering=address-and-port-dependent ports=sequential(+1) 1024-65535 timeout=120s hairpin=off".
std::string describe(const NatBehaviour& b);

// Single-NAT presets: "open", "full-cone", "restricted-cone", "port-restricted-cone",
// "symmetric", "symmetric-sequential". nullopt for any other name (including "cgnat", which is
// a chain: see chain_preset).
std::optional<NatBehaviour> preset(std::string_view name);
const std::vector<std::string_view>& preset_names();

// A chain of two NATs: the host sits behind `home`, whose public side sits behind `carrier`.
struct NatChainPreset {
  NatBehaviour carrier;  // outer NAT, facing the Internet
  NatBehaviour home;     // inner NAT, facing the host
};

// "cgnat": carrier = endpoint-independent mapping, address-and-port-dependent filtering,
// random ports inside per-subscriber blocks of 512 (at most 4 blocks), hairpinning on;
// home = "port-restricted-cone".
std::optional<NatChainPreset> chain_preset(std::string_view name);
const std::vector<std::string_view>& chain_preset_names();

}  // namespace qp2p::nat
