// The handshake service's choice of hole-punching strategy for one pair of peers, as a pure
// function of what each peer reported (its host candidates), what the supernode saw (its
// server-reflexive endpoint and round-trip time) and what it published (its NAT profile,
// stack/discovery/nat_profile.h). The result is one PunchPlan per side: what that side's
// HolePunch (hole_punch.h) is configured from, plus when to start.
//
// Strategy per side, by the REMOTE's NAT (RFC 4787 terms):
//   remote mapping endpoint-independent, or no NAT, or allocation preserving
//       -> simultaneous open on the remote's host and server-reflexive candidates;
//   remote mapping dependent, allocation sequential (delta d)
//       -> port prediction around the remote's server-reflexive endpoint;
//   remote mapping dependent, allocation random, and our own mapping endpoint-independent
//       -> if our filtering lets the remote's checks in (endpoint-independent or
//          address-dependent filtering), simultaneous open (the remote's checks arrive from an
//          unpredictable port and are learnt as peer-reflexive); otherwise birthday probing of
//          the remote NAT's address while the remote opens `birthday_local_sockets` sockets;
//   both mappings dependent with random allocation -> direct is infeasible: relay.
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
};

PairPlan plan_punch(const PunchPeer& a, const PunchPeer& b, const PunchPlannerConfig& config = {});

const char* to_string(PunchStrategy strategy);

}  // namespace qp2p::tunnel
