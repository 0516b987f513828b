// Three peers publish signed metadata to one supernode's index (at login from initial_meta, and
// later with publish()); others look them up by id and search by terms: exact, AND of two terms,
// prefix, limit and total; a re-publish bumps the version and replaces values.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

constexpr std::uint64_t kSeed = 202;

struct PeerIndex : ::testing::Test {
  PeerScenario sc{kSeed};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
  Supernode& s1 = sc.add_supernode("S1", config);
  PeerSession& alice =
      sc.add_peer("alice", peer_config("203.0.113.10:40000", {config.primary},
                                       {{"name", "alice"}, {"city", "paris"}, {"lang", "fr"}}));
  PeerSession& bob =
      sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary},
                                     {{"name", "bob"}, {"city", "paris"}, {"lang", "en"}}));
  // Carol publishes only after she is registered.
  PeerSession& carol = sc.add_peer("carol", peer_config("203.0.113.30:40000", {config.primary}));

  void SetUp() override {
    for (PeerSession* p : {&alice, &bob, &carol}) p->start(sc.net.now());
    ASSERT_TRUE(sc.net.run_until(
        [&] { return sc.count<ev::Published>(alice) == 1 && sc.count<ev::Published>(bob) == 1; },
        seconds(2)))
        << sc.transcript();
    ASSERT_TRUE(carol.registered());
    EXPECT_EQ(sc.count<ev::Published>(carol), 0u) << "nothing to publish at login";
    const std::uint64_t req =
        carol.publish(sc.net.now(), {{"name", "carol"}, {"city", "lyon"}, {"lang", "fr"}});
    auto published = sc.wait_for<ev::Published>(carol, seconds(2));
    ASSERT_TRUE(published) << sc.transcript();
    EXPECT_EQ(published->request, req);
    EXPECT_EQ(published->version, 1u);
  }

  std::optional<ev::SearchDone> search(PeerSession& who, std::vector<wire::SearchTerm> terms,
                                       std::uint16_t limit = 20) {
    const std::uint64_t req = who.search(sc.net.now(), std::move(terms), limit);
    return sc.wait_for<ev::SearchDone>(who, seconds(2),
                                       [&](const ev::SearchDone& e) { return e.request == req; });
  }
  static std::vector<PeerId> ids(const ev::SearchDone& r) {
    std::vector<PeerId> out;
    for (const auto& p : r.peers) out.push_back(p.id);
    return out;
  }
  static std::vector<PeerId> sorted(std::vector<PeerId> v) {
    std::sort(v.begin(), v.end());
    return v;
  }
};

TEST_F(PeerIndex, InitialMetadataIsPublishedAtLoginAsVersionOne) {
  EXPECT_EQ(sc.all<ev::Published>(alice).at(0).version, 1u);
  EXPECT_EQ(sc.all<ev::Published>(bob).at(0).version, 1u);
  EXPECT_EQ(s1.counters().publishes, 3u);
  EXPECT_EQ(s1.counters().rejected_record, 0u);
}

TEST_F(PeerIndex, LookupByIdReturnsTheSignedRecordAndPresence) {
  const std::uint64_t req = bob.lookup(sc.net.now(), alice.id());
  auto r = sc.wait_for<ev::LookupDone>(bob, seconds(2));
  ASSERT_TRUE(r) << sc.transcript();
  EXPECT_EQ(r->request, req);
  EXPECT_EQ(r->info.id, alice.id());
  EXPECT_TRUE(r->info.online);
  EXPECT_EQ(r->info.mapped, endpoint("203.0.113.10:40000"));
  EXPECT_EQ(r->info.supernode, s1.identity().id());
  ASSERT_TRUE(r->info.record);
  const wire::SignedRecord& rec = *r->info.record;
  EXPECT_EQ(rec.owner, alice.id());
  EXPECT_EQ(rec.version, 1u);
  EXPECT_TRUE(rec.verify()) << "the owner's signature must survive the index and the wire";
  ASSERT_NE(rec.find("name"), nullptr);
  EXPECT_EQ(*rec.find("name"), "alice");
  EXPECT_EQ(*rec.find("city"), "paris");
  EXPECT_EQ(*rec.find("lang"), "fr");
  EXPECT_EQ(rec.entries.size(), 3u);

  // A tampered copy does not verify.
  wire::SignedRecord forged = rec;
  forged.entries[0].second = "mallory";
  EXPECT_FALSE(forged.verify());
}

TEST_F(PeerIndex, LookupOfAnUnknownPeerFailsWithAReason) {
  const PeerId nobody = sc.stranger("nobody");
  const std::uint64_t req = alice.lookup(sc.net.now(), nobody);
  auto failed = sc.wait_for<ev::RequestFailed>(alice, seconds(2));
  ASSERT_TRUE(failed) << sc.transcript();
  EXPECT_EQ(failed->request, req);
  EXPECT_EQ(failed->command, "lookup");
  EXPECT_NE(failed->reason.find("unknown or offline"), std::string::npos) << failed->reason;
  EXPECT_NE(failed->reason.find(nobody.to_string()), std::string::npos) << failed->reason;
  EXPECT_EQ(sc.count<ev::LookupDone>(alice), 0u);
}

