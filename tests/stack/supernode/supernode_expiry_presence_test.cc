// Expiry and presence: a peer silent for peer_expiry is logged out (reason "expired") and its
// watchers get a Presence push, retransmitted on the RequestTracker schedule until acknowledged.
// Watching an offline peer reports it offline and pushes "online" when it logs in.
#include <gtest/gtest.h>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct ExpiryFixture : ::testing::Test {
  TestNetwork net;
  TestClient watcher{1, ep("198.51.100.10:40000"), net.primary()};
  TestClient target{2, ep("198.51.100.20:40000"), net.primary()};

  void SetUp() override {
    ASSERT_TRUE(net.login(watcher));
    ASSERT_TRUE(net.login(target));
    auto ack = net.request(watcher, wire::Watch{target.id()});
    ASSERT_TRUE(ack && std::holds_alternative<wire::WatchAck>(*ack));
    EXPECT_TRUE(std::get<wire::WatchAck>(*ack).online);
  }

  // Advances until the target has expired (the watcher keeping itself alive); returns the time
  // it took after the target's last activity.
  Duration run_until_expired() {
    const Instant silent_since = net.now;
    for (int step = 0; step < 400 && net.supernode.online_peers() == 2; ++step)
      net.advance_keeping_alive(milliseconds(100), {&watcher}, milliseconds(100));
    return net.now - silent_since;
  }
};

TEST_F(ExpiryFixture, SilentPeerExpiresAfterPeerExpiry) {
  const Duration took = run_until_expired();
  EXPECT_EQ(net.supernode.online_peers(), 1u);
  EXPECT_EQ(net.supernode.counters().expiries, 1u);
  EXPECT_GE(took, seconds(30));
  EXPECT_LE(took, seconds(31)) << "expiry is checked once a second";
  // The expired peer's session is gone: its messages are no longer accepted.
  const auto before = net.supernode.counters().dropped_control_unauthenticated;
  net.send(target, target.seal(target.new_txn(), wire::Keepalive{}));
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, before + 1);
}

TEST_F(ExpiryFixture, WatcherGetsPresenceOfflineExpired) {
  run_until_expired();
  auto push = watcher.take<wire::Presence>();
  ASSERT_TRUE(push);
  EXPECT_TRUE(push->sealed);
  const auto& p = std::get<wire::Presence>(push->message.body);
  EXPECT_EQ(p.peer, target.id());
  EXPECT_FALSE(p.online);
  EXPECT_EQ(p.reason, wire::PresenceReason::kExpired);
}

TEST_F(ExpiryFixture, PresencePushIsRetransmittedUntilAcked) {
  run_until_expired();
  auto first = watcher.take<wire::Presence>();
  ASSERT_TRUE(first);
  const std::uint64_t push_txn = first->message.transaction;
  // Not acknowledged: copies follow after 250 ms and 500 ms more, each sealed afresh.
  net.advance_keeping_alive(milliseconds(250), {&watcher}, milliseconds(250));
  auto second = watcher.take<wire::Presence>();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->message.transaction, push_txn);
  EXPECT_NE(second->datagram.payload, first->datagram.payload);
  net.advance_keeping_alive(milliseconds(500), {&watcher}, milliseconds(500));
  auto third = watcher.take<wire::Presence>();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->message.transaction, push_txn);
  EXPECT_EQ(watcher.open_failures, 0u) << "every copy opens: none is a replay";

  net.ack(watcher, push_txn);
  net.advance_keeping_alive(seconds(15), {&watcher}, seconds(5));
  EXPECT_EQ(watcher.count<wire::Presence>(), 0u) << "acknowledged: no more copies";
}

TEST_F(ExpiryFixture, UnackedPresenceStopsAfterSevenTransmissions) {
  run_until_expired();
  net.advance_keeping_alive(seconds(20), {&watcher}, milliseconds(250));
  EXPECT_EQ(watcher.count<wire::Presence>(), 7u);
  net.advance_keeping_alive(seconds(30), {&watcher}, seconds(5));
  EXPECT_EQ(watcher.count<wire::Presence>(), 7u) << "given up after the final wait";
}

TEST_F(ExpiryFixture, ExpiredPeerLeavesTheDirectory) {
  auto published = net.request(
      target, wire::Publish{wire::SignedRecord::make(target.identity(), 1, {{"a", "b"}})});
  ASSERT_TRUE(published && std::holds_alternative<wire::PublishAck>(*published));
  run_until_expired();
  EXPECT_EQ(error_code(net.request(watcher, wire::Lookup{target.id()})), 404);
}

TEST(SupernodePresence, WatchingAnOfflinePeerThenItLogsIn) {
  TestNetwork net;
  TestClient watcher(1, ep("198.51.100.10:40000"), net.primary());
  TestClient target(2, ep("198.51.100.20:40000"), net.primary());
  ASSERT_TRUE(net.login(watcher));
  auto ack = net.request(watcher, wire::Watch{target.id()});
  ASSERT_TRUE(ack && std::holds_alternative<wire::WatchAck>(*ack));
  EXPECT_FALSE(std::get<wire::WatchAck>(*ack).online);

  ASSERT_TRUE(net.login(target));
  auto push = watcher.take<wire::Presence>();
  ASSERT_TRUE(push);
  const auto& p = std::get<wire::Presence>(push->message.body);
  EXPECT_EQ(p.peer, target.id());
  EXPECT_TRUE(p.online);
  EXPECT_EQ(p.reason, wire::PresenceReason::kLogin);
  net.ack(watcher, push->message.transaction);
  EXPECT_EQ(net.supernode.counters().dropped_control_unexpected, 0u);
}

TEST(SupernodePresence, TooManyWatchesIsRefusedWith429) {
  SupernodeConfig config = one_ip_config();
  config.max_watches_per_peer = 2;
  TestNetwork net(config);
  TestClient watcher(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(watcher));
  PeerId a, b, c;
  a.key[0] = 1;
  b.key[0] = 2;
  c.key[0] = 3;
  EXPECT_TRUE(net.request(watcher, wire::Watch{a}));
  EXPECT_TRUE(net.request(watcher, wire::Watch{b}));
  auto again = net.request(watcher, wire::Watch{a});
  EXPECT_TRUE(again && std::holds_alternative<wire::WatchAck>(*again)) << "re-watching is free";
  EXPECT_EQ(error_code(net.request(watcher, wire::Watch{c})), 429);
}

TEST(SupernodePresence, WatchesDoNotOutliveALogoutAcrossAReLogin) {
  // Watches belong to a session: after the watcher logs out, nothing it watched is pushed to it
  // when it comes back, whether or not it re-logged in in between.
  TestNetwork net;
  TestClient watcher(1, ep("198.51.100.10:40000"), net.primary());
  TestClient target(2, ep("198.51.100.20:40000"), net.primary());
  ASSERT_TRUE(net.login(watcher));
  ASSERT_TRUE(net.login(target));
  ASSERT_TRUE(net.request(watcher, wire::Watch{target.id()}));
  ASSERT_TRUE(net.login(watcher));  // re-login (e.g. restart): a new session replaces the old
  ASSERT_TRUE(net.request(watcher, wire::Logout{}));
  ASSERT_TRUE(net.login(watcher));  // back, without watching anything
  ASSERT_TRUE(net.request(target, wire::Logout{}));
  EXPECT_EQ(watcher.count<wire::Presence>(), 0u);
}

}  // namespace
}  // namespace qp2p::test
