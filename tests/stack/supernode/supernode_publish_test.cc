// Publish: a peer stores its own signed record; versions must increase (409 otherwise, except an
// identical retransmission, which is acknowledged again); a record owned by someone else is
// refused with 401 and a record whose signature or bounds are bad with 400.
#include <gtest/gtest.h>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

struct PublishFixture : ::testing::Test {
  TestNetwork net;
  TestClient alice{1, ep("198.51.100.10:40000"), net.primary()};
  TestClient bob{2, ep("198.51.100.20:40000"), net.primary()};

  void SetUp() override {
    ASSERT_TRUE(net.login(alice));
    ASSERT_TRUE(net.login(bob));
  }
  std::optional<wire::Body> publish(TestClient& c, const wire::SignedRecord& r) {
    return net.request(c, wire::Publish{r});
  }
  std::optional<wire::SignedRecord> stored(const PeerId& id) {
    auto r = net.request(bob, wire::Lookup{id});
    if (!r || !std::holds_alternative<wire::LookupResult>(*r)) return std::nullopt;
    return std::get<wire::LookupResult>(*r).info.record;
  }
};

TEST_F(PublishFixture, StoresTheRecordAndAcknowledgesItsVersion) {
  auto ack = publish(alice, wire::SignedRecord::make(alice.identity(), 3, {{"name", "alice"}}));
  ASSERT_TRUE(ack && std::holds_alternative<wire::PublishAck>(*ack));
  EXPECT_EQ(std::get<wire::PublishAck>(*ack).version, 3u);
  EXPECT_EQ(net.supernode.counters().publishes, 1u);
  auto record = stored(alice.id());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->version, 3u);
  EXPECT_EQ(*record->find("name"), "alice");
  EXPECT_TRUE(record->verify());
}

TEST_F(PublishFixture, HigherVersionReplacesTheRecord) {
  ASSERT_TRUE(publish(alice, wire::SignedRecord::make(alice.identity(), 1, {{"v", "one"}})));
  auto ack = publish(alice, wire::SignedRecord::make(alice.identity(), 2, {{"v", "two"}}));
  ASSERT_TRUE(ack && std::holds_alternative<wire::PublishAck>(*ack));
  EXPECT_EQ(*stored(alice.id())->find("v"), "two");
}

TEST_F(PublishFixture, StaleVersionIsRefusedWith409) {
  ASSERT_TRUE(publish(alice, wire::SignedRecord::make(alice.identity(), 5, {{"v", "five"}})));
  EXPECT_EQ(error_code(publish(alice, wire::SignedRecord::make(alice.identity(), 4, {{"v", "4"}}))),
            409);
  // Same version, different content: also stale.
  EXPECT_EQ(error_code(publish(alice, wire::SignedRecord::make(alice.identity(), 5, {{"v", "x"}}))),
            409);
  EXPECT_EQ(*stored(alice.id())->find("v"), "five");
  EXPECT_EQ(net.supernode.counters().rejected_record, 2u);
}

TEST_F(PublishFixture, IdenticalRetransmissionIsAcknowledgedAgain) {
  const auto record = wire::SignedRecord::make(alice.identity(), 7, {{"v", "seven"}});
  ASSERT_TRUE(publish(alice, record));
  auto again = publish(alice, record);
  ASSERT_TRUE(again && std::holds_alternative<wire::PublishAck>(*again));
  EXPECT_EQ(std::get<wire::PublishAck>(*again).version, 7u);
  EXPECT_EQ(net.supernode.counters().rejected_record, 0u);
}

TEST_F(PublishFixture, RecordOwnedBySomeoneElseIsRefusedWith401) {
  // Bob relays a perfectly valid record of Alice's: only Alice may publish it.
  const auto alices = wire::SignedRecord::make(alice.identity(), 1, {{"name", "alice"}});
  EXPECT_EQ(error_code(publish(bob, alices)), 401);
  EXPECT_EQ(error_code(net.request(bob, wire::Lookup{alice.id()})), 0)
      << "Alice is online, so the lookup succeeds";
  EXPECT_FALSE(stored(alice.id())) << "but no record was stored";
}

TEST_F(PublishFixture, ForgedRecordInTheSendersNameFailsItsSignature) {
  // Bob signs a record with his key but claims Alice as owner, publishing it from his session.
  auto forged = wire::SignedRecord::make(bob.identity(), 1, {{"name", "alice"}});
  forged.owner = alice.id();
  EXPECT_EQ(error_code(publish(bob, forged)), 401) << "owner is not the sender";
  // Alice's own session cannot store it either: the signature is not hers.
  EXPECT_EQ(error_code(publish(alice, forged)), 400);
  EXPECT_FALSE(stored(alice.id()));
}

TEST_F(PublishFixture, BadSignatureIsRefusedWith400) {
  auto record = wire::SignedRecord::make(alice.identity(), 1, {{"name", "alice"}});
  record.signature[0] ^= 0x80;
  EXPECT_EQ(error_code(publish(alice, record)), 400);
  record = wire::SignedRecord::make(alice.identity(), 1, {{"name", "alice"}});
  record.entries[0].second = "mallory";  // altered after signing
  EXPECT_EQ(error_code(publish(alice, record)), 400);
  EXPECT_EQ(net.supernode.counters().rejected_record, 2u);
  EXPECT_EQ(net.supernode.counters().publishes, 0u);
}

TEST_F(PublishFixture, SignedButOutOfBoundsEntriesAreRefusedWith400) {
  // Signed over unsorted keys (make() sorts, so sign by hand).
  wire::SignedRecord r;
  r.owner = alice.id();
  r.version = 1;
  r.entries = {{"b", "1"}, {"a", "2"}};
  Bytes b = r.signed_bytes();
  r.signature = alice.identity().sign(b.data(), b.size());
  EXPECT_EQ(error_code(publish(alice, r)), 400);
}

}  // namespace
}  // namespace qp2p::test
