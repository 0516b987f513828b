// Per-client rate limit of the management API (index_api.h): a token bucket per client address,
// so one client cannot monopolise the thread that serves the API. A refused request is answered
// 429 Too Many Requests with Retry-After (RFC 6585 section 4, RFC 9110 section 10.2.3).
// Sans-IO: the time comes with every call.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "stack/core/instant.h"

namespace qp2p::management {

struct RateLimitConfig {
  // Sustained requests per second per client; 0 turns the limit off.
  double requests_per_second = 20;
  // Requests a client may make at once after being idle (the bucket's size), at least 1.
  double burst = 40;
  // Clients tracked at once. A client whose bucket refilled holds no state worth keeping, so
  // those are forgotten first; when every tracked client is still limited, a new client is
  // refused as well (a flood of fresh addresses cannot grow the table).
  std::size_t max_clients = 4096;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimitConfig config = {}) : config_(config) {
    config_.burst = config_.burst < 1 ? 1 : config_.burst;
  }

  // Takes one token of `client`'s bucket: nullopt when admitted, otherwise how long until the
  // client has a token again.
  std::optional<Duration> admit(std::string_view client, Instant now);
  std::size_t clients() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    Instant at;  // when `tokens` was computed
  };
  double refill(const Bucket& b, Instant now) const;
  void forget_idle(Instant now);

  RateLimitConfig config_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace qp2p::management
