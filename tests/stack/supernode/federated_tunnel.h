// The fixture of the tests of tunnels between peers on different supernodes (issue 5,
// "Routing"; docs/protocol.md section 14.6): alice is logged into S1 (10 ms away), carol into S2
// (30 ms away), S1 and S2 are 25 ms apart, and all serve TURN; S3 is a third member (so the
// membership can probe indirectly). S1 runs the negotiation; S2 pushes to carol and relays.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "stack/federation/route_handshake.h"
#include "tests/stack/peer/tunnel_pair.h"  // bytes_of
#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {

namespace ev = peer_event;

inline void with_turn(SupernodeConfig& c) {
  c.turn.secret = "federated relay secret";
  c.turn.min_port = 50000;
  c.turn.max_port = 50099;
}

struct FederatedTunnel : ::testing::Test {
  std::unique_ptr<federation::Membership> rogue_;  // before f: the network refers to it
  FederatedScenario f{909};
  Supernode* s1 = &f.add_supernode(0, kNetworkSecret, with_turn);
  Supernode* s2 = &f.add_supernode(1, kNetworkSecret, with_turn);
  Supernode* s3 = &f.add_supernode(2, kNetworkSecret, with_turn);
  PeerSession& alice = f.add_peer("alice", 0, 0);
  PeerSession& carol = f.add_peer("carol", 1, 2);

  void SetUp() override {
    auto& net = f.sc.net;
    net.set_link(f.sc.node("alice"), f.sc.node("S1"), {milliseconds(10), 0.0});
    net.set_link(f.sc.node("carol"), f.sc.node("S2"), {milliseconds(30), 0.0});
    net.set_link(f.sc.node("S1"), f.sc.node("S2"), {milliseconds(25), 0.0});
    net.set_link(f.sc.node("alice"), f.sc.node("carol"), {milliseconds(20), 0.0});
    ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));
    alice.start(net.now());
    carol.start(net.now());
    // Each side's directory places the other peer, and S1 has measured its way to S2.
    ASSERT_TRUE(f.run_until(
        [&] {
          return s1->home_supernode_of(carol.id()) && s2->home_supernode_of(alice.id()) &&
                 s1->federation()->rtt_to(s2->identity().id()) > Duration::zero();
        },
        seconds(5)));
  }

  Instant now() const { return f.sc.net.now(); }

  // Sends `text` through the tunnel and runs until the other side has it (at most 2 s).
  bool carried(PeerSession& from, PeerSession& to, const std::string& text) {
    if (!from.tunnel_send(now(), to.id(), bytes_of(text).data(), text.size())) return false;
    return f.sc
        .wait_for<ev::TunnelData>(to, seconds(2),
                                  [&](const ev::TunnelData& d) {
                                    return d.bytes == bytes_of(text) && d.peer == from.id();
                                  })
        .has_value();
  }

  // alice connects, carol is offered the tunnel and accepts; both report it established.
  std::optional<ev::TunnelEstablished> open_tunnel(Duration max) {
    alice.connect(now(), carol.id());
    if (!f.sc.wait_for<ev::TunnelRequested>(carol, seconds(5))) return std::nullopt;
    carol.accept(now(), alice.id());
    auto a = f.sc.wait_for<ev::TunnelEstablished>(alice, max);
    if (a && !f.sc.find<ev::TunnelEstablished>(carol) &&
        !f.sc.wait_for<ev::TunnelEstablished>(carol, seconds(5)))
      return std::nullopt;
    return a;
  }

  NatPairCounters outcomes_at(const Supernode& s) const {
    const auto& pairs = s.handshake_stats().by_pair();
    auto it = pairs.find({"unknown", "unknown"});
    return it == pairs.end() ? NatPairCounters{} : it->second;
  }

  // A member of the network (it has the secret) that is neither supernode of a negotiation,
  // joined and listed by S1 and S2; nullptr if it did not join in 20 s.
  federation::Membership* add_rogue() {
    Random random = Random::from_u64(4711);
    const Identity rogue_identity = Identity::generate(random);
    federation::MembershipConfig mc;
    mc.local = endpoint("192.0.2.9:3478");
    mc.seeds = {federated_config(0).primary};
    mc.unix_offset_us = kEpochUs;
    std::string error;
    auto key = federation::NetworkKey::from_secret(kNetworkSecret, &error);
    if (!key) {
      ADD_FAILURE() << error;
      return nullptr;
    }
    rogue_ = std::make_unique<federation::Membership>(mc, rogue_identity, *key, random.fork());
    f.sc.net.add_node("rogue", *rogue_, {mc.local});
    const bool joined = f.run_until(
        [&] {
          return s1->federation()->members().size() == 4 &&
                 s2->federation()->members().size() == 4 && rogue_->members().size() == 4;
        },
        seconds(20));
    return joined ? rogue_.get() : nullptr;
  }

  // Loses every datagram S1 sends S2 in [lose_from, lose_until), once the test sets them.
  std::optional<Instant> lose_from, lose_until;
  void lose_s1_to_s2() {
    const auto s1_node = f.sc.node("S1");
    const Endpoint s2_primary = federated_config(1).primary;
    f.sc.net.add_rewriter(
        [this, s1_node, s2_primary](Instant at, std::size_t from, Endpoint&, Endpoint& to) {
          return !(lose_from && from == s1_node && to == s2_primary && at >= *lose_from &&
                   at < *lose_until);
        });
  }

  void expect_no_routing_drops() {
    for (Supernode* s : {s1, s2}) {
      EXPECT_EQ(s->handshake_counters().route_unknown_attempt, 0u);
      EXPECT_EQ(s->handshake_counters().route_wrong_supernode, 0u);
      EXPECT_EQ(s->handshake_counters().route_gave_up, 0u);
      EXPECT_EQ(s->counters().dropped_federation_payload, 0u);
    }
  }
};

}  // namespace qp2p::scenario
