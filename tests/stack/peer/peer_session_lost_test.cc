// A peer cut off for longer than the supernode's expiry comes back to a supernode that has
// forgotten its session. The supernode answers its next sealed message with "unknown session"
// (code 440) and the peer logs in again at once, instead of waiting for its keepalives to time
// out (about 11 s with the default retransmission policy).
#include <gtest/gtest.h>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PeerSessionLost, LogsInAgainAtOnceWhenTheSupernodeForgotIt) {
  PeerScenario sc{505};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
  config.peer_expiry = seconds(3);
  config.keepalive_interval = seconds(1);
  Supernode& s1 = sc.add_supernode("S1", config);
  PeerSession& alice = sc.add_peer("alice", peer_config("203.0.113.10:40000", {config.primary}));
  alice.start(sc.net.now());
  ASSERT_TRUE(sc.wait_for<ev::Registered>(alice, seconds(2))) << sc.transcript();

  // Alice is cut off (her host sleeps) long enough to be expired, but not long enough for her
  // own keepalive schedule to give up on the supernode.
  sc.set_offline("alice", true);
  ASSERT_TRUE(sc.run_for(milliseconds(3500)));
  EXPECT_EQ(s1.online_peers(), 0u) << "the supernode expired her";
  sc.set_offline("alice", false);
  const Instant back = sc.net.now();

  ASSERT_TRUE(sc.net.run_until([&] { return sc.count<ev::Registered>(alice) == 2; }, seconds(15)))
      << sc.transcript();
  auto again = sc.time_of<ev::Registered>(alice, 1);
  ASSERT_TRUE(again);
  EXPECT_LT(*again - back, seconds(2)) << "re-login must follow the 440 answer, not a timeout\n"
                                       << sc.transcript();
  auto lost = sc.find<ev::Disconnected>(alice);
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->reason, "session unknown to the supernode");
  EXPECT_EQ(s1.online_peers(), 1u);
}

}  // namespace
}  // namespace qp2p::scenario
