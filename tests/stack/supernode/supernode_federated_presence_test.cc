// Presence crosses supernodes (docs/protocol.md section 14.5): a peer at S3 watching peers at S1
// and S2 is told "online" by its watch-ack for one already logged in elsewhere, and gets presence
// pushes from S3 when the other supernodes' presence records of them change: login at S2,
// logout at S1, expiry at S2 (its peer goes silent).
#include <gtest/gtest.h>

#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

TEST(SupernodeFederatedPresence, WatcherIsToldOfPresenceAtOtherSupernodes) {
  FederatedScenario f(504);
  for (int i = 0; i < 3; ++i) f.add_supernode(i);
  ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));
  PeerSession& alice = f.add_peer("alice", 0, 0);
  PeerSession& bob = f.add_peer("bob", 1, 1);
  PeerSession& carol = f.add_peer("carol", 2, 2);
  alice.start(f.sc.net.now());
  carol.start(f.sc.net.now());
  ASSERT_TRUE(f.run_until(
      [&] { return alice.registered() && carol.registered() && f.supernodes[2]->home_supernode_of(alice.id()); },
      seconds(3)));

  const std::uint64_t w1 = carol.watch(f.sc.net.now(), alice.id());
  auto watching = f.sc.wait_for<ev::Watching>(
      carol, seconds(2), [&](const ev::Watching& e) { return e.request == w1; });
  ASSERT_TRUE(watching) << f.sc.transcript();
  EXPECT_TRUE(watching->online) << "alice is online at S1";
  const std::uint64_t w2 = carol.watch(f.sc.net.now(), bob.id());
  watching = f.sc.wait_for<ev::Watching>(
      carol, seconds(2), [&](const ev::Watching& e) { return e.request == w2; });
  ASSERT_TRUE(watching);
  EXPECT_FALSE(watching->online);

  const auto presence_of = [&](const PeerId& who, bool online) {
    return [&, who, online](const ev::Presence& e) { return e.peer == who && e.online == online; };
  };
  bob.start(f.sc.net.now());
  auto up = f.sc.wait_for<ev::Presence>(carol, seconds(3), presence_of(bob.id(), true));
  ASSERT_TRUE(up) << f.sc.transcript();
  EXPECT_EQ(up->reason, wire::PresenceReason::kLogin);

  alice.logout(f.sc.net.now());
  auto gone = f.sc.wait_for<ev::Presence>(carol, seconds(3), presence_of(alice.id(), false));
  ASSERT_TRUE(gone) << f.sc.transcript();
  EXPECT_EQ(gone->reason, wire::PresenceReason::kLogout);

  // Bob goes silent: S2 expires him (30 s) and its tombstone says why.
  f.sc.set_offline("bob", true);
  auto expired = f.sc.wait_for<ev::Presence>(carol, seconds(45), presence_of(bob.id(), false));
  ASSERT_TRUE(expired) << f.sc.transcript();
  EXPECT_EQ(expired->reason, wire::PresenceReason::kExpired);
  EXPECT_EQ(f.sc.count<ev::Presence>(carol), 3u) << "one push per change, no duplicates";
}

}  // namespace
}  // namespace qp2p::scenario
