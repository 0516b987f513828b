// Requests held for a target peer this supernode's directory does not know yet (docs/
// protocol.md section 14.6, "Held requests"): instant messages and tunnel connects. While the
// directory catches up with members that came up (a partition healed, a member returned), a
// peer that logged in on the other side is missing here for seconds; a request for it is then
// held instead of refused "unknown or offline", and handled as if just received the moment the
// peer's presence record arrives. The sender keeps retransmitting its request meanwhile (a copy,
// same sender and transaction, is absorbed), and gets the refusal when the catch-up ends or the
// hold runs out. Every hold lasts the same time, so the queue is in deadline order. Bounded by
// `capacity`; sans-IO.
#pragma once

#include <cstdint>
#include <deque>
#include <variant>
#include <vector>

#include "stack/core/instant.h"
#include "stack/identity/identity.h"
#include "stack/wire/control_message.h"

namespace qp2p {

// What may be held: the requests that name a target peer to reach.
using HoldableRequest = std::variant<wire::SendMessage, wire::TunnelConnect>;

inline const PeerId& target_of(const HoldableRequest& request) {
  return std::visit([](const auto& r) -> const PeerId& { return r.to; }, request);
}

struct HeldRequest {
  PeerId sender;
  std::uint64_t transaction = 0;  // the sender's request, answered when released or expired
  HoldableRequest request;
  Instant until;

  const PeerId& target() const { return target_of(request); }
};

class HeldRequests {
 public:
  HeldRequests(Duration hold_for, std::size_t capacity)
      : hold_for_(hold_for), capacity_(capacity) {}

  // Holds `request` from `sender` until now + hold_for; false when full (the caller refuses at
  // once).
  bool hold(Instant now, const PeerId& sender, std::uint64_t transaction,
            HoldableRequest request);
  // A request of `sender` with this transaction is held: a retransmitted copy, absorbed whatever
  // the directory is doing by the time it comes.
  bool holds(const PeerId& sender, std::uint64_t transaction) const;
  // The requests held for `target`, now that it is known (in the order they came).
  std::vector<HeldRequest> release(const PeerId& target);
  // The holds that ran out by `now`.
  std::vector<HeldRequest> expire(Instant now);
  // When the oldest hold runs out (kNever: none).
  Instant deadline() const { return held_.empty() ? kNever : held_.front().until; }
  std::size_t size() const { return held_.size(); }

 private:
  Duration hold_for_;
  std::size_t capacity_;
  std::deque<HeldRequest> held_;  // oldest first, so in deadline order
};

}  // namespace qp2p
