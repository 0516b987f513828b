// A peer's session with the supernode network, sans-IO: login (challenge, signature, key
// agreement), keepalives, failover to the next supernode of its list (configured, and learned
// from the supernode-list push: docs/protocol.md section 8.8), and the requests an
// application makes (publish, lookup, search, instant messages, presence watches), and the
// negotiation of tunnels through the handshake service (docs/protocol.md section 8.5): connect,
// accept and refuse; the hole punching itself is run by the consumer of PunchStarted.
//
// API calls return a request id and are queued until the peer is registered; their outcome
// arrives later as a PeerEvent naming that id. "One change, then drain": after any call or
// input, drain poll_transmit() and poll_event() and re-arm the timer at poll_timeout().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "stack/core/random.h"
#include "stack/core/sans_io.h"
#include "stack/discovery/nat_discovery.h"
#include "stack/identity/identity.h"
#include "stack/peer/rtt_estimator.h"
#include "stack/transaction/request_tracker.h"
#include "stack/tunnel/tunnel_manager.h"
#include "stack/tunnel/punch_planner.h"
#include "stack/wire/session.h"

namespace qp2p {

struct PeerConfig {
  // Tried in order; the next one on failure. Supernodes of a federation add the live members
  // (supernode-list push, docs/protocol.md section 8.8); these stay in the list after them.
  std::vector<Endpoint> supernodes;
  Endpoint local;                    // the runtime's socket (local endpoint of transmits)
  wire::MetaEntries initial_meta;    // published right after the first login
  // Records are versioned; a peer that restarts must not reuse old versions, so runtimes set
  // this from the wall clock (microseconds since the epoch). Simulations leave it 0.
  std::uint64_t record_version_base = 0;
  // Every request of the peer (publish, lookup, keepalive, ...): twelve copies over 10.75 s
  // (request_tracker.h), not the default seven, so that at 20% loss per link behind a carrier
  // NAT (83% of round trips lost) a schedule is lost 11% of the time instead of 28%.
  RetransmitPolicy retransmit = kUrgentRetransmitPolicy;
  // The login exchange (hello, login) and tunnel negotiation requests (connect, accept,
  // refuse): a peer cannot do anything before its login, and a tunnel needs every message of
  // its negotiation, so these get denser copies over the same span even when `retransmit` is
  // set otherwise.
  RetransmitPolicy urgent_retransmit = kUrgentRetransmitPolicy;
  // Zero: use the interval the supernode asks for in LoginOk.
  Duration keepalive_interval{0};
  // Extra local sockets (bound by the runtime) for NAT discovery. When non-empty, the peer
  // runs RFC 5780 discovery against its supernode's STUN services after its first login and
  // publishes the profile as nat.* metadata in its record. Three make every test possible.
  std::vector<Endpoint> discovery_locals;
  // The default gateway's NAT-PMP endpoint (its address, port 5351), when the runtime knows it:
  // discovery asks it for its external address to tell one NAT from a chain (nat_levels).
  std::optional<Endpoint> gateway;
  // Pause before trying the next supernode after a failure. Once every supernode of the list
  // failed in a row, the pause doubles each round, up to max_failover_delay: login is retried
  // for as long as the application wants to be logged in, without hammering a dead network.
  Duration failover_delay = std::chrono::milliseconds(500);
  Duration max_failover_delay = std::chrono::seconds(4);
  // With a single supernode there is nowhere to fail over to, and the supernode keeps our
  // session for its expiry after the last datagram it got from us (most of a keepalive's copies
  // get there even when every answer is lost): a keepalive schedule left unanswered is followed
  // by another at once, and the peer logs in again only after this many in a row with nothing
  // authenticated heard. A session the supernode did drop is reported by its unknown-session
  // error and logged into again at once (docs/protocol.md section 9, 440).
  int keepalive_losses_before_relogin = 3;
  // With another supernode to go to, the current one is declared gone once a keepalive has gone
  // unanswered this long with nothing authenticated heard from it meanwhile: under the urgent
  // schedule six copies (0, 0.25, 0.75, 1.75, 2.75, 3.75 s) lost. Short enough that a peer
  // fails over within seconds of its supernode's death (one keepalive interval plus this),
  // long enough that a lossy path (20% each way) rarely sends it away for nothing (0.2%).
  Duration supernode_silence_limit = std::chrono::seconds(4);
  // Hello and login copies while another supernode may answer, in the first round through the
  // list (later rounds use urgent_retransmit): 0, 0.25, 0.75, 1.75, 2.75 s, given up at 3.75 s,
  // so a dead entry of the list costs seconds, not the full 10.75 s schedule.
  RetransmitPolicy failover_login_retransmit{std::chrono::milliseconds(250),
                                            std::chrono::seconds(1), 5, 4};
  // A request left unanswered through a whole retransmission schedule (docs/protocol.md
  // section 7) by every supernode of the list is sent again (same transaction: the supernode
  // answers a repeat as it answered the first) up to request_retries times, after a pause of
  // request_retry_delay doubling each time. At 20% loss on each of three links one schedule
  // in eight goes unanswered; with three retries one request in 4,000 fails.
  int request_retries = 3;
  Duration request_retry_delay = std::chrono::milliseconds(500);
  // A tunnel negotiation whose request was answered but that got neither punch-start nor
  // refusal this long after it began (its pushes lost beyond their retransmissions) ends:
  // TunnelRefused "timeout: ..." for a connect, RequestFailed for an accept. Longer than the
  // service's own 30 s offer timeout plus the retransmission of its refusal.
  Duration negotiation_deadline = std::chrono::seconds(90);
  // When `local` is a wildcard address (0.0.0.0:port), the host's interface addresses: with the
  // main socket's port they are its host candidates for tunnels (the LAN path between peers
  // behind one NAT). Runtimes fill it; ignored for a socket bound to one address.
  std::vector<IpAddress> host_addresses;
  // Answer every tunnel offer with accept at once (TunnelRequested is still reported).
  bool auto_accept_tunnels = false;
  // Tunnels only through the relay (ICE's "relay" transport policy, RFC 8445 section 5.1.1.1
  // privacy): no direct attempt, no host candidates sent, no upgrade to direct. For the peer
  // that allocates (the callee) this alone decides; a relay-only caller waits for the relayed
  // address while the callee's direct attempt runs out.
  bool relay_only = false;
  // Keepalive and dead intervals of the peer's tunnels; bounds on attempts and tunnels.
  tunnel::TunnelConfig tunnel;
  tunnel::TunnelManagerConfig tunnel_limits;
};

namespace peer_event {
struct Registered { PeerId supernode; Endpoint supernode_endpoint; Endpoint mapped; };
// The session with that supernode ended; the next login attempt (to the next supernode of the
// list) follows after `retry_in`.
struct Disconnected { Endpoint supernode_endpoint; std::string reason; Duration retry_in{}; };
// Logged in at another supernode than before (Registered comes first): `reason` is "failover"
// (the previous one went silent or refused us) or "leaving" (it announced its shutdown). The
// record was published again and the watches renewed there; tunnels were not touched.
struct SupernodeChanged { PeerId supernode; Endpoint supernode_endpoint; std::string reason; };
// The live supernodes of the network, as our supernode told us (docs/protocol.md 0x0209).
struct SupernodeList { std::vector<Endpoint> supernodes; };
struct Published { std::uint64_t request = 0; std::uint64_t version = 0; };
struct LookupDone { std::uint64_t request = 0; wire::PeerInfo info; };
struct SearchDone { std::uint64_t request = 0; std::uint32_t total = 0; std::vector<wire::PeerInfo> peers; };
struct Watching { std::uint64_t request = 0; PeerId target; bool online = false; };
struct MessageAccepted { std::uint64_t request = 0; PeerId to; std::uint64_t message_id = 0; };
struct MessageReceived { PeerId from; std::uint64_t message_id = 0; std::string text; };
struct Delivered { PeerId to; std::uint64_t message_id = 0; };
struct Presence { PeerId peer; bool online = false; wire::PresenceReason reason{}; };
struct RequestFailed { std::uint64_t request = 0; std::string command; std::string reason; };
struct LoggedOut {};
struct NatClassified { NatProfile profile; std::vector<std::string> transcript; };
struct NatDiscoveryFailed { std::string reason; };
// Peer `from` asks for a tunnel: answer with accept(from) or refuse(from, reason).
struct TunnelRequested { PeerId from; wire::PeerInfo info; std::uint64_t attempt = 0; };
// Our connect to `peer` was refused ("timeout": no answer; "offline": the peer left).
struct TunnelRefused { std::uint64_t request = 0; PeerId peer; std::string reason; };
// The handshake service says: punch towards `peer` now. Everything a HolePunchConfig needs:
// remote = peer, attempt_nonce = nonce, locals = `local` plus plan.local_sockets - 1 extra
// sockets, plan.remote_candidates / strategy / prediction / birthday, start = received_at +
// plan.start_after, deadline = plan.deadline. direct_feasible false: go to the relay at once.
struct PunchStarted {
  std::uint64_t request = 0;  // our connect (caller) or accept (callee)
  PeerId peer;
  bool caller = false;
  std::uint64_t attempt = 0;
  tunnel::AttemptNonce nonce{};
  bool direct_feasible = true;
  tunnel::PunchPlan plan;
  Instant received_at{};
  Endpoint local;  // the main socket (PeerConfig::local)
};
// The tunnel to `peer` needs `count` sockets besides the main one (birthday probing): the
// runtime binds them on the main socket's address and calls provide_tunnel_sockets().
struct TunnelSocketsNeeded { PeerId peer; std::size_t count = 0; };
// Sockets bound for TunnelSocketsNeeded that the runtime may close now.
struct TunnelSocketsReleased { PeerId peer; std::vector<Endpoint> locals; };
// A tunnel to `peer` is up; setup is measured from connect() (caller) or the offer (callee).
struct TunnelEstablished {
  PeerId peer;
  tunnel::Path path = tunnel::Path::kDirect;
  Endpoint local;
  Endpoint remote;
  Duration rtt{};
  Duration setup{};
};
struct TunnelData { PeerId peer; Bytes bytes; };
// The tunnel (or the attempt to make it) ended: "closed locally", "closed by peer",
// "keepalive timeout", or why the attempt failed.
struct TunnelClosed { PeerId peer; std::string reason; };
// Our supernode is shutting down (docs/protocol.md 0x0208); `alternatives` are the other
// supernodes it named (possibly none). With somewhere else to go the session moves at once
// (Disconnected, Registered, SupernodeChanged "leaving"); otherwise it stays until the
// supernode goes silent.
struct SupernodeLeaving { Endpoint supernode_endpoint; std::vector<Endpoint> alternatives; };
}  // namespace peer_event

using PeerEvent =
    std::variant<peer_event::Registered, peer_event::Disconnected, peer_event::Published,
                 peer_event::LookupDone, peer_event::SearchDone, peer_event::Watching,
                 peer_event::MessageAccepted, peer_event::MessageReceived, peer_event::Delivered,
                 peer_event::Presence, peer_event::RequestFailed, peer_event::LoggedOut,
                 peer_event::NatClassified, peer_event::NatDiscoveryFailed,
                 peer_event::TunnelRequested, peer_event::TunnelRefused,
                 peer_event::PunchStarted, peer_event::TunnelSocketsNeeded,
                 peer_event::TunnelSocketsReleased, peer_event::TunnelEstablished,
                 peer_event::TunnelData, peer_event::TunnelClosed, peer_event::SupernodeLeaving,
                 peer_event::SupernodeChanged, peer_event::SupernodeList>;

struct PeerCounters {
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_unauthenticated = 0;
  std::uint64_t dropped_unexpected = 0;
  std::uint64_t failovers = 0;
  std::uint64_t dropped_tunnel_pushes = 0;  // offers over the bound, pushes for no negotiation
};

// A relayed tunnel whose direct path is feasible tries a direct one after this, then at
// doubling intervals up to kRelayUpgradeMaxInterval, for as long as it lives.
inline constexpr Duration kRelayUpgradeFirstInterval = std::chrono::seconds(30);
inline constexpr Duration kRelayUpgradeMaxInterval = std::chrono::minutes(10);

// Tunnel negotiations a peer keeps at once, each way (requests it made, offers it holds).
inline constexpr std::size_t kMaxPeerNegotiations = 64;

class PeerSession final : public SansIoEndpoint {
 public:
  PeerSession(PeerConfig config, Identity identity, Random random);

