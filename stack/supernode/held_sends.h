// Instant messages held for a target this supernode's directory does not know yet (docs/
// protocol.md section 14.6, "Held sends"). While the directory catches up with members that
// came up (a partition healed, a member returned), a peer that logged in on the other side is
// missing here for seconds; a message to it is then held instead of refused "unknown or
// offline", and routed the moment the peer's presence record arrives. The sender keeps
// retransmitting its request meanwhile (a copy of a held message is absorbed), and gets the
// refusal when the hold runs out. Every hold lasts the same time, so the queue is in deadline
// order. Bounded by `capacity`; sans-IO.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "stack/core/instant.h"
#include "stack/identity/identity.h"
#include "stack/wire/control_message.h"

namespace qp2p {

struct HeldSend {
  PeerId sender;
  std::uint64_t transaction = 0;  // the sender's request, answered when released or expired
  wire::SendMessage message;
  Instant until;
};

class HeldSends {
 public:
  HeldSends(Duration hold_for, std::size_t capacity) : hold_for_(hold_for), capacity_(capacity) {}

  // Holds `m` from `sender` until now + hold_for; false when full (the caller refuses at once).
  bool hold(Instant now, const PeerId& sender, std::uint64_t transaction,
            const wire::SendMessage& m);
  // A message of `sender` with this id is held: a copy of it is absorbed, whatever the
  // directory is doing by the time the copy comes.
  bool holds(const PeerId& sender, std::uint64_t message_id) const;
  // The messages held for `target`, now that it is known (in the order they came).
  std::vector<HeldSend> release(const PeerId& target);
  // The holds that ran out by `now`.
  std::vector<HeldSend> expire(Instant now);
  // When the oldest hold runs out (kNever: none).
  Instant deadline() const { return held_.empty() ? kNever : held_.front().until; }
  std::size_t size() const { return held_.size(); }

 private:
  Duration hold_for_;
  std::size_t capacity_;
  std::deque<HeldSend> held_;  // oldest first, so in deadline order
};

}  // namespace qp2p
