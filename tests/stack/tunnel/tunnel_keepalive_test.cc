// Keepalives hold the NAT mappings: two port-restricted cone NATs that forget a UDP mapping
// after 30 s of silence (Linux conntrack's unreplied timeout), a tunnel with no application
// traffic for 5 minutes of virtual time, and afterwards data still flows both ways on the same
// mappings. The control run, with keepalives effectively off, loses the path.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

Scenario short_timeout_nats() {
  Scenario s;
  s.a.nat.mapping_timeout = 30s;
  s.b.nat.mapping_timeout = 30s;
  return s;
}

TEST(TunnelKeepalive, HoldsTheMappingsForFiveIdleMinutes) {
  PunchLab lab(short_timeout_nats());
  ASSERT_TRUE(lab.run_punch());
  const Endpoint a_external = lab.b().tunnel->remote();
  const Endpoint b_external = lab.a().tunnel->remote();
  const auto a_created = lab.net().nat(lab.a().site).counters().mappings_created;
  const auto b_created = lab.net().nat(lab.b().site).counters().mappings_created;

  lab.net().run_for(5min);
  for (PeerState* p : {&lab.a(), &lab.b()}) {
    EXPECT_FALSE(p->closed.has_value()) << p->closed.value_or("");
    EXPECT_TRUE(p->received.empty());
    // One keepalive per 15 s of silence, each way (and the one at the start).
    EXPECT_GE(p->tunnel->counters().keepalives_sent, 20u);
    EXPECT_LE(p->tunnel->counters().keepalives_sent, 22u);
    EXPECT_GE(p->tunnel->counters().keepalives_received, 19u);
  }
  // Same mappings all along: none expired, none re-created.
  for (PeerState* p : {&lab.a(), &lab.b()})
    EXPECT_EQ(lab.net().nat(p->site).counters().mappings_expired, 0u);
  EXPECT_EQ(lab.net().nat(lab.a().site).counters().mappings_created, a_created);
  EXPECT_EQ(lab.net().nat(lab.b().site).counters().mappings_created, b_created);

  lab.a().tunnel->send(lab.net().now(), text("still there?"));
  lab.b().tunnel->send(lab.net().now(), text("yes"));
  lab.net().run_for(100ms);
  ASSERT_EQ(lab.b().received.size(), 1u);
  ASSERT_EQ(lab.a().received.size(), 1u);
  EXPECT_EQ(lab.b().tunnel->remote(), a_external);
  EXPECT_EQ(lab.a().tunnel->remote(), b_external);
}

TEST(TunnelKeepalive, WithoutKeepalivesTheMappingsExpire) {
  Scenario s = short_timeout_nats();
  s.tunnel.keepalive_interval = 10min;
  s.tunnel.dead_interval = 20min;
  PunchLab lab(s);
  ASSERT_TRUE(lab.run_punch());
  lab.net().run_for(5min);
  lab.a().tunnel->send(lab.net().now(), text("still there?"));
  lab.net().run_for(100ms);
  EXPECT_TRUE(lab.b().received.empty());
  // B's NAT forgot the mapping (expiry is lazy: counted when A's packet arrived).
  EXPECT_GT(lab.net().nat(lab.b().site).counters().mappings_expired, 0u);
  EXPECT_GT(lab.net().nat(lab.b().site).counters().drops_no_mapping, 0u);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
