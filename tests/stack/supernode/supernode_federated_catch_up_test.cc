// A supernode that joins a running federation late receives the directory it missed by
// anti-entropy (docs/protocol.md section 14.5: a round with every member that comes up), and one
// cut off for a while (its pushes lost) is repaired by the periodic rounds once it is back: in
// the end every directory is equal and a peer at the late supernode finds the early peers.
#include <gtest/gtest.h>

#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

TEST(SupernodeFederatedCatchUp, LateSupernodeReceivesWhatItMissed) {
  FederatedScenario f(502);
  Supernode& s1 = f.add_supernode(0);
  Supernode& s2 = f.add_supernode(1);
  ASSERT_TRUE(f.run_until([&] { return f.members_converged({&s1, &s2}); }, seconds(20)));

  std::vector<PeerSession*> early;
  for (int i = 0; i < 6; ++i) {
    early.push_back(&f.add_peer("p" + std::to_string(i), i % 2, i,
                                {{"name", "p" + std::to_string(i)}, {"group", "early"}}));
    early.back()->start(f.sc.net.now());
  }
  ASSERT_TRUE(f.run_until(
      [&] {
        for (PeerSession* p : early)
          if (f.sc.count<ev::Published>(*p) != 1) return false;
        return FederatedScenario::directories_equal({&s1, &s2});
      },
      seconds(5)));

  // S3 starts 30 s later: nothing was pushed to it.
  f.sc.run_for(seconds(30));
  Supernode& s3 = f.add_supernode(2);
  EXPECT_EQ(s3.directory()->replica().size(), 0u);
  ASSERT_TRUE(f.run_until([&] { return FederatedScenario::directories_equal(f.supernodes); },
                          seconds(20)))
      << "S3 holds " << s3.directory()->replica().size() << " peers";
  EXPECT_EQ(s3.directory()->replica().size(), early.size());
  EXPECT_GT(s3.directory()->sync_counters().records_accepted, 0u);

  PeerSession& late = f.add_peer("late", 2, 20);
  late.start(f.sc.net.now());
  ASSERT_TRUE(f.run_until([&] { return late.registered(); }, seconds(2)));
  const std::uint64_t req = late.search(f.sc.net.now(), {{"group", "early", false}});
  auto result = f.sc.wait_for<ev::SearchDone>(
      late, seconds(2), [&](const ev::SearchDone& e) { return e.request == req; });
  ASSERT_TRUE(result) << f.sc.transcript();
  EXPECT_EQ(result->total, early.size());

  // S3 cut off: a peer logs out at S1 meanwhile (the tombstone's push to S3 is lost). Back
  // within the suspicion timeout (so no member-up round), a periodic round repairs it.
  f.sc.net.set_offline(f.sc.node("S3"), true);
  early[0]->logout(f.sc.net.now());
  f.sc.run_for(seconds(2));
  EXPECT_TRUE(s3.home_supernode_of(early[0]->id())) << "S3 was cut off: it cannot know yet";
  f.sc.net.set_offline(f.sc.node("S3"), false);
  ASSERT_TRUE(f.run_until([&] { return !s3.home_supernode_of(early[0]->id()); }, seconds(25)));
  EXPECT_TRUE(f.run_until([&] { return FederatedScenario::directories_equal(f.supernodes); },
                          seconds(25)));
}

}  // namespace
}  // namespace qp2p::scenario
