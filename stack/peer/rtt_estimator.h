// The peer's smoothed round-trip time to its supernode, from its own request/response round
// trips (keepalives, login, index requests): RFC 6298 section 2's SRTT (alpha = 1/8) with
// Karn's rule (RFC 6298 section 3): a retransmitted request gives no sample, since its answer
// cannot be matched to one transmission. The handshake service uses it to start both peers of
// a hole-punching attempt at the same moment (stack/tunnel/punch_planner.h).
#pragma once

#include <cstdint>
#include <unordered_map>

#include "stack/core/instant.h"

namespace qp2p {

class RttEstimator {
 public:
  // Requests whose send time is remembered at once; more outstanding ones give no sample.
  static constexpr std::size_t kMaxOutstanding = 256;

  void sent(std::uint64_t transaction, Instant now) {
    if (outstanding_.size() < kMaxOutstanding) outstanding_[transaction] = Probe{now, false};
  }
  void retransmitted(std::uint64_t transaction) {
    if (auto it = outstanding_.find(transaction); it != outstanding_.end())
      it->second.retransmitted = true;
  }
  // The answer arrived: one sample unless the request was retransmitted.
  void answered(std::uint64_t transaction, Instant now) {
    auto it = outstanding_.find(transaction);
    if (it == outstanding_.end()) return;
    const Probe probe = it->second;
    outstanding_.erase(it);
    if (probe.retransmitted || now < probe.sent) return;
    const Duration sample = now - probe.sent;
    srtt_ = samples_ == 0 ? sample : srtt_ + (sample - srtt_) / 8;
    ++samples_;
  }
  void forget(std::uint64_t transaction) { outstanding_.erase(transaction); }
  void forget_all() { outstanding_.clear(); }

  // Zero until the first sample.
  Duration smoothed() const { return srtt_; }
  std::uint64_t samples() const { return samples_; }

 private:
  struct Probe {
    Instant sent;
    bool retransmitted = false;
  };
  std::unordered_map<std::uint64_t, Probe> outstanding_;
  Duration srtt_{};
  std::uint64_t samples_ = 0;
};

}  // namespace qp2p
