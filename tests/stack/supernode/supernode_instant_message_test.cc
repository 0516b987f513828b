// Instant messages: Send -> SendAccepted to the sender, Deliver pushed to the target until it
// acks, then a DeliveryReport pushed to the sender; 404 for an unknown or offline target; a
// retransmitted Send (same message id) is delivered once.
#include <gtest/gtest.h>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct MessageFixture : ::testing::Test {
  TestNetwork net;
  TestClient alice{1, ep("198.51.100.10:40000"), net.primary()};
  TestClient bob{2, ep("198.51.100.20:40000"), net.primary()};

  void SetUp() override {
    ASSERT_TRUE(net.login(alice));
    ASSERT_TRUE(net.login(bob));
  }
};

TEST_F(MessageFixture, DeliverAckAndDeliveryReport) {
  auto accepted = net.request(alice, wire::SendMessage{bob.id(), 77, "hello bob"});
  ASSERT_TRUE(accepted);
  EXPECT_TRUE(std::holds_alternative<wire::SendAccepted>(*accepted));

  auto deliver = bob.take<wire::Deliver>();
  ASSERT_TRUE(deliver);
  EXPECT_TRUE(deliver->sealed);
  const auto& d = std::get<wire::Deliver>(deliver->message.body);
  EXPECT_EQ(d.from, alice.id());
  EXPECT_EQ(d.message_id, 77u);
  EXPECT_EQ(d.text, "hello bob");
  EXPECT_EQ(alice.count<wire::DeliveryReport>(), 0u) << "no report before the target acks";

  net.ack(bob, deliver->message.transaction);
  auto report = alice.take<wire::DeliveryReport>();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->sealed);
  const auto& rep = std::get<wire::DeliveryReport>(report->message.body);
  EXPECT_EQ(rep.to, bob.id());
  EXPECT_EQ(rep.message_id, 77u);
  net.ack(alice, report->message.transaction);

  EXPECT_EQ(net.supernode.counters().messages_routed, 1u);
  EXPECT_EQ(net.supernode.counters().messages_undeliverable, 0u);
  net.advance(seconds(15));
  EXPECT_EQ(bob.count<wire::Deliver>(), 0u);
  EXPECT_EQ(alice.count<wire::DeliveryReport>(), 0u);
  EXPECT_EQ(net.supernode.counters().dropped_control_unexpected, 0u);
}

TEST_F(MessageFixture, DeliverIsRetransmittedUntilAcked) {
  ASSERT_TRUE(net.request(alice, wire::SendMessage{bob.id(), 1, "are you there?"}));
  auto first = bob.take<wire::Deliver>();
  ASSERT_TRUE(first);
  net.advance(milliseconds(250));
  auto second = bob.take<wire::Deliver>();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->message.transaction, first->message.transaction);
  EXPECT_EQ(std::get<wire::Deliver>(second->message.body).text, "are you there?");
  net.ack(bob, second->message.transaction);
  ASSERT_TRUE(alice.take<wire::DeliveryReport>());
  // Bob's first ack was lost and he acks the first copy again: a late duplicate, ignored.
  net.ack(bob, first->message.transaction);
  EXPECT_EQ(alice.count<wire::DeliveryReport>(), 0u);
  EXPECT_EQ(net.supernode.counters().messages_routed, 1u);
}

TEST_F(MessageFixture, NeverAckedDeliverCountsAsUndeliverable) {
  ASSERT_TRUE(net.request(alice, wire::SendMessage{bob.id(), 1, "lost"}));
  net.advance(seconds(5));
  net.request(bob, wire::Keepalive{});
  net.advance(seconds(10));
  EXPECT_EQ(bob.count<wire::Deliver>(), 7u);
  EXPECT_EQ(net.supernode.counters().messages_undeliverable, 1u);
  EXPECT_EQ(alice.count<wire::DeliveryReport>(), 0u);
}

TEST_F(MessageFixture, UnknownTargetIs404) {
  PeerId nobody;
  nobody.key.fill(0x99);
  auto r = net.request(alice, wire::SendMessage{nobody, 5, "anyone?"});
  EXPECT_EQ(error_code(r), 404);
  EXPECT_EQ(net.supernode.counters().messages_undeliverable, 1u);
}

