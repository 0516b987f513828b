// Presence watches through one supernode with short timers (expiry 3 s, keepalive 1 s): a watch
// reports the target's state, a logout is pushed as "offline, logout", a target that goes silent
// is pushed as "offline, expired" after the supernode's peer_expiry, and its return as "online".
#include <gtest/gtest.h>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

struct PeerPresence : ::testing::Test {
  PeerScenario sc{404};
  SupernodeConfig config = [] {
    SupernodeConfig c = supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
    c.peer_expiry = seconds(3);
    c.keepalive_interval = seconds(1);
    return c;
  }();
  Supernode& s1 = sc.add_supernode("S1", config);
  PeerSession& alice = sc.add_peer("alice", peer_config("203.0.113.10:40000", {config.primary}));
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary}));
  PeerSession& carol = sc.add_peer("carol", peer_config("203.0.113.30:40000", {config.primary}));

  void SetUp() override {
    for (PeerSession* p : {&alice, &bob, &carol}) p->start(sc.net.now());
    ASSERT_TRUE(sc.net.run_until(
        [&] { return alice.registered() && bob.registered() && carol.registered(); }, seconds(5)))
        << sc.transcript();
  }

  // Watches `target` from alice; returns the Watching event.
  std::optional<ev::Watching> watch(PeerSession& target) {
    const std::uint64_t req = alice.watch(sc.net.now(), target.id());
    return sc.wait_for<ev::Watching>(alice, seconds(2),
                                     [&](const ev::Watching& w) { return w.request == req; });
  }
  auto presence_of(const PeerSession& target, bool online) {
    return [&target, online](const ev::Presence& p) {
      return p.peer == target.id() && p.online == online;
    };
  }
};

TEST_F(PeerPresence, WatchReportsTheTargetOnline) {
  auto w = watch(bob);
  ASSERT_TRUE(w) << sc.transcript();
  EXPECT_EQ(w->target, bob.id());
  EXPECT_TRUE(w->online);
}

TEST_F(PeerPresence, WatchOfAnUnknownPeerReportsItOffline) {
  const PeerId nobody = sc.stranger("nobody");
  alice.watch(sc.net.now(), nobody);
  auto w = sc.wait_for<ev::Watching>(alice, seconds(2));
  ASSERT_TRUE(w) << sc.transcript();
  EXPECT_EQ(w->target, nobody);
  EXPECT_FALSE(w->online);
}

TEST_F(PeerPresence, LogoutIsPushedAsOfflineLogout) {
  ASSERT_TRUE(watch(bob));
  bob.logout(sc.net.now());
  auto p = sc.wait_for<ev::Presence>(alice, seconds(2));
  ASSERT_TRUE(p) << sc.transcript();
  EXPECT_EQ(p->peer, bob.id());
  EXPECT_FALSE(p->online);
  EXPECT_EQ(p->reason, wire::PresenceReason::kLogout);
  EXPECT_EQ(sc.count<ev::LoggedOut>(bob), 1u);
  EXPECT_EQ(s1.online_peers(), 2u);
  ASSERT_TRUE(sc.run_for(seconds(10)));
  EXPECT_EQ(sc.count<ev::Presence>(alice), 1u) << sc.transcript();
}

