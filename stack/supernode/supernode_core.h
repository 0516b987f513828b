// Internal state of a Supernode (supernode.h): sessions of logged-in peers (checkpoint),
// the index, and the pushes in flight (deliveries, delivery reports, presence). Its methods are
// split by service: supernode.cc (demultiplexing, timers), checkpoint_service.cc (login,
// keepalive, logout, expiry, watches), message_service.cc (instant messages, pushes),
// index requests in index_requests.cc.
#pragma once

#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "stack/supernode/index_service.h"
#include "stack/supernode/supernode.h"
#include "stack/transaction/request_tracker.h"
#include "stack/wire/session.h"

namespace qp2p {

struct PeerSessionState {
  PeerId id;
  Endpoint remote;        // where its datagrams come from (its server-reflexive address)
  Endpoint local;         // which of our sockets it talks to
  wire::Session session;
  Instant last_seen;
  std::set<PeerId> watching;
  // The Login that opened this session and the LoginOk that answered it: a repeated Login
  // (retransmitted, or replayed within the nonce lifetime) is answered with the same LoginOk
  // instead of replacing the session the peer is already using.
  wire::Nonce login_nonce{};
  wire::X25519Key login_ephemeral{};
  wire::LoginOk login_ok;
};

// What a push in flight is for, so its ack or timeout can be acted on.
struct PendingPush {
  enum class Kind { kDeliver, kReport, kPresence } kind = Kind::kDeliver;
  PeerId target;          // who the push went to
  PeerId sender;          // kDeliver: who sent the message
  std::uint64_t message_id = 0;
};

class SupernodeCore {
 public:
  SupernodeCore(SupernodeConfig config, Identity identity, Random random);

  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size);
  void handle_timeout(Instant now);
  std::optional<Datagram> poll_transmit();
  Instant poll_timeout() const;

  SupernodeConfig config_;
  Identity identity_;
  Random random_;
  StunService stun_;
  turn::TurnServer turn_;
  IndexService index_;
  SupernodeCounters counters_;
  std::array<std::uint8_t, 32> cookie_secret_{};  // for stateless login nonces

  std::unordered_map<std::uint64_t, PeerSessionState> sessions_;  // by session id
  std::unordered_map<PeerId, std::uint64_t, PeerIdHash> session_of_;
  // Watchers of each peer (kept even while the watched peer is offline).
  std::unordered_map<PeerId, std::set<PeerId>, PeerIdHash> watchers_;
  RequestTracker pushes_;
  std::unordered_map<std::uint64_t, PendingPush> pending_pushes_;
  // Recently routed (sender, message id) pairs, so a retransmitted send is not delivered twice.
  std::set<std::pair<PeerId, std::uint64_t>> routed_messages_;
  std::deque<std::pair<Instant, std::pair<PeerId, std::uint64_t>>> routed_order_;
  std::deque<Datagram> transmits_;
  Instant next_expiry_check_ = kNever;

 private:
  void handle_stun(Instant now, const Endpoint& local, const Endpoint& remote, const std::uint8_t* data,
                   std::size_t size);
  void handle_control(Instant now, const Endpoint& local, const Endpoint& remote,
                      const std::uint8_t* data, std::size_t size);
  void handle_session_message(Instant now, PeerSessionState& peer, wire::ControlMessage& msg);

 public:
  // Checkpoint (checkpoint_service.cc).
  void on_hello(Instant now, const Endpoint& local, const Endpoint& remote,
                std::uint64_t transaction, const wire::Hello& hello);
  void on_login(Instant now, const Endpoint& local, const Endpoint& remote,
                std::uint64_t transaction, const wire::Login& login);
  void on_watch(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                const wire::Watch& watch);
  void end_session(Instant now, std::uint64_t session_id, wire::PresenceReason reason);
  void expire_silent_peers(Instant now);
  wire::Nonce make_nonce(Instant now, const PeerId& peer, const Endpoint& remote);
  bool check_nonce(Instant now, const wire::Nonce& nonce, const PeerId& peer,
                   const Endpoint& remote);

  // Index requests (index_requests.cc).
  void on_publish(PeerSessionState& peer, std::uint64_t transaction, const wire::Publish& m);
  void on_lookup(PeerSessionState& peer, std::uint64_t transaction, const wire::Lookup& m);
  void on_search(PeerSessionState& peer, std::uint64_t transaction, const wire::Search& m);
  wire::PeerInfo peer_info(const PeerId& id) const;

  // Messages and pushes (message_service.cc).
  void on_send(Instant now, PeerSessionState& peer, std::uint64_t transaction,
               const wire::SendMessage& m);
  void on_push_ack(Instant now, PeerSessionState& peer, std::uint64_t transaction);
  void push(Instant now, PeerSessionState& target, wire::Body body, PendingPush pending);
  void notify_watchers(Instant now, const PeerId& peer, bool online, wire::PresenceReason reason);
  void forget_old_routed(Instant now);

  // Replies.
  void reply(PeerSessionState& peer, std::uint64_t transaction, wire::Body body);
  void reply_plain(const Endpoint& local, const Endpoint& remote, std::uint64_t transaction,
                   wire::Body body);
  PeerSessionState* find_session(const PeerId& id);
};

}  // namespace qp2p
