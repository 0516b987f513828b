// Port allocation classification (RFC 4787 section 4.2.1), as a pure function over the new NAT
// mappings a discovery run opened, in the order the NAT allocated them.
//
//   preserving   most sockets' first mappings kept the local port. Only first mappings count:
//                a preserving NAT gives a socket's later mappings (address-dependent mapping,
//                new destinations) the next free port, which would look sequential; and a
//                minority may have moved because another host behind the NAT held the port.
//   sequential   one non-zero delta between consecutive external ports in a strict majority
//                of the steps, and in at least two of them (one step proves nothing; a stray
//                allocation by another host may break one step).
//   random       otherwise, given at least two steps.
//   unknown      fewer than two steps (e.g. two sockets behind an endpoint-independent NAT).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/endpoint.h"
#include "stack/discovery/nat_profile.h"

namespace qp2p {

struct NewMapping {
  Endpoint external;
  // The socket's local port when this is the socket's first mapping, else nullopt.
  std::optional<std::uint16_t> first_of_local_port;
};

struct AllocationVerdict {
  NatProfile::Allocation allocation = NatProfile::Allocation::kUnknown;
  int delta = 0;                   // kSequential only
  std::vector<std::string> notes;  // for NatProfile::notes
};

// `mappings` in allocation order; each must be a distinct, newly opened mapping.
AllocationVerdict classify_port_allocation(const std::vector<NewMapping>& mappings);

}  // namespace qp2p
