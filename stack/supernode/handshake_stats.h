// What the handshake service knows about traversal, by pair of NAT profiles: offers made,
// answers (accepted, refused, no answer, a side went offline) and the strategy planned for each
// accepted negotiation (simultaneous open, port prediction, birthday probing, or straight to the
// relay). Read by the management API (stack/management/index_api.h) and /metrics.
//
// The peers do not report back how an attempt ended (direct, relayed or failed, and how long it
// took), so these are the supernode's plans, not outcomes; docs/protocol.md section 8.5.
//
// A profile is named by its RFC 4787 behaviours (section 4.1 mapping, section 5 filtering):
// "EIM/EIF", "APDM/APDF", ... with "?" for an axis discovery could not decide, "none" for a peer
// on a public address (nat.levels 0) and "unknown" for one that published no profile. Pairs are
// unordered (the two names sorted), so there are at most 18 * 19 / 2 = 171 of them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "stack/discovery/nat_profile.h"
#include "stack/tunnel/punch_planner.h"

namespace qp2p {

// "EIM/APDF", "none", "unknown" (see the header comment).
std::string nat_class(const std::optional<NatProfile>& profile);

struct NatPairCounters {
  std::uint64_t offers = 0;            // negotiations started (tunnel-offer sent)
  std::uint64_t accepted = 0;          // punch-start pairs sent
  std::uint64_t refused = 0;           // refused by the callee
  std::uint64_t timeouts = 0;          // the callee did not answer in time
  std::uint64_t offline = 0;           // a side left before the negotiation ended
  std::uint64_t simultaneous_open = 0; // accepted, planned as simultaneous open
  std::uint64_t port_prediction = 0;   // accepted, planned with port prediction on a side
  std::uint64_t birthday = 0;          // accepted, planned with birthday probing on a side
  std::uint64_t relay = 0;             // accepted, direct infeasible: straight to the relay
};

class HandshakeStats {
 public:
  // Two class names, sorted, so (a, b) and (b, a) count together.
  using Pair = std::pair<std::string, std::string>;
  static Pair pair_of(const std::optional<NatProfile>& a, const std::optional<NatProfile>& b);

  void offered(const Pair& pair) { ++pairs_[pair].offers; }
  void refused(const Pair& pair) { ++pairs_[pair].refused; }
  void timed_out(const Pair& pair) { ++pairs_[pair].timeouts; }
  void went_offline(const Pair& pair) { ++pairs_[pair].offline; }
  // Counts the accepted negotiation under the hardest strategy either side was given.
  void accepted(const Pair& pair, const tunnel::PairPlan& plan);

  const std::map<Pair, NatPairCounters>& by_pair() const { return pairs_; }

 private:
  std::map<Pair, NatPairCounters> pairs_;
};

}  // namespace qp2p
