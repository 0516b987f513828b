// Graceful shutdown of a supernode (docs/protocol.md 0x0208): announce_leaving pushes
// supernode-leaving naming the other supernodes to every logged-in peer, each peer reports it
// once and acks it, so the supernode's pushes in flight drain to zero; a login after that is
// refused with 503; the message round-trips through the codec and a list over the bound is
// rejected as malformed.
#include <gtest/gtest.h>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;

TEST(SupernodeLeaving, PeersAreToldWithTheAlternativesAndAckIt) {
  PeerScenario sc(909);
  SupernodeConfig config = supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
  Supernode& s1 = sc.add_supernode("S1", config);
  PeerSession& alice = sc.add_peer("alice", peer_config("203.0.113.10:40000", {config.primary}));
  PeerSession& bob = sc.add_peer("bob", peer_config("203.0.113.20:40000", {config.primary}));
  alice.start(sc.net.now());
  bob.start(sc.net.now());
  ASSERT_TRUE(sc.net.run_until([&] { return alice.registered() && bob.registered(); },
                               seconds(2)));
  EXPECT_FALSE(s1.leaving());

  const std::vector<Endpoint> others = {endpoint("198.51.100.2:3478"), endpoint("198.51.100.3:3478")};
  s1.announce_leaving(sc.net.now(), others);
  EXPECT_TRUE(s1.leaving());
  EXPECT_EQ(s1.pushes_in_flight(), 2u);
  ASSERT_TRUE(sc.net.run_until(
      [&] {
        return sc.count<ev::SupernodeLeaving>(alice) == 1 && sc.count<ev::SupernodeLeaving>(bob) == 1;
      },
      seconds(2)))
      << sc.transcript();
  for (PeerSession* p : {&alice, &bob}) {
    auto leaving = sc.find<ev::SupernodeLeaving>(*p);
    ASSERT_TRUE(leaving) << sc.transcript();
    EXPECT_EQ(leaving->supernode_endpoint, config.primary);
    EXPECT_EQ(leaving->alternatives, others);
  }
  ASSERT_TRUE(sc.run_for(seconds(1)));
  EXPECT_EQ(s1.pushes_in_flight(), 0u) << "both acked";
  EXPECT_EQ(sc.count<ev::SupernodeLeaving>(alice), 1u);

  // A newcomer is turned away.
  PeerSession& carol = sc.add_peer("carol", peer_config("203.0.113.30:40000", {config.primary}));
  carol.start(sc.net.now());
  ASSERT_TRUE(sc.run_for(seconds(3)));
  EXPECT_FALSE(carol.registered());
  EXPECT_EQ(s1.online_peers(), 2u);
}

TEST(SupernodeLeaving, CodecRoundTripAndBound) {
  wire::ControlMessage m{7, wire::SupernodeLeaving{{endpoint("192.0.2.9:3478"),
                                                   endpoint("[2001:db8::1]:3478")}}};
  Bytes out;
  wire::encode(m, out);
  wire::DecodeError error{};
  auto back = wire::decode(out.data(), out.size(), &error);
  ASSERT_TRUE(back) << wire::to_string(error);
  EXPECT_EQ(wire::type_number(back->body), 0x0208);
  EXPECT_STREQ(wire::type_name(back->body), "supernode-leaving");
  EXPECT_EQ(std::get<wire::SupernodeLeaving>(back->body).supernodes.size(), 2u);

  // Nine endpoints claimed: over kMaxLeavingAlternatives.
  Bytes bad;
  wire::encode({7, wire::SupernodeLeaving{}}, bad);
  bad.back() = static_cast<std::uint8_t>(wire::kMaxLeavingAlternatives + 1);
  EXPECT_FALSE(wire::decode(bad.data(), bad.size(), &error));
  EXPECT_EQ(error, wire::DecodeError::kMalformedBody);
}

}  // namespace
}  // namespace qp2p::scenario
