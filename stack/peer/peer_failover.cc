// PeerSession's failover between supernodes (peer_session.h; docs/protocol.md sections 8.7 and
// 8.8). The session keeps a list of candidate supernodes: the configured ones, and the live
// members of the federation that its supernode pushes (supernode list, 0x0209). It leaves its
// supernode when that one goes silent (keepalives unanswered for supernode_silence_limit with
// somewhere else to go), refuses it, or announces its shutdown (supernode-leaving, 0x0208), and
// logs in to the next candidate: at once when told to leave, else after a pause that doubles
// with every round through the whole list (never a hang, never a storm). After the new login the
// record is published again and the watches renewed (peer_session.cc, on LoginOk); tunnels are
// peer to peer and are not touched.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "stack/peer/peer_session.h"

namespace qp2p {

namespace {
std::int64_t ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
}  // namespace

void PeerSession::fail_over(Instant now, std::string reason, bool next_supernode,
                            bool at_once) {
  const Endpoint lost = supernode_endpoint();
  SPDLOG_INFO("peer: supernode {} lost: {}", lost.to_string(), reason);
  ++counters_.failovers;
  tracker_.clear();
  rtt_.forget_all();
  // Requests in flight (or waiting to be retried) go back in the queue and are re-issued at
  // the next supernode.
  retry_due_.clear();
  std::vector<std::uint64_t> ids;
  for (const auto& [id, pending] : requests_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // a stable order (requests_ is a hash map)
  for (std::uint64_t id : ids)
    if (std::find(queued_.begin(), queued_.end(), id) == queued_.end()) queued_.push_back(id);
  if (next_supernode) supernode_index_ = (supernode_index_ + 1) % candidates_.size();
  state_ = State::kWaitingToRetry;
  next_keepalive_ = kNever;
  // The first round through the list at the configured pause, then doubling per round.
  const std::size_t round = failures_in_a_row_++ / candidates_.size();
  Duration pause = config_.failover_delay;
  for (std::size_t i = 0; i < round && pause < config_.max_failover_delay; ++i) pause *= 2;
  pause = std::min(pause, std::max(config_.max_failover_delay, config_.failover_delay));
  if (at_once) pause = Duration::zero();
  retry_at_ = now + pause;
  if (failures_in_a_row_ % candidates_.size() == 0)
    SPDLOG_WARN("peer: no supernode reachable ({} tried in a row); next attempt at {} in {} ms",
                failures_in_a_row_, supernode_endpoint().to_string(), ms(pause));
  events_.push_back(peer_event::Disconnected{lost, std::move(reason), pause});
}

void PeerSession::set_candidates(std::vector<Endpoint> front, std::vector<Endpoint> shuffled,
                                 bool keep_old, std::vector<Endpoint> back) {
  // Fisher-Yates with the session's seeded generator: deterministic in simulations.
  for (std::size_t i = shuffled.size(); i > 1; --i)
    std::swap(shuffled[i - 1], shuffled[random_.uniform(i)]);
  std::vector<Endpoint> next;
  const auto add = [&](const std::vector<Endpoint>& list) {
    for (const Endpoint& e : list)
      if (std::find(next.begin(), next.end(), e) == next.end() &&
          std::find(back.begin(), back.end(), e) == back.end())
        next.push_back(e);
  };
  add(front);
  add(shuffled);
  if (keep_old) add(candidates_);
  add(config_.supernodes);
  next.insert(next.end(), back.begin(), back.end());
  candidates_ = std::move(next);
  supernode_index_ = 0;
}

void PeerSession::on_supernode_list(const std::vector<Endpoint>& list) {
  // A fresh list replaces the learned part: members that died or left drop out of it.
  SPDLOG_DEBUG("peer: supernode {} lists {} live supernodes", supernode_endpoint().to_string(),
               list.size());
  set_candidates({supernode_endpoint()}, list, /*keep_old=*/false, {});
  events_.push_back(peer_event::SupernodeList{list});
}

void PeerSession::on_supernode_leaving(Instant now, const std::vector<Endpoint>& alternatives) {
  if (state_ != State::kRegistered) return;  // logging out anyway
  const Endpoint leaving = supernode_endpoint();
  // The ones it named first, then what we knew, and the leaving one last (it refuses logins
  // now, and is gone soon).
  set_candidates({}, alternatives, /*keep_old=*/true, {leaving});
  supernode_index_ = candidates_.size() - 1;  // still the leaving one
  if (candidates_.size() < 2) return;  // nowhere else to go: stay until it goes silent
  SPDLOG_INFO("peer: supernode {} is leaving; moving to {}", leaving.to_string(),
              candidates_.front().to_string());
  // fail_over steps from the last candidate to the first: the first alternative, at once.
  failures_in_a_row_ = 0;
  fail_over(now, "supernode leaving", /*next_supernode=*/true, /*at_once=*/true);
  move_reason_ = "leaving";
}

void PeerSession::on_registered_at(Instant /*now*/) {
  if (registered_at_ && *registered_at_ != supernode_endpoint()) {
    SPDLOG_INFO("peer: moved from supernode {} to {} ({})", registered_at_->to_string(),
                supernode_endpoint().to_string(), move_reason_);
    events_.push_back(
        peer_event::SupernodeChanged{supernode_id_, supernode_endpoint(), move_reason_});
  }
  registered_at_ = supernode_endpoint();
  move_reason_ = "failover";
}

Instant PeerSession::silence_deadline() const {
  if (state_ != State::kRegistered || candidates_.size() < 2 ||
      !tracker_.outstanding(keepalive_txn_))
    return kNever;
  if (last_heard_ != kNever && last_heard_ >= keepalive_sent_) return kNever;
  return keepalive_sent_ + config_.supernode_silence_limit;
}

bool PeerSession::login_may_fail_fast() const {
  return candidates_.size() > 1 && failures_in_a_row_ < candidates_.size();
}

}  // namespace qp2p
