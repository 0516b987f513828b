// The windowed side of an anti-entropy round (stack/federation/sync_round.h): the window starts
// small and grows with answers up to its ceiling, halves on a timeout, a request unanswered is
// asked again and then given up, and the round ends when idle or too old.
#include "stack/federation/sync_round.h"

#include <gtest/gtest.h>

#include <numeric>

namespace qp2p::federation {
namespace {

constexpr WallMs kT = 1'700'000'000'000;

std::vector<std::uint16_t> buckets(std::uint16_t n) {
  std::vector<std::uint16_t> b(n);
  std::iota(b.begin(), b.end(), 0);
  return b;
}

// A round over buckets 0..99 with the window from `initial` up to `max`.
SyncRound round_of_100(std::size_t initial, std::size_t max) {
  SyncRoundConfig config;
  config.initial_window = initial;
  config.max_window = max;
  SyncRound round(kT, config);
  round.add_buckets(kT, buckets(100));
  return round;
}

TEST(SyncRound, SendsTheInitialWindowThenOneMorePerAnswerUpToTheCeiling) {
  SyncRound round = round_of_100(4, 6);
  std::vector<std::uint16_t> first = round.take_sendable(kT);
  ASSERT_EQ(first.size(), 4u);
  EXPECT_TRUE(round.take_sendable(kT).empty());  // the window is full
  // Each answer frees its slot and adds one: two to send per answer, until the ceiling.
  round.answered(kT, first[0]);
  EXPECT_EQ(round.take_sendable(kT).size(), 2u);
  round.answered(kT, first[1]);
  EXPECT_EQ(round.take_sendable(kT).size(), 2u);
  EXPECT_EQ(round.window(), 6u);
  round.answered(kT, first[2]);
  EXPECT_EQ(round.take_sendable(kT).size(), 1u);  // at the ceiling: one for one
  EXPECT_EQ(round.window(), 6u);
}

TEST(SyncRound, DuplicateBucketsAndStrayAnswersChangeNothing) {
  SyncRoundConfig config;
  config.initial_window = 2;
  SyncRound round(kT, config);
  round.add_buckets(kT, {7, 7, 9});
  round.add_buckets(kT, {9});
  EXPECT_EQ(round.take_sendable(kT), (std::vector<std::uint16_t>{7, 9}));
  round.answered(kT, 123);  // never asked
  EXPECT_EQ(round.window(), 2u);
  EXPECT_TRUE(round.take_sendable(kT).empty());
}

TEST(SyncRound, ATimeoutHalvesTheWindowAndAsksAgainThenGivesUp) {
  SyncRoundConfig config;
  config.initial_window = 8;
  config.request_timeout_ms = 1000;
  config.max_attempts = 2;
  SyncRound round(kT, config);
  round.add_buckets(kT, buckets(20));
  const auto sent = round.take_sendable(kT);
  ASSERT_EQ(sent.size(), 8u);
  for (std::size_t i = 1; i < sent.size(); ++i) round.answered(kT + 10, sent[i]);  // 0 is lost
  ASSERT_EQ(round.window(), 15u);
  EXPECT_EQ(round.take_sendable(kT + 10).size(), 12u);  // the rest
  for (std::uint16_t b = 8; b < 20; ++b) round.answered(kT + 20, b);
  ASSERT_EQ(round.window(), 27u);
  EXPECT_EQ(round.deadline(), kT + 1000);

  SyncRoundCounters counters;
  round.handle_timeout(kT + 999, counters);
  EXPECT_EQ(counters.requests_timed_out, 0u);
  round.handle_timeout(kT + 1000, counters);
  EXPECT_EQ(counters.requests_timed_out, 1u);
  EXPECT_EQ(round.window(), 13u);
  EXPECT_EQ(round.take_sendable(kT + 1000), (std::vector<std::uint16_t>{0}));  // second attempt
  round.handle_timeout(kT + 2000, counters);
  EXPECT_EQ(counters.requests_timed_out, 2u);
  EXPECT_EQ(counters.buckets_given_up, 1u);
  EXPECT_TRUE(round.take_sendable(kT + 2000).empty());
  EXPECT_TRUE(round.finished(kT + 2000 + config.idle_end_ms));
}

TEST(SyncRound, APaceSpendsTokensEarnedOverTimeAtMostAWindowDeep) {
  SyncRound round = round_of_100(8, 8);
  round.set_pace(kT, 1000);  // one request per millisecond
  // The round starts with a window's worth of tokens.
  auto first = round.take_sendable(kT);
  ASSERT_EQ(first.size(), 8u);
  for (std::uint16_t b : first) round.answered(kT, b);
  EXPECT_TRUE(round.take_sendable(kT).empty());  // window free, no token
  EXPECT_EQ(round.deadline(), kT + 1);            // the next token
  EXPECT_EQ(round.take_sendable(kT + 1).size(), 1u);
  EXPECT_EQ(round.take_sendable(kT + 4).size(), 3u);
  EXPECT_TRUE(round.take_sendable(kT + 4).empty());
  // Idle for a long time: tokens saved up to one window, no more.
  const auto outstanding = round.take_sendable(kT + 10'000);
  EXPECT_EQ(outstanding.size(), 4u);  // the window (8) less the four still unanswered
  for (std::uint16_t b : outstanding) round.answered(kT + 10'000, b);
  EXPECT_EQ(round.take_sendable(kT + 10'000).size(), 4u);  // the window's tokens, spent
  EXPECT_TRUE(round.take_sendable(kT + 10'000).empty());
  // Without a pace (0) the window alone limits.
  round.set_pace(kT + 10'000, 0);
  EXPECT_TRUE(round.take_sendable(kT + 10'000).empty());  // the window is full
}

TEST(SyncRound, EndsWhenIdleOrTooOldButNotWhileWorkIsLeft) {
  SyncRoundConfig config;
  config.idle_end_ms = 500;
  config.max_round_ms = 30'000;
  SyncRound quiet(kT, config);  // an in-sync member answers nothing
  EXPECT_FALSE(quiet.finished(kT + 499));
  EXPECT_TRUE(quiet.finished(kT + 500));
  EXPECT_EQ(quiet.deadline(), kT + 500);

  SyncRound busy(kT, config);
  busy.add_buckets(kT, buckets(3));
  const auto sent = busy.take_sendable(kT);
  EXPECT_FALSE(busy.finished(kT + 900));  // requests outstanding
  for (auto b : sent) busy.answered(kT + 900, b);
  EXPECT_FALSE(busy.finished(kT + 1399));  // a late level-2 summary may still come
  EXPECT_TRUE(busy.finished(kT + 1400));

  SyncRound stuck(kT, config);
  stuck.add_buckets(kT, buckets(3));
  (void)stuck.take_sendable(kT);
  EXPECT_TRUE(stuck.finished(kT + 30'000));
}

}  // namespace
}  // namespace qp2p::federation
