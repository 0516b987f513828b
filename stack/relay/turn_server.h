// The supernode's relay service: a TURN server (RFC 8656) for UDP relaying, with long-term
// credentials (RFC 8489 section 9.2) from the time-limited TURN REST API scheme
// (turn_credentials.h). It shares the supernode's primary port with STUN and qp2p control, as
// coturn does: the Supernode hands it the TURN methods, ChannelData, and every datagram that
// arrives on a relay socket.
//
//   Allocate          section 7.2   (+ EVEN-PORT / RESERVATION-TOKEN, section 14.6 / 14.9)
//   Refresh           section 7.3   (LIFETIME 0 deletes)
//   CreatePermission  section 9     (peer IP only, 300 s)
//   Send / Data       section 10    (indications)
//   ChannelBind       section 11    (600 s; then 300 s before re-use)
//   ChannelData       section 12
//
// Sans-IO like everything in stack/: relayed transport addresses are sockets the runtime opens
// on request. poll_socket_change() says "open this endpoint" or "close it"; the runtime answers
// every open with handle_socket_result(), and only then does the Allocate get its answer (a
// port another process holds is replaced by another one, up to kMaxBindAttempts times).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/core/instant.h"
#include "stack/core/random.h"
#include "stack/relay/turn_allocation.h"
#include "stack/relay/turn_credentials.h"
#include "stack/stun/stun_message.h"

namespace qp2p::turn {

struct TurnConfig {
  // Shared secret of the REST API credentials; empty turns TURN off.
  std::string secret;
  std::string realm = "qp2p";
  // The endpoint clients talk TURN to (the supernode's primary endpoint).
  Endpoint listen;
  // Address of the relay sockets; unspecified (0.0.0.0): the address of `listen`.
  IpAddress relay_address;
  // coturn's min-port / max-port defaults: the IANA dynamic range.
  std::uint16_t min_port = 49152;
  std::uint16_t max_port = 65535;
  // RFC 8656 section 7.2 / 7.3: default lifetime 10 min; we grant at most 1 hour.
  Duration default_lifetime = std::chrono::seconds(600);
  Duration max_lifetime = std::chrono::seconds(3600);
  Duration permission_lifetime = std::chrono::seconds(300);  // section 9
  Duration channel_lifetime = std::chrono::seconds(600);     // section 11
  Duration channel_quarantine = std::chrono::seconds(300);   // section 11: no re-bind
  Duration reservation_lifetime = std::chrono::seconds(30);  // section 14.9: about 30 s
  // A nonce is good this long; then 438 Stale Nonce with a fresh one (coturn: 600 s).
  Duration nonce_lifetime = std::chrono::seconds(600);
  std::size_t max_allocations = 10000;              // beyond: 508 Insufficient Capacity
  std::size_t max_allocations_per_user = 10;        // beyond: 486 Allocation Quota Reached
  std::size_t max_permissions_per_allocation = 64;  // beyond: 508
  // Peers nobody may relay to: the supernode's own listening endpoints, so a client cannot
  // make the relay talk to the supernode itself (loops, spoofed control traffic). Datagrams to
  // or from them are dropped (counted as dropped_forbidden_peer).
  std::vector<Endpoint> forbidden_peers;
  // Accept channel numbers 0x5000-0x7FFF (RFC 5766) as well as 0x4000-0x4FFF (RFC 8656);
  // coturn's client picks from the wider range.
  bool rfc5766_channel_range = true;
  // Unix time is wall-clock time, which the core never reads: the runtime passes its offset.
  // unix microseconds = to_us(now) + unix_offset_us. Runtimes set it once at start from
  // system_clock - steady_clock; tests set whatever date they need.
  std::int64_t unix_offset_us = 0;
  std::string software = "qp2p";
};

// Everything done and dropped, by reason.
struct TurnCounters {
  std::uint64_t requests = 0;
  std::uint64_t allocations_created = 0;
  std::uint64_t allocations_deleted = 0;  // Refresh 0
  std::uint64_t allocations_expired = 0;
  std::uint64_t allocate_retransmits = 0;  // answered with the stored response
  std::uint64_t refreshes = 0;
  std::uint64_t permissions_created = 0;
  std::uint64_t channels_bound = 0;
  std::uint64_t challenges = 0;  // 401 to a request without integrity
  // Error responses by code.
  std::uint64_t error_400 = 0, error_401 = 0, error_420 = 0, error_437 = 0, error_438 = 0,
                error_440 = 0, error_441 = 0, error_442 = 0, error_443 = 0, error_486 = 0,
                error_508 = 0;
  std::uint64_t relay_bind_failures = 0;  // the runtime could not open a relay port
  // Relayed traffic.
  std::uint64_t send_indications = 0;
  std::uint64_t channel_data_in = 0;
  std::uint64_t data_indications = 0;
  std::uint64_t channel_data_out = 0;
  // Drops.
  std::uint64_t dropped_bad_fingerprint = 0;
  std::uint64_t dropped_not_turn = 0;  // responses, unknown methods/classes
  std::uint64_t dropped_channel_data_malformed = 0;
  std::uint64_t dropped_no_allocation = 0;  // indication/ChannelData from a 5-tuple without one
  std::uint64_t dropped_channel_unbound = 0;
  std::uint64_t dropped_send_malformed = 0;  // Send without XOR-PEER-ADDRESS or DATA
  std::uint64_t dropped_no_permission = 0;   // to or from a peer without permission
  std::uint64_t dropped_relay_unknown = 0;   // on a relay socket with no allocation
  std::uint64_t dropped_unexpected_indication = 0;
  std::uint64_t dropped_too_large = 0;       // a peer datagram too big for a Data indication
  std::uint64_t dropped_forbidden_peer = 0;  // to or from TurnConfig::forbidden_peers
};

struct SocketChange {
  enum class Kind : std::uint8_t { kOpen, kClose };
  Kind kind = Kind::kOpen;
  Endpoint local;
};

class TurnServer {
 public:
  static constexpr int kMaxBindAttempts = 8;

