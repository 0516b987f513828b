// TopologyHelper's ARP setting: every ARP cache it creates holds an unanswered neighbour "dead"
// for 1 s instead of ns-3's 100 s (so that three lost ARP exchanges on a lossy LAN do not cut a
// host off for the rest of a run), unless the ArpCache DeadTimeout default was changed, which
// then wins as any ns-3 attribute default would.
#include <gtest/gtest.h>

#include <vector>

#include "ns3/arp-cache.h"
#include "ns3/config.h"
#include "ns3/ipv4-interface.h"
#include "ns3/ipv4-l3-protocol.h"
#include "ns3/nstime.h"
#include "ns3/simulator.h"
#include "sim/helper/topology-helper.h"

namespace qp2p_sim_test {
namespace {

struct Caches {
  std::vector<ns3::Time> deadTimeouts;  // one per interface with an ARP cache
  int withoutCache = 0;                 // interfaces without one (loopback, point-to-point)
};

Caches ArpCachesOf(ns3::Ptr<ns3::Node> node) {
  Caches out;
  auto ipv4 = node->GetObject<ns3::Ipv4L3Protocol>();
  for (uint32_t i = 0; i < ipv4->GetNInterfaces(); ++i) {
    ns3::Ptr<ns3::ArpCache> arp = ipv4->GetInterface(i)->GetArpCache();
    if (!arp) {
      ++out.withoutCache;
      continue;
    }
    ns3::TimeValue dead;
    arp->GetAttribute("DeadTimeout", dead);
    out.deadTimeouts.push_back(dead.Get());
  }
  return out;
}

ns3::Topology BuildOneOfEach() {
  ns3::TopologyHelper builder;
  builder.AddSupernodes(1);
  builder.AddNat("full-cone", 2);
  builder.AddNat("cgnat", 1);
  return builder.Build();
}

TEST(TopologyArp, LanCachesGiveUpOnANeighbourForOneSecond) {
  const ns3::Topology t = BuildOneOfEach();
  int lanCaches = 0;
  for (const ns3::NatSite& site : t.nats) {
    // Hosts: loopback plus one LAN interface with a cache.
    for (uint32_t h = 0; h < site.hosts.GetN(); ++h) {
      const Caches c = ArpCachesOf(site.hosts.Get(h));
      ASSERT_EQ(c.deadTimeouts.size(), 1u);
      EXPECT_EQ(c.deadTimeouts[0], ns3::Seconds(1));
      ++lanCaches;
    }
    // The home gateway's LAN side has a cache; its point-to-point outside has none.
    const Caches g = ArpCachesOf(site.gateway);
    ASSERT_EQ(g.deadTimeouts.size(), 1u);
    EXPECT_EQ(g.deadTimeouts[0], ns3::Seconds(1));
    EXPECT_EQ(g.withoutCache, 2);
  }
  EXPECT_EQ(lanCaches, 3);
  ns3::Simulator::Destroy();
}

TEST(TopologyArp, AChangedDefaultIsLeftAlone) {
  // What --ns3::ArpCache::DeadTimeout=100s does on a scenario's command line: ns-3's own value,
  // set explicitly, must not be replaced by the helper's.
  ns3::Config::SetDefault("ns3::ArpCache::DeadTimeout", ns3::TimeValue(ns3::Seconds(100)));
  const ns3::Topology t = BuildOneOfEach();
  const Caches c = ArpCachesOf(t.nats[0].hosts.Get(0));
  ASSERT_EQ(c.deadTimeouts.size(), 1u);
  EXPECT_EQ(c.deadTimeouts[0], ns3::Seconds(100));
  ns3::Simulator::Destroy();
  ns3::Config::Reset();
}

}  // namespace
}  // namespace qp2p_sim_test
