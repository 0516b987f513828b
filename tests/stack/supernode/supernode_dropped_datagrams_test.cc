// Datagrams the supernode must drop without answering, each counted by its reason: forged or
// unauthenticated control messages, replays, reflections, requests outside a session, messages
// of the wrong kind, malformed input and unknown protocols.
#include <gtest/gtest.h>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

struct DropFixture : ::testing::Test {
  TestNetwork net;
  TestClient alice{1, ep("198.51.100.10:40000"), net.primary()};

  void SetUp() override { ASSERT_TRUE(net.login(alice)); }

  // Delivers `payload` from Alice's address and expects no answer at all.
  void expect_silent_drop(const Bytes& payload) {
    const std::size_t before = alice.datagrams_received;
    net.send(alice, payload);
    EXPECT_EQ(alice.datagrams_received, before) << "a dropped datagram is not answered";
    EXPECT_TRUE(net.unrouted.empty());
  }
};

TEST_F(DropFixture, ForgedMacIsDroppedAsUnauthenticated) {
  Bytes sealed = alice.seal(alice.new_txn(), wire::Lookup{alice.id()});
  sealed.back() ^= 0x01;
  expect_silent_drop(sealed);
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 1u);
  EXPECT_EQ(net.supernode.counters().lookups, 0u);
}

TEST_F(DropFixture, SessionKeyGuessIsDroppedAsUnauthenticated) {
  // Mallory knows Alice's session id (it is in clear on the wire) but not the key.
  wire::SessionKey guess{};
  wire::Session forged(alice.session_id(), guess, wire::Direction::kToSupernode);
  expect_silent_drop(forged.seal({1, wire::Logout{}}));
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 1u);
  EXPECT_EQ(net.supernode.online_peers(), 1u) << "the forged Logout did nothing";
}

TEST_F(DropFixture, UnknownSessionIdIsDroppedButAnsweredInClear) {
  // Dropped (nothing is executed), but the sender is told the session is unknown, in a
  // datagram smaller than its own, so a peer the supernode expired logs in again at once.
  wire::Session stranger(alice.session_id() ^ 0xffff, wire::SessionKey{},
                         wire::Direction::kToSupernode);
  const Bytes sealed = stranger.seal({77, wire::Keepalive{}});
  net.send(alice, sealed);
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 1u);
  auto answer = alice.take_response(77);
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->sealed);
  ASSERT_TRUE(std::holds_alternative<wire::Error>(answer->message.body));
  EXPECT_EQ(std::get<wire::Error>(answer->message.body).code, wire::ErrorCode::kUnknownSession);
}

TEST_F(DropFixture, ReplayedDatagramIsDroppedAsReplayed) {
  const std::uint64_t txn = alice.new_txn();
  const Bytes sealed = alice.seal(txn, wire::SendMessage{alice.id(), 1, "x"});
  net.send(alice, sealed);
  ASSERT_TRUE(alice.take_response(txn));
  alice.received.clear();
  expect_silent_drop(sealed);
  expect_silent_drop(sealed);
  EXPECT_EQ(net.supernode.counters().dropped_control_replayed, 2u);
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 0u);
}

TEST_F(DropFixture, ReplayFromAnotherAddressIsDroppedAndDoesNotMoveTheSession) {
  const std::uint64_t txn = alice.new_txn();
  const Bytes sealed = alice.seal(txn, wire::Keepalive{});
  net.send(alice, sealed);
  ASSERT_TRUE(alice.take_response(txn));
  net.deliver(net.primary(), ep("203.0.113.66:5555"), sealed);
  EXPECT_TRUE(net.unrouted.empty());
  EXPECT_EQ(net.supernode.counters().dropped_control_replayed, 1u);
  auto ack = net.request(alice, wire::Keepalive{});
  ASSERT_TRUE(ack);
  EXPECT_EQ(std::get<wire::KeepaliveAck>(*ack).mapped, alice.address);
}

TEST_F(DropFixture, ReflectedSupernodeMessageIsDropped) {
  // A sealed answer of the supernode, sent back to it from Alice's address.
  const std::uint64_t txn = alice.new_txn();
  net.send(alice, alice.seal(txn, wire::Keepalive{}));
  auto ack = alice.take_response(txn);
  ASSERT_TRUE(ack);
  expect_silent_drop(ack->datagram.payload);
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 1u);
}

