// Hairpinning (RFC 4787 section 6), probed with plain ns-3 sockets: a second host behind the
// same full-cone NAT sends to the first host's public mapping. With hairpinning on it arrives
// from the sender's own public mapping; off (the preset), the gateway drops it.
#include <gtest/gtest.h>

#include <string>

#include "tests/sim/nat_probe_bed.h"

namespace qp2p_sim_test {
namespace {

using ns3::Seconds;

struct HairpinResult {
  bool delivered = false;
  SeenFrom source;
  SeenFrom senderMapping;
  uint64_t hairpinned = 0;
  uint64_t hairpinDrops = 0;
};

HairpinResult RunHairpin(const NatProbeBed::Attributes& attributes) {
  NatProbeBed bed("full-cone", attributes);
  const ns3::Ipv4Address a = bed.topology.supernodes[0].primary;
  bed.h->SendAt(Seconds(1.0), a, 3478, "from-h");
  bed.h2->SendAt(Seconds(1.0), a, 3479, "from-h2");
  bed.RunUntil(Seconds(1.5));
  const SeenFrom hMapping = bed.s1->SourceOf("from-h");
  HairpinResult r;
  r.senderMapping = bed.s2->SourceOf("from-h2");
  bed.h2->SendAt(Seconds(2.0), &hMapping, "hairpin");
  bed.RunUntil(Seconds(3.0));
  r.delivered = bed.h->Got("hairpin");
  r.source = bed.h->SourceOf("hairpin");
  const auto counters = bed.nat().gateways[0]->GetTableCounters();
  r.hairpinned = counters.hairpinned;
  r.hairpinDrops = counters.drops_hairpin_disabled;
  return r;
}

TEST(NatHairpin, OnDeliversFromTheSendersPublicMapping) {
  const HairpinResult r = RunHairpin({{"Hairpinning", "on"}});
  EXPECT_TRUE(r.delivered);
  EXPECT_EQ(r.source, r.senderMapping);
  EXPECT_EQ(r.hairpinned, 1u);
}

TEST(NatHairpin, OffDrops) {
  const HairpinResult r = RunHairpin({});
  EXPECT_FALSE(r.delivered);
  EXPECT_EQ(r.hairpinDrops, 1u);
}

}  // namespace
}  // namespace qp2p_sim_test
