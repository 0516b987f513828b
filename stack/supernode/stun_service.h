// The supernode's two STUN services: RFC 8489 Binding with the RFC 5780 behaviour-discovery
// attributes (RESPONSE-ORIGIN, OTHER-ADDRESS, CHANGE-REQUEST, RESPONSE-PORT).
//
// With two IP addresses the supernode listens on the four combinations (A:p, A:q, B:p, B:q),
// as RFC 5780 section 4 asks, so a CHANGE-REQUEST for IP, port or both can be honoured. With
// one IP it listens on A:p and A:q: a change of port is honoured, a change of IP is refused
// with 420 and OTHER-ADDRESS is A:q, which tells the client that only port tests are possible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/stun/stun_message.h"

namespace qp2p {

struct StunServiceConfig {
  Endpoint primary;    // A:p, also the qp2p control port
  Endpoint alternate;  // B:q (B may equal A)
  std::string software = "qp2p";
};

struct StunCounters {
  std::uint64_t binding_requests = 0;
  std::uint64_t responses = 0;
  std::uint64_t change_requests = 0;
  std::uint64_t dropped_not_request = 0;  // indications, responses, unknown methods
  std::uint64_t rejected_unknown_attributes = 0;
  std::uint64_t rejected_bad_fingerprint = 0;
};

class StunService {
 public:
  explicit StunService(StunServiceConfig config);

  // Every local endpoint the runtime must open (2 or 4).
  std::vector<Endpoint> listen_endpoints() const;
  bool owns(const Endpoint& local) const;

  // Answers one parsed Binding request that arrived on `local` from `remote`. Returns the
  // response to send (with the local endpoint it must leave from), or nullopt when the request
  // must be dropped (counted).
  std::optional<Datagram> handle_binding(const stun::MessageView& request, const Endpoint& local,
                                         const Endpoint& remote);

  const StunCounters& counters() const { return counters_; }
  const StunServiceConfig& config() const { return config_; }

 private:
  // The endpoint on the other address and/or port, per RFC 5780 section 4.
  std::optional<Endpoint> changed(const Endpoint& local, bool change_ip, bool change_port) const;
  Endpoint other_address(const Endpoint& local) const;

  StunServiceConfig config_;
  bool two_ips_;
  StunCounters counters_;
};

}  // namespace qp2p
