// The member list of a federation as one supernode sees it, with SWIM's merge rule (Das et al.,
// "SWIM", DSN 2002, section 4.2): an update about a member wins when its (incarnation, state
// rank) is greater than the stored one, with rank alive < suspect < dead = left. So a suspicion
// overrides an alive of the same incarnation, and only the member itself, by raising its
// incarnation, can refute it. Dead and left members are kept for `retention` so their death
// keeps winning over stale gossip and so partitions can heal by contacting them again.
// Bounded: at most `max_members` entries (self included).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "stack/core/instant.h"
#include "stack/federation/federation_wire.h"

namespace qp2p::federation {

struct Member {
  Entry entry;
  Instant changed;  // when the state last changed here (suspicion timers run from it)
  // Round-trip time to the member from our direct probes (ping -> its own ack), smoothed as
  // RFC 6298 section 2's SRTT (alpha = 1/8); zero before the first sample.
  Duration srtt{};
  std::uint64_t rtt_samples = 0;
  bool up() const { return entry.state == MemberState::kAlive || entry.state == MemberState::kSuspect; }
};

class MemberTable {
 public:
  MemberTable(Entry self, std::size_t max_members);

  enum class Outcome {
    kIgnored,   // older or equal news
    kAboutSelf, // concerns this node: the caller decides (refute or ignore)
    kUnknown,   // suspect/dead/left about a member never heard of: not stored
    kFull,      // a new member while the table is full of live members
    kApplied,
  };
  struct Result {
    Outcome outcome = Outcome::kIgnored;
    bool was_up = false;  // before (false for a new member)
    bool is_up = false;   // after
    bool moved = false;   // endpoint changed
  };
  Result apply(const Entry& update, Instant now);

  const Entry& self() const { return self_.entry; }
  // Raises this node's incarnation above `at_least` (refutation) and returns the new entry.
  const Entry& refute(std::uint32_t at_least, Instant now);
  void set_self_state(MemberState state, Instant now);

  const Member* find(const PeerId& id) const;
  // One round-trip sample for member `id` (ignored for an unknown member).
  void record_rtt(const PeerId& id, Duration sample);
  const std::map<PeerId, Member>& others() const { return members_; }
  std::size_t size() const { return members_.size() + 1; }
  std::size_t up_count() const;  // others alive or suspect
  // Drops dead/left members whose death is older than `retention`.
  void forget_dead(Instant now, Duration retention);

 private:
  Member self_;
  std::size_t max_members_;
  std::map<PeerId, Member> members_;  // ordered: iteration is deterministic
};

}  // namespace qp2p::federation
