// Failover between two supernodes: alice is logged in to S1 with metadata and a watch on bob
// (who lives on S2). S1 dies; alice notices from her unanswered keepalives, logs in to S2 within
// moments, publishes her record there (carol, on S2, finds it) and re-establishes her watch, so
// bob's logout at S2 reaches her.
#include <gtest/gtest.h>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

SupernodeConfig short_timers(SupernodeConfig c) {
  c.peer_expiry = seconds(3);
  c.keepalive_interval = seconds(1);
  return c;
}

struct PeerFailover : ::testing::Test {
  PeerScenario sc{505};
  SupernodeConfig c1 = short_timers(supernode_config("192.0.2.1:3478", "192.0.2.1:3479"));
  SupernodeConfig c2 = short_timers(supernode_config("198.51.100.1:3478", "198.51.100.1:3479"));
  Supernode& s1 = sc.add_supernode("S1", c1);
  Supernode& s2 = sc.add_supernode("S2", c2);
  PeerSession& alice =
      sc.add_peer("alice", peer_config("203.0.113.10:40000", {c1.primary, c2.primary},
                                       {{"name", "alice"}, {"role", "camera"}}));
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {c2.primary}));
  PeerSession& carol = sc.add_peer("carol", peer_config("203.0.113.30:40000", {c2.primary}));

  void SetUp() override {
    for (PeerSession* p : {&alice, &bob, &carol}) p->start(sc.net.now());
    ASSERT_TRUE(sc.net.run_until(
        [&] { return alice.registered() && bob.registered() && carol.registered(); }, seconds(5)))
        << sc.transcript();
    ASSERT_EQ(alice.current_supernode(), c1.primary);
    ASSERT_TRUE(sc.wait_for<ev::Published>(alice, seconds(2))) << sc.transcript();
    alice.watch(sc.net.now(), bob.id());
    auto w = sc.wait_for<ev::Watching>(alice, seconds(2));
    ASSERT_TRUE(w) << sc.transcript();
    // Supernodes do not federate yet: S1 does not know bob.
    EXPECT_FALSE(w->online);
    ASSERT_TRUE(sc.run_for(seconds(3)));
  }
};

TEST_F(PeerFailover, PeerMovesToTheSecondSupernodeWhenTheFirstDies) {
  const std::size_t mark = sc.log(alice).size();
  const Instant died_at = sc.net.now();
  sc.set_offline("S1", true);

  auto down = sc.wait_for<ev::Disconnected>(alice, seconds(20));
  ASSERT_TRUE(down) << sc.transcript();
  EXPECT_EQ(down->supernode_endpoint, c1.primary);
  EXPECT_NE(down->reason.find("keepalive"), std::string::npos) << down->reason;
  const Instant down_at = *sc.time_of<ev::Disconnected>(alice, mark);
  // A keepalive is due within 1 s; its retransmission schedule gives up after ~11 s.
  EXPECT_LE(down_at - died_at, seconds(13)) << to_ms(down_at - died_at) << " ms";

  auto reg = sc.wait_for<ev::Registered>(alice, seconds(5));
  ASSERT_TRUE(reg) << sc.transcript();
  EXPECT_EQ(reg->supernode, s2.identity().id());
  EXPECT_EQ(reg->supernode_endpoint, c2.primary);
  EXPECT_EQ(alice.current_supernode(), c2.primary);
  const Instant reg_at = *sc.time_of<ev::Registered>(alice, mark);
  EXPECT_LE(reg_at - down_at, seconds(1)) << "failover_delay 500 ms + two round trips";
  EXPECT_EQ(alice.counters().failovers, 1u);
}

