// The management API's per-client token buckets: a burst is admitted, then one request per
// 1/rate seconds; a refused client is told how long to wait; clients are limited apart; the
// table of clients stays bounded (idle clients forgotten, new ones refused when all are busy);
// rate 0 turns the limit off.
#include "stack/management/rate_limiter.h"

#include <gtest/gtest.h>

namespace qp2p::management {
namespace {

using std::chrono::milliseconds;

constexpr Instant kT0 = instant_from_us(1'000'000);

TEST(RateLimiter, AdmitsTheBurstThenOneRequestPerInterval) {
  RateLimiter limiter({/*requests_per_second=*/10, /*burst=*/3, /*max_clients=*/16});
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.admit("198.51.100.1", kT0)) << i;
  auto wait = limiter.admit("198.51.100.1", kT0);
  ASSERT_TRUE(wait);
  EXPECT_EQ(to_ms(*wait), 100);  // one token every 100 ms at 10/s
  EXPECT_TRUE(limiter.admit("198.51.100.1", kT0 + milliseconds(50)));
  EXPECT_FALSE(limiter.admit("198.51.100.1", kT0 + milliseconds(101)));
  EXPECT_TRUE(limiter.admit("198.51.100.1", kT0 + milliseconds(102)));
  // After a long pause the bucket is full again, but never above the burst.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.admit("198.51.100.1", kT0 + milliseconds(60000)));
  EXPECT_TRUE(limiter.admit("198.51.100.1", kT0 + milliseconds(60000)));
}

TEST(RateLimiter, ClientsAreLimitedApart) {
  RateLimiter limiter({1, 1, 16});
  EXPECT_FALSE(limiter.admit("198.51.100.1", kT0));
  EXPECT_TRUE(limiter.admit("198.51.100.1", kT0));
  EXPECT_FALSE(limiter.admit("198.51.100.2", kT0));
  EXPECT_EQ(limiter.clients(), 2u);
}

TEST(RateLimiter, TableStaysBounded) {
  RateLimiter limiter({1, 2, 2});
  EXPECT_FALSE(limiter.admit("198.51.100.1", kT0));
  EXPECT_FALSE(limiter.admit("198.51.100.2", kT0));
  // Both still owe a token: a third client is refused rather than tracked.
  EXPECT_TRUE(limiter.admit("198.51.100.3", kT0));
  EXPECT_EQ(limiter.clients(), 2u);
  // Once their buckets refilled they are forgotten and the newcomer gets a bucket.
  EXPECT_FALSE(limiter.admit("198.51.100.3", kT0 + milliseconds(1500)));
  EXPECT_EQ(limiter.clients(), 1u);
}

TEST(RateLimiter, RateZeroIsNoLimit) {
  RateLimiter limiter({0, 1, 1});
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.admit("198.51.100.1", kT0));
  EXPECT_EQ(limiter.clients(), 0u);
}

}  // namespace
}  // namespace qp2p::management