  TurnServer(TurnConfig config, Random random);

  bool enabled() const { return !config_.secret.empty(); }
  static bool is_turn_method(std::uint16_t raw_method);

  // A parsed STUN message with a TURN method that arrived on config.listen.
  void handle_stun(Instant now, const Endpoint& local, const Endpoint& remote,
                   const stun::MessageView& message);
  // A ChannelData message from a client.
  void handle_channel_data(Instant now, const Endpoint& local, const Endpoint& remote,
                           const std::uint8_t* data, std::size_t size);
  // Whether (local, remote) has an allocation with a channel numbered by the first two bytes:
  // how the Supernode tells channels 0x5100-0x51FF from qp2p control messages (first byte 0x51).
  bool is_bound_channel(const Endpoint& local, const Endpoint& remote, const std::uint8_t* data,
                        std::size_t size) const;

  // Relay sockets.
  // On every datagram the supernode receives: no hashing while there are no allocations.
  bool owns_relay(const Endpoint& local) const {
    return !by_relay_.empty() && by_relay_.count(local) != 0;
  }
  void handle_peer_datagram(Instant now, const Endpoint& relay, const Endpoint& peer,
                            const std::uint8_t* data, std::size_t size);
  std::optional<SocketChange> poll_socket_change();
  // Whether `relayed` is the relayed transport address of a live allocation made with
  // credentials of `user` (the user part of its REST API username): how the handshake service
  // checks that a peer's TunnelRelay names its own allocation (docs/protocol.md section 8.6).
  bool relays_for(const Endpoint& relayed, std::string_view user) const;
  void handle_socket_result(Instant now, const Endpoint& local, bool opened);

  void handle_timeout(Instant now);
  std::optional<Datagram> poll_transmit();
  Instant poll_timeout() const { return next_sweep_; }

  const TurnCounters& counters() const { return counters_; }
  const TurnConfig& config() const { return config_; }
  std::size_t allocation_count() const { return allocations_.size(); }
  std::int64_t unix_seconds(Instant now) const {
    return (to_us(now) + config_.unix_offset_us) / 1000000;
  }

 private:
  // One authenticated (or refused) request in progress.
  struct Request {
    Instant now;
    Endpoint local;
    Endpoint remote;
    const stun::MessageView& m;
    AuthResult auth;
  };
  struct FiveTuple {
    Endpoint server, client;
    bool operator==(const FiveTuple& o) const { return server == o.server && client == o.client; }
  };
  struct FiveTupleHash {
    std::size_t operator()(const FiveTuple& t) const {
      return EndpointHash{}(t.client) * 31 + EndpointHash{}(t.server);
    }
  };
  struct Reservation {
    std::uint16_t port = 0;
    Instant expires;
  };

  // turn_server.cc: requests, authentication, Allocate and Refresh.
  void on_allocate(Request& r);
  void on_refresh(Request& r);
  void reply_error(const Request& r, int code, std::string_view reason);
  void reply_success(const Request& r, Bytes& out, stun::MessageBuilder& b);
  void send(Datagram d);
  Allocation* find(const Endpoint& server, const Endpoint& client);
  std::uint64_t* allocation_id(const Endpoint& server, const Endpoint& client);
  Duration granted_lifetime(const stun::MessageView& m) const;
  void request_socket(Allocation& a);
  void delete_allocation(std::uint64_t id, bool expired);
  bool forbidden(const Endpoint& peer) const;
  void schedule(Instant deadline);

  // turn_relaying.cc: permissions, channels, indications, data, timers.
  void on_create_permission(Request& r, Allocation& a);
  void on_channel_bind(Request& r, Allocation& a);
  void on_send(Instant now, const Endpoint& local, const Endpoint& remote,
               const stun::MessageView& m);
  bool channel_in_range(std::uint16_t channel) const;

  TurnConfig config_;
  Random random_;
  NonceFactory nonces_;
  RelayPortPool ports_;
  TurnCounters counters_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Allocation> allocations_;
  std::unordered_map<FiveTuple, std::uint64_t, FiveTupleHash> by_tuple_;
  std::unordered_map<Endpoint, std::uint64_t, EndpointHash> by_relay_;
  std::unordered_map<std::uint64_t, Reservation> reservations_;  // by token
  std::unordered_map<std::string, std::size_t> allocations_per_user_;
  std::deque<Datagram> transmits_;
  std::deque<SocketChange> socket_changes_;
  Instant next_sweep_ = kNever;
};

}  // namespace qp2p::turn
