// The hostile gateway (IcmpOnUnsolicited): an unsolicited datagram to a port-restricted cone's
// mapping is answered with ICMP port unreachable from the NAT's public address, which a plain
// ns-3 socket reports through its IcmpCallback. The ordinary gateway drops it silently.
#include <gtest/gtest.h>

#include <string>

#include "tests/sim/nat_probe_bed.h"

namespace qp2p_sim_test {
namespace {

using ns3::Seconds;

struct IcmpResult {
  std::vector<UdpProbe::IcmpError> icmp;
  uint64_t rejects = 0;
  uint64_t icmpSent = 0;
  bool delivered = false;
  ns3::Ipv4Address publicAddress;
};

IcmpResult RunUnsolicited(const NatProbeBed::Attributes& attributes) {
  NatProbeBed bed("port-restricted-cone", attributes);
  const ns3::Ipv4Address a = bed.topology.supernodes[0].primary;
  bed.h->SendAt(Seconds(1.0), a, 3478, "open");
  bed.RunUntil(Seconds(1.5));
  const SeenFrom mapping = bed.s1->SourceOf("open");
  bed.x->SendAt(Seconds(2.0), &mapping, "unsolicited");
  bed.RunUntil(Seconds(3.0));
  IcmpResult r;
  r.icmp = bed.x->icmp();
  r.rejects = bed.nat().gateways[0]->GetTableCounters().rejects;
  r.icmpSent = bed.nat().gateways[0]->GetCounters().icmpSent;
  r.delivered = bed.h->Got("unsolicited");
  r.publicAddress = bed.PublicAddress();
  return r;
}

TEST(NatHostileIcmp, RejectsWithPortUnreachable) {
  const IcmpResult r = RunUnsolicited({{"IcmpOnUnsolicited", "on"}});
  EXPECT_FALSE(r.delivered);
  ASSERT_EQ(r.icmp.size(), 1u);
  EXPECT_EQ(r.icmp[0].reporter, r.publicAddress);
  EXPECT_EQ(r.icmp[0].type, 3);  // destination unreachable
  EXPECT_EQ(r.icmp[0].code, 3);  // port unreachable
  EXPECT_EQ(r.rejects, 1u);
  EXPECT_EQ(r.icmpSent, 1u);
}

TEST(NatHostileIcmp, OrdinaryGatewayDropsSilently) {
  const IcmpResult r = RunUnsolicited({});
  EXPECT_FALSE(r.delivered);
  EXPECT_TRUE(r.icmp.empty());
  EXPECT_EQ(r.rejects, 0u);
}

}  // namespace
}  // namespace qp2p_sim_test
