// The peer's RTT estimate (stack/peer/rtt_estimator.h): RFC 6298 smoothing, Karn's rule for
// retransmitted requests, and forgotten transactions giving no sample.
#include "stack/peer/rtt_estimator.h"

#include <gtest/gtest.h>

namespace qp2p {
namespace {

using std::chrono::milliseconds;

const Instant t0 = instant_from_us(5'000'000);

TEST(RttEstimator, ZeroUntilTheFirstSampleThenSmoothed) {
  RttEstimator rtt;
  EXPECT_EQ(rtt.smoothed(), Duration::zero());
  rtt.sent(1, t0);
  rtt.answered(1, t0 + milliseconds(80));
  EXPECT_EQ(rtt.smoothed(), milliseconds(80));  // the first sample is taken as it is
  rtt.sent(2, t0 + milliseconds(100));
  rtt.answered(2, t0 + milliseconds(140));
  EXPECT_EQ(rtt.smoothed(), milliseconds(75));  // 80 + (40 - 80) / 8
  EXPECT_EQ(rtt.samples(), 2u);
}

TEST(RttEstimator, RetransmittedAndForgottenRequestsGiveNoSample) {
  RttEstimator rtt;
  rtt.sent(1, t0);
  rtt.retransmitted(1);
  rtt.answered(1, t0 + milliseconds(900));
  rtt.sent(2, t0);
  rtt.forget(2);
  rtt.answered(2, t0 + milliseconds(900));
  rtt.answered(3, t0 + milliseconds(900));  // never sent
  EXPECT_EQ(rtt.samples(), 0u);
  EXPECT_EQ(rtt.smoothed(), Duration::zero());
  // Answered twice: the second answer finds nothing.
  rtt.sent(4, t0);
  rtt.answered(4, t0 + milliseconds(30));
  rtt.answered(4, t0 + milliseconds(500));
  EXPECT_EQ(rtt.samples(), 1u);
  EXPECT_EQ(rtt.smoothed(), milliseconds(30));
}

TEST(RttEstimator, OutstandingRequestsAreBounded) {
  RttEstimator rtt;
  for (std::uint64_t i = 0; i < RttEstimator::kMaxOutstanding + 10; ++i) rtt.sent(i, t0);
  rtt.answered(RttEstimator::kMaxOutstanding + 5, t0 + milliseconds(10));  // not remembered
  EXPECT_EQ(rtt.samples(), 0u);
  rtt.answered(0, t0 + milliseconds(10));
  EXPECT_EQ(rtt.samples(), 1u);
}

}  // namespace
}  // namespace qp2p
