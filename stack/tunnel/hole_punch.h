// One hole-punching attempt between two peers, sans-IO (stack/core/sans_io.h). The handshake
// service gives both peers each other's candidates, a shared attempt nonce and a common start
// time; each peer runs one HolePunch, which never probes STUN itself (STYLE.md habit 7).
//
// From `start`, the attempt sends authenticated connectivity checks (tunnel_packet.h) on every
// candidate pair (local endpoint x remote endpoint), each pair every pair_interval, the whole
// attempt at most one check per min_send_gap. It answers every valid check it receives, also
// on pairs it did not know (peer-reflexive: a NAT gave the peer an endpoint no one predicted),
// and then checks that pair itself ("triggered check", RFC 8445 section 7.3.1.4); until it
// succeeds, such a pair is retried every pair_interval ahead of the ordinary checks.
//
// A pair succeeds when a response to our own fresh check (random 96-bit transaction id) comes
// back from the pair's remote to the pair's local, signed by the expected peer over both
// ephemeral keys and the attempt nonce: so a stray, replayed or forged packet never makes a
// pair succeed, and only the holder of the expected identity key can complete one.
//
// Nomination (first success wins, races resolved by the tie-breaker): both sides learn each
// other's random 64-bit tie-breaker from the first valid check; the larger one (then the larger
// peer id) is "controlling". The controlling side nominates the first pair that succeeds: it
// stops every other pair and repeats a check with the nominate flag there; the response to it
// establishes. The controlled side establishes on a pair once the peer nominated it and its own
// check on it succeeded. If the response to the nominating check is lost after the peer
// established, the peer's tunnel (tunnel.h) answers the repeated check, or its first
// authenticated packet on that pair confirms the nomination; likewise an authenticated packet
// of the peer's tunnel on a pair the peer nominated establishes the controlled side whose own
// checks there were all lost.
//
// Strategies (what the handshake service picks from both NAT profiles):
//   kSimultaneousOpen  the candidates as given (host, server-reflexive): both sides' NATs open a
//                      mapping towards each other and the second one's checks get through.
//   kPortPrediction    plus predicted endpoints around a base (the remote's server-reflexive
//                      endpoint): base + delta * i for i in [-before, -1] and [1, after], for a
//                      remote symmetric NAT allocating sequentially.
//   kBirthday          plus `probes` distinct random remote ports on the remote NAT's address:
//                      against a symmetric NAT with random ports whose peer opens K local ports
//                      (K mappings), M probes hit one with probability 1 - (1 - K/N)^M over an
//                      N-port pool (K = 256, M = 2048, N = 64512: 1 - 3e-4).
//   The side behind the symmetric NAT gets its K ports as `locals` (bounded by
//   kMaxLocalEndpoints) and checks the remote candidates from each; probes (bounded by
//   kMaxBirthdayProbes) leave from the first local only. Pairs: K x candidates + M.
//
// Waiting for the peer (wait_for_peer, the relayed side of the relay fallback): no check leaves
// before the peer's first valid check arrived, and then only on the pairs the peer reached
// (triggered checks, then their retries), as an ICE-lite agent only answers (RFC 8445 section
// 2.5). A relayed address has no NAT to open, so its checks could only reach the caller's NAT
// before the caller sent to the relay; a hostile gateway refuses them and, on Linux, the refused
// flow then blocks the caller's own flow to the relay (nat-models/nat_table.h).
//
// Opening checks (open_ttl; docs/protocol.md section 8.6): a check that reaches the peer's NAT
// before the peer has sent towards us is dropped by an ordinary NAT, but a hostile one (Linux
// whose INPUT chain accepts: ICMP port unreachable) keeps a conntrack entry for the refused flow,
// and that entry then moves the peer's own mapping towards us to another port (or, where the
// port is pinned, blocks it; nat-models/nat_table.h): the pair no longer meets. With open_ttl
// (our NAT levels + 1) the first check on every pair leaves with that IP TTL: it opens each of
// our NATs on the way (mapping and filter permission) and expires at the first router behind
// them, before the peer's NAT. They leave from the moment the attempt is built, before `start`,
// one per kOpeningCheckGap, in pair order (a sequential NAT allocates its mappings in the order
// the peer predicted); the planner's start margin lets both sides' opening checks out before
// either side's first full check arrives, so that one finds the other NAT open. Birthday probes
// are never opening checks (they must reach the peer's NAT). The side that opens several
// sockets for the peer's birthday probes (more than one local) opens only its pairs towards the
// peer's public endpoints in the opening round, and sends every check on a pair with open_ttl
// until the peer reached that pair: its mappings only have to exist for a probe to hit them,
// while a full check would reach the prober's NAT before the probe opened it there.
// Without hostile gateways an opening check changes nothing (the first check of a pair is
// dropped at the peer's NAT either way), and open_ttl 0 (no NAT, or levels unknown) sends none.
//
// Outcome events: Established{local, remote, rtt}, then take_tunnel_params() builds the Tunnel;
// or Failed{reason} at start + deadline (or at start for an invalid config).
//
// "One change, then drain": after every input, drain poll_transmit() and poll_event() and
// re-arm the timer at poll_timeout().
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "stack/core/random.h"
#include "stack/core/sans_io.h"
#include "stack/identity/identity.h"
#include "stack/tunnel/tunnel.h"
#include "stack/tunnel/tunnel_keys.h"
#include "stack/tunnel/tunnel_packet.h"
#include "stack/tunnel/tunnel_timing.h"
#include "stack/wire/session.h"

