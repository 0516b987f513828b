// Instant messages between peers on different supernodes (docs/protocol.md section 14.6): alice
// at S1 sends to carol at S3; S1 routes it in one hop, carol receives it once, alice gets the
// delivery report. Over a lossy link between the supernodes the retries still deliver every
// message exactly once. A message to a peer that is offline everywhere is refused at once; one
// to a peer that logged in across a partition, sent while the healed supernode catches up, is
// held until the peer's record arrives (held_sends.h).
#include <gtest/gtest.h>

#include <set>

#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

struct FederatedMessage : ::testing::Test {
  FederatedScenario f{505};
  Supernode* s1 = &f.add_supernode(0);
  Supernode* s2 = &f.add_supernode(1);
  Supernode* s3 = &f.add_supernode(2);
  PeerSession& alice = f.add_peer("alice", 0, 0);
  PeerSession& carol = f.add_peer("carol", 2, 2);

  void SetUp() override {
    ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));
    alice.start(f.sc.net.now());
    carol.start(f.sc.net.now());
    ASSERT_TRUE(f.run_until(
        [&] { return s1->home_supernode_of(carol.id()) && s3->home_supernode_of(alice.id()); },
        seconds(3)));
    // Settled: no catch-up round left after the members came up (a message to an unknown peer
    // would be held meanwhile).
    ASSERT_TRUE(f.run_until(
        [&] {
          for (const Supernode* s : f.supernodes)
            if (s->directory()->catching_up()) return false;
          return true;
        },
        seconds(30)));
  }
};

TEST_F(FederatedMessage, DeliveredAcrossSupernodesWithReport) {
  alice.send_message(f.sc.net.now(), carol.id(), "hello carol, from S1");
  auto received = f.sc.wait_for<ev::MessageReceived>(carol, seconds(3));
  ASSERT_TRUE(received) << f.sc.transcript();
  EXPECT_EQ(received->from, alice.id());
  EXPECT_EQ(received->text, "hello carol, from S1");
  auto delivered = f.sc.wait_for<ev::Delivered>(alice, seconds(3));
  ASSERT_TRUE(delivered) << f.sc.transcript();
  EXPECT_EQ(delivered->to, carol.id());
  EXPECT_EQ(delivered->message_id, received->message_id);
  f.sc.run_for(seconds(15));  // past every retry: still exactly once
  EXPECT_EQ(f.sc.count<ev::MessageReceived>(carol), 1u);
  EXPECT_EQ(f.sc.count<ev::Delivered>(alice), 1u);
  EXPECT_EQ(s3->counters().messages_routed, 1u);
  EXPECT_EQ(s1->counters().messages_undeliverable, 0u);
  EXPECT_EQ(s3->counters().dropped_federation_payload, 0u);
}

TEST_F(FederatedMessage, LossBetweenSupernodesIsRepairedByRetries) {
  f.sc.net.set_link(f.sc.node("S1"), f.sc.node("S3"), {milliseconds(20), 0.2});
  constexpr int kMessages = 20;
  for (int i = 0; i < kMessages; ++i)
    alice.send_message(f.sc.net.now(), carol.id(), "message " + std::to_string(i));
  f.sc.run_for(seconds(40));
  std::set<std::string> texts;
  for (const auto& m : f.sc.all<ev::MessageReceived>(carol)) texts.insert(m.text);
  EXPECT_EQ(f.sc.count<ev::MessageReceived>(carol), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(texts.size(), static_cast<std::size_t>(kMessages)) << "each exactly once";
  EXPECT_EQ(f.sc.count<ev::Delivered>(alice), static_cast<std::size_t>(kMessages));
}

TEST_F(FederatedMessage, OfflineEverywhereIsRefused) {
  const PeerId nobody = f.sc.stranger("nobody");
  const std::uint64_t req = alice.send_message(f.sc.net.now(), nobody, "anyone there?");
  auto failed = f.sc.wait_for<ev::RequestFailed>(
      alice, seconds(3), [&](const ev::RequestFailed& e) { return e.request == req; });
  ASSERT_TRUE(failed) << f.sc.transcript();
}

TEST_F(FederatedMessage, AfterAPartitionAMessageWaitsForTheRecordOfAPeerLoggedInMeanwhile) {
  // S1 is cut off from S2 and S3 until it declares them dead; dave logs in at S3 meanwhile.
  const harness::LinkConditions cut{milliseconds(5), 1.0};
  for (const char* other : {"S2", "S3"}) f.sc.net.set_link(f.sc.node("S1"), f.sc.node(other), cut);
  ASSERT_TRUE(f.run_until([&] { return s1->federation()->members().size() == 1; }, seconds(30)));
  PeerSession& dave = f.add_peer("dave", 2, 3);
  dave.start(f.sc.net.now());
  ASSERT_TRUE(f.run_until([&] { return s3->home_supernode_of(dave.id()).has_value(); },
                          seconds(3)));
  // The heal, over slow links: S1's catch-up takes round trips of 400 ms, alice's request 10.
  const harness::LinkConditions slow{milliseconds(200), 0.0};
  for (const char* other : {"S2", "S3"})
    f.sc.net.set_link(f.sc.node("S1"), f.sc.node(other), slow);
  ASSERT_TRUE(f.run_until([&] { return s1->directory()->catching_up(); }, seconds(30)));
  ASSERT_FALSE(s1->home_supernode_of(dave.id())) << "S1 learnt of dave before the test could ask";
  const std::uint64_t req = alice.send_message(f.sc.net.now(), dave.id(), "welcome back, dave");
  auto received = f.sc.wait_for<ev::MessageReceived>(dave, seconds(6));
  ASSERT_TRUE(received) << f.sc.transcript();
  EXPECT_EQ(received->text, "welcome back, dave");
  auto delivered = f.sc.wait_for<ev::Delivered>(alice, seconds(3));
  ASSERT_TRUE(delivered) << f.sc.transcript();
  EXPECT_EQ(f.sc.count<ev::RequestFailed>(alice), 0u) << "request " << req << " was refused";
  EXPECT_EQ(s1->counters().messages_held, 1u);  // one hold, however many copies alice sent
  EXPECT_EQ(s1->counters().messages_undeliverable, 0u);
}

TEST_F(FederatedMessage, AHeldMessageIsRefusedWhenItsHoldRunsOut) {
  const harness::LinkConditions cut{milliseconds(5), 1.0};
  for (const char* other : {"S2", "S3"}) f.sc.net.set_link(f.sc.node("S1"), f.sc.node(other), cut);
  ASSERT_TRUE(f.run_until([&] { return s1->federation()->members().size() == 1; }, seconds(30)));
  const harness::LinkConditions slow{milliseconds(200), 0.0};
  for (const char* other : {"S2", "S3"})
    f.sc.net.set_link(f.sc.node("S1"), f.sc.node(other), slow);
  ASSERT_TRUE(f.run_until([&] { return s1->directory()->catching_up(); }, seconds(30)));
  const Instant sent = f.sc.net.now();
  const std::uint64_t req = alice.send_message(sent, f.sc.stranger("nobody"), "anyone there?");
  auto failed = f.sc.wait_for<ev::RequestFailed>(
      alice, seconds(8), [&](const ev::RequestFailed& e) { return e.request == req; });
  ASSERT_TRUE(failed) << f.sc.transcript();
  EXPECT_GE(f.sc.net.now() - sent, SupernodeConfig{}.hold_unknown_target);
  EXPECT_EQ(s1->counters().messages_held, 1u);
  EXPECT_EQ(s1->counters().messages_undeliverable, 1u);
}

}  // namespace
}  // namespace qp2p::scenario
