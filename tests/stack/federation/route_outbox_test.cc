// Reliable negotiation payloads between supernodes (stack/federation/route_outbox.h): copies on
// the urgent schedule until the addressee's ack, a punch's later copies naming the same start
// moment, acks that must match addressee and address, the bound, and giving up.
#include "stack/federation/route_outbox.h"

#include <gtest/gtest.h>

#include "tests/stack/federation/payload_bytes.h"

namespace qp2p::federation {
namespace {

using test::key_of;

using std::chrono::milliseconds;

const PeerId kB = key_of(0xb0);
const PeerId kCaller = key_of(1);
const PeerId kCallee = key_of(2);

RouteHandshake message(HandshakeRouteType type, std::uint64_t attempt = 7) {
  RouteHandshake m = route_handshake(type, attempt, kCaller, kCallee);
  if (type == HandshakeRouteType::kPunch) {
    m.plan.start_after_ms = 600;
    m.plan.deadline_ms = 10000;
    m.plan.remote_candidates = {{Endpoint::parse("203.0.113.5:4000").value(), 1}};
  }
  return m;
}

Instant at_ms(std::int64_t ms) { return instant_from_us(ms * 1000); }

// Runs the outbox from 0 to `end_ms` at its own deadlines; the times of the copies sent.
std::vector<std::int64_t> copy_times(RouteOutbox& box, std::int64_t end_ms,
                                     std::vector<RouteOutbox::Copy>* copies = nullptr,
                                     std::vector<RouteOutbox::Expired>* expired = nullptr) {
  std::vector<std::int64_t> times;
  for (int steps = 0; steps < 1000 && box.poll_timeout() <= at_ms(end_ms); ++steps) {
    const Instant now = box.poll_timeout();
    std::vector<RouteOutbox::Copy> out;
    auto gone = box.handle_timeout(now, out);
    for (auto& c : out) {
      times.push_back(to_us(now) / 1000);
      if (copies) copies->push_back(std::move(c));
    }
    if (expired) expired->insert(expired->end(), gone.begin(), gone.end());
  }
  return times;
}

TEST(RouteOutbox, RetransmitsOnTheUrgentScheduleThenGivesUp) {
  RouteOutbox box(kUrgentRetransmitPolicy, 16);
  ASSERT_TRUE(box.start(at_ms(0), kB, message(HandshakeRouteType::kOffer)));
  std::vector<RouteOutbox::Expired> expired;
  const auto times = copy_times(box, 20000, nullptr, &expired);
  const std::vector<std::int64_t> expected = {250,  750,  1750, 2750, 3750, 4750,
                                              5750, 6750, 7750, 8750, 9750};
  EXPECT_EQ(times, expected) << "11 copies after the first, RTO doubling to 1 s";
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].to, kB);
  EXPECT_EQ(expired[0].message.type, HandshakeRouteType::kOffer);
  EXPECT_EQ(box.size(), 0u);
  EXPECT_EQ(box.retransmissions(), 11u);
}

TEST(RouteOutbox, AckFromTheAddresseeEndsIt) {
  RouteOutbox box(kUrgentRetransmitPolicy, 16);
  const RouteHandshake offer = message(HandshakeRouteType::kOffer);
  ASSERT_TRUE(box.start(at_ms(0), kB, offer));
  EXPECT_FALSE(box.acknowledged(key_of(0xc0), ack_of(offer))) << "another member's ack";
  RouteHandshake other = ack_of(offer);
  other.attempt = 8;
  EXPECT_FALSE(box.acknowledged(kB, other)) << "another attempt";
  EXPECT_TRUE(box.acknowledged(kB, ack_of(offer)));
  EXPECT_FALSE(box.acknowledged(kB, ack_of(offer))) << "a duplicate ack completes nothing";
  EXPECT_EQ(box.poll_timeout(), kNever);
}

TEST(RouteOutbox, LaterPunchCopiesNameTheSameStartMoment) {
  RouteOutbox box(kUrgentRetransmitPolicy, 16);
  auto first = box.start(at_ms(0), kB, message(HandshakeRouteType::kPunch));
  ASSERT_TRUE(first);
  EXPECT_EQ(decode_handshake_route(*first, nullptr)->plan.start_after_ms, 600u);
  std::vector<RouteOutbox::Copy> copies;
  copy_times(box, 1000, &copies);
  ASSERT_EQ(copies.size(), 2u);  // at 250 and 750 ms
  // Each names the moment 600 ms after the first copy's departure, or "now" once past it.
  EXPECT_EQ(decode_handshake_route(copies[0].payload, nullptr)->plan.start_after_ms, 350u);
  EXPECT_EQ(decode_handshake_route(copies[1].payload, nullptr)->plan.start_after_ms, 0u);
}

TEST(RouteOutbox, ANewRelayedAddressReplacesTheOldOne) {
  RouteOutbox box(kUrgentRetransmitPolicy, 16);
  RouteHandshake r1 = message(HandshakeRouteType::kRelayed);
  r1.relayed = Endpoint::parse("192.0.2.2:50001").value();
  RouteHandshake r2 = r1;
  r2.relayed = Endpoint::parse("192.0.2.2:50002").value();
  ASSERT_TRUE(box.start(at_ms(0), kB, r1));
  ASSERT_TRUE(box.start(at_ms(10), kB, r2));
  EXPECT_EQ(box.size(), 1u);
  EXPECT_FALSE(box.acknowledged(kB, ack_of(r1))) << "the ack of the replaced address";
  EXPECT_TRUE(box.acknowledged(kB, ack_of(r2)));
}

TEST(RouteOutbox, BoundedAndCancelledByAttempt) {
  RouteOutbox box(kUrgentRetransmitPolicy, 2);
  ASSERT_TRUE(box.start(at_ms(0), kB, message(HandshakeRouteType::kOffer, 1)));
  ASSERT_TRUE(box.start(at_ms(0), kB, message(HandshakeRouteType::kPunch, 1)));
  EXPECT_FALSE(box.start(at_ms(0), kB, message(HandshakeRouteType::kOffer, 2))) << "full";
  EXPECT_TRUE(box.start(at_ms(5), kB, message(HandshakeRouteType::kOffer, 1)))
      << "replacing one in flight needs no room";
  EXPECT_TRUE(box.in_flight(1, HandshakeRouteType::kPunch, kB));
  EXPECT_FALSE(box.in_flight(1, HandshakeRouteType::kCancel, kB));
  box.cancel(1);
  EXPECT_EQ(box.size(), 0u);
  EXPECT_FALSE(box.in_flight(1, HandshakeRouteType::kPunch, kB));
  EXPECT_TRUE(box.start(at_ms(5), kB, message(HandshakeRouteType::kOffer, 2)));
}

}  // namespace
}  // namespace qp2p::federation
