// A peer's NAT profile: what NAT discovery (nat_discovery.h) found, in RFC 4787's terms, as a
// plain report (STYLE.md habit 7). It is published with the peer's signed record as metadata
// entries, so the handshake service can pick a hole-punching strategy from both peers' profiles.
//
//   RFC 4787 section 4.1    mapping: endpoint-independent, address-dependent,
//                           address-and-port-dependent
//   RFC 4787 section 4.2.1  port allocation: preserving, sequential (with a delta), random
//   RFC 4787 section 5      filtering: the same three words as mapping
//   RFC 4787 section 6      hairpinning
//
// Metadata entries (keys sorted; values are the words above, "unknown" when a test could not
// decide):
//   nat.allocation  preserving | sequential | random | unknown
//   nat.delta       signed decimal, only when nat.allocation is sequential
//   nat.filtering   endpoint-independent | address-dependent | address-and-port-dependent | unknown
//   nat.hairpin     true | false
//   nat.last-port   decimal, only when nat.allocation is sequential: the newest mapping's port
//   nat.levels      0 (no NAT), 1, 2 (two or more NATs in a chain)
//   nat.mapping     as nat.filtering
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/core/endpoint.h"
#include "stack/wire/records.h"

namespace qp2p {

struct NatProfile {
  // What a mapping (RFC 4787 section 4.1) or a filter (section 5) depends on.
  enum class Behaviour : std::uint8_t {
    kEndpointIndependent,
    kAddressDependent,
    kAddressAndPortDependent,
    kUnknown,
  };
  using Mapping = Behaviour;
  using Filtering = Behaviour;

  // Section 4.2.1.
  enum class Allocation : std::uint8_t { kPreserving, kSequential, kRandom, kUnknown };

  Mapping mapping = Mapping::kUnknown;
  Filtering filtering = Filtering::kUnknown;
  Allocation allocation = Allocation::kUnknown;
  // kSequential: the step between consecutive new mappings' external ports (may be negative).
  int sequential_delta = 0;
  // kSequential: the external port of the newest mapping discovery saw. The allocator continues
  // from there, not from the login's mapping (discovery opened several since), so port
  // prediction starts here. 0: unknown.
  std::uint16_t last_port = 0;
  // A packet from one of our sockets to another socket's mapped endpoint reached it.
  bool hairpin = false;
  // 0: no NAT (mapped endpoint == local endpoint); 1: one NAT as far as can be seen; 2: two or
  // more. STUN alone sees a chain as one NAT: the second level shows when the default gateway's
  // own external address differs from the mapped address. Discovery asks the gateway for it
  // with NAT-PMP (RFC 6886) when NatDiscoveryConfig::gateway names it (the ns-3 applications:
  // their default route's next hop; `qp2p-peer netcheck --gateway IP`), or takes it from
  // NatDiscoveryConfig::gateway_external. No answer leaves 1, with a note; a deeper chain also
  // reads 2 (each gateway only knows its own outside). See nat_discovery.h, "NAT levels".
  int nat_levels = 0;
  // Server-reflexive endpoint of the primary socket (RFC 5780 test I).
  Endpoint mapped;
  // Mapping, filtering and allocation were all determined (none is kUnknown).
  bool complete = false;
  // Why something is unknown or what was assumed; for logs and netcheck, not published.
  std::vector<std::string> notes;

  // Metadata entries for the signed record (sorted by key), see the header comment.
  wire::MetaEntries to_meta() const;
  // Reads the nat.* entries back (others are ignored). nullopt when nat.mapping is absent or
  // any nat.* value is malformed. `mapped` and `notes` are not published and stay empty;
  // `complete` is recomputed from the three behaviours.
  static std::optional<NatProfile> from_meta(const wire::MetaEntries& entries);

  // One line for logs: "mapping=endpoint-independent filtering=... allocation=sequential(+1)
  // hairpin=on levels=1 mapped=198.18.0.1:40000".
  std::string describe() const;
};

// Compares every field except `notes` (free text).
bool operator==(const NatProfile& a, const NatProfile& b);
inline bool operator!=(const NatProfile& a, const NatProfile& b) { return !(a == b); }

// RFC 4787 words ("unknown" for kUnknown); parse is exact and case-sensitive.
std::string_view to_string(NatProfile::Behaviour b);
std::string_view to_string(NatProfile::Allocation a);
std::optional<NatProfile::Behaviour> parse_nat_behaviour(std::string_view text);
std::optional<NatProfile::Allocation> parse_nat_allocation(std::string_view text);

// Metadata keys.
namespace nat_meta {
inline constexpr std::string_view kAllocation = "nat.allocation";
inline constexpr std::string_view kDelta = "nat.delta";
inline constexpr std::string_view kFiltering = "nat.filtering";
inline constexpr std::string_view kHairpin = "nat.hairpin";
inline constexpr std::string_view kLastPort = "nat.last-port";
inline constexpr std::string_view kLevels = "nat.levels";
inline constexpr std::string_view kMapping = "nat.mapping";
}  // namespace nat_meta

}  // namespace qp2p
