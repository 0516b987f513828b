// Lookup: PeerInfo of an online peer (mapped address, its supernode, its record if any), 404 for
// an unknown or offline peer, and every record the supernode accepts can be returned in one
// datagram of at most kMaxDatagram bytes.
#include <gtest/gtest.h>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

// Entries whose keys and values total `bytes`, split over `n` entries.
wire::MetaEntries entries_of(std::size_t bytes, std::size_t n) {
  wire::MetaEntries out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t share = bytes / n + (i < bytes % n ? 1 : 0);
    out.push_back({std::string(1, static_cast<char>('a' + i)), std::string(share - 1, 'v')});
  }
  return out;
}

TEST(SupernodeLookup, FindsAnOnlinePeerWithItsRecord) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  TestClient bob(2, ep("[2001:db8::20]:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  ASSERT_TRUE(net.login(bob));
  ASSERT_TRUE(
      net.request(bob, wire::Publish{wire::SignedRecord::make(bob.identity(), 2, {{"k", "v"}})}));

  auto r = net.request(alice, wire::Lookup{bob.id()});
  ASSERT_TRUE(r && std::holds_alternative<wire::LookupResult>(*r));
  const wire::PeerInfo& info = std::get<wire::LookupResult>(*r).info;
  EXPECT_EQ(info.id, bob.id());
  EXPECT_TRUE(info.online);
  EXPECT_EQ(info.mapped, bob.address);
  EXPECT_EQ(info.supernode, net.supernode.identity().id());
  ASSERT_TRUE(info.record);
  EXPECT_EQ(info.record->version, 2u);
  EXPECT_TRUE(info.record->verify());
  EXPECT_EQ(net.supernode.counters().lookups, 1u);
}

TEST(SupernodeLookup, FindsAnOnlinePeerWithoutARecord) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  auto r = net.request(alice, wire::Lookup{alice.id()});  // itself
  ASSERT_TRUE(r && std::holds_alternative<wire::LookupResult>(*r));
  const wire::PeerInfo& info = std::get<wire::LookupResult>(*r).info;
  EXPECT_TRUE(info.online);
  EXPECT_EQ(info.mapped, alice.address);
  EXPECT_FALSE(info.record);
}

TEST(SupernodeLookup, UnknownPeerIs404) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  PeerId stranger;
  stranger.key.fill(0x42);
  auto r = net.request(alice, wire::Lookup{stranger});
  EXPECT_EQ(error_code(r), 404);
  EXPECT_NE(std::get<wire::Error>(*r).reason.find(stranger.to_string()), std::string::npos);
}

TEST(SupernodeLookup, LoggedOutPeerIs404) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  TestClient bob(2, ep("198.51.100.20:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  ASSERT_TRUE(net.login(bob));
  ASSERT_TRUE(net.request(bob, wire::Logout{}));
  EXPECT_EQ(error_code(net.request(alice, wire::Lookup{bob.id()})), 404);
}

TEST(SupernodeLookup, ModeratelyLargeRecordFitsOneDatagram) {
  TestNetwork net;
  TestClient alice(1, ep("[2001:db8::10]:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  auto ack = net.request(
      alice, wire::Publish{wire::SignedRecord::make(alice.identity(), 1, entries_of(900, 4))});
  ASSERT_TRUE(ack && std::holds_alternative<wire::PublishAck>(*ack));
  const std::uint64_t txn = alice.new_txn();
  net.send(alice, alice.seal(txn, wire::Lookup{alice.id()}));
  auto r = alice.take_response(txn);
  ASSERT_TRUE(r);
  EXPECT_LE(r->datagram.payload.size(), wire::kMaxDatagram);
  EXPECT_TRUE(std::holds_alternative<wire::LookupResult>(r->message.body));
}

TEST(SupernodeLookup, EveryAcceptedRecordCanBeReturnedInOneDatagram) {
  // The largest record validate_entries allows (1024 bytes of keys and values) fits a Publish
  // datagram, but a LookupResult adds the PeerInfo fields (up to 84 bytes with an IPv6 mapped
  // address). Whatever the supernode accepts, it must be able to return.
  TestNetwork net;
  TestClient alice(1, ep("[2001:db8::10]:40000"), net.primary());
  TestClient bob(2, ep("[2001:db8::20]:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  ASSERT_TRUE(net.login(bob));
  const auto record =
      wire::SignedRecord::make(alice.identity(), 1, entries_of(wire::kMaxRecordBytes, 4));
  ASSERT_EQ(wire::validate_entries(record.entries), "");
  const Bytes publish = alice.seal(alice.new_txn(), wire::Publish{record});
  ASSERT_LE(publish.size(), wire::kMaxDatagram) << "the record is publishable";

  auto ack = net.request(alice, wire::Publish{record});
  ASSERT_TRUE(ack);
  if (!std::holds_alternative<wire::PublishAck>(*ack)) {
    EXPECT_EQ(error_code(ack), 400) << "refused records are refused as bad requests";
    return;
  }
  const std::uint64_t txn = bob.new_txn();
  net.send(bob, bob.seal(txn, wire::Lookup{alice.id()}));
  auto r = bob.take_response(txn);
  ASSERT_TRUE(r) << "the LookupResult was too large to decode";
  EXPECT_LE(r->datagram.payload.size(), wire::kMaxDatagram);
  // And a search finds it too.
  auto found = net.request(bob, wire::Search{1, {{"a", "", true}}, {}});
  ASSERT_TRUE(found && std::holds_alternative<wire::SearchResult>(*found));
  EXPECT_EQ(std::get<wire::SearchResult>(*found).peers.size(), 1u);
}

}  // namespace
}  // namespace qp2p::test
