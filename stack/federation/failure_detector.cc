// SWIM probe rounds and ping-req relays (see failure_detector.h).
#include "stack/federation/failure_detector.h"

#include <algorithm>

namespace qp2p::federation {

std::optional<PeerId> FailureDetector::next_target(const std::vector<PeerId>& up) {
  if (up.empty()) return std::nullopt;
  for (std::size_t attempts = 0; attempts <= up.size() + order_.size(); ++attempts) {
    if (order_index_ >= order_.size()) {
      order_ = up;
      for (std::size_t i = order_.size(); i > 1; --i)
        std::swap(order_[i - 1], order_[random_.uniform(i)]);
      order_index_ = 0;
    }
    const PeerId& candidate = order_[order_index_++];
    // Skip members that went down (or away) since the shuffle.
    if (std::find(up.begin(), up.end(), candidate) != up.end()) return candidate;
  }
  return up[random_.uniform(up.size())];
}

std::uint32_t FailureDetector::start_probe(const PeerId& target, Instant now) {
  probe_ = Probe{target, next_seq_++, now, false, false};
  return probe_->seq;
}

bool FailureDetector::on_ack(std::uint32_t seq, const PeerId& about) {
  if (!probe_ || probe_->seq != seq || probe_->target != about) return false;
  probe_->acked = true;
  return true;
}

std::uint32_t FailureDetector::add_relay(Relay relay) {
  if (relays_.size() >= kMaxRelays) relays_.erase(relays_.begin());  // the oldest sequence
  const std::uint32_t seq = next_seq_++;
  relays_.emplace(seq, std::move(relay));
  return seq;
}

std::optional<FailureDetector::Relay> FailureDetector::take_relay(std::uint32_t seq,
                                                                  const PeerId& about,
                                                                  Instant now) {
  auto it = relays_.find(seq);
  if (it == relays_.end() || it->second.target != about || it->second.expires < now)
    return std::nullopt;
  Relay r = it->second;
  relays_.erase(it);
  return r;
}

void FailureDetector::expire_relays(Instant now) {
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (it->second.expires < now) it = relays_.erase(it);
    else ++it;
  }
}

std::vector<PeerId> FailureDetector::pick(std::size_t k, std::vector<PeerId> candidates,
                                          const PeerId& exclude) {
  candidates.erase(std::remove(candidates.begin(), candidates.end(), exclude), candidates.end());
  std::vector<PeerId> out;
  while (out.size() < k && !candidates.empty()) {
    const std::size_t i = random_.uniform(candidates.size());
    out.push_back(candidates[i]);
    candidates[i] = candidates.back();
    candidates.pop_back();
  }
  return out;
}

}  // namespace qp2p::federation
