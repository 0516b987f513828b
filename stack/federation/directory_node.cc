// One supernode's directory: replica, sync and presence writing joined to membership events
// (see directory_node.h; docs/protocol.md §14.5).
#include "stack/federation/directory_node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace qp2p::federation {

DirectoryNode::DirectoryNode(const Identity& self, DirectoryNodeConfig config, Random random)
    : self_(self),
      config_(config),
      random_(std::move(random)),
      replica_(config.limits),
      sync_(replica_, config.sync),
      batch_(config.push),
      writer_(self_, replica_, config.presence) {
  replica_.authorise(self_.id());  // our own presence records
  replica_.record_changes(config_.max_changes);
}

void DirectoryNode::push_batch(const PushBatch::Batch& batch) {
  if (batch.empty()) return;
  for (const PeerId& member : live_) {
    sync_.push(member, batch);
    counters_.pushes += batch.size();
    ++counters_.push_batches;
  }
}

void DirectoryNode::push_all(WallMs now, std::vector<DirectoryRecord> records) {
  if (records.empty()) return;
  for (const auto& batch : batch_.add(now, std::move(records))) push_batch(batch);
}

void DirectoryNode::peer_online(WallMs now, const PeerId& peer, const PeerPresence& presence) {
  if (auto r = writer_.online(now, peer, presence)) push_all(now, {std::move(*r)});
}

void DirectoryNode::peer_offline(WallMs now, const PeerId& peer, PresenceState why) {
  if (auto r = writer_.offline(now, peer, why)) push_all(now, {std::move(*r)});
}

ApplyResult DirectoryNode::published(WallMs now, const wire::SignedRecord& record) {
  DirectoryRecord r{record};
  const ApplyResult result = replica_.apply(now, r);
  if (result.accepted()) push_all(now, {std::move(r)});
  return result;
}

void DirectoryNode::member_up(WallMs now, const PeerId& member) {
  if (member == self_.id()) return;
  replica_.authorise(member);
  const bool first = live_.empty();
  live_.insert(member);
  if (first) next_round_ = now + config_.anti_entropy_interval_ms;
  // What it missed while away (or everything, when it is new) and what we missed from it.
  if (std::find(catch_up_.begin(), catch_up_.end(), member) == catch_up_.end())
    catch_up_.push_back(member);
  catch_up(now);
}

void DirectoryNode::member_down(const PeerId& member) {
  live_.erase(member);
  catch_up_.erase(std::remove(catch_up_.begin(), catch_up_.end(), member), catch_up_.end());
}

bool DirectoryNode::catch_up_round_running() const {
  return catching_up_with_ && sync_.round_active(*catching_up_with_);
}

bool DirectoryNode::catching_up() const { return !catch_up_.empty() || catch_up_round_running(); }

WallMs DirectoryNode::catch_up_due() const {
  return catch_up_round_running() ? std::max(next_catch_up_, catch_up_overdue_) : next_catch_up_;
}

void DirectoryNode::catch_up(WallMs now) {
  if (catch_up_.empty() || now < catch_up_due()) return;
  // A random one of those waiting: members learn of a heal in about the same order, and taken
  // in that order they all began with the same member, whose grant (directory_sync.h) they
  // then split many ways.
  const auto pick =
      catch_up_.begin() + static_cast<std::ptrdiff_t>(random_.uniform(catch_up_.size()));
  const PeerId member = *pick;
  catch_up_.erase(pick);
  sync_.start_round(now, member);
  ++counters_.rounds_started;
  ++counters_.catch_up_rounds;
  catching_up_with_ = member;
  next_catch_up_ = now + config_.catch_up_spacing_ms;
  catch_up_overdue_ = now + config_.catch_up_max_wait_ms;
}

void DirectoryNode::handle_payload(WallMs now, const PeerId& from, const Bytes& payload) {
  ++counters_.payloads_in;
  // Membership hands up payloads of live members only: the sender is one.
  replica_.authorise(from);
  if (sync_.handle_message(now, from, payload.data(), payload.size())) {
    auto it = std::find(catch_up_.begin(), catch_up_.end(), from);
    if (it != catch_up_.end()) {
      catch_up_.erase(it);
      ++counters_.catch_up_skipped;
    }
  }
  catch_up(now);
}

void DirectoryNode::handle_timeout(WallMs now) {
  if (writer_.next_refresh() <= now) push_all(now, writer_.refresh(now));
  push_batch(batch_.take_due(now));
  if (replica_.next_expiry() <= now) replica_.expire(now);
  sync_.handle_timeout(now);
  catch_up(now);
  if (!live_.empty() && now >= next_round_) {
    auto it = live_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(random_.uniform(live_.size())));
    sync_.start_round(now, *it);  // expires old entries (and parked metadata) first
    ++counters_.rounds_started;
    next_round_ = now + config_.anti_entropy_interval_ms;
  }
}

WallMs DirectoryNode::poll_timeout() const {
  WallMs t = std::min({writer_.next_refresh(), replica_.next_expiry(), batch_.deadline()});
  if (!live_.empty()) t = std::min(t, next_round_);
  // While the last catch-up round runs, its end is in sync_.poll_timeout().
  if (!catch_up_.empty()) t = std::min(t, catch_up_due());
  return std::min(t, sync_.poll_timeout());
}

}  // namespace qp2p::federation
