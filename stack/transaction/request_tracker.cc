// RFC 8489 section 6.2.1 retransmission schedule (see request_tracker.h).
#include "stack/transaction/request_tracker.h"

#include <algorithm>

#include "stack/transaction/retransmit_backoff.h"

namespace qp2p {

void RequestTracker::start(Instant now, std::uint64_t transaction, Builder builder) {
  start_timed(now, transaction,
              [builder = std::move(builder)](Instant, Duration) { return builder(); });
}

void RequestTracker::start_timed(Instant now, std::uint64_t transaction, TimedBuilder builder,
                                 std::optional<RetransmitPolicy> policy) {
  auto first = builder(now, Duration::zero());
  if (!first) return;
  const RetransmitPolicy p = policy.value_or(policy_);
  Entry e{std::move(builder), p, first->remote, now, now + p.initial_rto, p.initial_rto, 1};
  queue_.push_back(std::move(*first));
  if (p.max_transmissions <= 1) e.deadline = now + p.initial_rto * p.final_wait_multiplier;
  entries_[transaction] = std::move(e);
}

bool RequestTracker::complete(std::uint64_t transaction) { return entries_.erase(transaction) > 0; }

void RequestTracker::cancel_to(const Endpoint& remote) {
  for (auto it = entries_.begin(); it != entries_.end();)
    it = it->second.remote == remote ? entries_.erase(it) : std::next(it);
}

void RequestTracker::clear() {
  entries_.clear();
  queue_.clear();
}

std::vector<std::uint64_t> RequestTracker::handle_timeout(Instant now) {
  std::vector<std::uint64_t> timed_out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.deadline > now) {
      ++it;
      continue;
    }
    const RetransmitPolicy& p = e.policy;
    if (e.transmissions >= p.max_transmissions) {
      timed_out.push_back(it->first);
      it = entries_.erase(it);
      continue;
    }
    auto again = e.builder(now, now - e.first_sent);
    if (!again) {
      it = entries_.erase(it);
      continue;
    }
    queue_.push_back(std::move(*again));
    ++e.transmissions;
    ++retransmissions_;
    e.deadline = now + next_retransmit_wait(p, e.transmissions, e.rto);
    ++it;
  }
  return timed_out;
}

std::optional<Datagram> RequestTracker::poll_transmit() {
  if (queue_.empty()) return std::nullopt;
  Datagram d = std::move(queue_.front());
  queue_.erase(queue_.begin());
  return d;
}

Instant RequestTracker::poll_timeout() const {
  Instant earliest = kNever;
  for (const auto& [id, e] : entries_) earliest = std::min(earliest, e.deadline);
  return earliest;
}

}  // namespace qp2p
