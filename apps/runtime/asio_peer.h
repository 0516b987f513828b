// AsioPeer: the peer library API for applications that run a Boost.Asio event loop.
//
// A thin adapter over the sans-IO PeerSession (stack/peer/peer_session.h): it owns one UDP
// socket (through UdpRuntime), passes the current time with every call, sends what the core
// queued, re-arms the core's timer, and hands every event the core produced to the
// application's callback. There is no protocol logic here.
//
//   boost::asio::io_context io;
//   PeerConfig config;
//   config.supernodes = {*Endpoint::parse("192.0.2.10:3478")};
//   AsioPeer peer(io, config, identity);
//   peer.on_event([&](const PeerEvent& e) { ... });
//   peer.start();
//   io.run();
//
// Threading: everything runs on the io_context's thread(s); call the methods from there
// (e.g. from the callback or a posted handler). The callback may call AsioPeer methods
// (events they produce are delivered after the current one returns) but must not destroy
// the AsioPeer: post the destruction instead.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/random.h"
#include "stack/peer/peer_session.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace qp2p {

class AsioPeer {
 public:
  using EventHandler = std::function<void(const PeerEvent&)>;

  // Binds the UDP socket at once; throws std::runtime_error naming the address when it
  // cannot. The local address is `config.local` when that is set (not 0.0.0.0:0),
  // else default_local(config.supernodes). `config.local` is then replaced by the bound
  // endpoint. One more socket is bound per `config.discovery_locals` entry (NAT discovery;
  // port 0 and an unspecified address are allowed: the main socket's address is used). When
  // `config.record_version_base` is 0 it is set from the wall clock, so a restarted peer never
  // reuses a record version. Without a seed, randomness comes from the OS.
  AsioPeer(boost::asio::io_context& io, PeerConfig config, Identity identity,
           std::optional<Random::Seed> seed = std::nullopt);
  ~AsioPeer();
  AsioPeer(const AsioPeer&) = delete;
  AsioPeer& operator=(const AsioPeer&) = delete;

  // Loopback supernodes only: 127.0.0.1:0 (or [::1]:0); otherwise the wildcard of the first
  // supernode's family, 0.0.0.0:0 (or [::]:0).
  static Endpoint default_local(const std::vector<Endpoint>& supernodes);

  // Called for every event, in order, after each change (API call, datagram, timeout).
  void on_event(EventHandler handler);

  // Mirrors of PeerSession's API (see peer_session.h): each passes now(), then flushes.
  void start();
  std::uint64_t publish(const wire::MetaEntries& entries);
  std::uint64_t lookup(const PeerId& target);
  std::uint64_t search(std::vector<wire::SearchTerm> terms, std::uint16_t limit = 20);
  std::uint64_t watch(const PeerId& target);
  std::uint64_t send_message(const PeerId& to, std::string text);
  void logout();
  // Tunnels (stack/tunnel/tunnel_manager.h through PeerSession). Extra sockets an attempt asks
  // for (birthday probing) are bound here on the main socket's address and closed when given
  // back; those two events are not passed to the handler.
  std::uint64_t connect(const PeerId& peer);
  std::uint64_t accept(const PeerId& peer);
  std::uint64_t refuse(const PeerId& peer, std::string reason);
  bool tunnel_send(const PeerId& peer, const Bytes& data);
  void tunnel_close(const PeerId& peer);
  // Closes every tunnel and abandons every attempt (one close packet each).
  void close_all_tunnels();

  const PeerId& id() const;
  // The main socket's endpoint (the one talking to the supernode).
  Endpoint local_endpoint() const;
  // Read-only view of the core (registered(), mapped(), counters(), ...).
  const PeerSession& session() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qp2p