  // Begins logging in to the first supernode.
  void start(Instant now);

  std::uint64_t publish(Instant now, const wire::MetaEntries& set);  // merges keys
  std::uint64_t lookup(Instant now, const PeerId& target);
  std::uint64_t search(Instant now, std::vector<wire::SearchTerm> terms, std::uint16_t limit = 20);
  std::uint64_t watch(Instant now, const PeerId& target);
  // Returns the request id; the message id is reported in MessageAccepted and Delivered.
  std::uint64_t send_message(Instant now, const PeerId& to, std::string text);
  void logout(Instant now);

  // Tunnels (docs/protocol.md section 8.5). connect's outcome: PunchStarted, TunnelRefused or
  // RequestFailed (unknown peer, ...) naming the returned request id. accept and refuse answer
  // the last TunnelRequested from `peer` (RequestFailed if there is none, or it expired);
  // an accept leads to PunchStarted naming its request id.
  std::uint64_t connect(Instant now, const PeerId& peer);
  std::uint64_t accept(Instant now, const PeerId& peer);
  std::uint64_t refuse(Instant now, const PeerId& peer, std::string reason);
  // Data through the tunnel to `peer` (false without a tunnel, or over tunnel::kMaxPlaintext).
  bool tunnel_send(Instant now, const PeerId& peer, const std::uint8_t* data, std::size_t size);
  // Closes the tunnel to `peer` (or abandons the attempt to make it).
  void tunnel_close(Instant now, const PeerId& peer);
  // Closes every tunnel and abandons every attempt (e.g. before the application exits).
  void close_all_tunnels(Instant now);
  // The sockets a TunnelSocketsNeeded asked for, once bound.
  void provide_tunnel_sockets(Instant now, const PeerId& peer, std::vector<Endpoint> locals);
  const tunnel::TunnelManager& tunnels() const { return tunnels_; }
  // What connect/accept tell the handshake service about our own sockets (host candidates).
  std::vector<Endpoint> host_candidates() const;
  // Smoothed round-trip time to the current supernode (zero until measured).
  Duration rtt() const { return rtt_.smoothed(); }

  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override;
  void handle_timeout(Instant now) override;
  std::optional<Datagram> poll_transmit() override;
  Instant poll_timeout() const override;
  std::optional<PeerEvent> poll_event();