TEST_F(PeerPresence, SilentTargetIsPushedAsOfflineExpiredThenOnlineWhenBack) {
  ASSERT_TRUE(watch(carol));
  const Instant silent_at = sc.net.now();
  sc.set_offline("carol", true);

  auto gone = sc.wait_for<ev::Presence>(alice, seconds(10), presence_of(carol, false));
  ASSERT_TRUE(gone) << sc.transcript();
  EXPECT_EQ(gone->reason, wire::PresenceReason::kExpired);
  const Duration took = *sc.time_of<ev::Presence>(alice) - silent_at;
  // Silent since its last keepalive (at most 1 s before going offline), expired after 3 s,
  // found by the once-a-second scan, pushed over one 5 ms hop.
  EXPECT_GE(took, seconds(2)) << to_ms(took) << " ms";
  EXPECT_LE(took, milliseconds(4100)) << to_ms(took) << " ms";
  EXPECT_EQ(s1.counters().expiries, 1u);
  EXPECT_EQ(s1.online_peers(), 2u);

  // Carol comes back: she notices her keepalives went unanswered, logs in again, and alice
  // hears of it.
  sc.set_offline("carol", false);
  const Instant back_at = sc.net.now();
  auto back = sc.wait_for<ev::Presence>(alice, seconds(20), presence_of(carol, true));
  ASSERT_TRUE(back) << sc.transcript();
  EXPECT_EQ(back->reason, wire::PresenceReason::kLogin);
  EXPECT_TRUE(carol.registered());
  EXPECT_EQ(s1.online_peers(), 3u);
  EXPECT_LE(sc.net.now() - back_at, seconds(15));

  // Exactly one offline and one online push, in that order.
  const auto pushes = sc.all<ev::Presence>(alice);
  ASSERT_EQ(pushes.size(), 2u) << sc.transcript();
  EXPECT_FALSE(pushes[0].online);
  EXPECT_TRUE(pushes[1].online);
}

TEST_F(PeerPresence, WatchesAreIndependent) {
  ASSERT_TRUE(watch(bob));
  ASSERT_TRUE(watch(carol));
  bob.logout(sc.net.now());
  sc.set_offline("carol", true);
  ASSERT_TRUE(sc.run_for(seconds(6)));
  auto bob_gone = sc.find<ev::Presence>(alice, 0, presence_of(bob, false));
  auto carol_gone = sc.find<ev::Presence>(alice, 0, presence_of(carol, false));
  ASSERT_TRUE(bob_gone && carol_gone) << sc.transcript();
  EXPECT_EQ(bob_gone->reason, wire::PresenceReason::kLogout);
  EXPECT_EQ(carol_gone->reason, wire::PresenceReason::kExpired);
  EXPECT_EQ(sc.count<ev::Presence>(alice), 2u) << sc.transcript();
  // Bob watched no one and hears nothing.
  EXPECT_EQ(sc.count<ev::Presence>(bob), 0u);
}

// Presence pushes are retransmitted until acknowledged; when an Ack is lost the watcher sees
// the same push again and must acknowledge it without reporting the change twice.
TEST(PeerPresenceUnderLoss, EachChangeIsReportedOncePerWatcher) {
  PeerScenario sc(405);
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
  config.peer_expiry = seconds(3);
  config.keepalive_interval = seconds(1);
  sc.add_supernode("S1", config);
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary}));
  std::vector<PeerSession*> watchers;
  for (int i = 0; i < 8; ++i)
    watchers.push_back(&sc.add_peer(
        "w" + std::to_string(i),
        peer_config("203.0.113." + std::to_string(100 + i) + ":40000", {config.primary})));
  sc.net.set_default_link(harness::LinkConditions{milliseconds(5), 0.2});

  bob.start(sc.net.now());
  for (PeerSession* w : watchers) w->start(sc.net.now());
  ASSERT_TRUE(sc.net.run_until([&] { return bob.registered(); }, seconds(10)));
  for (PeerSession* w : watchers) w->watch(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.net.run_until(
      [&] {
        for (PeerSession* w : watchers)
          if (!sc.find<ev::Watching>(*w, 0, [](const ev::Watching& e) { return e.online; }))
            return false;
        return true;
      },
      seconds(20)))
      << sc.transcript();

  bob.logout(sc.net.now());
  ASSERT_TRUE(sc.run_for(seconds(30))) << sc.net.error();
  EXPECT_GT(sc.net.counters().dropped_loss, 0u);
  for (PeerSession* w : watchers) {
    const auto pushes = sc.all<ev::Presence>(*w);
    ASSERT_EQ(pushes.size(), 1u) << sc.transcript();
    EXPECT_EQ(pushes[0].peer, bob.id());
    EXPECT_FALSE(pushes[0].online);
    EXPECT_EQ(pushes[0].reason, wire::PresenceReason::kLogout);
  }
}

}  // namespace
}  // namespace qp2p::scenario