TEST_F(DropFixture, SessionRequestsWithoutASessionAreDropped) {
  for (wire::Body body : {wire::Body{wire::Keepalive{}}, wire::Body{wire::Logout{}},
                          wire::Body{wire::Lookup{alice.id()}}, wire::Body{wire::Ack{}},
                          wire::Body{wire::SendMessage{alice.id(), 1, "x"}}})
    expect_silent_drop(alice.plain(alice.new_txn(), body));
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 5u);
  EXPECT_EQ(net.supernode.online_peers(), 1u);
}

TEST_F(DropFixture, WrongKindOfMessageInsideASessionIsUnexpected) {
  expect_silent_drop(alice.seal(alice.new_txn(), wire::Challenge{}));
  expect_silent_drop(alice.seal(alice.new_txn(), wire::Hello{alice.id()}));
  expect_silent_drop(alice.seal(alice.new_txn(), wire::KeepaliveAck{}));
  EXPECT_EQ(net.supernode.counters().dropped_control_unexpected, 3u);
}

TEST_F(DropFixture, AckForNoPushIsUnexpected) {
  expect_silent_drop(alice.seal(12345, wire::Ack{}));
  EXPECT_EQ(net.supernode.counters().dropped_control_unexpected, 1u);
}

TEST_F(DropFixture, AckOfSomeoneElsesPushIsUnexpected) {
  TestClient bob(2, ep("198.51.100.20:40000"), net.primary());
  ASSERT_TRUE(net.login(bob));
  ASSERT_TRUE(net.request(alice, wire::SendMessage{bob.id(), 1, "for bob"}));
  auto deliver = bob.take<wire::Deliver>();
  ASSERT_TRUE(deliver);
  // Alice tries to acknowledge Bob's delivery herself.
  expect_silent_drop(alice.seal(deliver->message.transaction, wire::Ack{}));
  EXPECT_EQ(net.supernode.counters().dropped_control_unexpected, 1u);
  EXPECT_EQ(alice.count<wire::DeliveryReport>(), 0u);
  net.advance(std::chrono::milliseconds(250));
  EXPECT_EQ(bob.count<wire::Deliver>(), 1u) << "still retransmitted to Bob";
}

TEST_F(DropFixture, MalformedControlMessagesAreDroppedAsMalformed) {
  Bytes truncated = alice.plain(1, wire::Hello{alice.id()});
  truncated.pop_back();
  expect_silent_drop(truncated);
  Bytes bad_version = alice.plain(1, wire::Hello{alice.id()});
  bad_version[1] = 9;
  expect_silent_drop(bad_version);
  expect_silent_drop(Bytes{0x51});
  Bytes unknown_type = alice.plain(1, wire::Keepalive{});
  unknown_type[3] = 0x77;
  expect_silent_drop(unknown_type);
  EXPECT_EQ(net.supernode.counters().dropped_control_malformed, 4u);
}

TEST_F(DropFixture, AuthenticatedButMalformedBodyIsDroppedAsMalformed) {
  // The MAC is good but the body breaks a bound the encoder does not enforce.
  wire::Search too_many{1, {}, {}};
  for (std::size_t i = 0; i <= wire::kMaxSearchTerms; ++i)
    too_many.terms.push_back({"k", "v", false});
  expect_silent_drop(alice.seal(alice.new_txn(), too_many));
  expect_silent_drop(
      alice.seal(alice.new_txn(),
                 wire::SendMessage{alice.id(), 1, std::string(wire::kMaxTextBytes + 1, 't')}));
  EXPECT_EQ(net.supernode.counters().dropped_control_malformed, 2u);
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 0u);
  EXPECT_EQ(net.supernode.counters().searches, 0u);
}

TEST_F(DropFixture, UnknownProtocolsAreDropped) {
  expect_silent_drop(Bytes{});
  expect_silent_drop(Bytes{0x80, 0x00, 0x00, 0x01});              // RTP range
  expect_silent_drop(Bytes{0x16, 0xfe, 0xfd, 0x00});              // DTLS range
  expect_silent_drop(Bytes{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4});  // TURN ChannelData range
  expect_silent_drop(Bytes(100, 0xff));
  EXPECT_EQ(net.supernode.counters().dropped_unknown_protocol, 5u);
}

TEST_F(DropFixture, EveryInputIsCounted) {
  const auto before = net.supernode.counters().datagrams_in;
  expect_silent_drop(Bytes{0xff});
  net.request(alice, wire::Keepalive{});
  EXPECT_EQ(net.supernode.counters().datagrams_in, before + 2);
}

}  // namespace
}  // namespace qp2p::test
