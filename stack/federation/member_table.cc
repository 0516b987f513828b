// SWIM member list and merge rule (see member_table.h).
#include "stack/federation/member_table.h"

#include <algorithm>

namespace qp2p::federation {

namespace {
int rank(MemberState s) {
  switch (s) {
    case MemberState::kAlive: return 0;
    case MemberState::kSuspect: return 1;
    case MemberState::kDead:
    case MemberState::kLeft: return 2;
  }
  return 0;
}
bool newer(const Entry& update, const Entry& stored) {
  if (update.incarnation != stored.incarnation) return update.incarnation > stored.incarnation;
  return rank(update.state) > rank(stored.state);
}
}  // namespace

MemberTable::MemberTable(Entry self, std::size_t max_members)
    : self_{std::move(self), Instant{}}, max_members_(std::max<std::size_t>(max_members, 2)) {}

MemberTable::Result MemberTable::apply(const Entry& update, Instant now) {
  Result r;
  if (update.id == self_.entry.id) {
    r.outcome = Outcome::kAboutSelf;
    r.was_up = r.is_up = true;
    return r;
  }
  auto it = members_.find(update.id);
  if (it == members_.end()) {
    if (update.state != MemberState::kAlive) {
      r.outcome = Outcome::kUnknown;
      return r;
    }
    if (size() >= max_members_) {
      // Make room by forgetting the longest-dead member, if any.
      auto victim = members_.end();
      for (auto m = members_.begin(); m != members_.end(); ++m)
        if (!m->second.up() && (victim == members_.end() || m->second.changed < victim->second.changed))
          victim = m;
      if (victim == members_.end()) {
        r.outcome = Outcome::kFull;
        return r;
      }
      members_.erase(victim);
    }
    members_.emplace(update.id, Member{update, now, {}, 0});
    r.outcome = Outcome::kApplied;
    r.is_up = true;
    return r;
  }
  Member& m = it->second;
  r.was_up = m.up();
  if (!newer(update, m.entry)) {
    r.is_up = r.was_up;
    return r;
  }
  r.moved = update.endpoint != m.entry.endpoint;
  // Suspicion, death or a new address are news about the member; keep its known address when
  // a rumour of death carries none.
  Entry stored = update;
  if (update.state != MemberState::kAlive && update.endpoint.port == 0) {
    stored.endpoint = m.entry.endpoint;
    r.moved = false;
  }
  if (stored.state != m.entry.state) m.changed = now;
  m.entry = stored;
  r.outcome = Outcome::kApplied;
  r.is_up = m.up();
  return r;
}

const Entry& MemberTable::refute(std::uint32_t at_least, Instant now) {
  self_.entry.incarnation = std::max(self_.entry.incarnation, at_least) + 1;
  self_.entry.state = MemberState::kAlive;
  self_.changed = now;
  return self_.entry;
}

void MemberTable::set_self_state(MemberState state, Instant now) {
  self_.entry.state = state;
  self_.changed = now;
}

void MemberTable::record_rtt(const PeerId& id, Duration sample) {
  auto it = members_.find(id);
  if (it == members_.end() || sample < Duration::zero()) return;
  Member& m = it->second;
  m.srtt = m.rtt_samples == 0 ? sample : m.srtt + (sample - m.srtt) / 8;
  ++m.rtt_samples;
}

const Member* MemberTable::find(const PeerId& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

std::size_t MemberTable::up_count() const {
  return static_cast<std::size_t>(
      std::count_if(members_.begin(), members_.end(), [](const auto& m) { return m.second.up(); }));
}

void MemberTable::forget_dead(Instant now, Duration retention) {
  for (auto it = members_.begin(); it != members_.end();) {
    if (!it->second.up() && now - it->second.changed >= retention) it = members_.erase(it);
    else ++it;
  }
}

}  // namespace qp2p::federation
