// One trial of the traversal matrix (traversal-matrix-scenario.cc): a fresh ns-3 simulation
// with one supernode and two peers behind their NAT presets (or both behind one NAT), each a
// PeerApplication with NAT discovery on (RFC 5780 against the supernode's two STUN services,
// the profile published as nat.* metadata). Once both have published their profile, A asks for
// a tunnel to B (B auto-accepts); the handshake service plans the punch from both profiles
// (stack/tunnel/punch_planner.h) and both sides run it. The trial then sends a few tdata
// datagrams each way through the tunnel to check that it carries data, and ends.
//
// Everything random in a trial comes from RngSeedManager's seed and the run the caller sets
// (RunTrial sets it), so a trial replays exactly.
#pragma once

#include <cstdint>
#include <string>

#include "ns3/nstime.h"
#include "scenarios/traversal-matrix/traversal-pairs.h"

namespace ns3 {

// A pair of the matrix (traversal-pairs.h): presets a and b, each behind its own NAT, or both
// peers behind one NAT of preset a (same_nat; b == a).
using PairSpec = qp2p::matrix::PairSpec;

struct TrialParameters {
  Time coreDelay = MilliSeconds(10);   // one way, every core link
  Time accessDelay = MilliSeconds(1);  // one way, home LANs and carrier access links
  double loss = 0.0;                   // per packet, at every receiving device
  // Login + discovery + publish of both peers. Without loss a few seconds; at 20% loss on every
  // link a carrier-NAT peer loses 83% of its round trips to the supernode, and login (two
  // exchanges, each a 10.75 s schedule that may go unanswered and start over), discovery (its
  // own 20 s deadline) and the publish add up to more than a minute in some trials. Each login
  // cycle there fails about one time in five, so four in a row (about 70 s lost, then discovery
  // and publish) happen to 1 carrier-NAT login in 600: seen once in 350 trials with a 90 s wait.
  // 180 s leaves room for eight; it is not the tunnel being measured.
  Time readyTimeout = Seconds(180);
  Time tunnelTimeout = Seconds(60);    // from the request to a tunnel (or its end): a failed
                                       // direct attempt (10 s) and a relayed one (30 s)
  uint32_t dataMessages = 20;          // tdata datagrams each way once the tunnel is up
  // Tunnel data are datagrams: at 20% loss on each of the six receptions of a relayed path 74%
  // of them are lost, and all 20 of one direction 1 time in 400. While a direction has had
  // none, sending goes on, up to this many (all lost: 1 in 10^26 at that loss).
  uint32_t maxDataMessages = 200;
  Time dataInterval = MilliSeconds(20);
  // Hostile gateways: the outermost NAT of each site answers unsolicited UDP with ICMP port
  // unreachable (NatGateway IcmpOnUnsolicited), as the emulation's --hostile does.
  bool hostile = false;
  // Peers begin direct attempts with opening checks (PeerApplication OpeningChecks).
  bool openingChecks = true;
};

struct TrialOutcome {
  enum class Kind {
    kDirect,        // a direct tunnel on both sides, data passed both ways
    kRelay,         // a tunnel through the relay on at least one side, data passed both ways
    kNoDirectPath,  // the planner said direct is infeasible, and no tunnel was made
    kFailed,        // anything else (see failure)
  };
  Kind kind = Kind::kFailed;
  std::string failure;  // why, for kFailed and kNoDirectPath
  // A's punch strategy as the service planned it ("" if none came; "none (relay)" when the
  // service said direct is infeasible).
  std::string strategy;
  // Request (A's Connect) to the tunnel being up on both sides, in simulated ms.
  double setupMs = 0.0;
  // The topology's round trips: peer<->supernode (mean of both peers) plus peer<->peer (the
  // shortest path between the hosts: the LAN for one shared NAT), in ms. setupMs / rttMs is
  // the setup time in RTTs.
  double rttMs = 0.0;
  double tunnelRttMs = 0.0;  // A's measured tunnel RTT (0 without a tunnel)
  uint32_t dataAtoB = 0;     // tdata datagrams that arrived (dataMessages sent, or more)
  uint32_t dataBtoA = 0;
  double simulatedSeconds = 0.0;
};

const char* ToString(TrialOutcome::Kind kind);

// Runs one trial with RngSeedManager's run set to `run` (the seed is left as it is). Builds
// and destroys its own simulation.
TrialOutcome RunTrial(const PairSpec& pair, uint64_t run, const TrialParameters& parameters);

}  // namespace ns3