TEST_F(MessageFixture, OfflineTargetIs404) {
  ASSERT_TRUE(net.request(bob, wire::Logout{}));
  EXPECT_EQ(error_code(net.request(alice, wire::SendMessage{bob.id(), 5, "gone?"})), 404);
  EXPECT_EQ(bob.count<wire::Deliver>(), 0u);
}

TEST_F(MessageFixture, RetransmittedSendIsDeliveredOnce) {
  // Alice's SendAccepted was lost; she sends the same message id again (sealed afresh).
  auto a1 = net.request(alice, wire::SendMessage{bob.id(), 42, "once"});
  auto a2 = net.request(alice, wire::SendMessage{bob.id(), 42, "once"});
  ASSERT_TRUE(a1 && a2);
  EXPECT_TRUE(std::holds_alternative<wire::SendAccepted>(*a1));
  EXPECT_TRUE(std::holds_alternative<wire::SendAccepted>(*a2));
  auto deliver = bob.take<wire::Deliver>();
  ASSERT_TRUE(deliver);
  net.ack(bob, deliver->message.transaction);
  EXPECT_EQ(bob.count<wire::Deliver>(), 0u);
  net.advance(seconds(12));
  EXPECT_EQ(bob.count<wire::Deliver>(), 0u);
  // A new message id is a new message.
  ASSERT_TRUE(net.request(alice, wire::SendMessage{bob.id(), 43, "twice"}));
  EXPECT_EQ(bob.count<wire::Deliver>(), 1u);
}

TEST_F(MessageFixture, SameMessageIdFromAnotherSenderIsAnotherMessage) {
  TestClient carol(3, ep("198.51.100.30:40000"), net.primary());
  ASSERT_TRUE(net.login(carol));
  ASSERT_TRUE(net.request(alice, wire::SendMessage{bob.id(), 42, "from alice"}));
  ASSERT_TRUE(net.request(carol, wire::SendMessage{bob.id(), 42, "from carol"}));
  EXPECT_EQ(bob.count<wire::Deliver>(), 2u);
}

TEST_F(MessageFixture, DeliverInFlightFollowsTheTargetToItsNewSession) {
  // Bob restarts and logs in again while a Deliver to him is unacknowledged: the push goes on
  // to his new session instead of being dropped silently.
  ASSERT_TRUE(net.request(alice, wire::SendMessage{bob.id(), 9, "still there?"}));
  ASSERT_TRUE(bob.take<wire::Deliver>());
  ASSERT_TRUE(net.login(bob));
  net.advance(milliseconds(300));
  auto again = bob.take<wire::Deliver>();
  ASSERT_TRUE(again) << "the Deliver was abandoned when Bob's session was replaced";
  EXPECT_EQ(bob.open_failures, 0u);
  net.ack(bob, again->message.transaction);
  EXPECT_TRUE(alice.take<wire::DeliveryReport>());
}

TEST_F(MessageFixture, DeliverToAPeerThatLogsOutCountsAsUndeliverable) {
  ASSERT_TRUE(net.request(alice, wire::SendMessage{bob.id(), 3, "bye?"}));
  ASSERT_TRUE(bob.take<wire::Deliver>());
  ASSERT_TRUE(net.request(bob, wire::Logout{}));  // without acknowledging the Deliver
  net.advance(seconds(15));
  EXPECT_EQ(bob.count<wire::Deliver>(), 0u) << "no copies after the logout";
  EXPECT_EQ(net.supernode.counters().messages_undeliverable, 1u);
  EXPECT_EQ(alice.count<wire::DeliveryReport>(), 0u);
}

TEST_F(MessageFixture, MessageToItselfWorks) {
  ASSERT_TRUE(net.request(alice, wire::SendMessage{alice.id(), 1, "note to self"}));
  auto d = alice.take<wire::Deliver>();
  ASSERT_TRUE(d);
  net.ack(alice, d->message.transaction);
  EXPECT_TRUE(alice.take<wire::DeliveryReport>());
}

}  // namespace
}  // namespace qp2p::test
