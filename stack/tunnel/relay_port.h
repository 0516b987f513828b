// A peer's relayed transport address for its tunnels' relay fallback, sans-IO: one TURN
// allocation (RFC 8656, through turn::TurnClient) on the supernode's relay service, shared by
// every relayed tunnel of the peer. RFC 8656 section 2.2 ties an allocation to its 5-tuple, so
// a peer's main socket holds at most one per server; the tunnels on it are told apart by their
// authenticated packets (tunnel_manager.h), not by the allocation.
//
//   acquire(peer, ...)   a tunnel to `peer` wants the relayed address: allocates on first use,
//                        installs permissions (section 9) for the IPs of `permit`, then
//                        Ready{peer, relayed}; Failed{peer, reason} if the allocation fails.
//   send(remote, bytes)  from the relayed address to `remote`: Send indication, or ChannelData
//                        once bind_channel(remote) has bound one (section 12).
//   handle_datagram()    claims the TURN server's messages on the main socket (ChannelData, and
//                        STUN other than Binding, which belongs to NAT discovery); data from
//                        peers comes out as Data{relayed, remote, bytes}.
//   release(peer)        the tunnel is gone; with no user left the allocation is deleted.
//   Lost{peer}           the allocation ran out (e.g. its credentials expired): for every user.
//
// Loss: a tunnel waits on every TURN answer (the relay fallback runs when the direct path failed,
// often to loss), so requests go out on kRelayRetransmitPolicy: one transaction whose copies go
// on for as long as a tunnel waits for its allocation. A retransmission, not a new Allocate: the
// server may have made the allocation and only its answer was lost, and answers a copy with the
// stored response, where a new transaction on the same 5-tuple gets 437 (RFC 8656 section 7.2).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "stack/core/random.h"
#include "stack/core/sans_io.h"
#include "stack/identity/identity.h"
#include "stack/relay/turn_client.h"

namespace qp2p::tunnel {

// The TURN server is our own supernode, a round trip the session measures in tens of ms, so
// RFC 8489 section 6.2.1's doubling up to 16 s (7 copies over 39.5 s) would mostly wait: the
// initial RTO stays at the RFC's 500 ms but is capped at 1 s, and 30 copies span 29.5 s, the
// time a relayed attempt gives its allocation (kRelayedAttemptDeadline). At 20% loss on each of
// the four links a carrier-NAT peer's round trip to the server crosses (83% of round trips
// lost), RFC 8489's 7 copies all go unanswered one time in four; 30 copies one time in 250.
inline constexpr RetransmitPolicy kRelayRetransmitPolicy{std::chrono::milliseconds(500),
                                                         std::chrono::seconds(1), 30, 2};

namespace relay_event {
struct Ready {
  PeerId peer;
  Endpoint relayed;
};
struct Failed {
  PeerId peer;
  std::string reason;
};
struct Data {
  Endpoint relayed;  // our relayed address: the tunnel's local endpoint
  Endpoint remote;
  Bytes bytes;
};
struct Lost {
  PeerId peer;
  std::string reason;
};
}  // namespace relay_event

using RelayEvent =
    std::variant<relay_event::Ready, relay_event::Failed, relay_event::Data, relay_event::Lost>;

struct RelayPortCounters {
  std::uint64_t allocations = 0;
  std::uint64_t allocation_failures = 0;
  std::uint64_t datagrams_relayed_out = 0;
  std::uint64_t datagrams_relayed_in = 0;
  std::uint64_t dropped_send = 0;  // no allocation, no permission or too large
};

class RelayPort {
 public:
  RelayPort(Endpoint main_local, Random random);
  ~RelayPort();

  // `server`: the TURN server (the supernode's primary endpoint). Credentials are used when a
  // new allocation is made; one in use keeps its own.
  void acquire(Instant now, const PeerId& peer, const Endpoint& server,
               const turn::TurnCredentials& credentials, const std::vector<Endpoint>& permit);
  void release(Instant now, const PeerId& peer);
  bool send(Instant now, const Endpoint& remote, const std::uint8_t* data, std::size_t size);
  void bind_channel(Instant now, const Endpoint& remote);

  // Our relayed address, once allocated.
  std::optional<Endpoint> relayed() const;
  bool is_relayed(const Endpoint& local) const;
  bool handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size);
  void handle_timeout(Instant now);
  std::optional<Datagram> poll_transmit();
  Instant poll_timeout() const;
  std::optional<RelayEvent> poll_event();

  std::size_t users() const { return users_.size() + waiting_.size(); }
  const RelayPortCounters& counters() const { return counters_; }
  const turn::TurnClient* client() const { return client_.get(); }

 private:
  void allocate(Instant now);
  void pump(Instant now);
  void permit(Instant now, const std::vector<Endpoint>& peers);

  Endpoint main_local_;
  Random random_;
  std::unique_ptr<turn::TurnClient> client_;
  Endpoint server_;                   // of the next allocation
  turn::TurnCredentials credentials_;  // of the next allocation (the newest given)
  std::set<PeerId> users_;  // tunnels told Ready
  std::vector<std::pair<PeerId, std::vector<Endpoint>>> waiting_;  // until allocated
  std::deque<RelayEvent> events_;
  RelayPortCounters counters_;
};

}  // namespace qp2p::tunnel
