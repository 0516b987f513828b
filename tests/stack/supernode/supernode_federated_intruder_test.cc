// A supernode with the wrong network secret, seeded with a member, cannot join, read or inject
// records (docs/protocol.md sections 14.2 and 14.5): its datagrams are dropped as another
// network's before anything is decrypted, so the members' directories never hold its peer, and
// its own directory never receives theirs.
#include <gtest/gtest.h>

#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

TEST(SupernodeFederatedIntruder, WrongSecretCannotInjectOrReadRecords) {
  FederatedScenario f(503);
  Supernode& s1 = f.add_supernode(0);
  Supernode& s2 = f.add_supernode(1);
  Supernode& intruder = f.add_supernode(2, "another network's secret, also long enough");
  PeerSession& alice = f.add_peer("alice", 0, 0, {{"name", "alice"}});
  PeerSession& mallory = f.add_peer("mallory", 2, 2, {{"name", "mallory"}});
  alice.start(f.sc.net.now());
  mallory.start(f.sc.net.now());
  f.sc.run_for(seconds(40));  // several join attempts, syncs and anti-entropy periods

  ASSERT_TRUE(f.members_converged({&s1, &s2}));
  EXPECT_EQ(intruder.federation()->members().size(), 1u) << "the intruder joined nobody";
  EXPECT_GT(s1.federation()->counters().dropped_wrong_network, 0u);
  for (Supernode* s : {&s1, &s2}) {
    EXPECT_FALSE(s->directory()->replica().find(mallory.id())) << "record injected";
    EXPECT_FALSE(s->home_supernode_of(mallory.id()));
  }
  EXPECT_TRUE(s2.home_supernode_of(alice.id()));
  EXPECT_FALSE(intruder.directory()->replica().find(alice.id())) << "records read";
  EXPECT_EQ(intruder.directory()->sync_counters().received_bytes, 0u);

  // Mallory's search at the intruder finds only what it holds itself.
  const std::uint64_t req = mallory.search(f.sc.net.now(), {{"name", "alice", false}});
  auto result = f.sc.wait_for<ev::SearchDone>(
      mallory, seconds(2), [&](const ev::SearchDone& e) { return e.request == req; });
  ASSERT_TRUE(result) << f.sc.transcript();
  EXPECT_EQ(result->total, 0u);
}

}  // namespace
}  // namespace qp2p::scenario
