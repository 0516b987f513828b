// Token buckets per client of the management API (rate_limiter.h).
#include "stack/management/rate_limiter.h"

#include <algorithm>

namespace qp2p::management {

double RateLimiter::refill(const Bucket& b, Instant now) const {
  const double seconds = std::max<double>(0, std::chrono::duration<double>(now - b.at).count());
  return std::min(config_.burst, b.tokens + seconds * config_.requests_per_second);
}

void RateLimiter::forget_idle(Instant now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (refill(it->second, now) >= config_.burst)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

std::optional<Duration> RateLimiter::admit(std::string_view client, Instant now) {
  if (config_.requests_per_second <= 0) return std::nullopt;
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    if (buckets_.size() >= config_.max_clients) forget_idle(now);
    if (buckets_.size() >= config_.max_clients)
      return std::chrono::duration_cast<Duration>(
          std::chrono::duration<double>(1.0 / config_.requests_per_second));
    it = buckets_.emplace(std::string(client), Bucket{config_.burst, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = refill(b, now);
  b.at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  const double wait_s = (1 - b.tokens) / config_.requests_per_second;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_s));
}

}  // namespace qp2p::management
