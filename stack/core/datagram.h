// The unit of I/O between the sans-IO core and a runtime: a UDP payload that names both the
// local endpoint it arrived on (or leaves from) and the remote endpoint, so one core can serve
// several sockets (two STUN addresses, many probe ports).
#pragma once

#include <cstdint>
#include <vector>

#include "stack/core/endpoint.h"

namespace qp2p {

using Bytes = std::vector<std::uint8_t>;

struct Datagram {
  Endpoint local;
  Endpoint remote;
  Bytes payload;
};

}  // namespace qp2p
