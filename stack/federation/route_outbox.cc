// Reliable tunnel-negotiation payloads between member supernodes (see route_outbox.h). The
// schedule is RFC 8489 section 6.2.1's, as RequestTracker runs it for peers' requests.
#include "stack/federation/route_outbox.h"

#include <algorithm>

#include "stack/transaction/retransmit_backoff.h"

namespace qp2p::federation {

Bytes RouteOutbox::copy_at(const Entry& e, Duration since_first) {
  if (e.message.type != HandshakeRouteType::kPunch || since_first <= Duration::zero())
    return encode(e.message);
  RouteHandshake late = e.message;
  const std::int64_t late_ms = to_ms(since_first);
  late.plan.start_after_ms = static_cast<std::uint32_t>(
      std::max<std::int64_t>(0, std::int64_t{late.plan.start_after_ms} - late_ms));
  return encode(late);
}

std::optional<Bytes> RouteOutbox::start(Instant now, const PeerId& to, const RouteHandshake& m) {
  const Key key{m.attempt, m.type};
  if (!entries_.count(key) && entries_.size() >= max_messages_) return std::nullopt;
  Entry e{to, m, now, now + policy_.initial_rto, policy_.initial_rto, 1};
  if (policy_.max_transmissions <= 1)
    e.deadline = now + policy_.initial_rto * policy_.final_wait_multiplier;
  Bytes first = copy_at(e, Duration::zero());
  entries_[key] = std::move(e);
  return first;
}

bool RouteOutbox::acknowledged(const PeerId& from, const RouteHandshake& ack) {
  auto it = entries_.find({ack.attempt, ack.acked});
  if (it == entries_.end() || it->second.to != from) return false;
  const RouteHandshake& sent = it->second.message;
  if (sent.caller != ack.caller || sent.callee != ack.callee) return false;
  // An ack of an address this message no longer carries (it was replaced) completes nothing.
  if (ack.acked == HandshakeRouteType::kRelayed && sent.relayed != ack.relayed) return false;
  entries_.erase(it);
  return true;
}

void RouteOutbox::cancel(std::uint64_t attempt) {
  entries_.erase(entries_.lower_bound({attempt, HandshakeRouteType::kOffer}),
                 entries_.upper_bound({attempt, HandshakeRouteType::kCancel}));
}

const RouteHandshake* RouteOutbox::in_flight(std::uint64_t attempt, HandshakeRouteType type,
                                             const PeerId& to) const {
  auto it = entries_.find({attempt, type});
  return it == entries_.end() || it->second.to != to ? nullptr : &it->second.message;
}

std::vector<RouteOutbox::Expired> RouteOutbox::handle_timeout(Instant now,
                                                              std::vector<Copy>& copies) {
  std::vector<Expired> expired;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.deadline > now) {
      ++it;
      continue;
    }
    if (e.transmissions >= policy_.max_transmissions) {
      expired.push_back({e.to, std::move(e.message)});
      it = entries_.erase(it);
      continue;
    }
    copies.push_back({e.to, copy_at(e, now - e.first_sent)});
    ++e.transmissions;
    ++retransmissions_;
    e.deadline = now + next_retransmit_wait(policy_, e.transmissions, e.rto);
    ++it;
  }
  return expired;
}

Instant RouteOutbox::poll_timeout() const {
  Instant earliest = kNever;
  for (const auto& [key, e] : entries_) earliest = std::min(earliest, e.deadline);
  return earliest;
}

}  // namespace qp2p::federation
