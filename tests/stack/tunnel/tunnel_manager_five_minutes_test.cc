// A tunnel between two TunnelManagers carries data for 5 simulated minutes with no supernode in
// the lab at all (the handshake service only delivered the plans): NAT mappings (2 min timeout)
// are held by the traffic and keepalives, every message arrives, and the tunnel still works at
// the end, also across a quiet minute with only keepalives.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/manager_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(TunnelManagerLongLived, FiveMinutesOfDataWithoutAnySupernode) {
  ManagerLabConfig c;
  c.a = "port-restricted-cone";
  c.b = "symmetric";  // birthday probing: K sockets on B, one kept for the tunnel
  ManagerLab lab(c);
  lab.connect();
  ASSERT_TRUE(lab.run_until_established());
  const PeerId a = lab.a().identity.id(), b = lab.b().identity.id();
  lab.net().run_for(1s);  // the attempt's last checks in flight land or are refused
  auto refused = [&] {
    std::uint64_t n = 0;
    for (std::size_t site : {lab.a().site, lab.b().site}) {
      const auto& k = lab.net().nat(site).counters();
      n += k.drops_filtered + k.drops_no_mapping;
    }
    return n;
  };
  const std::uint64_t refused_at_start = refused();
  const Instant begin = lab.now();
  int sent = 0;
  for (int second = 0; second < 240; ++second) {  // 4 minutes of one message each way per second
    ASSERT_TRUE(lab.a().manager->send(lab.now(), b, text("a" + std::to_string(second))));
    ASSERT_TRUE(lab.b().manager->send(lab.now(), a, text("b" + std::to_string(second))));
    ++sent;
    lab.net().run_for(1s);
  }
  lab.net().run_for(60s);  // a quiet minute: keepalives only
  ASSERT_TRUE(lab.a().manager->send(lab.now(), b, text("still here")));
  ASSERT_TRUE(lab.b().manager->send(lab.now(), a, text("me too")));
  lab.net().run_for(1s);
  EXPECT_GE(lab.now() - begin, 5min);
  const auto at_b = lab.b().texts(), at_a = lab.a().texts();
  ASSERT_EQ(at_b.size(), static_cast<std::size_t>(sent) + 1);
  ASSERT_EQ(at_a.size(), static_cast<std::size_t>(sent) + 1);
  EXPECT_EQ(at_b.front(), "a0");
  EXPECT_EQ(at_b.back(), "still here");
  EXPECT_EQ(at_a.back(), "me too");
  EXPECT_TRUE(lab.a().all<mev::Closed>().empty());
  EXPECT_TRUE(lab.b().all<mev::Closed>().empty());
  EXPECT_GE(lab.a().manager->tunnel(b)->counters().keepalives_sent, 3u);
  // No tunnel datagram was refused by a NAT in the whole time: the mappings never lapsed.
  EXPECT_EQ(refused(), refused_at_start);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
