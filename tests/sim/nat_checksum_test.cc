// With ns-3 checksums enabled (GlobalValue ChecksumEnabled), a receiver drops any UDP datagram
// whose checksum is wrong, so a gateway that rewrote addresses and ports without recomputing it
// would break every translated flow. Plain sockets exchange through a full-cone NAT and a
// cgnat chain (two rewrites) and must still hear each other.
#include <gtest/gtest.h>

#include <string>

#include "ns3/boolean.h"
#include "ns3/global-value.h"
#include "tests/sim/nat_probe_bed.h"

namespace qp2p_sim_test {
namespace {

using ns3::Seconds;

class ChecksumsOn {
 public:
  ChecksumsOn() { ns3::GlobalValue::Bind("ChecksumEnabled", ns3::BooleanValue(true)); }
  ~ChecksumsOn() { ns3::GlobalValue::Bind("ChecksumEnabled", ns3::BooleanValue(false)); }
};

void ExpectRoundTrip(const std::string& preset) {
  ChecksumsOn checksums;
  NatProbeBed bed(preset);
  const ns3::Ipv4Address a = bed.topology.supernodes[0].primary;
  bed.h->SendAt(Seconds(1.0), a, 3478, "out");
  bed.RunUntil(Seconds(1.5));
  ASSERT_TRUE(bed.s1->Got("out")) << preset;
  const SeenFrom mapping = bed.s1->SourceOf("out");
  EXPECT_EQ(mapping.address, bed.PublicAddress());
  bed.s1->SendAt(Seconds(2.0), &mapping, "in");
  bed.RunUntil(Seconds(3.0));
  EXPECT_TRUE(bed.h->Got("in")) << preset;
}

// Control: no NAT on the path (and the bed really has checksums on: before the gateway wrote
// fresh UDP headers, the two tests below failed while this one passed).
TEST(NatChecksum, OpenHostWithoutNat) { ExpectRoundTrip("open"); }

TEST(NatChecksum, FullConeRecomputesUdpChecksums) { ExpectRoundTrip("full-cone"); }

TEST(NatChecksum, CgnatChainRecomputesUdpChecksums) { ExpectRoundTrip("cgnat"); }

}  // namespace
}  // namespace qp2p_sim_test
