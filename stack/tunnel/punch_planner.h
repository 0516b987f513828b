// The handshake service's choice of hole-punching strategy for one pair of peers, as a pure
// function of what each peer reported (its host candidates), what the supernode saw (its
// server-reflexive endpoint and round-trip time) and what it published (its NAT profile,
// stack/discovery/nat_profile.h). The result is one PunchPlan per side: what that side's
// HolePunch (hole_punch.h) is configured from (make_punch_config), plus when to start.
//
// Strategy per side, by the REMOTE's NAT (RFC 4787 terms):
//   both behind the same NAT (one public address)
//       -> simultaneous open on host and server-reflexive candidates: the host path stays on the
//          LAN; the reflexive path works where the shared NAT hairpins (a carrier NAT, REQ-9);
//   remote mapping endpoint-independent, or no NAT, or allocation preserving
//       -> simultaneous open on the remote's host and server-reflexive candidates;
//   remote mapping dependent, allocation sequential (delta d)
//       -> port prediction: base + d * [1, after] around the remote's server-reflexive endpoint.
//          When our own mapping is dependent and sequential too, each of our predicted ports
//          also opens a new mapping on our NAT, so the predictions must line up: a side that
//          contacts c destinations before its predictions gives its k-th prediction the port
//          base + (c_remote + k) * d, where c_remote is the number of destinations the remote
//          contacts first (our candidates). Then our (c + k)-th mapping goes to the remote's
//          (c + k)-th mapping and vice versa, for every k (each NAT's n-th new mapping after the
//          server-reflexive one gets base + n * d);
//   remote mapping unknown (no profile, or discovery could not tell), allocation not random
//       -> conservative: port prediction (delta 1 unless known) around the remote's newest
//          mapping, which still checks its host and server-reflexive candidates: it reaches an
//          endpoint-independent NAT as simultaneous open would, and a sequential symmetric one;
//          unknown mappings never make a pair infeasible (feasibility needs known dependence);
//   remote mapping dependent, allocation random, and our own mapping endpoint-independent
//       -> if our filtering lets the remote's checks in (endpoint-independent or
//          address-dependent filtering), simultaneous open (the remote's checks arrive from an
//          unpredictable port and are learnt as peer-reflexive); otherwise birthday probing of
//          the remote NAT's address while the remote opens `birthday_local_sockets` sockets;
//   both mappings dependent, at least one allocating randomly -> direct is infeasible: relay.
//
// Why the last case is infeasible, also for random against sequential (symmetric against
// symmetric-sequential, both filtering address-and-port-dependently): a datagram from A passes
// B's NAT only if it leaves A's mapping x towards B's port q, and B's mapping q was opened
// towards exactly A:x. A's mapping x is created by A sending to B:q, so A must name q before any
// packet of B got through; B's q is a fresh random port for every destination. A sequential A
// can be predicted by B (B knows which x A's next probe will use), but then each of A's probes
// hits only if B has a mapping towards that x whose random port is the q A guessed: probability
// k_x / N for k_x mappings of B towards x, N = 64512 pool ports. Over all probes the expected
// number of hits is sum(k_x) / N = T / N for T mappings B opened in total, and one mapping per
// external port bounds T <= N. At the rate bound (one check per 2 ms for 10 s: T <= 5000) that
// is at most 5000 / 64512 = 7.8% per attempt, and even exhausting B's whole pool gives
// 1 - 1/e = 63%: far below the 95% a feasible pair must reach. Two random sides are worse. The
// birthday case above works because the endpoint-independent side keeps ONE mapping for every
// probe, so its K probes and the remote's M mappings meet: 1 - (1 - K/N)^M.
//
// Both sides are told to start at the same moment: the service sends both plans at once, and
// each side waits start_after = (largest one-way delay) - (its own one-way delay) + margin,
// one-way delays estimated as half the measured round-trip times.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stack/discovery/nat_profile.h"
#include "stack/tunnel/hole_punch.h"

namespace qp2p::tunnel {

// One peer as the handshake service knows it.
struct PunchPeer {
  PeerId id;
  std::optional<NatProfile> profile;  // from its published nat.* metadata; nullopt: unknown
  std::vector<Endpoint> host;         // its own socket addresses (LAN path, no NAT involved)
  Endpoint reflexive;                 // where its datagrams reach the supernode from
  Duration rtt{};                     // supernode <-> peer round-trip time (0: unknown)
};

// What one side of the pair is told.
struct PunchPlan {
  PeerId remote;
  PunchStrategy strategy = PunchStrategy::kSimultaneousOpen;
  // Sockets this side sends from: its main socket plus local_sockets - 1 extra ones the runtime
  // opens for the attempt (birthday probing's K mappings).
  std::size_t local_sockets = 1;
  std::vector<Candidate> remote_candidates;
  PortPrediction prediction;  // kPortPrediction
  BirthdayProbing birthday;   // kBirthday
  Duration start_after{};     // from the moment the plan arrives
  Duration deadline = kDefaultPunchDeadline;
};

struct PunchPlannerConfig {
  int predicted_ports_after = 16;   // port prediction: base + delta * [1, after]
  int predicted_ports_before = 0;
  std::size_t birthday_local_sockets = 256;  // K
  int birthday_probes = 2048;                // M
  Duration start_margin = std::chrono::milliseconds(5);
  Duration deadline = kDefaultPunchDeadline;
};

struct PairPlan {
  bool direct_feasible = true;  // false: go straight to the relay
  PunchPlan a;                  // for peer a (remote = b)
  PunchPlan b;                  // for peer b (remote = a)
  std::string rationale;        // one line for logs, e.g. "a: simultaneous-open, b: prediction(+1)"
  bool same_nat = false;        // both peers share one public address
};

PairPlan plan_punch(const PunchPeer& a, const PunchPeer& b, const PunchPlannerConfig& config = {});

// The HolePunch configuration one side runs from its plan: `locals` are its main socket first,
// then the plan.local_sockets - 1 extra ones the runtime bound; `start` is when the plan arrived
// plus plan.start_after.
HolePunchConfig make_punch_config(const PunchPlan& plan, const Identity& identity,
                                  const AttemptNonce& nonce, std::vector<Endpoint> locals,
                                  Instant start);

// The IP TTL of a peer's opening checks (hole_punch.h) from its own NAT profile: one hop per NAT
// level, so the check passes each of our NATs (a router forwards a datagram only while its TTL
// stays above zero) and expires at the first router behind the outermost one, before it can
// reach the peer's NAT. 0 (no opening checks) without a NAT, when the levels are not known, or
// behind an endpoint-independent filter (it admits the peer's first check whenever it comes).
std::uint8_t opening_check_ttl(const NatProfile& own);

const char* to_string(PunchStrategy strategy);

}  // namespace qp2p::tunnel
