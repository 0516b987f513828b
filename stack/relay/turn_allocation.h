// One TURN allocation (RFC 8656 section 2.2): the client's 5-tuple, the relayed transport
// address, the credentials it was made with, its lifetime, and its permissions (section 9:
// by peer IP address only, 300 s) and channel bindings (section 11: channel <-> peer transport
// address, 600 s, then 300 s more during which neither may be re-bound to something else).
// Also the pool of relay ports (coturn's min-port/max-port) allocations draw from.
//
// Plain data with the time passed in: "valid" means now < expiry, so a check is exact even
// when the periodic sweep (prune) that frees the memory runs later.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "stack/core/datagram.h"
#include "stack/core/instant.h"
#include "stack/core/random.h"
#include "stack/relay/turn_credentials.h"
#include "stack/stun/stun_message.h"

namespace qp2p::turn {

struct ChannelBinding {
  Endpoint peer;
  Instant expires;   // data flows until then
  Instant released;  // expires + the RFC 8656 section 11 quarantine; deleted after
};

struct Allocation {
  // The 5-tuple (transport is always UDP here): our listen endpoint and the client's.
  Endpoint server;
  Endpoint client;
  Endpoint relay;            // the relayed transport address (a socket the runtime opens)
  bool socket_open = false;  // false until the runtime confirmed the relay socket
  int bind_attempts = 0;

  std::string username;  // every later request must use the same one (else 441)
  std::string user;      // its user part, for the per-user quota
  LongTermKey key{};
  bool sha256 = false;

  Instant expires;
  std::uint32_t granted_seconds = 0;  // the LIFETIME the Allocate response carries
  bool even_port = false;             // EVEN-PORT asked for: keep the port even on a retry
  // The Allocate transaction and our answer, so a retransmission gets the same bytes.
  stun::TransactionId allocate_transaction{};
  Bytes allocate_response;
  std::uint64_t reservation_token = 0;  // EVEN-PORT R=1: the token of the port reserved next

  std::map<IpAddress, Instant> permissions;  // peer IP -> expiry
  std::map<std::uint16_t, ChannelBinding> channels;
  std::map<Endpoint, std::uint16_t> channel_of_peer;

  bool has_permission(Instant now, const IpAddress& peer) const;
  // The channel bound to `peer`, usable now; nullopt otherwise.
  std::optional<std::uint16_t> channel_for(Instant now, const Endpoint& peer) const;
  // The peer bound to `channel`, usable now; nullptr otherwise.
  const ChannelBinding* binding(Instant now, std::uint16_t channel) const;

  // Deletes permissions and bindings past their time; returns the earliest remaining deadline
  // of this allocation (its own expiry included).
  Instant prune(Instant now);
};

// Relay ports in [min, max], handed out at random (RFC 8656 section 7.2 recommends
// unpredictable ports) and never twice at once. Ports other processes hold are discovered by
// the runtime failing to bind, which the caller answers by asking for another port.
class RelayPortPool {
 public:
  RelayPortPool(std::uint16_t min_port, std::uint16_t max_port);

  // A free port (even when `even`; with `reserve_next` the odd one after it must be free too
  // and is taken as well). nullopt when none is left.
  std::optional<std::uint16_t> take(Random& random, bool even = false, bool reserve_next = false);
  bool take_exact(std::uint16_t port);
  void release(std::uint16_t port);
  bool in_use(std::uint16_t port) const { return used_.count(port) != 0; }
  std::size_t used() const { return used_.size(); }

 private:
  bool free(std::uint32_t port) const;
  std::uint16_t min_;
  std::uint16_t max_;
  std::set<std::uint16_t> used_;
};

}  // namespace qp2p::turn