TEST_F(PeerIndex, SearchByOneTerm) {
  auto r = search(carol, {{"city", "paris", false}});
  ASSERT_TRUE(r) << sc.transcript();
  EXPECT_EQ(r->total, 2u);
  EXPECT_EQ(ids(*r), sorted({alice.id(), bob.id()})) << "results come in id order";
  for (const auto& p : r->peers) {
    EXPECT_TRUE(p.online);
    ASSERT_TRUE(p.record);
    EXPECT_TRUE(p.record->verify());
  }
}

TEST_F(PeerIndex, SearchByTwoTermsIsAnAnd) {
  auto r = search(bob, {{"city", "paris", false}, {"lang", "fr", false}});
  ASSERT_TRUE(r) << sc.transcript();
  EXPECT_EQ(r->total, 1u);
  EXPECT_EQ(ids(*r), std::vector<PeerId>{alice.id()});

  auto none = search(bob, {{"city", "lyon", false}, {"lang", "en", false}});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->total, 0u);
  EXPECT_TRUE(none->peers.empty());
}

TEST_F(PeerIndex, SearchByPrefix) {
  auto r = search(alice, {{"name", "ca", true}});
  ASSERT_TRUE(r) << sc.transcript();
  EXPECT_EQ(ids(*r), std::vector<PeerId>{carol.id()});
  // Without the prefix flag the same value matches nothing.
  auto exact = search(alice, {{"name", "ca", false}});
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->total, 0u);
  // A prefix is matched against the value's start only.
  auto middle = search(alice, {{"city", "ari", true}});
  ASSERT_TRUE(middle);
  EXPECT_EQ(middle->total, 0u);
}

TEST_F(PeerIndex, SearchLimitCapsPeersButTotalCountsAll) {
  auto all = search(alice, {{"name", "", true}});
  ASSERT_TRUE(all) << sc.transcript();
  EXPECT_EQ(all->total, 3u);
  EXPECT_EQ(all->peers.size(), 3u);

  auto two = search(alice, {{"name", "", true}}, 2);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->total, 3u);
  ASSERT_EQ(two->peers.size(), 2u);
  const std::vector<PeerId> all_ids = ids(*all);
  const std::vector<PeerId> first_two(all_ids.begin(), all_ids.begin() + 2);
  EXPECT_EQ(ids(*two), first_two) << "the limit keeps the first matches in id order";
}

TEST_F(PeerIndex, SearchWithNoTermsFailsLocally) {
  const std::uint64_t req = alice.search(sc.net.now(), {});
  auto failed = sc.wait_for<ev::RequestFailed>(alice, seconds(1));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->request, req);
  EXPECT_EQ(failed->command, "search");
}

TEST_F(PeerIndex, RepublishBumpsTheVersionAndReplacesValues) {
  const std::uint64_t req = alice.publish(sc.net.now(), {{"city", "berlin"}, {"mood", "happy"}});
  auto published = sc.wait_for<ev::Published>(alice, seconds(2));
  ASSERT_TRUE(published) << sc.transcript();
  EXPECT_EQ(published->request, req);
  EXPECT_EQ(published->version, 2u);

  bob.lookup(sc.net.now(), alice.id());
  auto r = sc.wait_for<ev::LookupDone>(bob, seconds(2));
  ASSERT_TRUE(r && r->info.record) << sc.transcript();
  const wire::SignedRecord& rec = *r->info.record;
  EXPECT_EQ(rec.version, 2u);
  EXPECT_TRUE(rec.verify());
  EXPECT_EQ(*rec.find("city"), "berlin");  // replaced
  EXPECT_EQ(*rec.find("mood"), "happy");   // added
  EXPECT_EQ(*rec.find("name"), "alice");   // kept (publish merges keys)
  EXPECT_EQ(rec.entries.size(), 4u);

  // The index follows: alice no longer matches her old city.
  auto paris = search(carol, {{"city", "paris", false}});
  ASSERT_TRUE(paris);
  EXPECT_EQ(ids(*paris), std::vector<PeerId>{bob.id()});
  auto berlin = search(carol, {{"city", "berlin", false}});
  ASSERT_TRUE(berlin);
  EXPECT_EQ(ids(*berlin), std::vector<PeerId>{alice.id()});

  // And once more.
  alice.publish(sc.net.now(), {{"mood", "busy"}});
  auto third = sc.wait_for<ev::Published>(alice, seconds(2));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->version, 3u);
}

TEST_F(PeerIndex, InvalidMetadataIsRefusedBeforeSending) {
  const auto before = s1.counters().publishes;
  const std::uint64_t req = alice.publish(sc.net.now(), {{"", "empty key"}});
  auto failed = sc.wait_for<ev::RequestFailed>(alice, seconds(1));
  ASSERT_TRUE(failed) << sc.transcript();
  EXPECT_EQ(failed->request, req);
  EXPECT_EQ(failed->command, "publish");
  EXPECT_FALSE(failed->reason.empty());
  EXPECT_EQ(s1.counters().publishes, before);
  // The refused change was not applied locally either.
  EXPECT_EQ(alice.metadata().size(), 3u);
}

}  // namespace
}  // namespace qp2p::scenario
