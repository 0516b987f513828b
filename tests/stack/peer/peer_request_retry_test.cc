// Session-level recovery from lost control traffic (stack/peer/peer_request_retry.cc): a request
// whose whole retransmission schedule is lost is sent again (bounded in count and time) instead
// of failing at once with one supernode, so the nat.* profile published after NAT discovery gets
// stored even when every copy of its first publish is lost; a request to a supernode that never
// answers fails with a reason after the bounded retries; a single unanswered keepalive schedule
// does not throw away a session the supernode still holds; a tunnel negotiation whose
// punch-start never comes ends at a deadline instead of hanging.
#include <gtest/gtest.h>

#include "stack/discovery/nat_profile.h"
#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

TEST(PeerRequestRetry, NatProfilePublishIsRetriedUntilStored) {
  PeerScenario sc{4401};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "198.51.100.1:3479");
  sc.add_supernode("S1", config);
  PeerConfig alice_config = peer_config("203.0.113.10:40000", {config.primary}, {{"name", "alice"}});
  alice_config.discovery_locals = {endpoint("203.0.113.10:40001"), endpoint("203.0.113.10:40002"),
                                   endpoint("203.0.113.10:40003")};
  PeerSession& alice = sc.add_peer("alice", alice_config);
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary}));
  const auto alice_node = sc.node("alice");
  // From the moment discovery has its result (the nat.* publish leaves in that same step), every
  // datagram from alice to the supernode's control endpoint is lost for 11 s: all 7 copies of
  // the publish (0 .. 9.75 s) and whatever keepalive falls in the window.
  std::optional<Instant> classified_at;
  sc.net.add_rewriter([&](Instant now, VirtualNetwork::NodeId from, Endpoint&, Endpoint& to) {
    if (from != alice_node || to != config.primary || !alice.nat_profile()) return true;
    if (!classified_at) classified_at = now;
    return now - *classified_at >= seconds(11);
  });
  alice.start(sc.net.now());
  bob.start(sc.net.now());
  auto classified = sc.wait_for<ev::NatClassified>(alice, seconds(30));
  ASSERT_TRUE(classified) << sc.transcript();
  ASSERT_TRUE(classified_at);

  // The login-time publish, then the profile's: stored after its retry, with no failure.
  ASSERT_TRUE(sc.net.run_until([&] { return sc.count<ev::Published>(alice) == 2; }, seconds(30)))
      << sc.transcript();
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice), 0u) << sc.transcript();
  Instant published_at{};
  for (const auto& l : sc.log(alice))
    if (std::holds_alternative<ev::Published>(l.event)) published_at = l.at;  // the last one
  EXPECT_GE(published_at - *classified_at, seconds(10)) << "the first schedule was all lost";
  EXPECT_TRUE(alice.registered()) << "one lost keepalive schedule is not a lost session";

  const std::uint64_t req = bob.lookup(sc.net.now(), alice.id());
  auto found = sc.wait_for<ev::LookupDone>(bob, seconds(5),
                                           [&](const ev::LookupDone& e) { return e.request == req; });
  ASSERT_TRUE(found && found->info.record) << sc.transcript();
  auto profile = NatProfile::from_meta(found->info.record->entries);
  ASSERT_TRUE(profile) << sc.transcript();
  EXPECT_EQ(profile->mapping, classified->profile.mapping);
  ASSERT_TRUE(found->info.record->find("name"));
  EXPECT_EQ(*found->info.record->find("name"), "alice");
}

TEST(PeerRequestRetry, UnansweredRequestFailsAfterBoundedRetries) {
  PeerScenario sc{4402};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "198.51.100.1:3479");
  sc.add_supernode("S1", config);
  PeerConfig c = peer_config("203.0.113.10:40000", {config.primary});
  c.keepalive_interval = seconds(120);  // the request alone decides
  PeerSession& alice = sc.add_peer("alice", c);
  alice.start(sc.net.now());
  ASSERT_TRUE(sc.net.run_until([&] { return alice.registered(); }, seconds(5))) << sc.transcript();

  sc.set_offline("S1", true);
  const Instant asked = sc.net.now();
  const std::uint64_t req = alice.publish(sc.net.now(), {{"role", "camera"}});
  // 4 schedules of 10.75 s and pauses of 0.5, 1 and 2 s: 46.5 s.
  auto failed = sc.wait_for<ev::RequestFailed>(alice, seconds(60));
  ASSERT_TRUE(failed) << sc.transcript();
  EXPECT_EQ(failed->request, req);
  EXPECT_NE(failed->reason.find("no response from supernode"), std::string::npos) << failed->reason;
  const Instant at = *sc.time_of<ev::RequestFailed>(alice);
  EXPECT_GE(at - asked, seconds(46)) << to_ms(at - asked);
  EXPECT_LE(at - asked, seconds(47)) << to_ms(at - asked);
}

