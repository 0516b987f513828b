// An established peer-to-peer tunnel, sans-IO (stack/core/sans_io.h): built from the candidate
// pair a HolePunch (hole_punch.h) nominated, it encrypts and authenticates application data
// (tunnel_keys.h), holds the NAT mappings open with keepalives, notices a silent peer, closes on
// request, and follows the peer when its NAT rebinds it to a new endpoint.
//
//   send(now, bytes)        seals a data packet (counter + AEAD) to the current path
//   received data           -> tunnel_event::Data{bytes}
//   nothing sent for keepalive_interval   -> a keepalive (holds our NAT mapping and the peer's
//                                            filter open, tells the peer we are alive); every
//                                            unconfirmed_keepalive_interval until the peer's
//                                            first authenticated packet arrived (it may still
//                                            be punching and wait for ours to confirm)
//   nothing authenticated heard for dead_interval -> Closed{"keepalive timeout"}
//   close(now)              -> one close packet, Closed{"closed locally"}
//   a close from the peer   -> Closed{"closed by peer"}
//   path rebinding: an authenticated packet newer than any before (highest counter so far)
//   from a different endpoint moves the path there (-> PathChanged). Replays cannot move it
//   (the replay window rejects them first), and an on-path attacker racing a copy of a fresh
//   packet only moves it until the peer's next packet moves it back.
//
// The tunnel also answers the peer's connectivity checks for the attempt it came from, so a
// peer still waiting for the answer to its nominating check (the answer was lost) completes.
//
// "One change, then drain": after construction, every input and every send()/close(), drain
// poll_transmit() and poll_event() and re-arm the timer at poll_timeout().
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stack/core/sans_io.h"
#include "stack/identity/identity.h"
#include "stack/tunnel/tunnel_keys.h"
#include "stack/tunnel/tunnel_packet.h"
#include "stack/tunnel/tunnel_timing.h"

namespace qp2p::tunnel {

// One side of one attempt as its checks present it; shared by HolePunch and Tunnel.
struct AttemptSide {
  Identity identity;
  PeerId remote;
  AttemptNonce nonce{};
  std::uint64_t tie_breaker = 0;
  std::uint64_t tunnel_id = 0;  // the id data packets addressed to us carry
  X25519Key ephemeral{};        // our ephemeral public key

  // A signed check from us to the remote.
  Bytes make_check(bool response, bool nominate, const TransactionId& transaction,
                   const X25519Key& remote_ephemeral) const;

  enum class Verdict : std::uint8_t { kOk, kWrongSender, kBadSignature, kWrongEphemeral };
  // Accepts a check only from the expected remote identity, signed over a transcript addressed
  // to us for this attempt, naming our ephemeral key (or none yet, in a request).
  Verdict verify(const CheckPacket& check) const;
};

// Everything a Tunnel is built from (HolePunch::take_tunnel_params()).
struct TunnelParams {
  AttemptSide side;
  Endpoint local;
  Endpoint remote;
  std::uint64_t remote_tunnel_id = 0;
  X25519Key remote_ephemeral{};
  TunnelKeys keys;
  Duration rtt{};
  // Sealed packets that arrived before the hole punch completed; the tunnel handles them first.
  std::vector<Datagram> early_packets;
};

struct TunnelConfig {
  Duration keepalive_interval = kDefaultKeepaliveInterval;
  Duration dead_interval = kDefaultDeadInterval;
  // Until the first authenticated packet from the peer (kUnconfirmedKeepaliveInterval).
  Duration unconfirmed_keepalive_interval = kUnconfirmedKeepaliveInterval;
};

namespace tunnel_event {
struct Data {
  Bytes bytes;
};
struct PathChanged {
  Endpoint local;
  Endpoint remote;
};
struct Closed {
  std::string reason;  // "closed locally", "closed by peer", "keepalive timeout"
};
}  // namespace tunnel_event

using TunnelEvent =
    std::variant<tunnel_event::Data, tunnel_event::PathChanged, tunnel_event::Closed>;

struct TunnelCounters {
  std::uint64_t data_sent = 0;
  std::uint64_t data_received = 0;
  std::uint64_t keepalives_sent = 0;
  std::uint64_t keepalives_received = 0;
  std::uint64_t checks_answered = 0;
  std::uint64_t checks_ignored = 0;        // late responses to the punch's checks
  std::uint64_t path_changes = 0;
  std::uint64_t dropped_malformed = 0;     // not a tunnel packet, or failed to parse
  std::uint64_t dropped_wrong_tunnel = 0;  // sealed packet for another tunnel id
  std::uint64_t dropped_replayed = 0;      // counter repeated or older than the window
  std::uint64_t dropped_bad_aead = 0;      // authentication tag did not verify
  std::uint64_t dropped_bad_check = 0;     // request not from the peer / bad signature / stale
  std::uint64_t dropped_closed = 0;        // arrived after the tunnel closed
};

class Tunnel final : public SansIoEndpoint {
 public:
  // Starts at `now`: one keepalive is queued at once, so the peer hears us immediately.
  Tunnel(TunnelParams params, TunnelConfig config, Instant now);

  // Seals `size` bytes as one data packet. False when closed or size > kMaxPlaintext.
  bool send(Instant now, const std::uint8_t* data, std::size_t size);
  bool send(Instant now, const Bytes& data) { return send(now, data.data(), data.size()); }
  // Sends one close packet (reason byte for the peer's logs) and closes.
  void close(Instant now, std::uint8_t reason = 0);

  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override;
  void handle_timeout(Instant now) override;
  std::optional<Datagram> poll_transmit() override;
  Instant poll_timeout() const override;
  std::optional<TunnelEvent> poll_event();

  bool closed() const { return closed_; }
  const Endpoint& local() const { return local_; }
  const Endpoint& remote() const { return remote_; }
  const PeerId& peer() const { return side_.remote; }
  Duration rtt() const { return rtt_; }
  Instant last_heard() const { return last_heard_; }
  const TunnelCounters& counters() const { return counters_; }

 private:
  void transmit(Instant now, PacketType type, const std::uint8_t* data, std::size_t size);
  void handle_check(const Endpoint& local, const Endpoint& remote, const CheckPacket& check);
  void handle_sealed(Instant now, const Endpoint& local, const Endpoint& remote,
                     const SealedPacket& packet);
  void finish(std::string reason);
  Duration keepalive_interval() const;

  AttemptSide side_;
  Endpoint local_;
  Endpoint remote_;
  std::uint64_t remote_tunnel_id_;
  X25519Key remote_ephemeral_;
  TunnelKeys keys_;
  Duration rtt_;
  TunnelConfig config_;

  std::uint64_t send_counter_ = 0;
  ReplayWindow replay_;
  Instant last_sent_;
  Instant last_heard_;
  bool peer_heard_ = false;  // an authenticated packet from the peer arrived
  bool closed_ = false;
  std::deque<Datagram> transmits_;
  std::deque<TunnelEvent> events_;
  TunnelCounters counters_;
};

}  // namespace qp2p::tunnel
