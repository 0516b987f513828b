// The unit of I/O between the sans-IO core and a runtime: a UDP payload that names both the
// local endpoint it arrived on (or leaves from) and the remote endpoint, so one core can serve
// several sockets (two STUN addresses, many probe ports). `ttl` asks the runtime for an IP TTL
// (IPv6 hop limit) on this one datagram, e.g. a hole-punching check that must open our own NAT
// but expire before the peer's (hole_punch.h, "opening checks"); 0 is the socket's default.
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
  std::uint8_t ttl = 0;
};

}  // namespace qp2p
