// Requests held for an unknown target (stack/supernode/held_requests.h): a copy is known, the
// capacity bounds them, the target's arrival releases exactly its requests (messages and
// tunnel connects) in order, and a hold runs out after its time.
#include "stack/supernode/held_requests.h"

#include <gtest/gtest.h>

namespace qp2p {
namespace {

PeerId id(std::uint8_t n) {
  PeerId p;
  p.key.fill(n);
  return p;
}

wire::SendMessage message(std::uint8_t to, std::uint64_t message_id) {
  return {id(to), message_id, "text " + std::to_string(message_id)};
}

constexpr Instant kT = instant_from_us(1'000'000);
constexpr Duration kHold = std::chrono::seconds(5);

TEST(HeldRequests, ACopyIsKnownAndTheCapacityBoundsThem) {
  HeldRequests held(kHold, 2);
  EXPECT_FALSE(held.holds(id(1), 10));
  EXPECT_TRUE(held.hold(kT, id(1), 10, message(9, 1)));
  EXPECT_TRUE(held.holds(id(1), 10));   // a copy from the sender: absorbed by the caller
  EXPECT_FALSE(held.holds(id(2), 10));  // the same transaction of another sender: another one
  EXPECT_FALSE(held.holds(id(1), 11));
  EXPECT_TRUE(held.hold(kT, id(2), 11, message(9, 1)));
  EXPECT_FALSE(held.hold(kT, id(3), 12, message(8, 1)));  // full
  EXPECT_EQ(held.size(), 2u);
  EXPECT_EQ(held.deadline(), kT + kHold);
}

TEST(HeldRequests, TheTargetsArrivalReleasesItsRequestsInOrder) {
  HeldRequests held(kHold, 8);
  held.hold(kT, id(1), 10, message(9, 1));
  held.hold(kT, id(1), 11, message(8, 2));
  held.hold(kT, id(2), 12, wire::TunnelConnect{id(9), {}, 30});
  held.hold(kT, id(3), 13, message(9, 3));
  EXPECT_TRUE(held.release(id(7)).empty());
  const std::vector<HeldRequest> out = held.release(id(9));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].transaction, 10u);
  EXPECT_EQ(out[1].transaction, 12u);
  EXPECT_EQ(std::get<wire::TunnelConnect>(out[1].request).rtt_ms, 30u);
  EXPECT_EQ(out[1].target(), id(9));
  EXPECT_EQ(std::get<wire::SendMessage>(out[2].request).text, "text 3");
  EXPECT_EQ(held.size(), 1u);
  EXPECT_TRUE(held.release(id(9)).empty());
}

TEST(HeldRequests, HoldsRunOutOldestFirst) {
  HeldRequests held(kHold, 8);
  EXPECT_EQ(held.deadline(), kNever);
  held.hold(kT, id(1), 10, message(9, 1));
  held.hold(kT + std::chrono::seconds(1), id(1), 11, message(9, 2));
  EXPECT_TRUE(held.expire(kT + kHold - std::chrono::microseconds(1)).empty());
  auto first = held.expire(kT + kHold);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].transaction, 10u);
  EXPECT_EQ(held.deadline(), kT + std::chrono::seconds(1) + kHold);
  EXPECT_EQ(held.expire(kT + std::chrono::seconds(60)).size(), 1u);
  EXPECT_EQ(held.size(), 0u);
  EXPECT_EQ(held.deadline(), kNever);
}

}  // namespace
}  // namespace qp2p
