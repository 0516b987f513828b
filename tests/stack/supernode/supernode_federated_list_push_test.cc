// The supernode-list push after membership changes (docs/protocol.md section 8.8,
// SupernodeConfig::supernode_list_debounce): S1 runs alone with alice and bob logged in; four
// supernodes start at once and join through it (four MemberUp events within milliseconds);
// each peer gets one push with the final list of five, not one per change. A change after the
// window (a member leaves) is another push. Without the debounce every change is a push.
#include <gtest/gtest.h>

#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

struct ListPush {
  FederatedScenario f{2024};
  Supernode* s1;
  PeerSession& alice = f.add_peer("alice", 0, 0);
  PeerSession& bob = f.add_peer("bob", 0, 1);

  explicit ListPush(Duration debounce)
      : s1(&f.add_supernode(0, kNetworkSecret,
                            [&](SupernodeConfig& c) { c.supernode_list_debounce = debounce; })) {}

  Instant now() const { return f.sc.net.now(); }

  // Logs both peers in; each has its login's list (S1 alone).
  bool logged_in() {
    alice.start(now());
    bob.start(now());
    return f.run_until(
        [&] {
          return f.sc.count<ev::SupernodeList>(alice) == 1 &&
                 f.sc.count<ev::SupernodeList>(bob) == 1;
        },
        seconds(3));
  }

  // Four more supernodes start together; runs until S1 lists all five, then 3 s more.
  bool four_join() {
    for (int i = 1; i <= 4; ++i) f.add_supernode(i);
    const bool joined =
        f.run_until([&] { return s1->federation()->members().size() == 5; }, seconds(10));
    f.sc.run_for(seconds(3));
    return joined;
  }
};

TEST(SupernodeListPush, ChangesWithinTheWindowAreOnePushOfTheFinalList) {
  ListPush t(seconds(1));
  ASSERT_TRUE(t.logged_in()) << t.f.sc.transcript();
  const std::uint64_t pushes = t.s1->counters().supernode_list_pushes;
  EXPECT_EQ(pushes, 2u) << "one per login";
  ASSERT_TRUE(t.four_join()) << t.f.sc.transcript();
  for (PeerSession* p : {&t.alice, &t.bob}) {
    const auto lists = t.f.sc.all<ev::SupernodeList>(*p);
    ASSERT_EQ(lists.size(), 2u) << t.f.sc.transcript();
    EXPECT_EQ(lists[1].supernodes.size(), 5u) << "the list at the end of the window";
    EXPECT_EQ(lists[1].supernodes.front(), federated_config(0).primary);
  }
  EXPECT_EQ(t.s1->counters().supernode_list_pushes, pushes + 2);

  // Later, a member leaves: one more push each, without it.
  t.f.supernodes.back()->announce_leaving(t.now(), {});
  t.f.sc.run_for(seconds(4));
  for (PeerSession* p : {&t.alice, &t.bob}) {
    const auto lists = t.f.sc.all<ev::SupernodeList>(*p);
    ASSERT_EQ(lists.size(), 3u) << t.f.sc.transcript();
    EXPECT_EQ(lists[2].supernodes.size(), 4u);
  }
}

TEST(SupernodeListPush, WithoutTheDebounceEveryChangeIsAPush) {
  ListPush t(Duration::zero());
  ASSERT_TRUE(t.logged_in()) << t.f.sc.transcript();
  ASSERT_TRUE(t.four_join()) << t.f.sc.transcript();
  // One push per batch of MemberUp events: each joiner's Sync is a datagram of its own.
  EXPECT_EQ(t.f.sc.count<ev::SupernodeList>(t.alice), 1u + 4u) << t.f.sc.transcript();
}

}  // namespace
}  // namespace qp2p::scenario