TEST_F(PeerFailover, RecordIsRepublishedAtTheSecondSupernode) {
  sc.set_offline("S1", true);
  ASSERT_TRUE(sc.wait_for<ev::Registered>(alice, seconds(20))) << sc.transcript();
  auto published = sc.wait_for<ev::Published>(alice, seconds(2));
  ASSERT_TRUE(published) << sc.transcript();
  EXPECT_EQ(published->version, 2u) << "a new version, above the one S1 holds";
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice), 0u) << sc.transcript();

  carol.lookup(sc.net.now(), alice.id());
  auto found = sc.wait_for<ev::LookupDone>(carol, seconds(2));
  ASSERT_TRUE(found) << sc.transcript();
  EXPECT_TRUE(found->info.online);
  EXPECT_EQ(found->info.supernode, s2.identity().id());
  EXPECT_EQ(found->info.mapped, endpoint("203.0.113.10:40000"));
  ASSERT_TRUE(found->info.record);
  EXPECT_TRUE(found->info.record->verify());
  EXPECT_EQ(found->info.record->entries,
            (wire::MetaEntries{{"name", "alice"}, {"role", "camera"}}));

  // And searches at S2 find her too.
  carol.search(sc.net.now(), {{"role", "camera", false}});
  auto hits = sc.wait_for<ev::SearchDone>(carol, seconds(2));
  ASSERT_TRUE(hits);
  ASSERT_EQ(hits->peers.size(), 1u);
  EXPECT_EQ(hits->peers[0].id, alice.id());
}

TEST_F(PeerFailover, WatchIsReestablishedAtTheSecondSupernode) {
  sc.set_offline("S1", true);
  ASSERT_TRUE(sc.wait_for<ev::Registered>(alice, seconds(20))) << sc.transcript();
  auto w = sc.wait_for<ev::Watching>(alice, seconds(2));
  ASSERT_TRUE(w) << sc.transcript();
  EXPECT_EQ(w->target, bob.id());
  EXPECT_TRUE(w->online) << "S2 knows bob";
  EXPECT_EQ(sc.count<ev::Watching>(alice), 2u);

  bob.logout(sc.net.now());
  auto p = sc.wait_for<ev::Presence>(alice, seconds(2));
  ASSERT_TRUE(p) << sc.transcript();
  EXPECT_EQ(p->peer, bob.id());
  EXPECT_FALSE(p->online);
  EXPECT_EQ(p->reason, wire::PresenceReason::kLogout);
}

TEST_F(PeerFailover, MessagingWorksAfterFailover) {
  sc.set_offline("S1", true);
  ASSERT_TRUE(sc.wait_for<ev::Registered>(alice, seconds(20))) << sc.transcript();
  carol.send_message(sc.net.now(), alice.id(), "welcome to S2");
  auto got = sc.wait_for<ev::MessageReceived>(alice, seconds(2));
  ASSERT_TRUE(got) << sc.transcript();
  EXPECT_EQ(got->from, carol.id());
  EXPECT_TRUE(sc.wait_for<ev::Delivered>(carol, seconds(2)));
}

TEST_F(PeerFailover, TheDeadSupernodeExpiresThePeerOnItsOwn) {
  sc.set_offline("S1", true);
  ASSERT_TRUE(sc.run_for(seconds(20)));
  // S1's timers still run (it is cut off, not frozen): alice expired there.
  EXPECT_EQ(s1.online_peers(), 0u);
  EXPECT_EQ(s1.counters().expiries, 1u);
  EXPECT_EQ(s2.online_peers(), 3u);
}

// A request made just as the supernode dies is not lost: the peer fails over and the request
// is answered by the next supernode ("requests in flight go back in the queue", peer_session.cc).
TEST_F(PeerFailover, RequestInFlightWhenTheSupernodeDiesIsAnsweredByTheNext) {
  sc.set_offline("S1", true);
  const std::uint64_t req = alice.lookup(sc.net.now(), carol.id());
  auto done = sc.wait_for<ev::LookupDone>(alice, seconds(20));
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice), 0u) << sc.transcript();
  ASSERT_TRUE(done) << sc.transcript();
  EXPECT_EQ(done->request, req);
  EXPECT_EQ(done->info.id, carol.id());
  EXPECT_EQ(alice.current_supernode(), c2.primary);
}

}  // namespace
}  // namespace qp2p::scenario
