// Search: every term must match (AND), a term with the prefix flag matches values starting with
// it, results are in peer-id order, at most `limit` of them (0 means 20, at most 100), `total`
// counts every match, and the result always fits one datagram.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

struct SearchFixture : ::testing::Test {
  TestNetwork net;
  std::vector<std::unique_ptr<TestClient>> peers;

  TestClient& add_peer(wire::MetaEntries entries) {
    const std::size_t i = peers.size();
    peers.push_back(std::make_unique<TestClient>(
        100 + i, ep("198.51.100." + std::to_string(10 + i) + ":40000"), net.primary()));
    TestClient& c = *peers.back();
    EXPECT_TRUE(net.login(c));
    auto ack = net.request(
        c, wire::Publish{wire::SignedRecord::make(c.identity(), 1, std::move(entries))});
    EXPECT_TRUE(ack && std::holds_alternative<wire::PublishAck>(*ack));
    return c;
  }
  wire::SearchResult search(std::vector<wire::SearchTerm> terms, std::uint16_t limit = 20,
                            std::size_t* datagram_size = nullptr) {
    TestClient& asker = *peers.front();
    const std::uint64_t txn = asker.new_txn();
    net.send(asker, asker.seal(txn, wire::Search{limit, std::move(terms), {}}));
    auto r = asker.take_response(txn);
    EXPECT_TRUE(r && std::holds_alternative<wire::SearchResult>(r->message.body));
    if (!r || !std::holds_alternative<wire::SearchResult>(r->message.body)) return {};
    if (datagram_size) *datagram_size = r->datagram.payload.size();
    return std::get<wire::SearchResult>(r->message.body);
  }
  static std::vector<PeerId> ids(const wire::SearchResult& r) {
    std::vector<PeerId> out;
    for (const auto& p : r.peers) out.push_back(p.id);
    return out;
  }
};

TEST_F(SearchFixture, AllTermsMustMatch) {
  TestClient& chat_de = add_peer({{"app", "chat"}, {"lang", "de"}});
  add_peer({{"app", "chat"}, {"lang", "fr"}});
  add_peer({{"app", "game"}, {"lang", "de"}});
  add_peer({{"lang", "de"}});
  const auto r = search({{"app", "chat", false}, {"lang", "de", false}});
  EXPECT_EQ(r.total, 1u);
  EXPECT_EQ(ids(r), std::vector<PeerId>{chat_de.id()});
  EXPECT_EQ(search({{"app", "chat", false}}).total, 2u);
  EXPECT_EQ(search({{"lang", "de", false}}).total, 3u);
  EXPECT_EQ(search({{"app", "chat", false}, {"lang", "es", false}}).total, 0u);
  EXPECT_EQ(net.supernode.counters().searches, 4u);
}

TEST_F(SearchFixture, ResultsCarryOnlineInfoAndVerifiableRecords) {
  TestClient& a = add_peer({{"app", "chat"}});
  const auto r = search({{"app", "chat", false}});
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].id, a.id());
  EXPECT_TRUE(r.peers[0].online);
  EXPECT_EQ(r.peers[0].mapped, a.address);
  ASSERT_TRUE(r.peers[0].record);
  EXPECT_TRUE(r.peers[0].record->verify());
}

TEST_F(SearchFixture, PrefixFlagMatchesValuePrefixesOnly) {
  TestClient& alice = add_peer({{"name", "alice"}});
  TestClient& alina = add_peer({{"name", "alina"}});
  add_peer({{"name", "bob"}});
  add_peer({{"name", "al"}});
  add_peer({{"nickname", "alice"}});
  auto r = search({{"name", "ali", true}});
  EXPECT_EQ(r.total, 2u);
  std::vector<PeerId> expected = {alice.id(), alina.id()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids(r), expected);
  EXPECT_EQ(search({{"name", "ali", false}}).total, 0u) << "without the flag: exact match";
  EXPECT_EQ(search({{"name", "al", true}}).total, 3u);
  EXPECT_EQ(search({{"name", "", true}}).total, 4u) << "empty prefix: any value of the key";
  EXPECT_EQ(search({{"name", "alice!", true}}).total, 0u);
}

TEST_F(SearchFixture, LimitTruncatesAndTotalCountsAllInIdOrder) {
  std::vector<PeerId> all;
  for (int i = 0; i < 5; ++i) all.push_back(add_peer({{"app", "chat"}}).id());
  std::sort(all.begin(), all.end());
  auto r = search({{"app", "chat", false}}, 3);
  EXPECT_EQ(r.total, 5u);
  EXPECT_EQ(ids(r), std::vector<PeerId>(all.begin(), all.begin() + 3));
  r = search({{"app", "chat", false}}, 100);
  EXPECT_EQ(r.total, 5u);
  EXPECT_EQ(ids(r), all);
}

TEST_F(SearchFixture, ZeroLimitMeansTheDefaultNotNothing) {
  for (int i = 0; i < 3; ++i) add_peer({{"app", "chat"}});
  auto r = search({{"app", "chat", false}}, 0);
  EXPECT_EQ(r.total, 3u);
  EXPECT_EQ(r.peers.size(), 3u);
}

TEST_F(SearchFixture, OneDatagramCarriesOnlyAFewPeersWhateverTheLimit) {
  // Even a minimal record makes a PeerInfo of ~190 bytes (ids, endpoint, 64-byte signature), so
  // a SearchResult holds 6 of them: the datagram, not the limit, bounds the answer.
  for (int i = 0; i < 25; ++i) add_peer({{"app", "chat"}});
  std::size_t size = 0;
  auto r = search({{"app", "chat", false}}, 100, &size);
  EXPECT_EQ(r.total, 25u);
  EXPECT_EQ(r.peers.size(), 6u);
  EXPECT_LE(size, wire::kMaxDatagram);
  auto first20 = search({{"app", "chat", false}}, 0);
  EXPECT_EQ(ids(first20), ids(r)) << "the first peers in id order either way";
}

TEST_F(SearchFixture, NoTermsIsABadRequest) {
  add_peer({{"app", "chat"}});
  TestClient& asker = *peers.front();
  EXPECT_EQ(error_code(net.request(asker, wire::Search{10, {}, {}})), 400);
}

TEST_F(SearchFixture, LargeResultsAreCutToFitOneDatagram) {
  // 12 peers with ~600-byte records: far more than one datagram can carry.
  for (int i = 0; i < 12; ++i)
    add_peer({{"app", "chat"}, {"bio", std::string(250, 'b')}, {"blob", std::string(250, 'x')}});
  std::size_t size = 0;
  auto r = search({{"app", "chat", false}}, 100, &size);
  EXPECT_EQ(r.total, 12u);
  EXPECT_GE(r.peers.size(), 1u);
  EXPECT_LT(r.peers.size(), 12u);
  EXPECT_LE(size, wire::kMaxDatagram);
  for (const auto& p : r.peers) EXPECT_TRUE(p.record && p.record->verify());
}

TEST_F(SearchFixture, SearchTermsAreMatchedAgainstKeysExactly) {
  add_peer({{"app", "chat"}});
  EXPECT_EQ(search({{"ap", "chat", false}}).total, 0u);
  EXPECT_EQ(search({{"App", "chat", false}}).total, 0u);
  EXPECT_EQ(search({{"app", "Chat", false}}).total, 0u) << "values are case-sensitive";
}

}  // namespace
}  // namespace qp2p::test
