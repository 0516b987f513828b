// Internal state of a Supernode (supernode.h): sessions of logged-in peers (checkpoint),
// the index, and the pushes in flight (deliveries, delivery reports, presence). Its methods are
// split by service: supernode.cc (demultiplexing, timers), checkpoint_service.cc (login,
// keepalive, logout, expiry, watches), message_service.cc (instant messages, pushes),
// index requests in index_requests.cc, tunnel negotiation in handshake_service.cc (with peers
// on other supernodes: handshake_routing.cc), the federated directory in supernode_directory.cc,
// stats reports between members in supernode_stats.cc.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "stack/federation/directory_node.h"
#include "stack/federation/route_handshake.h"
#include "stack/federation/route_messages.h"
#include "stack/federation/route_outbox.h"
#include "stack/supernode/handshake_service.h"
#include "stack/supernode/held_requests.h"
#include "stack/supernode/index_service.h"
#include "stack/supernode/network_stats.h"
#include "stack/supernode/stats_reporter.h"
#include "stack/supernode/supernode.h"
#include "stack/transaction/request_tracker.h"
#include "stack/tunnel/punch_planner.h"
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
  Signature login_signature{};  // the login proof a federated presence record carries
  wire::LoginOk login_ok;
  std::uint64_t list_push = 0;  // the supernode-list push in flight to it (0: none)
  // The supernode list last pushed to it (shared by every peer it went to; null: none, or its
  // push timed out), so an unchanged list is not pushed again.
  std::shared_ptr<const std::vector<Endpoint>> list_sent;
};

// What a push in flight is for, so its ack or timeout can be acted on.
struct PendingPush {
  enum class Kind { kDeliver, kReport, kPresence, kTunnel, kLeaving, kSupernodes } kind = Kind::kDeliver;
  PeerId target;          // who the push went to
  PeerId sender;          // kDeliver: who sent the message
  std::uint64_t message_id = 0;
  // kDeliver of a message routed from another supernode (section 14.6): that supernode, told
  // the outcome. Zero when the sender is logged in here.
  PeerId origin;
};

// An instant message sent on to the target's supernode, until its outcome comes back.
struct RoutedOut {
  PeerId home;  // the target's supernode
  federation::RouteMessage message;
  Instant next;  // next attempt
  std::size_t attempts = 0;
};

