// What the handshake service knows about traversal, by pair of NAT profiles: offers made,
// answers (accepted, refused, no answer, a side went offline), the strategy planned for each
// accepted negotiation (simultaneous open, port prediction, birthday probing, or straight to the
// relay), and how the attempts ended as their callers reported (tunnel-outcome: direct, relayed
// or failed, with setup times in a fixed histogram per path). Read by the management API
// (stack/management/index_api.h) and /metrics; docs/protocol.md sections 8.5 and 8.9.
//
// A profile is named by its RFC 4787 behaviours (section 4.1 mapping, section 5 filtering):
// "EIM/EIF", "APDM/APDF", ... with "?" for an axis discovery could not decide, "none" for a peer
// on a public address (nat.levels 0) and "unknown" for one that published no profile. Pairs are
// unordered (the two names sorted), so there are at most 18 * 19 / 2 = 171 of them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "stack/discovery/nat_profile.h"
#include "stack/tunnel/punch_planner.h"
#include "stack/wire/control_message.h"

namespace qp2p {

// "EIM/APDF", "none", "unknown" (see the header comment).
std::string nat_class(const std::optional<NatProfile>& profile);

// Setup times of tunnels in fixed buckets: memory stays the same whatever the traffic (at most
// 171 pairs x 2 paths of these), and the buckets are those of /metrics' histogram.
struct SetupHistogram {
  // Upper bounds (inclusive) in ms: from a LAN round trip to a relay fallback after a slow answer.
  static constexpr std::array<std::uint32_t, 19> kBoundsMs = {
      50,   100,  200,   300,   500,   750,   1000,  1500,  2000,  3000,
      5000, 7500, 10000, 15000, 20000, 30000, 45000, 60000, 120000};
  std::array<std::uint64_t, kBoundsMs.size() + 1> buckets{};  // the last: above every bound
  std::uint64_t count = 0;
  std::uint64_t sum_ms = 0;

  void add(std::uint32_t ms);
  void merge(const SetupHistogram& other);
  friend bool operator==(const SetupHistogram& a, const SetupHistogram& b) {
    return a.buckets == b.buckets && a.count == b.count && a.sum_ms == b.sum_ms;
  }
  // The q-quantile (0 < q <= 1) in ms, interpolated linearly inside its bucket as Prometheus'
  // histogram_quantile() does (an estimate, exact to the bucket); 0 without samples. Samples above
  // the last bound are reported as the last bound.
  double quantile(double q) const;
};

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
  // Outcomes reported by the callers (tunnel-outcome), one per accepted attempt at most.
  std::uint64_t outcome_direct = 0;
  std::uint64_t outcome_relay = 0;
  std::uint64_t outcome_failed = 0;
  std::uint64_t tunnel_rtt_ms_sum = 0;  // over direct and relayed tunnels: the mean RTT
  SetupHistogram direct_setup;          // setup times of direct tunnels
  SetupHistogram relay_setup;           // ... and of relayed ones (failures have none)
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
  // A caller's report of how an accepted attempt ended (validated by the handshake service).
  void outcome(const Pair& pair, wire::OutcomePath path, std::uint32_t setup_ms,
               std::uint32_t rtt_ms);

  const std::map<Pair, NatPairCounters>& by_pair() const { return pairs_; }

 private:
  std::map<Pair, NatPairCounters> pairs_;
};

}  // namespace qp2p
