// The federation scenario (issue 5) as a function, so the program (federation-scenario.cc) and
// the tests (tests/sim/federation/) run the same thing: S supernodes federated with a network
// secret and two seeds, P peers behind a mix of NAT presets (several hosts per NAT site), churn
// (peers that log in late, peers that leave with and without logging out), one supernode crash,
// one partition of the supernodes into two halves and its heal, publishes and instant messages
// throughout, and a quiet end where everything should have settled. Deterministic for a given
// RngSeed / RngRun.
//
// Everything is measured through what a supernode shows (federation-view.h) and what peers
// report (events), never from inside the core; federation-bed.h has the measurement rules.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "ns3/nstime.h"

namespace ns3 {

struct FederationOptions {
  uint32_t supernodes = 4;
  uint32_t peers = 48;
  uint32_t hostsPerNat = 2;  // peers behind one NAT site (a home LAN); "open" hosts: one link each
  // Fraction of the peers that log in late (at a random time) and, as many others, that leave
  // (half log out, half go silent and expire).
  double churn = 0.1;
  uint32_t publishesPerPeer = 2;  // updates of its record, at random times
  uint32_t messages = 0;          // instant messages in all (0: one per peer)
  // The initial peers (all but the late joiners) log in evenly over this, from 1 s: the login
  // wave whose records every supernode receives (peers / loginSpread a second network-wide).
  Time loginSpread = Seconds(5);
  // Directory push batching at every supernode (DirectoryNodeConfig::push.interval_ms; 0: one
  // record per payload, as before batching).
  Time pushInterval = MilliSeconds(50);
  Time duration = Seconds(100);
  // No churn, publish or message starts in the last `quiet`: the end state is checked.
  Time quiet = Seconds(20);
  Time crashAt = Seconds(20);  // the last supernode stops dead (0: no crash)
  Time partitionAt = Seconds(45);  // the first half of the supernodes from the second (0: none)
  Time healAt = Seconds(60);
  double loss = 0.0;               // per packet, every receiving device
  Time delay = MilliSeconds(10);   // one way, every core link (access links: 1 ms)
  std::string networkSecret = "qp2p-federation-scenario-secret";
  bool trace = false;  // print every crash/partition/convergence moment as it happens
  // Membership changes within this window reach the peers in one supernode-list push.
  Time listDebounce = Seconds(1);
};

// A count and how many of them succeeded.
struct Ratio {
  uint64_t ok = 0;
  uint64_t total = 0;
  double Value() const { return total ? double(ok) / double(total) : 1.0; }
  bool All() const { return ok == total; }
};

struct FederationReport {
  nlohmann::ordered_json json;  // the whole result (federation-scenario.cc writes it)

  // The figures the tests assert on (also in `json`).
  Ratio visibleAtHome;        // publishes visible at the supernode the peer published at
  Ratio visibleEverywhere;    // publishes visible at every live supernode
  Ratio deliveredSame;        // messages between online peers on one supernode
  Ratio deliveredCross;       // ... on different supernodes (not across an active partition)
  // Seconds from the event until every live supernode agreed on the member set (nullopt: never).
  std::optional<double> membershipAfterCrash;
  std::optional<double> membershipAfterHeal;
  std::optional<double> failureDetection;  // crash until every live supernode declared it dead
  // Seconds until every live supernode showed the same directory, holding every online peer's
  // latest record (nullopt: never in the run).
  std::optional<double> directoryAfterCrash;
  std::optional<double> directoryAfterHeal;
  // At the end: online peers' latest records missing at a live supernode, and whether every live
  // supernode showed the same digest.
  uint64_t recordsMissingAtEnd = 0;
  bool digestsEqualAtEnd = false;
  uint32_t liveSupernodes = 0;
};

// Builds, runs and destroys one simulation (Simulator::Destroy at the end).
FederationReport RunFederation(const FederationOptions& options);

}  // namespace ns3
