// The peer-side owner of all of a peer's hole-punching attempts (hole_punch.h) and tunnels
// (tunnel.h), keyed by the remote PeerId, sans-IO (stack/core/sans_io.h). A runtime (Asio or
// ns-3) feeds it every datagram whose first byte is the tunnel magic 0x52 (tunnel_packet.h,
// RFC 7983-style demultiplexing by first byte), on whichever of its sockets it arrived, and
// drains transmits (each naming the socket to leave from) and events.
//
//   start_attempt(plan)     runs one HolePunch from the handshake service's plan
//                           (punch_planner.h); with plan.local_sockets = K > 1 it first emits
//                           SocketsNeeded{peer, K - 1}: the runtime binds that many extra sockets
//                           and calls provide_sockets() with them (the main socket is always
//                           used too); the attempt starts at the planned start, or at once if the
//                           sockets came later than that.
//   Established             the attempt succeeded: a Tunnel runs on the nominated pair;
//                           `setup` = now - requested_at. Extra sockets the tunnel does not run
//                           on are given back (SocketsReleased); the one it runs on is given
//                           back when the tunnel closes.
//   AttemptFailed           the attempt gave up (deadline, invalid plan, bounds); the caller
//                           falls back to the relay. Its extra sockets are given back.
//   start_relayed_attempt() the relay fallback, on the side that allocates: the attempt runs
//                           from our relayed transport address (relay_port.h, one TURN
//                           allocation on the supernode shared by all relayed tunnels) once it
//                           is allocated (RelayReady{relayed}: tell the peer, who runs an
//                           ordinary attempt towards it with path kRelay). It waits for the
//                           peer's first check (HolePunchConfig::wait_for_peer). Its transmits
//                           go out through the TURN server from the main socket; the runtime
//                           hands the server's messages to handle_relay_datagram().
//   Data / Closed           from the tunnel ("closed locally", "closed by peer",
//                           "keepalive timeout").
//
// Replacement without loss: a tunnel replaced by a newer one (e.g. a relayed tunnel upgraded to
// a direct one) retires for kReplacedTunnelGrace: it sends nothing more, but data the peer
// sent on it before it switched (still in flight through the relay) is delivered.
//
// Attribution: a check goes to the running attempt for its sender (else to the sender's
// tunnel, which answers late checks of its own attempt); a sealed packet to the attempt or
// tunnel whose tunnel id it names. Anything else is dropped and counted. A new attempt for a
// peer with a live tunnel leaves that tunnel running until the new one establishes, then
// replaces it (no close packet: the peer replaces its own when its attempt completes). Attempts
// and tunnels are bounded (TunnelManagerConfig); over a bound an attempt fails at once.
//
// "One change, then drain": after every call, drain poll_transmit() and poll_event() and re-arm
// the timer at poll_timeout().
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stack/core/random.h"
#include "stack/core/sans_io.h"
#include "stack/identity/identity.h"
#include "stack/tunnel/hole_punch.h"
#include "stack/tunnel/punch_planner.h"
#include "stack/tunnel/relay_port.h"
#include "stack/tunnel/tunnel.h"

namespace qp2p::tunnel {

enum class Path : std::uint8_t { kDirect, kRelay };
const char* to_string(Path path);

namespace manager_event {
struct SocketsNeeded {
  PeerId peer;
  std::size_t count = 0;  // extra sockets to bind, besides the main one
};
struct SocketsReleased {
  PeerId peer;
  std::vector<Endpoint> locals;  // extra sockets the runtime may close now
};
struct Established {
  PeerId peer;
  Endpoint local;
  Endpoint remote;
  Path path = Path::kDirect;
  Duration rtt{};
  Duration setup{};  // from the application's request to now
};
struct Data {
  PeerId peer;
  Bytes bytes;
};
struct Closed {
  PeerId peer;
  std::string reason;
};
struct AttemptFailed {
  PeerId peer;
  std::string reason;
  bool superseded = false;  // a newer attempt for the peer replaced it
};
// A relayed attempt has its relayed address: the peer must learn it to check towards it.
struct RelayReady {
  PeerId peer;
  Endpoint relayed;
};
}  // namespace manager_event

using TunnelManagerEvent =
    std::variant<manager_event::SocketsNeeded, manager_event::SocketsReleased,
                 manager_event::Established, manager_event::Data, manager_event::Closed,
                 manager_event::AttemptFailed, manager_event::RelayReady>;

struct TunnelManagerConfig {
  std::size_t max_attempts = 32;  // running attempts, including those waiting for sockets
  std::size_t max_tunnels = 256;  // live tunnels
  // Direct attempts begin with opening checks (hole_punch.h) once set_open_ttl() named a TTL;
  // false: never (to compare, or where a router behind our NAT would answer them oddly).
  bool opening_checks = true;
};

// How long a replaced tunnel still delivers what arrives on it (several relay round trips).
inline constexpr Duration kReplacedTunnelGrace = std::chrono::seconds(5);

struct TunnelManagerCounters {
  std::uint64_t attempts_started = 0;
  std::uint64_t attempts_refused = 0;  // over a bound
  std::uint64_t attempts_failed = 0;   // including refused and superseded ones
  std::uint64_t tunnels_established = 0;
  std::uint64_t tunnels_replaced = 0;
  std::uint64_t retired_deliveries = 0;  // data delivered by a replaced tunnel in its grace
  std::uint64_t dropped_not_tunnel = 0;    // first byte is not the tunnel magic
  std::uint64_t dropped_malformed = 0;     // magic, but does not parse
  std::uint64_t dropped_unattributed = 0;  // no attempt or tunnel it belongs to
};

class TunnelManager final : public SansIoEndpoint {
 public:
  TunnelManager(Identity identity, TunnelConfig tunnel_config, Endpoint main_local, Random random,
                TunnelManagerConfig config = {});

