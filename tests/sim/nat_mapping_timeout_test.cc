// Mapping timeout (RFC 4787 section 4.3), probed with plain ns-3 sockets through a full-cone NAT
// with MappingTimeout=5s: the host sends once at t=1 s; the server answers at 3 s (admitted) and
// at 6.5 s (the mapping expired at 6 s: dropped). The gateway's scheduled expiry frees the
// mapping at exactly 6 s. With InboundRefresh=on the answer at 3 s keeps it alive until 8 s.
#include <gtest/gtest.h>

#include <string>

#include "sim/model/nat-gateway.h"
#include "tests/sim/nat_probe_bed.h"

namespace qp2p_sim_test {
namespace {

using ns3::Seconds;

struct TimeoutResult {
  bool gotEarly = false;
  bool gotLate = false;
  ns3::Time mappingGoneAt = ns3::Seconds(-1);
  SeenFrom before;
  SeenFrom after;
};

void RecordMappings(ns3::Time* goneAt, uint32_t, uint32_t now) {
  if (now == 0) *goneAt = ns3::Simulator::Now();
}

TimeoutResult RunTimeout(const NatProbeBed::Attributes& extra) {
  NatProbeBed::Attributes attributes{{"MappingTimeout", "5s"}};
  attributes.insert(attributes.end(), extra.begin(), extra.end());
  NatProbeBed bed("full-cone", attributes);
  TimeoutResult r;
  bed.nat().gateways[0]->TraceConnectWithoutContext(
      "Mappings", ns3::MakeBoundCallback(&RecordMappings, &r.mappingGoneAt));
  const ns3::Ipv4Address a = bed.topology.supernodes[0].primary;
  bed.h->SendAt(Seconds(1.0), a, 3478, "open");
  bed.RunUntil(Seconds(1.5));
  r.before = bed.s1->SourceOf("open");
  bed.s1->SendAt(Seconds(3.0), &r.before, "early");
  bed.s1->SendAt(Seconds(6.5), &r.before, "late");
  bed.h->SendAt(Seconds(20.0), a, 3478, "again");
  bed.RunUntil(Seconds(21.0));
  r.gotEarly = bed.h->Got("early");
  r.gotLate = bed.h->Got("late");
  r.after = bed.s1->SourceOf("again");
  return r;
}

TEST(NatMappingTimeout, OutboundOnlyRefreshExpiresAfterTheTimeout) {
  const TimeoutResult r = RunTimeout({});
  EXPECT_TRUE(r.gotEarly);
  EXPECT_FALSE(r.gotLate);
  // One-way delay host -> gateway is 1 ms (access link): the mapping is made at 1.001 s.
  EXPECT_NEAR(r.mappingGoneAt.GetSeconds(), 6.0, 0.01);
  // A new flow after expiry gets a new mapping; port preservation gives the same port back.
  EXPECT_EQ(r.after, r.before);
}

TEST(NatMappingTimeout, InboundRefreshKeepsTheMappingAlive) {
  const TimeoutResult r = RunTimeout({{"InboundRefresh", "on"}});
  EXPECT_TRUE(r.gotEarly);
  EXPECT_TRUE(r.gotLate);
  // Last refresh: the inbound packet at 6.5 s (+ its transit to the gateway).
  EXPECT_NEAR(r.mappingGoneAt.GetSeconds(), 11.5, 0.02);
}

}  // namespace
}  // namespace qp2p_sim_test