  bool registered() const { return state_ == State::kRegistered; }
  const PeerId& id() const { return identity_.id(); }
  const Identity& identity() const { return identity_; }
  std::optional<Endpoint> mapped() const { return mapped_; }
  std::optional<Endpoint> current_supernode() const;
  // Every supernode the session may log in to, the current one first after a list arrived.
  const std::vector<Endpoint>& known_supernodes() const { return candidates_; }
  const wire::MetaEntries& metadata() const { return meta_; }
  const std::optional<NatProfile>& nat_profile() const { return nat_profile_; }
  const PeerCounters& counters() const { return counters_; }

 private:
  enum class State { kIdle, kHello, kLogin, kRegistered, kWaitingToRetry, kLoggingOut, kLoggedOut };
  struct Pending {
    std::string command;
    wire::Body body;
    PeerId target;  // lookup/watch/send
    std::uint64_t message_id = 0;
    std::size_t timeouts = 0;  // supernodes that left it unanswered
    int retries = 0;           // session-level retries so far (PeerConfig::request_retries)
    std::vector<wire::PeerInfo> collected;  // search: the pages received so far
  };

  void send_hello(Instant now);
  // Leaves the current supernode: Disconnected, then a login attempt at the next one (or the
  // same one) after the round's pause, or at once.
  void fail_over(Instant now, std::string reason, bool next_supernode = true,
                 bool at_once = false);
  // Supernode lists (peer_failover.cc, docs/protocol.md sections 8.7 and 8.8).
  void on_supernode_list(const std::vector<Endpoint>& list);
  void on_supernode_leaving(Instant now, const std::vector<Endpoint>& alternatives);
  // The candidates become `front`, `shuffled` in a random order (spreading the peers of a dead
  // supernode over the others), the current candidates if `keep_old`, the configured ones,
  // then `back`; without duplicates. The current one is then index 0.
  void set_candidates(std::vector<Endpoint> front, std::vector<Endpoint> shuffled, bool keep_old,
                      std::vector<Endpoint> back);
  void on_registered_at(Instant now);
  // A keepalive outstanding past supernode_silence_limit with nothing heard (kNever: none).
  Instant silence_deadline() const;
  bool login_may_fail_fast() const;
  void finish_logout();
  void on_plain(Instant now, wire::ControlMessage& msg);
  void on_session(Instant now, wire::ControlMessage& msg);
  void on_response(Instant now, std::uint64_t txn, wire::Body& body);
  void on_push(Instant now, std::uint64_t txn, wire::Body& body);
  std::uint64_t enqueue(Instant now, std::string command, wire::Body body, PeerId target = {},
                        std::uint64_t message_id = 0);
  void issue(Instant now, std::uint64_t request);
  void send_plain(Instant now, std::uint64_t txn, wire::Body body, bool track);
  void send_sealed(std::uint64_t txn, wire::Body body);
  void schedule_keepalive(Instant now);
  void start_discovery(Instant now);
  void drain_discovery(Instant now);
  std::uint64_t new_transaction();
  // Starts a tracked transaction, timing it for the RTT estimate.
  void start_tracked(Instant now, std::uint64_t txn, RequestTracker::Builder builder,
                     std::optional<RetransmitPolicy> policy = std::nullopt);
  void answered(Instant now, std::uint64_t txn) { rtt_.answered(txn, now); }
  std::uint32_t rtt_ms() const;
  std::uint64_t answer(Instant now, const PeerId& peer, bool accept, std::string reason);
  void on_tunnel_push(Instant now, wire::Body& body);
  void start_punch(Instant now, const peer_event::PunchStarted& start, Instant requested_at,
                   wire::RelayCredentials relay, bool upgrade);
  void drain_tunnels(Instant now);
  // Relay fallback (peer_relay.cc, docs/protocol.md section 8.6).
  void fall_back_to_relay(Instant now, const PeerId& peer, const std::string& why);
  void on_relay_ready(Instant now, const PeerId& peer, const Endpoint& relayed);
  void on_tunnel_relayed(Instant now, const wire::TunnelRelayed& m);
  void on_attempt_failed(Instant now, const PeerId& peer, const std::string& reason);
  void expire_relay_waits(Instant now);
  void on_tunnel_up(Instant now, const PeerId& peer, tunnel::Path path, Duration setup,
                    Duration rtt);
  void try_upgrades(Instant now);
  Instant next_relay_wait() const;
  // Session-level retries and deadlines (peer_request_retry.cc).
  // Returns true when it failed over to the next supernode (the tracker was cleared).
  bool on_request_timeout(Instant now, std::uint64_t request);
  void give_up_request(std::uint64_t request, std::string reason);
  void retry_due_requests(Instant now);
  void expire_negotiations(Instant now);
  Instant next_retry_or_deadline() const;
  // A keepalive went unanswered: true when that does not yet mean the supernode is lost.
  bool keepalive_loss_tolerated(Instant now);
  const Endpoint& supernode_endpoint() const { return candidates_[supernode_index_]; }

