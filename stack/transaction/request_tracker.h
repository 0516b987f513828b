// Client transactions over UDP: retransmission with exponential backoff and a final timeout,
// in the style of RFC 8489 section 6.2.1 (RTO doubling, Rc transmissions, Rm * RTO final wait).
// Used by peers for their requests and by supernodes for their pushes (deliveries, presence).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/core/instant.h"

namespace qp2p {

struct RetransmitPolicy {
  // RFC 8489 recommends 500 ms on unknown paths; the control protocol talks to a nearby
  // supernode, so start lower and let backoff cover slow paths.
  Duration initial_rto = std::chrono::milliseconds(250);
  Duration max_rto = std::chrono::seconds(3);   // cap on a single backoff step
  int max_transmissions = 7;                    // Rc
  int final_wait_multiplier = 4;                // Rm: wait Rm * initial RTO after the last send
};

// For messages a time-critical exchange needs every one of (login, tunnel negotiation): twelve
// copies over the same 10.75 s as the default seven (RTO capped at 1 s: 0, 0.25, 0.75, 1.75,
// 2.75 ... 9.75 s), so a lossy path loses all of them far less often (at 74% loss per round
// trip: 2.6% instead of 12%) while a dead peer is given up on just as fast.
inline constexpr RetransmitPolicy kUrgentRetransmitPolicy{std::chrono::milliseconds(250),
                                                          std::chrono::seconds(1), 12, 4};

class RequestTracker {
 public:
  explicit RequestTracker(RetransmitPolicy policy = {}) : policy_(policy) {}

  // Builds the datagram for each (re)transmission: authenticated messages are sealed afresh
  // each time, since a byte-identical copy would be rejected by the receiver's replay window.
  // Returning nullopt abandons the transaction (e.g. the session it belonged to is gone).
  using Builder = std::function<std::optional<Datagram>()>;
  // A builder told when this copy leaves and how long after the first one: for messages that
  // carry a time relative to their arrival (a punch-start's start_after), which a late copy
  // must shorten so that it still names the same moment.
  using TimedBuilder = std::function<std::optional<Datagram>(Instant now, Duration since_first)>;

  // Starts a transaction: the first datagram is queued now and retransmitted until complete()
  // is called or the final timeout expires. `policy` replaces the tracker's for this one
  // transaction (e.g. denser retransmissions for time-critical messages).
  void start(Instant now, std::uint64_t transaction, Builder builder);
  void start_timed(Instant now, std::uint64_t transaction, TimedBuilder builder,
                   std::optional<RetransmitPolicy> policy = std::nullopt);
  // The response arrived; returns false if the transaction was not outstanding.
  bool complete(std::uint64_t transaction);
  bool outstanding(std::uint64_t transaction) const { return entries_.count(transaction) != 0; }
  // Forgets every transaction addressed to `remote` (e.g. when failing over).
  void cancel_to(const Endpoint& remote);
  void clear();

  // Queues due retransmissions and returns the transactions that timed out.
  std::vector<std::uint64_t> handle_timeout(Instant now);
  std::optional<Datagram> poll_transmit();
  Instant poll_timeout() const;
  std::size_t size() const { return entries_.size(); }
  std::uint64_t retransmissions() const { return retransmissions_; }

 private:
  struct Entry {
    TimedBuilder builder;
    RetransmitPolicy policy;
    Endpoint remote;
    Instant first_sent;
    Instant deadline;
    Duration rto;
    int transmissions = 1;
  };
  RetransmitPolicy policy_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::vector<Datagram> queue_;
  std::uint64_t retransmissions_ = 0;
};

}  // namespace qp2p