// The refusal of a request for a peer no supernode knows to be online.
inline wire::Error unknown_or_offline(const PeerId& peer) {
  return {wire::ErrorCode::kNotFound, "peer " + peer.to_string() + " is unknown or offline"};
}

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
  // Federation routing (message_routing.cc): messages sent on to other supernodes, and the
  // outcome reported for messages routed here (repeated to a retried deliver).
  std::map<std::pair<PeerId, std::uint64_t>, RoutedOut> routed_out_;
  std::map<std::pair<PeerId, std::uint64_t>, federation::RouteType> route_outcomes_;
  // Messages and tunnel connects for peers unknown while the directory catches up
  // (held_requests.h).
  HeldRequests held_requests_;
  std::deque<Datagram> transmits_;
  Instant next_expiry_check_ = kNever;
  Instant list_announce_at_ = kNever;  // the debounced supernode-list push (supernode_list.cc)

  // Handshake service: negotiations by attempt id, the attempt of each (caller, callee) pair,
  // how many each peer is part of, and recently answered attempts (for repeated answers and
  // for the relay fallback that may follow an accepted one).
  std::map<std::uint64_t, Negotiation> negotiations_;
  std::map<std::pair<PeerId, PeerId>, std::uint64_t> negotiation_of_;
  std::map<PeerId, std::size_t> negotiations_per_peer_;
  std::map<std::uint64_t, AnsweredAttempt> answered_;
  std::deque<std::pair<Instant, std::uint64_t>> answered_order_;
  // Recent connects by (caller, transaction) -> attempt: a connect retransmitted after its
  // negotiation ended (its answer was lost) is answered again instead of offered again.
  std::map<std::pair<PeerId, std::uint64_t>, std::uint64_t> connect_transactions_;
  std::deque<std::pair<Instant, std::pair<PeerId, std::uint64_t>>> connect_order_;
  HandshakeCounters handshake_counters_;
  HandshakeStats handshake_stats_;  // by pair of NAT profiles
  // Negotiations with peers on other supernodes (handshake_routing.cc): at the callee's
  // supernode, the attempts other members run for callees here; and the negotiation payloads
  // in flight to other members.
  std::map<std::uint64_t, RoutedAttempt> routed_in_;
  federation::RouteOutbox route_outbox_{kRoutedHandshakePolicy, 4 * kMaxNegotiations};
  bool leaving_ = false;             // announce_leaving() was called: no new logins
  // Federation membership and the replicated directory (both nullptr when off).
  std::unique_ptr<federation::Membership> federation_;
  std::unique_ptr<federation::DirectoryNode> directory_;
  // The network's wall clock at the latest input (for the const queries of the replica).
  federation::WallMs last_wall_ms_ = 0;
  // Stats reports (supernode_stats.cc): this supernode's, sent every stats_report.interval
  // (kNever without federation), and the latest of every member.
  StatsReporter stats_reporter_;
  NetworkStats network_stats_;
  Instant next_stats_round_ = kNever;

 private:
  void handle_stun(Instant now, const Endpoint& local, const Endpoint& remote, const std::uint8_t* data,
                   std::size_t size);
  void handle_control(Instant now, const Endpoint& local, const Endpoint& remote,
                      const std::uint8_t* data, std::size_t size);
  void dispatch_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
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
  // Returns the push's transaction id.
  std::uint64_t push(Instant now, PeerSessionState& target, wire::Body body, PendingPush pending);
  void notify_watchers(Instant now, const PeerId& peer, bool online, wire::PresenceReason reason);
  void forget_old_routed(Instant now);

  // Messages to peers on other supernodes (message_routing.cc; docs/protocol.md 14.6).
  void route_message(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                     const wire::SendMessage& m, const PeerId& home);
  void on_route_payload(Instant now, const PeerId& from, const Bytes& payload);
  void retry_routed(Instant now);
  void report_routed(Instant now, const PeerId& origin, const PeerId& sender,
                     const PeerId& target, std::uint64_t message_id, bool delivered);
  void send_route(Instant now, const PeerId& to, const federation::RouteMessage& m);
  // A delivery push ended without an ack (target gone or silent).
  void delivery_failed(Instant now, const PendingPush& p);
  // The supernode list for peers (supernode_list.cc, docs/protocol.md section 8.8): the live
  // members' primary endpoints, this one first (empty when federation is off).
  std::vector<Endpoint> live_supernodes() const;
  using SharedList = std::shared_ptr<const std::vector<Endpoint>>;
  void push_supernode_list(Instant now, PeerSessionState& peer, SharedList list);
  // A membership change: every logged-in peer whose last list differs gets the current one,
  // config_.supernode_list_debounce after the first change not yet told (at once when 0).
  void schedule_supernode_list(Instant now);
  void announce_supernode_list(Instant now);

  // Tunnel negotiation (handshake_service.cc).
  void on_tunnel_connect(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                         const wire::TunnelConnect& m);
  void on_tunnel_answer(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                        const wire::TunnelAnswer& m);
  void on_tunnel_relay(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                       const wire::TunnelRelay& m);
  void on_tunnel_outcome(PeerSessionState& peer, std::uint64_t transaction,
                         const wire::TunnelOutcome& m);
  // Refuses offers past their timeout to their callers; forgets old answers. Run by the
  // one-second housekeeping scan (expire_silent_peers).
  void expire_negotiations(Instant now);
  // A peer left: its offers to others are dropped, offers to it are refused to their callers.
  void end_negotiations_of(Instant now, const PeerId& peer);
  // Where a handshake message for `peer` goes: its session here, or nullptr (then, with
  // federation, routed_home() names the member supernode it is logged into).
  PeerSessionState* handshake_route(const PeerId& peer);
  void push_handshake(Instant now, const PeerId& to, wire::Body body);
  void forget_negotiation(std::map<std::uint64_t, Negotiation>::iterator it);
  // One negotiation fewer for `peer` (negotiations_per_peer_).
  void release_negotiation_slot(const PeerId& peer);
  // The callee answered negotiation `n` (here, or at its supernode): remembered as answered;
  // a refusal or "offline" goes to the caller, an acceptance is planned and both sides get
  // their punch-start (the callee's through its supernode when it is another member).
  void settle_negotiation(Instant now, const Negotiation& n, federation::AnswerVerdict verdict,
                          const std::string& reason, const tunnel::PunchPeer& callee);
  // A peer as plan_punch sees it: its NAT profile from its record, the rest as given.
  tunnel::PunchPeer punch_peer(const PeerId& id, std::vector<Endpoint> host,
                               const Endpoint& reflexive, Duration rtt) const;
  // The relay credentials a punch-start carries for `who` on this supernode's TURN service
  // (empty without one).
  wire::RelayCredentials relay_credentials_for(Instant now, const PeerId& who);
  // A TunnelRelay's address is a live allocation of the sender's here; otherwise 400, counted.
  bool relay_allocated(PeerSessionState& peer, std::uint64_t transaction,
                       const wire::TunnelRelay& m);

  // Negotiations with peers on other supernodes (handshake_routing.cc; docs/protocol.md
  // section 14.6). The caller's supernode runs them; the callee's pushes and relays.
  std::optional<PeerId> routed_home(const PeerId& peer) const;
  void offer_routed(Instant now, const Negotiation& n, const Endpoint& caller_mapped);
  void on_handshake_route_payload(Instant now, const PeerId& from, const Bytes& payload);
  void on_routed_offer(Instant now, const PeerId& from, const federation::RouteHandshake& m);
  void on_routed_answer(Instant now, const PeerId& from, const federation::RouteHandshake& m);
  void on_routed_punch(Instant now, const PeerId& from, const federation::RouteHandshake& m);
  void on_routed_relayed(Instant now, const PeerId& from, const federation::RouteHandshake& m);
  void on_routed_cancel(Instant now, const PeerId& from, const federation::RouteHandshake& m);
  // Ends the negotiation at `it` before its answer (forget_negotiation) and tells its callee's
  // supernode, when another member, reliably, so it forgets the attempt. Returns what it was.
  Negotiation abandon_negotiation(Instant now, std::map<std::uint64_t, Negotiation>::iterator it,
                                  federation::CancelReason reason);
  // The callee's answer or relayed address for an attempt another supernode runs: true when
  // `m` was for one (and has been handled).
  bool answer_routed(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                     const wire::TunnelAnswer& m);
  bool relay_routed(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                    const wire::TunnelRelay& m);
  // Sends `m` to member `to` and again until acked (route_outbox_).
  void send_reliably(Instant now, const PeerId& to, const federation::RouteHandshake& m);
  void send_federation_payload(Instant now, const PeerId& to, Bytes payload);
  void retry_handshake_routes(Instant now);
  // Forgets routed attempts past their time (run with expire_negotiations).
  void expire_routed(Instant now);
  // The callee left before answering: the caller's supernode is told "offline".
  void end_routed_of(Instant now, const PeerId& callee);
  // The peer's NAT profile from its published record (nullopt: none published).
  std::optional<NatProfile> nat_profile_of(const PeerId& id) const;

  // The federated directory (supernode_directory.cc; docs/protocol.md section 14.5).
  // Membership events: members up and down, directory payloads to the directory node.
  void drain_federation_events(Instant now);
  // Seals the directory's payloads to their members; tells local watchers of presence changes
  // at other supernodes. After every input.
  void flush_directory(Instant now);
  void on_presence_change(Instant now, const federation::PresenceChange& change);
  // A request for a peer the directory does not know: held while the directory catches up
  // (held_requests.h). True when it was held now or is a copy of one held: no answer yet.
  bool hold_request(Instant now, const PeerSessionState& peer, std::uint64_t transaction,
                    HoldableRequest request);
  // Held requests for `target`, whose record arrived, are handled as if just received.
  void release_held_requests(Instant now, const PeerId& target);
  // Held requests whose hold ends by `until` (kNever: all of them) are refused "unknown or
  // offline", counted.
  void expire_held_requests(Instant until);
  // Writes (or rewrites) the presence record of a peer logged in here.
  void directory_online(const PeerSessionState& peer);
  federation::WallMs wall_ms(Instant now) const;
  Instant directory_deadline() const;
  // The supernode whose live presence record names the peer online: this one for a peer with a
  // session here; with federation, the writer of its unexpired online presence; else nullopt.
  std::optional<PeerId> home_supernode_of(const PeerId& peer) const;
  // The peer is online at another supernode (federation only).
  bool online_elsewhere(const PeerId& peer) const;

  // Statistics for the whole network (supernode_stats.cc; docs/protocol.md section 14.7).
  // This supernode's figures, as /v1/stats shows them.
  StatsFigures stats_figures() const;
  // A round of stats reports to every live member (the changed parts; all of them now and
  // then), and the next round's time.
  void send_stats_round(Instant now);
  // Every part to a member that just came up.
  void send_stats_to(Instant now, const PeerId& member);
  void send_stats_payloads(Instant now, const PeerId& to, const std::vector<Bytes>& payloads);

  // Replies.
  void reply(PeerSessionState& peer, std::uint64_t transaction, wire::Body body);
  void reply_plain(const Endpoint& local, const Endpoint& remote, std::uint64_t transaction,
                   wire::Body body);
  PeerSessionState* find_session(const PeerId& id);
};

}  // namespace qp2p
