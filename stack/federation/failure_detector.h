// SWIM's failure detector (Das et al., "SWIM", DSN 2002, sections 3.1 and 4.3): once per
// protocol period a member pings one other, chosen round-robin over a freshly shuffled list so
// every member is probed within a bounded number of periods; without an ack after `ack_timeout`
// it asks `indirect_probes` other members to ping the target on its behalf (ping-req), and if no
// ack, direct or relayed, arrives by the end of the period the target becomes suspect. This file
// keeps the probe in flight and the ping-req relays; membership.h sends and judges.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "stack/core/endpoint.h"
#include "stack/core/instant.h"
#include "stack/core/random.h"
#include "stack/identity/identity.h"

namespace qp2p::federation {

// Ping-req relays remembered at once, and for how long (a relayed ack arriving later is useless
// to the requester, whose period is over).
inline constexpr std::size_t kMaxRelays = 256;

class FailureDetector {
 public:
  struct Probe {
    PeerId target;
    std::uint32_t seq = 0;
    Instant started;
    bool indirect_sent = false;
    bool acked = false;
  };
  struct Relay {
    PeerId origin;
    Endpoint origin_endpoint;
    std::uint32_t origin_seq = 0;
    PeerId target;
    Instant expires;
  };

  explicit FailureDetector(Random random) : random_(std::move(random)) {}

  // The next member to probe among `up` (members alive or suspect, self excluded), walking a
  // shuffled order that is rebuilt when exhausted; nullopt when `up` is empty.
  std::optional<PeerId> next_target(const std::vector<PeerId>& up);
  // Starts a probe (the previous one is forgotten); returns the ping's sequence number.
  std::uint32_t start_probe(const PeerId& target, Instant now);
  const std::optional<Probe>& probe() const { return probe_; }
  void mark_indirect_sent() { if (probe_) probe_->indirect_sent = true; }
  // An ack for `seq` about `about`: true when it answers the probe in flight.
  bool on_ack(std::uint32_t seq, const PeerId& about);
  void end_probe() { probe_.reset(); }

  // Relaying a ping-req: a fresh sequence number for our ping to the target.
  std::uint32_t add_relay(Relay relay);
  // The relay an ack with `seq` from `about` answers (removed), if any.
  std::optional<Relay> take_relay(std::uint32_t seq, const PeerId& about, Instant now);
  void expire_relays(Instant now);

  // Up to `k` members of `candidates` other than `exclude`, chosen at random.
  std::vector<PeerId> pick(std::size_t k, std::vector<PeerId> candidates, const PeerId& exclude);
  Random& random() { return random_; }

 private:
  Random random_;
  std::uint32_t next_seq_ = 1;
  std::vector<PeerId> order_;
  std::size_t order_index_ = 0;
  std::optional<Probe> probe_;
  std::map<std::uint32_t, Relay> relays_;
};

}  // namespace qp2p::federation