namespace qp2p::tunnel {

enum class PunchStrategy : std::uint8_t { kSimultaneousOpen, kPortPrediction, kBirthday };

enum class CandidateKind : std::uint8_t {
  kHost,             // the peer's own socket address (reachable on the same LAN)
  kServerReflexive,  // its NAT's external endpoint as a STUN server saw it
  kPredicted,        // port prediction
  kBirthdayProbe,    // birthday probing
  kPeerReflexive,    // learnt from a check that arrived from an unknown endpoint
  kRelayed,          // the peer's relayed transport address (TURN, the relay fallback)
};
const char* to_string(CandidateKind kind);

struct Candidate {
  Endpoint endpoint;
  CandidateKind kind = CandidateKind::kHost;
};

struct PortPrediction {
  Endpoint base;  // the remote's server-reflexive endpoint
  int delta = 1;  // the remote NAT's step between consecutive mappings (may be negative)
  int before = 0;
  int after = 16;
};

struct BirthdayProbing {
  IpAddress address;  // the remote NAT's public address
  int probes = 0;     // distinct random ports in [port_min, port_max] to check
  std::uint16_t port_min = 1024;
  std::uint16_t port_max = 65535;
};

struct PunchPacing {
  Duration pair_interval = kDefaultCheckPairInterval;
  Duration min_send_gap = kDefaultCheckMinGap;
};

struct HolePunchConfig {
  Identity identity;
  PeerId remote;
  AttemptNonce attempt_nonce{};  // from the handshake service, the same on both sides
  std::vector<Endpoint> locals;  // sockets the attempt may send from (birthday: K of them)
  std::vector<Candidate> remote_candidates;
  PunchStrategy strategy = PunchStrategy::kSimultaneousOpen;
  PortPrediction prediction;  // kPortPrediction
  BirthdayProbing birthday;   // kBirthday
  Instant start{};            // synchronised start (from the handshake service)
  Duration deadline = kDefaultPunchDeadline;  // measured from start
  PunchPacing pacing;
  bool wait_for_peer = false;  // check only where the peer's checks arrived (see above)
  std::uint8_t open_ttl = 0;   // IP TTL of opening checks (see above); 0: none
};

namespace hole_punch_event {
struct Established {
  Endpoint local;
  Endpoint remote;
  Duration rtt{};
};
struct Failed {
  std::string reason;
};
}  // namespace hole_punch_event

using HolePunchEvent = std::variant<hole_punch_event::Established, hole_punch_event::Failed>;

struct HolePunchCounters {
  std::uint64_t checks_sent = 0;  // requests, including nominating ones
  std::uint64_t opening_checks_sent = 0;  // the opening round's (not in checks_sent)
  std::uint64_t responses_sent = 0;
  std::uint64_t requests_received = 0;  // valid ones
  std::uint64_t responses_received = 0;  // valid and matched
  std::uint64_t pairs_succeeded = 0;
  std::uint64_t peer_reflexive_pairs = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_wrong_sender = 0;      // a check from another identity
  std::uint64_t dropped_bad_signature = 0;     // claims the peer's identity, signature invalid
  std::uint64_t dropped_stale = 0;             // names another attempt's ephemeral key
  std::uint64_t dropped_unknown_transaction = 0;
  std::uint64_t dropped_asymmetric = 0;        // response not from the pair it answers
  std::uint64_t dropped_sealed = 0;            // a sealed packet we cannot use yet
  std::uint64_t dropped_wrong_local = 0;       // arrived on a socket the attempt does not use
};

class HolePunch final : public SansIoEndpoint {
 public:
  HolePunch(HolePunchConfig config, Random random);

  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override;
  void handle_timeout(Instant now) override;
  std::optional<Datagram> poll_transmit() override;
  Instant poll_timeout() const override;
  std::optional<HolePunchEvent> poll_event();