  PeerConfig config_;
  Identity identity_;
  Random random_;
  State state_ = State::kIdle;
  std::vector<Endpoint> candidates_;  // configured, then learned; supernode_index_ is current
  std::size_t supernode_index_ = 0;
  std::optional<Endpoint> registered_at_;  // where the last login succeeded
  std::string move_reason_ = "failover";   // why the session left it
  RequestTracker tracker_;
  std::uint64_t login_txn_ = 0;
  PeerId supernode_id_;
  wire::EphemeralKeyPair ephemeral_;
  wire::Session session_;
  std::optional<Endpoint> mapped_;
  Duration keepalive_interval_{0};
  Instant next_keepalive_ = kNever;
  Instant retry_at_ = kNever;
  std::uint64_t keepalive_txn_ = 0;
  Instant keepalive_sent_ = kNever;  // when the current keepalive's first copy left
  Instant last_heard_ = kNever;      // the last authenticated datagram from the supernode
  int keepalive_losses_ = 0;         // unanswered keepalive schedules in a row

  wire::MetaEntries meta_;
  std::uint64_t record_version_ = 0;
  bool published_once_ = false;

  std::unordered_map<std::uint64_t, Pending> requests_;  // by request id (= transaction id)
  std::deque<std::uint64_t> queued_;                      // waiting for registration
  std::map<std::uint64_t, Instant> retry_due_;            // unanswered, to be sent again then
  std::size_t failures_in_a_row_ = 0;                     // logins lost since the last LoginOk
  std::set<std::pair<PeerId, std::uint64_t>> seen_deliveries_;
  std::deque<std::pair<PeerId, std::uint64_t>> seen_order_;
  // Transactions of pushes already reported: a push whose Ack was lost comes again with the
  // same transaction and is acknowledged again but not reported twice.
  std::set<std::uint64_t> seen_pushes_;
  std::deque<std::uint64_t> seen_push_order_;
  std::set<PeerId> watching_;  // re-watched after failover