TEST(PeerRequestRetry, RetriedRequestIsAnsweredOnce) {
  // Every copy of a lookup's first schedule is lost on the way back: the supernode answered
  // each, the peer sends it again and reports one LookupDone.
  PeerScenario sc{4403};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "198.51.100.1:3479");
  sc.add_supernode("S1", config);
  PeerConfig c = peer_config("203.0.113.10:40000", {config.primary});
  c.keepalive_interval = seconds(120);
  PeerSession& alice = sc.add_peer("alice", c);
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary}));
  alice.start(sc.net.now());
  bob.start(sc.net.now());
  ASSERT_TRUE(sc.net.run_until([&] { return alice.registered() && bob.registered(); }, seconds(5)));
  const Instant cut = sc.net.now();
  const auto s1 = sc.node("S1");
  sc.net.add_rewriter([&](Instant now, VirtualNetwork::NodeId from, Endpoint&, Endpoint& to) {
    return !(from == s1 && to == endpoint("203.0.113.10:40000") && now - cut < seconds(11));
  });
  const std::uint64_t req = alice.lookup(sc.net.now(), bob.id());
  ASSERT_TRUE(sc.run_for(seconds(20)));
  ASSERT_EQ(sc.count<ev::LookupDone>(alice), 1u) << sc.transcript();
  EXPECT_EQ(sc.all<ev::LookupDone>(alice)[0].request, req);
  EXPECT_TRUE(sc.all<ev::LookupDone>(alice)[0].info.online);
  EXPECT_EQ(sc.count<ev::RequestFailed>(alice), 0u) << sc.transcript();
}

TEST(PeerRequestRetry, LostKeepaliveSchedulesWithOneSupernodeRetryBeforeLoggingInAgain) {
  PeerScenario sc{4404};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "198.51.100.1:3479");
  config.peer_expiry = seconds(60);
  sc.add_supernode("S1", config);
  PeerConfig c = peer_config("203.0.113.10:40000", {config.primary});
  c.keepalive_interval = seconds(1);
  PeerSession& alice = sc.add_peer("alice", c);
  alice.start(sc.net.now());
  ASSERT_TRUE(sc.net.run_until([&] { return alice.registered(); }, seconds(5)));
  // Answers are lost for 25 s (two whole keepalive schedules), requests get through.
  const Instant cut = sc.net.now();
  const auto s1 = sc.node("S1");
  sc.net.add_rewriter([&](Instant now, VirtualNetwork::NodeId from, Endpoint&, Endpoint&) {
    return !(from == s1 && now - cut < seconds(25));
  });
  ASSERT_TRUE(sc.run_for(seconds(40)));
  EXPECT_EQ(sc.count<ev::Disconnected>(alice), 0u) << sc.transcript();
  EXPECT_TRUE(alice.registered());
  // Three schedules in a row: the supernode is taken for lost, and logged into again.
  const Instant cut2 = sc.net.now();
  sc.net.add_rewriter([&](Instant now, VirtualNetwork::NodeId from, Endpoint&, Endpoint&) {
    return !(from == s1 && now - cut2 < seconds(40));
  });
  auto down = sc.wait_for<ev::Disconnected>(alice, seconds(40));
  ASSERT_TRUE(down) << sc.transcript();
  EXPECT_NE(down->reason.find("keepalive"), std::string::npos) << down->reason;
  EXPECT_GE(*sc.time_of<ev::Disconnected>(alice) - cut2, seconds(32));
  ASSERT_TRUE(sc.net.run_until([&] { return alice.registered(); }, seconds(30)))
      << sc.transcript();
}

}  // namespace
}  // namespace qp2p::scenario
