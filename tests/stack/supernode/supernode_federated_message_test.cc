// Instant messages between peers on different supernodes (docs/protocol.md section 14.6): alice
// at S1 sends to carol at S3; S1 routes it in one hop, carol receives it once, alice gets the
// delivery report. Over a lossy link between the supernodes the retries still deliver every
// message exactly once. A message to a peer that is offline everywhere is refused at once
// (held ones: supernode_federated_held_requests_test.cc).
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
    // Settled: a message to an unknown peer would be held while a catch-up runs.
    ASSERT_TRUE(f.run_until([&] { return f.settled(); }, seconds(30)));
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

}  // namespace
}  // namespace qp2p::scenario
