// A peer given extra sockets runs RFC 5780 discovery after login, reports its NAT profile and
// publishes it as nat.* metadata in its signed record, where other peers find it by lookup and
// search. Here the peer has a public address (no NAT), against a two-IP supernode.
#include <gtest/gtest.h>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

TEST(PeerNatProfile, DiscoveredAfterLoginAndPublishedWithTheRecord) {
  PeerScenario sc{404};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "198.51.100.1:3479");
  sc.add_supernode("S1", config);
  PeerConfig alice_config = peer_config("203.0.113.10:40000", {config.primary}, {{"name", "alice"}});
  alice_config.discovery_locals = {endpoint("203.0.113.10:40001"), endpoint("203.0.113.10:40002"),
                                   endpoint("203.0.113.10:40003")};
  PeerSession& alice = sc.add_peer("alice", alice_config);
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary}));
  alice.start(sc.net.now());
  bob.start(sc.net.now());

  auto classified = sc.wait_for<ev::NatClassified>(alice, std::chrono::seconds(30));
  ASSERT_TRUE(classified) << sc.transcript();
  EXPECT_EQ(classified->profile.nat_levels, 0) << classified->profile.describe();
  EXPECT_EQ(classified->profile.mapping, NatProfile::Behaviour::kEndpointIndependent);
  EXPECT_EQ(classified->profile.filtering, NatProfile::Behaviour::kEndpointIndependent);
  EXPECT_FALSE(classified->transcript.empty());
  ASSERT_TRUE(alice.nat_profile());

  // The profile is re-published with the record: version 2 after the login-time version 1.
  ASSERT_TRUE(sc.net.run_until([&] { return sc.count<ev::Published>(alice) == 2; },
                               std::chrono::seconds(5)))
      << sc.transcript();

  const std::uint64_t req = bob.search(sc.net.now(), {{"nat.mapping", "endpoint-independent", false}});
  auto found = sc.wait_for<ev::SearchDone>(bob, std::chrono::seconds(5),
                                           [&](const ev::SearchDone& e) { return e.request == req; });
  ASSERT_TRUE(found) << sc.transcript();
  ASSERT_EQ(found->peers.size(), 1u);
  ASSERT_TRUE(found->peers[0].record);
  EXPECT_TRUE(found->peers[0].record->verify());
  auto from_record = NatProfile::from_meta(found->peers[0].record->entries);
  ASSERT_TRUE(from_record);
  EXPECT_EQ(from_record->mapping, classified->profile.mapping);
  EXPECT_EQ(from_record->filtering, classified->profile.filtering);
  ASSERT_TRUE(found->peers[0].record->find("name"));
  EXPECT_EQ(*found->peers[0].record->find("name"), "alice");
}

TEST(PeerNatProfile, NoDiscoveryWithoutExtraSockets) {
  PeerScenario sc{405};
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "198.51.100.1:3479");
  sc.add_supernode("S1", config);
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary}));
  bob.start(sc.net.now());
  ASSERT_TRUE(sc.run_for(std::chrono::seconds(10)));
  EXPECT_TRUE(bob.registered());
  EXPECT_EQ(sc.count<ev::NatClassified>(bob), 0u);
  EXPECT_FALSE(bob.nat_profile());
}

}  // namespace
}  // namespace qp2p::scenario
