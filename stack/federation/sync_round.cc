// The initiator's side of one anti-entropy round, windowed (see sync_round.h; RFC 5681 §3.1).
#include "stack/federation/sync_round.h"

#include <algorithm>
#include <cmath>

#include "stack/federation/directory_digest.h"

namespace qp2p::federation {

SyncRound::SyncRound(WallMs now, const SyncRoundConfig& config)
    : config_(config),
      started_(now),
      last_heard_(now),
      window_(std::clamp<std::size_t>(config.initial_window, 1, config.max_window)),
      tokens_(static_cast<double>(window_)),
      tokens_at_(now),
      seen_(kBuckets, false) {}

void SyncRound::refill(WallMs now) {
  if (now <= tokens_at_) return;
  if (pace_ > 0)
    tokens_ = std::min(static_cast<double>(window_),
                       tokens_ + pace_ * static_cast<double>(now - tokens_at_) / 1000.0);
  tokens_at_ = now;
}

void SyncRound::set_pace(WallMs now, double per_second) {
  refill(now);
  pace_ = std::max(0.0, per_second);
}

void SyncRound::add_buckets(WallMs now, const std::vector<std::uint16_t>& buckets) {
  last_heard_ = now;
  for (std::uint16_t b : buckets) {
    if (b >= seen_.size() || seen_[b]) continue;
    seen_[b] = true;
    pending_.push_back({b, 0});
  }
}

void SyncRound::answered(WallMs now, std::uint16_t bucket) {
  last_heard_ = now;
  if (outstanding_.erase(bucket) == 0) return;  // late, after a retry, or split in several
  window_ = std::min(window_ + 1, config_.max_window);
}

std::vector<std::uint16_t> SyncRound::take_sendable(WallMs now) {
  refill(now);
  std::vector<std::uint16_t> out;
  while (!pending_.empty() && outstanding_.size() < window_ && (pace_ <= 0 || tokens_ >= 1.0)) {
    const Pending p = pending_.front();
    pending_.pop_front();
    if (pace_ > 0) tokens_ -= 1.0;
    outstanding_[p.bucket] = {now + config_.request_timeout_ms,
                              static_cast<std::uint8_t>(p.attempts + 1)};
    out.push_back(p.bucket);
  }
  return out;
}

void SyncRound::handle_timeout(WallMs now, SyncRoundCounters& counters) {
  bool lost = false;
  for (auto it = outstanding_.begin(); it != outstanding_.end();) {
    if (it->second.timeout > now) {
      ++it;
      continue;
    }
    lost = true;
    ++counters.requests_timed_out;
    if (it->second.attempts < config_.max_attempts)
      pending_.push_front({it->first, it->second.attempts});  // before the rest: it is older
    else
      ++counters.buckets_given_up;
    it = outstanding_.erase(it);
  }
  // Once per timeout event, however many requests it took: they were lost together.
  if (lost) window_ = std::max<std::size_t>(1, window_ / 2);
}

bool SyncRound::finished(WallMs now) const {
  if (now >= started_ + config_.max_round_ms) return true;
  return pending_.empty() && outstanding_.empty() && now >= last_heard_ + config_.idle_end_ms;
}

WallMs SyncRound::deadline() const {
  WallMs t = started_ + config_.max_round_ms;
  for (const auto& [bucket, o] : outstanding_) t = std::min(t, o.timeout);
  if (pending_.empty() && outstanding_.empty()) t = std::min(t, last_heard_ + config_.idle_end_ms);
  // The next token, when only the pace holds a request back.
  if (pace_ > 0 && tokens_ < 1.0 && !pending_.empty() && outstanding_.size() < window_) {
    const double wait_ms = std::ceil((1.0 - tokens_) * 1000.0 / pace_);
    t = std::min(t, tokens_at_ + static_cast<WallMs>(wait_ms));
  }
  return t;
}

}  // namespace qp2p::federation
