// Requests for a peer the directory does not know yet, while it catches up after a partition
// (stack/supernode/held_requests.h, docs/protocol.md section 14.6 "Held requests"): S1 is cut
// off from S2 and S3 until it declares them dead, dave logs in at S3 meanwhile, and the links
// come back slow (400 ms round trips) so S1's catch-up takes a while. alice's message or tunnel
// connect to dave, sent then, is held at S1 and goes on once dave's presence arrives; one for a
// peer that never appears is refused when the catch-up ends (or the hold runs out).
#include <gtest/gtest.h>

#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

struct FederatedHeldRequests : ::testing::Test {
  FederatedScenario f{506};
  Supernode* s1 = &f.add_supernode(0);
  Supernode* s2 = &f.add_supernode(1);
  Supernode* s3 = &f.add_supernode(2);
  PeerSession& alice = f.add_peer("alice", 0, 0);

  void SetUp() override {
    ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));
    alice.start(f.sc.net.now());
    ASSERT_TRUE(f.run_until([&] { return alice.registered() && f.settled(); }, seconds(30)));
  }

  // Cuts S1 off until it holds S2 and S3 dead, runs `meanwhile`, and heals over slow links;
  // returns once S1 catches up.
  void partition_and_heal(const std::function<void()>& meanwhile) {
    const harness::LinkConditions cut{milliseconds(5), 1.0};
    for (const char* other : {"S2", "S3"})
      f.sc.net.set_link(f.sc.node("S1"), f.sc.node(other), cut);
    ASSERT_TRUE(f.run_until([&] { return s1->federation()->members().size() == 1; },
                            seconds(30)));
    meanwhile();
    const harness::LinkConditions slow{milliseconds(200), 0.0};
    for (const char* other : {"S2", "S3"})
      f.sc.net.set_link(f.sc.node("S1"), f.sc.node(other), slow);
    ASSERT_TRUE(f.run_until([&] { return s1->directory()->catching_up(); }, seconds(30)));
  }

  PeerSession& log_in_dave_at_s3() {
    PeerSession& dave = f.add_peer("dave", 2, 3);
    dave.start(f.sc.net.now());
    EXPECT_TRUE(f.run_until([&] { return s3->home_supernode_of(dave.id()).has_value(); },
                            seconds(3)));
    return dave;
  }
};

TEST_F(FederatedHeldRequests, AMessageWaitsForTheRecordOfAPeerLoggedInDuringThePartition) {
  PeerSession* dave = nullptr;
  partition_and_heal([&] { dave = &log_in_dave_at_s3(); });
  ASSERT_FALSE(s1->home_supernode_of(dave->id())) << "S1 learnt of dave before the test could ask";
  const std::uint64_t req = alice.send_message(f.sc.net.now(), dave->id(), "welcome back, dave");
  auto received = f.sc.wait_for<ev::MessageReceived>(*dave, seconds(6));
  ASSERT_TRUE(received) << f.sc.transcript();
  EXPECT_EQ(received->text, "welcome back, dave");
  ASSERT_TRUE(f.sc.wait_for<ev::Delivered>(alice, seconds(3))) << f.sc.transcript();
  EXPECT_EQ(f.sc.count<ev::RequestFailed>(alice), 0u) << "request " << req << " was refused";
  EXPECT_EQ(s1->counters().messages_held, 1u);  // one hold, however many copies alice sent
  EXPECT_EQ(s1->counters().messages_undeliverable, 0u);
}

TEST_F(FederatedHeldRequests, ATunnelConnectWaitsForTheRecordOfAPeerLoggedInDuringThePartition) {
  PeerSession* dave = nullptr;
  partition_and_heal([&] { dave = &log_in_dave_at_s3(); });
  ASSERT_FALSE(s1->home_supernode_of(dave->id())) << "S1 learnt of dave before the test could ask";
  alice.connect(f.sc.net.now(), dave->id());
  auto offer = f.sc.wait_for<ev::TunnelRequested>(*dave, seconds(6));
  ASSERT_TRUE(offer) << f.sc.transcript();
  EXPECT_EQ(offer->from, alice.id());
  EXPECT_EQ(f.sc.count<ev::RequestFailed>(alice), 0u);
  EXPECT_EQ(s1->handshake_counters().connects_held, 1u);
  EXPECT_EQ(s1->handshake_counters().connects_unknown_peer, 0u);
  EXPECT_EQ(s1->handshake_counters().routed_offers, 1u);
}

TEST_F(FederatedHeldRequests, AMessageForAPeerNobodyKnowsIsRefusedWhenTheCatchUpEnds) {
  partition_and_heal([] {});
  const Instant sent = f.sc.net.now();
  const std::uint64_t req = alice.send_message(sent, f.sc.stranger("nobody"), "anyone there?");
  // S1 answers when its catch-up ends (no record of nobody is on its way), or at the latest
  // when the hold runs out; alice hears it one link later.
  Instant refused_at = kNever;
  bool catching_up_then = true;
  ASSERT_TRUE(f.run_until(
      [&] {
        if (s1->counters().messages_undeliverable > 0 && refused_at == kNever) {
          refused_at = f.sc.net.now();
          catching_up_then = s1->directory()->catching_up();
        }
        return f.sc.find<ev::RequestFailed>(alice).has_value();
      },
      seconds(10)))
      << f.sc.transcript();
  EXPECT_EQ(f.sc.find<ev::RequestFailed>(alice)->request, req);
  // Here the catch-up (two members, 400 ms round trips) ends well within the hold.
  EXPECT_FALSE(catching_up_then) << "refused while S1 still caught up";
  EXPECT_LT(refused_at - sent, SupernodeConfig{}.hold_unknown_target)
      << "refused only when the hold ran out, after the catch-up had ended";
  EXPECT_EQ(s1->counters().messages_held, 1u);
  EXPECT_EQ(s1->counters().messages_undeliverable, 1u);
}

}  // namespace
}  // namespace qp2p::scenario
