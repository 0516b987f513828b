// Presence records written by a supernode about its own peers (see presence_writer.h).
#include "stack/federation/presence_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace qp2p::federation {

PresenceWriter::PresenceWriter(const Identity& supernode, DirectoryReplica& replica,
                               PresenceWriterConfig config)
    : supernode_(supernode), replica_(replica), config_(config) {}

bool PresenceWriter::ours(const PeerId& peer) const {
  const DirectoryEntry* e = replica_.find(peer);
  return e && e->presence && e->presence->supernode == supernode_.id() && e->presence->online();
}

std::optional<DirectoryRecord> PresenceWriter::write(WallMs now, PresenceRecord record,
                                                     WallMs lifetime_ms) {
  const DirectoryEntry* e = replica_.find(record.peer);
  record.hlc = clock_.issue(now, e && e->presence ? e->presence->hlc : 0);
  // From the record's own write time, which is later than `now` when this clock lags the
  // previous writer's: the lifetime stays what the limits allow.
  record.expires_ms = hlc_wall_ms(record.hlc) + lifetime_ms;
  record.sign(supernode_);
  DirectoryRecord out{std::move(record)};
  const ApplyResult r = replica_.apply(now, out);
  if (!r.accepted()) {
    SPDLOG_WARN("directory: own presence record of {} refused: {}", out.peer().to_string(),
                to_string(r.reason));
    return std::nullopt;
  }
  return out;
}

std::optional<DirectoryRecord> PresenceWriter::online(WallMs now, const PeerId& peer,
                                                      const PeerPresence& p) {
  const DirectoryEntry* e = replica_.find(peer);
  PresenceRecord r;
  r.peer = peer;
  r.state = PresenceState::kOnline;
  r.meta_floor = e && e->presence ? e->presence->meta_floor : 0;
  r.mapped = p.mapped;
  r.hosts = p.hosts;
  r.nat = p.nat;
  r.proof = p.proof;
  auto out = write(now, std::move(r), config_.lease_ms);
  if (out) track(peer, p, now);
  return out;
}

void PresenceWriter::track(const PeerId& peer, const PeerPresence& presence, WallMs written) {
  auto it = peers_.find(peer);
  if (it != peers_.end()) untrack(it);
  peers_.emplace(peer, Tracked{presence, written});
  due_.insert({written + config_.refresh_ms, peer});
}

void PresenceWriter::untrack(std::map<PeerId, Tracked>::iterator it) {
  due_.erase({it->second.written + config_.refresh_ms, it->first});
  peers_.erase(it);
}

std::optional<DirectoryRecord> PresenceWriter::offline(WallMs now, const PeerId& peer,
                                                       PresenceState why) {
  if (auto it = peers_.find(peer); it != peers_.end()) untrack(it);
  if (!ours(peer)) return std::nullopt;
  const DirectoryEntry* e = replica_.find(peer);
  PresenceRecord r;
  r.peer = peer;
  r.state = why;
  r.meta_floor = std::max(e->presence->meta_floor, e->metadata ? e->metadata->version : 0);
  return write(now, std::move(r), config_.tombstone_ms);
}

std::vector<DirectoryRecord> PresenceWriter::refresh(WallMs now) {
  // The peers due, in id order (the order their records are pushed in).
  std::vector<PeerId> due;
  for (auto it = due_.begin(); it != due_.end() && it->first <= now; ++it)
    due.push_back(it->second);
  std::sort(due.begin(), due.end());
  std::vector<DirectoryRecord> out;
  for (const PeerId& peer : due) {
    auto it = peers_.find(peer);
    if (!ours(peer)) {
      untrack(it);  // moved to another supernode (or dropped): not ours to refresh
      continue;
    }
    const PeerPresence p = it->second.presence;
    if (auto r = online(now, peer, p)) out.push_back(std::move(*r));
  }
  return out;
}

WallMs PresenceWriter::next_refresh() const {
  return due_.empty() ? std::numeric_limits<WallMs>::max() : due_.begin()->first;
}

}  // namespace qp2p::federation
