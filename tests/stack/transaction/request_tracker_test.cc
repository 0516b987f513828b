// RequestTracker: the RFC 8489 section 6.2.1 style schedule (RTO doubling up to a cap, Rc
// transmissions, a final wait of Rm * initial RTO), driven in virtual time.
#include "stack/transaction/request_tracker.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

namespace qp2p {
namespace {

using std::chrono::milliseconds;

const Instant kT0 = instant_from_us(5'000'000);
Endpoint ep(std::string_view text) { return *Endpoint::parse(text); }

// A builder that stamps each datagram with its build number and counts the builds.
struct CountingBuilder {
  Endpoint remote;
  std::uint8_t tag = 0;
  std::shared_ptr<int> builds = std::make_shared<int>(0);
  int give_up_after = -1;  // return nullopt from this build on (-1: never)

  RequestTracker::Builder make() {
    auto b = builds;
    Endpoint r = remote;
    std::uint8_t t = tag;
    int limit = give_up_after;
    return [b, r, t, limit]() -> std::optional<Datagram> {
      if (limit >= 0 && *b >= limit) return std::nullopt;
      ++*b;
      return Datagram{ep("192.0.2.1:4000"), r, {t, static_cast<std::uint8_t>(*b)}};
    };
  }
};

// Runs the tracker at each deadline until nothing is pending; records when each datagram left
// (in ms after kT0) and when each transaction timed out.
struct Schedule {
  std::vector<std::int64_t> sends_ms;
  std::map<std::uint64_t, std::int64_t> timeouts_ms;
};
Schedule drive(RequestTracker& tracker) {
  Schedule run;
  auto drain = [&](Instant now) {
    while (auto d = tracker.poll_transmit()) run.sends_ms.push_back(to_ms(now - kT0));
  };
  drain(kT0);
  for (int guard = 0; guard < 1000 && tracker.poll_timeout() != kNever; ++guard) {
    const Instant now = tracker.poll_timeout();
    for (std::uint64_t txn : tracker.handle_timeout(now)) {
      EXPECT_EQ(run.timeouts_ms.count(txn), 0u) << "timeout reported twice";
      run.timeouts_ms[txn] = to_ms(now - kT0);
    }
    drain(now);
  }
  return run;
}

TEST(RequestTrackerSchedule, DefaultPolicyDoublesUpToTheCapThenWaitsRmTimesInitialRto) {
  RequestTracker tracker;
  CountingBuilder b{ep("198.51.100.1:3478")};
  tracker.start(kT0, 7, b.make());
  const Schedule run = drive(tracker);
  // RTO 250, 500, 1000, 2000, then capped at 3000; 7 transmissions; final wait 4 * 250 ms.
  EXPECT_EQ(run.sends_ms, (std::vector<std::int64_t>{0, 250, 750, 1750, 3750, 6750, 9750}));
  ASSERT_EQ(run.timeouts_ms.size(), 1u);
  EXPECT_EQ(run.timeouts_ms.at(7), 10750);
  EXPECT_EQ(*b.builds, 7);
  EXPECT_EQ(tracker.retransmissions(), 6u);
  EXPECT_FALSE(tracker.outstanding(7));
  EXPECT_EQ(tracker.size(), 0u);
  EXPECT_EQ(tracker.poll_timeout(), kNever);
}

TEST(RequestTrackerSchedule, CustomPolicyIsFollowed) {
  RetransmitPolicy policy;
  policy.initial_rto = milliseconds(100);
  policy.max_rto = milliseconds(400);
  policy.max_transmissions = 5;
  policy.final_wait_multiplier = 3;
  RequestTracker tracker(policy);
  CountingBuilder b{ep("198.51.100.1:3478")};
  tracker.start(kT0, 1, b.make());
  const Schedule run = drive(tracker);
  EXPECT_EQ(run.sends_ms, (std::vector<std::int64_t>{0, 100, 300, 700, 1100}));
  EXPECT_EQ(run.timeouts_ms.at(1), 1400);
}

TEST(RequestTrackerSchedule, PerTransactionPolicyAndTimedBuilder) {
  // The tracker's own policy for one transaction, the urgent one for another; the timed
  // builder is told how long after the first copy each one leaves.
  RequestTracker tracker;
  CountingBuilder b{ep("198.51.100.1:3478")};
  tracker.start(kT0, 1, b.make());
  std::vector<std::int64_t> since_first_ms;
  tracker.start_timed(
      kT0, 2,
      [&](Instant now, Duration since_first) -> std::optional<Datagram> {
        EXPECT_EQ(now - since_first, kT0);
        since_first_ms.push_back(to_ms(since_first));
        return Datagram{ep("192.0.2.1:4000"), ep("198.51.100.2:3478"), {2}};
      },
      kUrgentRetransmitPolicy);
  const Schedule run = drive(tracker);
  EXPECT_EQ(since_first_ms, (std::vector<std::int64_t>{0, 250, 750, 1750, 2750, 3750, 4750, 5750,
                                                       6750, 7750, 8750, 9750}));
  EXPECT_EQ(*b.builds, 7);  // the default schedule, untouched
  EXPECT_EQ(run.timeouts_ms.at(1), 10750);
  EXPECT_EQ(run.timeouts_ms.at(2), 10750);  // the same span, 12 copies
  EXPECT_EQ(tracker.retransmissions(), 6u + 11u);
}

TEST(RequestTrackerSchedule, SingleTransmissionPolicyWaitsTheFinalWaitOnly) {
  RetransmitPolicy policy;
  policy.max_transmissions = 1;
  RequestTracker tracker(policy);
  CountingBuilder b{ep("198.51.100.1:3478")};
  tracker.start(kT0, 1, b.make());
  const Schedule run = drive(tracker);
  EXPECT_EQ(run.sends_ms, std::vector<std::int64_t>{0});
  EXPECT_EQ(run.timeouts_ms.at(1), 1000);
  EXPECT_EQ(tracker.retransmissions(), 0u);
}

TEST(RequestTrackerSchedule, EachRetransmissionIsBuiltAfresh) {
  RequestTracker tracker;
  CountingBuilder b{ep("198.51.100.1:3478"), 0xab};
  tracker.start(kT0, 1, b.make());
  auto first = tracker.poll_transmit();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->remote, ep("198.51.100.1:3478"));
  EXPECT_EQ(first->local, ep("192.0.2.1:4000"));
  EXPECT_EQ(first->payload, (Bytes{0xab, 1}));
  EXPECT_FALSE(tracker.poll_transmit());
  tracker.handle_timeout(kT0 + milliseconds(250));
  auto second = tracker.poll_transmit();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->payload, (Bytes{0xab, 2}));
}