  // The plan arrived now; `requested_at` is when the application asked (for `setup`). An
  // attempt already running for plan.remote is superseded (AttemptFailed for it first).
  // A plan whose candidate is the peer's relayed address (kind kRelayed) makes a relay path.
  // The IP TTL of our opening checks (opening_check_ttl() of our own NAT profile, once
  // discovery classified it; 0: none). Applies to attempts launched from now on.
  void set_open_ttl(std::uint8_t ttl) { open_ttl_ = ttl; }
  std::uint8_t open_ttl() const { return config_.opening_checks ? open_ttl_ : 0; }

  void start_attempt(Instant now, const PunchPlan& plan, const AttemptNonce& nonce,
                     Instant requested_at);
  // The relay fallback on the allocating side: checks the plan's server-reflexive candidates
  // from our relayed address on `server`, allocated with `credentials` if need be.
  void start_relayed_attempt(Instant now, const PunchPlan& plan, const AttemptNonce& nonce,
                             Instant requested_at, const Endpoint& server,
                             const turn::TurnCredentials& credentials);
  // A datagram on the main socket: true when it was the relay service's (TURN) and is handled.
  bool handle_relay_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                             const std::uint8_t* data, std::size_t size);
  // The extra sockets asked for by SocketsNeeded. Without a waiting attempt for `peer` they are
  // given straight back (SocketsReleased).
  void provide_sockets(Instant now, const PeerId& peer, std::vector<Endpoint> locals);
  // Sends on the peer's tunnel. False without a live tunnel or when too large.
  bool send(Instant now, const PeerId& peer, const std::uint8_t* data, std::size_t size);
  bool send(Instant now, const PeerId& peer, const Bytes& data) {
    return send(now, peer, data.data(), data.size());
  }
  // Closes the peer's tunnel (one close packet) and cancels its attempt.
  void close(Instant now, const PeerId& peer);

  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override;
  void handle_timeout(Instant now) override;
  std::optional<Datagram> poll_transmit() override;
  Instant poll_timeout() const override;
  std::optional<TunnelManagerEvent> poll_event();

  bool has_tunnel(const PeerId& peer) const { return tunnels_.count(peer) != 0; }
  bool has_attempt(const PeerId& peer) const { return attempts_.count(peer) != 0; }
  const Tunnel* tunnel(const PeerId& peer) const;
  const HolePunch* attempt(const PeerId& peer) const;
  std::size_t tunnel_count() const { return tunnels_.size(); }
  // Every peer with a tunnel or an attempt, in id order.
  std::vector<PeerId> peers() const;
  std::size_t attempt_count() const { return attempts_.size(); }
  const Endpoint& main_local() const { return main_local_; }
  const TunnelManagerCounters& counters() const { return counters_; }
  const RelayPort& relay_port() const { return relay_; }

 private:
  struct Attempt {
    PunchPlan plan;
    AttemptNonce nonce{};
    Instant requested_at{};
    Instant start{};
    std::vector<Endpoint> extra;  // sockets from provide_sockets
    std::unique_ptr<HolePunch> punch;  // null while waiting for sockets or the relay
    bool from_relay_port = false;  // runs from our relayed address (we allocated)
  };

  bool admit(const PeerId& peer, const PunchPlan& plan);
  void launch(Instant now, const PeerId& peer, Attempt& attempt);
  void finish_attempt(Instant now, const PeerId& peer, std::optional<std::string> failure,
                      const std::optional<Endpoint>& keep, bool superseded = false);
  void fail_now(Instant now, const PeerId& peer, std::string reason, bool superseded = false);
  void release(const PeerId& peer, std::vector<Endpoint> locals);
  void release_relay_if_unused(Instant now, const PeerId& peer);
  void emit(Instant now, Datagram d);
  void pump_attempt(Instant now, const PeerId& peer);
  void pump_tunnel(Instant now, const PeerId& peer);
  void pump_relay(Instant now);
  void remove_tunnel(Instant now, const PeerId& peer);
  void retire_tunnel(Instant now, const PeerId& peer);
  bool deliver_to_retired(Instant now, const Endpoint& local, const Endpoint& remote,
                          const std::uint8_t* data, std::size_t size, std::uint64_t id);
  void expire_retired(Instant now);

  Identity identity_;
  TunnelConfig tunnel_config_;
  Endpoint main_local_;
  Random random_;
  TunnelManagerConfig config_;
  RelayPort relay_;
  std::uint8_t open_ttl_ = 0;

  std::map<PeerId, Attempt> attempts_;
  struct LiveTunnel {
    std::unique_ptr<Tunnel> tunnel;
    std::uint64_t id = 0;  // the id the peer's packets to it carry
    bool on_relay_port = false;  // runs from our relayed address
  };
  std::map<PeerId, LiveTunnel> tunnels_;
  struct RetiredTunnel {
    PeerId peer;
    std::unique_ptr<Tunnel> tunnel;
    bool on_relay_port = false;
    Instant until;
  };
  std::map<std::uint64_t, RetiredTunnel> retired_;  // by our tunnel id
  std::map<std::uint64_t, PeerId> by_tunnel_id_;  // our tunnel ids (attempts' and tunnels')

  std::deque<Datagram> transmits_;
  std::deque<TunnelManagerEvent> events_;
  TunnelManagerCounters counters_;
};

}  // namespace qp2p::tunnel
