// Instant messages through one supernode: the sender gets MessageAccepted then Delivered, the
// target MessageReceived exactly once, also when 20 % of all datagrams are lost (requests and
// pushes are retransmitted, duplicates suppressed at both ends); sending to an unknown peer
// fails with a reason.
#include <gtest/gtest.h>

#include <map>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

struct PeerMessaging : ::testing::Test {
  PeerScenario sc{303};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
  Supernode& s1 = sc.add_supernode("S1", config);
  PeerSession& alice = sc.add_peer("alice", peer_config("203.0.113.10:40000", {config.primary}));
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary}));

  void SetUp() override {
    alice.start(sc.net.now());
    bob.start(sc.net.now());
    ASSERT_TRUE(
        sc.net.run_until([&] { return alice.registered() && bob.registered(); }, seconds(5)))
        << sc.transcript();
  }
};

TEST_F(PeerMessaging, MessageIsAcceptedReceivedOnceAndReportedDelivered) {
  const std::uint64_t req = alice.send_message(sc.net.now(), bob.id(), "hello bob");
  auto accepted = sc.wait_for<ev::MessageAccepted>(alice, seconds(2));
  ASSERT_TRUE(accepted) << sc.transcript();
  EXPECT_EQ(accepted->request, req);
  EXPECT_EQ(accepted->to, bob.id());

  auto delivered = sc.wait_for<ev::Delivered>(alice, seconds(2));
  ASSERT_TRUE(delivered) << sc.transcript();
  EXPECT_EQ(delivered->to, bob.id());
  EXPECT_EQ(delivered->message_id, accepted->message_id);

  ASSERT_TRUE(sc.run_for(seconds(20)));  // let every retransmission timer run out
  const auto received = sc.all<ev::MessageReceived>(bob);
  ASSERT_EQ(received.size(), 1u) << sc.transcript();
  EXPECT_EQ(received[0].from, alice.id());
  EXPECT_EQ(received[0].message_id, accepted->message_id);
  EXPECT_EQ(received[0].text, "hello bob");
  EXPECT_EQ(sc.count<ev::MessageAccepted>(alice), 1u);
  EXPECT_EQ(sc.count<ev::Delivered>(alice), 1u);
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice), 0u);
  EXPECT_EQ(s1.counters().messages_routed, 1u);

  // Accepted (by the supernode) comes before Delivered (acknowledged by bob).
  EXPECT_LE(*sc.time_of<ev::MessageAccepted>(alice), *sc.time_of<ev::Delivered>(alice));
  EXPECT_LE(*sc.time_of<ev::MessageReceived>(bob), *sc.time_of<ev::Delivered>(alice));
}

TEST_F(PeerMessaging, MessagesBothWaysEachArriveOnce) {
  alice.send_message(sc.net.now(), bob.id(), "ping");
  bob.send_message(sc.net.now(), alice.id(), "pong");
  ASSERT_TRUE(sc.run_for(seconds(5)));
  ASSERT_EQ(sc.count<ev::MessageReceived>(bob), 1u) << sc.transcript();
  ASSERT_EQ(sc.count<ev::MessageReceived>(alice), 1u) << sc.transcript();
  EXPECT_EQ(sc.all<ev::MessageReceived>(bob)[0].text, "ping");
  EXPECT_EQ(sc.all<ev::MessageReceived>(alice)[0].text, "pong");
  EXPECT_EQ(sc.count<ev::Delivered>(alice), 1u);
  EXPECT_EQ(sc.count<ev::Delivered>(bob), 1u);
}

