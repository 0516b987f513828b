// Port allocation classification (RFC 4787 section 4.2.1), as a pure function over the new NAT
// mappings a discovery run opened, in the order the NAT allocated them.
//
//   preserving   most sockets' first mappings kept the local port. Only first mappings count:
//                a preserving NAT gives a socket's later mappings (address-dependent mapping,
//                new destinations) the next free port, which would look sequential; and a
//                minority may have moved because another host behind the NAT held the port.
//   sequential   one non-zero delta between consecutive external ports in a strict majority
//                of the steps, and in at least kMinSequentialSteps (3) of them. A stray
//                allocation by another host may break a step, hence only a majority.
//   unknown      the best delta repeats only once (two equal steps) yet holds a majority,
//                i.e. two or three steps: a sequential NAT with a stray, or a random
//                allocator's coincidence (see below); also fewer than two steps (e.g. two
//                sockets behind an endpoint-independent NAT).
//   random       otherwise.
//
// Why three equal steps. A random allocator repeats a step by chance with probability about
// 1/R per pair of steps, R the size of its range. Over 1024-65535 that never matters; a carrier
// NAT that draws random ports inside a 512-port block (RFC 7422) repeated one of three steps
// for ~0.3% of subscribers, which "two equal steps" read as sequential with a large delta.
// Three equal steps need two coincidences: over 512 ports, ~1.5e-5 of runs with five steps (six
// sockets behind an endpoint-independent NAT, kDefaultNatDiscoveryExtraSockets) and ~1e-6
// with three.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/endpoint.h"
#include "stack/discovery/nat_profile.h"

namespace qp2p {

// How many steps must share the sequential delta (see above).
inline constexpr std::size_t kMinSequentialSteps = 3;

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