TEST(RequestTrackerTimeout, FinalTimeoutIsReportedOnce) {
  RequestTracker tracker;
  CountingBuilder b{ep("198.51.100.1:3478")};
  tracker.start(kT0, 42, b.make());
  drive(tracker);  // asserts no double report while driving
  EXPECT_TRUE(tracker.handle_timeout(kT0 + std::chrono::seconds(100)).empty());
  EXPECT_TRUE(tracker.handle_timeout(kT0 + std::chrono::seconds(200)).empty());
  EXPECT_FALSE(tracker.complete(42));
}

TEST(RequestTrackerComplete, StopsRetransmission) {
  RequestTracker tracker;
  CountingBuilder b{ep("198.51.100.1:3478")};
  tracker.start(kT0, 5, b.make());
  ASSERT_TRUE(tracker.poll_transmit());
  tracker.handle_timeout(kT0 + milliseconds(250));
  ASSERT_TRUE(tracker.poll_transmit());
  EXPECT_TRUE(tracker.outstanding(5));
  EXPECT_TRUE(tracker.complete(5));
  EXPECT_FALSE(tracker.complete(5));
  EXPECT_FALSE(tracker.outstanding(5));
  EXPECT_EQ(tracker.poll_timeout(), kNever);
  for (int s = 1; s <= 20; ++s)
    EXPECT_TRUE(tracker.handle_timeout(kT0 + std::chrono::seconds(s)).empty());
  EXPECT_FALSE(tracker.poll_transmit());
  EXPECT_EQ(*b.builds, 2);
}

TEST(RequestTrackerComplete, UnknownTransactionIsNotOutstanding) {
  RequestTracker tracker;
  EXPECT_FALSE(tracker.complete(123));
  EXPECT_FALSE(tracker.outstanding(123));
}

TEST(RequestTrackerBuilder, NulloptAtStartQueuesNothing) {
  RequestTracker tracker;
  tracker.start(kT0, 1, []() -> std::optional<Datagram> { return std::nullopt; });
  EXPECT_FALSE(tracker.outstanding(1));
  EXPECT_FALSE(tracker.poll_transmit());
  EXPECT_EQ(tracker.poll_timeout(), kNever);
}