  bool established() const { return state_ == State::kEstablished; }
  bool finished() const { return state_ == State::kEstablished || state_ == State::kFailed; }
  // Valid once the peer's first check was seen.
  bool controlling() const;
  // After Established, once: what the Tunnel is built from (moves the early packets out).
  std::optional<TunnelParams> take_tunnel_params();

  // The sockets the runtime must have open (config.locals).
  const std::vector<Endpoint>& local_endpoints() const { return config_.locals; }
  std::size_t pair_count() const { return pairs_.size(); }
  // The id the peer's sealed packets to us carry (routes early data to this attempt).
  std::uint64_t tunnel_id() const { return side_.tunnel_id; }
  const PeerId& remote() const { return config_.remote; }
  const HolePunchCounters& counters() const { return counters_; }

 private:
  enum class State : std::uint8_t { kWaiting, kRunning, kEstablished, kFailed };
  struct Pair {
    Endpoint local;
    Endpoint remote;
    CandidateKind kind;
    bool succeeded = false;
    bool nominated_by_peer = false;
    bool peer_reached = false;  // a valid check from the peer arrived on it
    bool opened = false;        // an opening check left on it (or it needs none)
    int checks = 0;
    Duration rtt{};
  };
  struct Outstanding {
    std::size_t pair;
    Instant sent;
    bool nominate;
  };

  std::optional<std::string> build_pairs();
  std::optional<std::size_t> add_pair(const Endpoint& local, const Endpoint& remote,
                                      CandidateKind kind);
  void schedule(std::size_t pair, Instant at);
  void unschedule(std::size_t pair);
  void trigger(std::size_t pair);
  void clear_schedule();
  // `opening_round`: from the opening queue (counted apart, not rescheduled).
  void send_check(Instant now, std::size_t pair, bool opening_round = false);
  void send_opening(Instant now);
  std::uint8_t check_ttl(const Pair& p, bool nominate) const;
  void handle_check(Instant now, const Endpoint& local, const Endpoint& remote,
                    const CheckPacket& check);
  void handle_request(Instant now, const Endpoint& local, const Endpoint& remote,
                      const CheckPacket& check);
  void handle_response(Instant now, const Endpoint& local, const Endpoint& remote,
                       const CheckPacket& check);
  void handle_sealed(const Endpoint& local, const Endpoint& remote, const std::uint8_t* data,
                     std::size_t size, const SealedPacket& packet);
  bool learn_peer(const CheckPacket& check);
  std::optional<std::size_t> confirmed_pair(const Endpoint& local, const Endpoint& remote) const;
  bool awaiting_nomination(const Pair& p) const;
  void nominate(std::size_t pair);
  void establish(std::size_t pair);
  void fail(std::string reason);

  HolePunchConfig config_;
  Random random_;
  State state_ = State::kWaiting;
  std::optional<std::string> config_error_;
  wire::EphemeralKeyPair ephemeral_;
  AttemptSide side_;
  Instant deadline_;

  // The peer, once its first valid check arrived.
  bool peer_known_ = false;
  X25519Key remote_ephemeral_{};
  std::uint64_t remote_tie_breaker_ = 0;
  std::uint64_t remote_tunnel_id_ = 0;
  std::optional<TunnelKeys> keys_;

  std::vector<Pair> pairs_;
  std::map<std::pair<Endpoint, Endpoint>, std::size_t> pair_index_;
  std::set<std::pair<Instant, std::size_t>> due_;  // pair checks by due time, then pair order
  // Retries of pairs the peer's checks arrived on: served before every ordinary check that is
  // due, so with hundreds of pairs (birthday probing) the one path known to work in one direction
  // is retried every pair_interval instead of once per round of all pairs.
  std::set<std::pair<Instant, std::size_t>> hot_due_;
  std::map<std::size_t, std::pair<Instant, bool>> due_of_;  // pair -> its entry (in hot_due_?)
  // Triggered checks (RFC 8445 section 6.1.4.1): pairs the peer just reached us on, and the
  // nominated pair. Served before any ordinary check, first in first out, no duplicates.
  std::deque<std::size_t> triggered_;
  Instant next_send_{};                            // global pacing slot
  // Pairs still to get their opening check (open_ttl), in pair order, and its own pacing slot
  // (the epoch: due at the first call).
  std::deque<std::size_t> opening_;
  Instant next_open_{};
  std::map<TransactionId, Outstanding> outstanding_;
  std::deque<TransactionId> outstanding_order_;
  std::optional<std::size_t> nominated_;     // controlling: the pair we nominated
  std::optional<std::size_t> established_;   // the pair the tunnel runs on
  std::size_t peer_reflexive_ = 0;

  std::vector<Datagram> early_packets_;
  bool params_taken_ = false;
  std::deque<Datagram> transmits_;
  std::deque<HolePunchEvent> events_;
  HolePunchCounters counters_;
};

}  // namespace qp2p::tunnel
