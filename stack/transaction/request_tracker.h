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

class RequestTracker {
 public:
  explicit RequestTracker(RetransmitPolicy policy = {}) : policy_(policy) {}

  // Builds the datagram for each (re)transmission: authenticated messages are sealed afresh
  // each time, since a byte-identical copy would be rejected by the receiver's replay window.
  // Returning nullopt abandons the transaction (e.g. the session it belonged to is gone).
  using Builder = std::function<std::optional<Datagram>()>;

  // Starts a transaction: the first datagram is queued now and retransmitted until complete()
  // is called or the final timeout expires.
  void start(Instant now, std::uint64_t transaction, Builder builder);
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
    Builder builder;
    Endpoint remote;
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