TEST(RequestTrackerBuilder, NulloptLaterAbandonsWithoutATimeout) {
  RequestTracker tracker;
  CountingBuilder b{ep("198.51.100.1:3478")};
  b.give_up_after = 2;  // two transmissions, then the builder declines
  tracker.start(kT0, 9, b.make());
  const Schedule run = drive(tracker);
  EXPECT_EQ(run.sends_ms, (std::vector<std::int64_t>{0, 250}));
  EXPECT_TRUE(run.timeouts_ms.empty()) << "an abandoned transaction is not a timeout";
  EXPECT_FALSE(tracker.outstanding(9));
  EXPECT_EQ(tracker.poll_timeout(), kNever);
}

TEST(RequestTrackerTimers, PollTimeoutIsTheEarliestDeadline) {
  RequestTracker tracker;
  EXPECT_EQ(tracker.poll_timeout(), kNever);
  CountingBuilder a{ep("198.51.100.1:1")}, b{ep("198.51.100.2:2")};
  tracker.start(kT0, 1, a.make());
  EXPECT_EQ(tracker.poll_timeout(), kT0 + milliseconds(250));
  tracker.start(kT0 + milliseconds(100), 2, b.make());
  EXPECT_EQ(tracker.poll_timeout(), kT0 + milliseconds(250));
  tracker.handle_timeout(kT0 + milliseconds(250));             // 1 retransmits, next at 750
  EXPECT_EQ(tracker.poll_timeout(), kT0 + milliseconds(350));  // 2's first deadline
  tracker.complete(2);
  EXPECT_EQ(tracker.poll_timeout(), kT0 + milliseconds(750));
  tracker.complete(1);
  EXPECT_EQ(tracker.poll_timeout(), kNever);
}

TEST(RequestTrackerTimers, EarlyHandleTimeoutIsHarmless) {
  RequestTracker tracker;
  CountingBuilder b{ep("198.51.100.1:3478")};
  tracker.start(kT0, 1, b.make());
  ASSERT_TRUE(tracker.poll_transmit());
  const Instant deadline = tracker.poll_timeout();
  for (Instant t : {kT0, kT0 + milliseconds(100), deadline - std::chrono::microseconds(1)}) {
    EXPECT_TRUE(tracker.handle_timeout(t).empty());
    EXPECT_FALSE(tracker.poll_transmit());
    EXPECT_EQ(tracker.poll_timeout(), deadline);
  }
  EXPECT_EQ(*b.builds, 1);
  tracker.handle_timeout(deadline);
  EXPECT_TRUE(tracker.poll_transmit());
  EXPECT_EQ(*b.builds, 2);
}

TEST(RequestTrackerTimers, LateHandleTimeoutSendsOneCopyAndReschedulesFromNow) {
  RequestTracker tracker;
  CountingBuilder b{ep("198.51.100.1:3478")};
  tracker.start(kT0, 1, b.make());
  tracker.poll_transmit();
  tracker.handle_timeout(kT0 + milliseconds(2000));  // three deadlines late
  EXPECT_TRUE(tracker.poll_transmit());
  EXPECT_FALSE(tracker.poll_transmit()) << "no burst of missed retransmissions";
  EXPECT_EQ(tracker.poll_timeout(), kT0 + milliseconds(2500));
}

TEST(RequestTrackerCancel, CancelToForgetsOnlyThatRemote) {
  RequestTracker tracker;
  CountingBuilder a{ep("198.51.100.1:1")}, b{ep("198.51.100.2:2")};
  tracker.start(kT0, 1, a.make());
  tracker.start(kT0, 2, b.make());
  tracker.start(kT0, 3, a.make());
  tracker.cancel_to(ep("198.51.100.1:1"));
  EXPECT_FALSE(tracker.outstanding(1));
  EXPECT_TRUE(tracker.outstanding(2));
  EXPECT_FALSE(tracker.outstanding(3));
  tracker.clear();
  EXPECT_EQ(tracker.size(), 0u);
  EXPECT_FALSE(tracker.poll_transmit());
}

TEST(RequestTrackerQueue, TransmitsLeaveInOrder) {
  RequestTracker tracker;
  CountingBuilder a{ep("198.51.100.1:1"), 1}, b{ep("198.51.100.2:2"), 2};
  tracker.start(kT0, 1, a.make());
  tracker.start(kT0, 2, b.make());
  auto first = tracker.poll_transmit(), second = tracker.poll_transmit();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->payload[0], 1);
  EXPECT_EQ(second->payload[0], 2);
}

}  // namespace
}  // namespace qp2p
