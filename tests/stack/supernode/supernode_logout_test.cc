// Logout: a sealed LogoutAck, the session ends at once (later messages are unauthenticated),
// the peer leaves the directory, and watchers get Presence offline with reason "logout".
#include <gtest/gtest.h>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

TEST(SupernodeLogout, AcknowledgesAndNotifiesWatchersWithTheReason) {
  TestNetwork net;
  TestClient watcher(1, ep("198.51.100.10:40000"), net.primary());
  TestClient target(2, ep("198.51.100.20:40000"), net.primary());
  ASSERT_TRUE(net.login(watcher));
  ASSERT_TRUE(net.login(target));
  ASSERT_TRUE(net.request(watcher, wire::Watch{target.id()}));

  auto ack = net.request(target, wire::Logout{});
  ASSERT_TRUE(ack);
  EXPECT_TRUE(std::holds_alternative<wire::LogoutAck>(*ack));
  EXPECT_EQ(net.supernode.online_peers(), 1u);
  EXPECT_EQ(net.supernode.counters().logouts, 1u);
  EXPECT_EQ(net.supernode.counters().expiries, 0u);

  auto push = watcher.take<wire::Presence>();
  ASSERT_TRUE(push);
  const auto& p = std::get<wire::Presence>(push->message.body);
  EXPECT_EQ(p.peer, target.id());
  EXPECT_FALSE(p.online);
  EXPECT_EQ(p.reason, wire::PresenceReason::kLogout);
  net.ack(watcher, push->message.transaction);
  net.advance(std::chrono::seconds(2));
  EXPECT_EQ(watcher.count<wire::Presence>(), 0u);
}

TEST(SupernodeLogout, SessionIsGoneAfterwards) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  ASSERT_TRUE(net.request(alice, wire::Logout{}));
  EXPECT_EQ(net.supernode.online_peers(), 0u);
  EXPECT_EQ(error_code(net.request(alice, wire::Keepalive{})), 440) << "the session is gone";
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 1u);
  // A second logout is not acknowledged either (there is nothing to log out of).
  EXPECT_EQ(error_code(net.request(alice, wire::Logout{})), 440);
  EXPECT_EQ(net.supernode.counters().logouts, 1u);
}

TEST(SupernodeLogout, PeerLeavesTheDirectory) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  TestClient bob(2, ep("198.51.100.20:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  ASSERT_TRUE(net.login(bob));
  auto published = net.request(
      alice, wire::Publish{wire::SignedRecord::make(alice.identity(), 1, {{"app", "x"}})});
  ASSERT_TRUE(published && std::holds_alternative<wire::PublishAck>(*published));
  ASSERT_TRUE(net.request(alice, wire::Logout{}));

  EXPECT_EQ(error_code(net.request(bob, wire::Lookup{alice.id()})), 404);
  auto found = net.request(bob, wire::Search{10, {{"app", "x", false}}, {}});
  ASSERT_TRUE(found && std::holds_alternative<wire::SearchResult>(*found));
  EXPECT_EQ(std::get<wire::SearchResult>(*found).total, 0u);
}

TEST(SupernodeLogout, NoPresenceForAPeerNobodyWatches) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  TestClient bob(2, ep("198.51.100.20:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  ASSERT_TRUE(net.login(bob));
  ASSERT_TRUE(net.request(alice, wire::Logout{}));
  net.advance(std::chrono::seconds(1));
  EXPECT_EQ(bob.count<wire::Presence>(), 0u);
  EXPECT_EQ(bob.datagrams_received, 2u) << "only its own Challenge and LoginOk";
}

}  // namespace
}  // namespace qp2p::test