TEST_F(PeerMessaging, WithTwentyPercentLossEveryMessageArrivesExactlyOnce) {
  sc.net.set_default_link(harness::LinkConditions{milliseconds(5), 0.2});
  constexpr int kMessages = 20;
  std::map<std::uint64_t, std::string> sent;  // request -> text
  for (int i = 0; i < kMessages; ++i) {
    const std::string text = "message " + std::to_string(i);
    sent[alice.send_message(sc.net.now(), bob.id(), text)] = text;
    ASSERT_TRUE(sc.run_for(milliseconds(300)));
  }
  ASSERT_TRUE(sc.run_for(seconds(30))) << sc.net.error();
  EXPECT_GT(sc.net.counters().dropped_loss, 0u);

  // Every request accepted once, none failed.
  std::map<std::uint64_t, std::uint64_t> message_of;  // message id -> request
  for (const auto& a : sc.all<ev::MessageAccepted>(alice)) {
    ASSERT_TRUE(sent.count(a.request)) << "accepted an unknown request";
    EXPECT_TRUE(message_of.emplace(a.message_id, a.request).second) << "accepted twice";
  }
  EXPECT_EQ(message_of.size(), sent.size()) << sc.transcript();
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice), 0u) << sc.transcript();

  // Every message received once, with its text.
  std::map<std::uint64_t, int> received;
  for (const auto& r : sc.all<ev::MessageReceived>(bob)) {
    EXPECT_EQ(r.from, alice.id());
    ASSERT_TRUE(message_of.count(r.message_id)) << "received a message never accepted";
    EXPECT_EQ(r.text, sent[message_of[r.message_id]]);
    ++received[r.message_id];
  }
  EXPECT_EQ(received.size(), sent.size()) << sc.transcript();
  for (const auto& [id, n] : received)
    EXPECT_EQ(n, 1) << "message " << id << " received " << n << "x";

  // Every message reported delivered once.
  std::map<std::uint64_t, int> delivered;
  for (const auto& d : sc.all<ev::Delivered>(alice)) ++delivered[d.message_id];
  EXPECT_EQ(delivered.size(), sent.size()) << sc.transcript();
  for (const auto& [id, n] : delivered)
    EXPECT_EQ(n, 1) << "message " << id << " reported delivered " << n << " times";
  EXPECT_EQ(s1.counters().messages_routed, static_cast<std::uint64_t>(kMessages));
}

TEST_F(PeerMessaging, SendingToAnUnknownPeerFailsWithAReason) {
  const PeerId nobody = sc.stranger("nobody");
  const std::uint64_t req = alice.send_message(sc.net.now(), nobody, "anyone there?");
  auto failed = sc.wait_for<ev::RequestFailed>(alice, seconds(2));
  ASSERT_TRUE(failed) << sc.transcript();
  EXPECT_EQ(failed->request, req);
  EXPECT_EQ(failed->command, "send");
  EXPECT_NE(failed->reason.find("unknown or offline"), std::string::npos) << failed->reason;
  EXPECT_NE(failed->reason.find(nobody.to_string()), std::string::npos) << failed->reason;
  ASSERT_TRUE(sc.run_for(seconds(5)));
  EXPECT_EQ(sc.count<ev::MessageAccepted>(alice), 0u);
  EXPECT_EQ(sc.count<ev::Delivered>(alice), 0u);
  EXPECT_EQ(s1.counters().messages_undeliverable, 1u);
}

TEST_F(PeerMessaging, SendingToAPeerThatLoggedOutFails) {
  bob.logout(sc.net.now());
  ASSERT_TRUE(sc.wait_for<ev::LoggedOut>(bob, seconds(2)));
  alice.send_message(sc.net.now(), bob.id(), "too late");
  auto failed = sc.wait_for<ev::RequestFailed>(alice, seconds(2));
  ASSERT_TRUE(failed) << sc.transcript();
  EXPECT_EQ(failed->command, "send");
  EXPECT_NE(failed->reason.find("offline"), std::string::npos) << failed->reason;
}

TEST_F(PeerMessaging, OverlongMessageIsRefusedLocally) {
  const std::uint64_t req =
      alice.send_message(sc.net.now(), bob.id(), std::string(wire::kMaxTextBytes + 1, 'x'));
  auto failed = sc.wait_for<ev::RequestFailed>(alice, seconds(1));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->request, req);
  EXPECT_EQ(failed->command, "send");
  EXPECT_EQ(sc.count<ev::MessageReceived>(bob), 0u);
}

}  // namespace
}  // namespace qp2p::scenario