  // Tunnel negotiations: our connects by callee (attempt 0 until the supernode named it), and
  // the offers we hold by caller.
  struct Outgoing {
    std::uint64_t request = 0;
    std::uint64_t attempt = 0;
    Instant requested{};
    bool upgrade = false;  // ours, to move a relayed tunnel to a direct path: not reported
  };
  struct Incoming {
    std::uint64_t attempt = 0;
    Instant received{};
    std::uint64_t accept_request = 0;  // our accept, once sent
  };
  std::map<PeerId, Outgoing> outgoing_;
  std::map<PeerId, Incoming> incoming_;
  // Attempts the handshake service started, by peer, until a tunnel is up or they fail: what a
  // relay fallback needs (the plan's public endpoints of the peer, nonce, credentials).
  struct Punched {
    std::uint64_t attempt = 0;
    bool caller = false;
    tunnel::AttemptNonce nonce{};
    tunnel::PunchPlan plan;
    wire::RelayCredentials relay;
    Instant requested_at{};
    bool direct_feasible = true;
    bool upgrade = false;         // ours, to move a relayed tunnel to a direct path
    bool relaying = false;        // the fallback has begun
    Instant relay_wait = kNever;  // caller: give up if no relayed address came by then
  };
  std::map<PeerId, Punched> punched_;
  // Ends our connect `it` with `event` for the application, unless it was our own upgrade of a
  // relayed tunnel: the one place that keeps upgrades from the application.
  std::map<PeerId, Outgoing>::iterator finish_outgoing(std::map<PeerId, Outgoing>::iterator it,
                                                       PeerEvent event);
  // A request failed (error answer, or given up): RequestFailed, and a connect or accept ends
  // its negotiation.
  void fail_request(std::uint64_t request, const PeerId& target, const std::string& command,
                    std::string reason);
  // The caller reports how an attempt the handshake service started ended (peer_outcome.cc,
  // docs/protocol.md section 8.9); upgrades and the callee's side are not reported.
  void report_outcome(Instant now, const Punched& p, wire::OutcomePath path, Duration setup,
                      Duration rtt, const std::string& reason);
  // Ends the attempt to `peer` as failed: TunnelClosed with `reason`, its outcome reported.
  void fail_attempt(Instant now, std::map<PeerId, Punched>::iterator it, const std::string& reason);
  // TunnelRelayed pushes that arrived before our own punch-start for that attempt.
  std::map<PeerId, wire::TunnelRelayed> early_relayed_;
  // Relayed tunnels we asked for whose direct path is feasible: a new negotiation is tried at
  // `next` (backing off), and the tunnel switches when its direct attempt succeeds.
  struct Upgrade {
    Instant next = kNever;
    Duration interval{};
  };
  std::map<PeerId, Upgrade> upgrades_;
  RttEstimator rtt_;

  tunnel::TunnelManager tunnels_;

  std::unique_ptr<NatDiscovery> discovery_;
  std::optional<NatProfile> nat_profile_;

  std::deque<Datagram> transmits_;
  std::deque<PeerEvent> events_;
  PeerCounters counters_;
};

}  // namespace qp2p
