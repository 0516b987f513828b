// Every NAT preset (and a few axis overrides) judged on RFC 4787's axes by plain ns-3 sockets:
// the host behind the NAT sends to three server endpoints (A:p, A:q, B:p); the servers report
// the source they saw (mapping behaviour, port allocation); then the contacted server, an
// uncontacted port on the same address and an uncontacted address send to the first mapping
// (filtering behaviour). The reply from B checks that a second address on one device sends
// with its own source.
#include <gtest/gtest.h>

#include <string>

#include "tests/sim/nat_probe_bed.h"

namespace qp2p_sim_test {
namespace {

using ns3::Seconds;

enum class Dep { kEI, kAD, kAPD };
enum class Alloc { kPreserving, kSequential, kRandom };

struct AxesCase {
  std::string name;  // gtest name
  std::string preset;
  NatProbeBed::Attributes attributes;
  Dep mapping;
  Dep filtering;
  Alloc allocation;
  int delta = 1;
};

std::ostream& operator<<(std::ostream& os, const AxesCase& c) { return os << c.name; }

class NatAxesTest : public ::testing::TestWithParam<AxesCase> {};

TEST_P(NatAxesTest, MappingFilteringAndAllocationMatchThePreset) {
  const AxesCase& c = GetParam();
  NatProbeBed bed(c.preset, c.attributes);
  const ns3::Ipv4Address a = bed.topology.supernodes[0].primary;
  const ns3::Ipv4Address b = bed.topology.supernodes[0].alternate;

  bed.h->SendAt(Seconds(1.0), a, 3478, "m1");
  bed.h->SendAt(Seconds(1.1), a, 3479, "m2");
  bed.h->SendAt(Seconds(1.2), b, 3478, "m3");
  bed.RunUntil(Seconds(1.5));

  const SeenFrom e1 = bed.s1->SourceOf("m1");
  const SeenFrom e2 = bed.s2->SourceOf("m2");
  const SeenFrom e3 = bed.s3->SourceOf("m3");
  ASSERT_TRUE(bed.s1->Got("m1"));
  ASSERT_TRUE(bed.s2->Got("m2"));
  ASSERT_TRUE(bed.s3->Got("m3"));
  EXPECT_EQ(e1.address, bed.PublicAddress());
  EXPECT_EQ(e2.address, bed.PublicAddress());
  EXPECT_EQ(e3.address, bed.PublicAddress());

  switch (c.mapping) {
    case Dep::kEI:
      EXPECT_EQ(e1, e2) << "endpoint-independent mapping reuses the mapping for a new port";
      EXPECT_EQ(e1, e3) << "endpoint-independent mapping reuses the mapping for a new address";
      break;
    case Dep::kAD:
      EXPECT_EQ(e1, e2) << "address-dependent mapping reuses the mapping for the same address";
      EXPECT_NE(e1, e3) << "address-dependent mapping makes a new one for a new address";
      break;
    case Dep::kAPD:
      EXPECT_NE(e1, e2) << "address-and-port-dependent mapping: new port, new mapping";
      EXPECT_NE(e1, e3);
      EXPECT_NE(e2, e3);
      break;
  }
  switch (c.allocation) {
    case Alloc::kPreserving:
      EXPECT_EQ(e1.port, kHostPort) << "port preservation";
      break;
    case Alloc::kSequential:
      EXPECT_EQ(e2.port, e1.port + c.delta) << "sequential allocation";
      EXPECT_EQ(e3.port, e2.port + c.delta) << "sequential allocation";
      break;
    case Alloc::kRandom:
      break;
  }

  // Replies, and unsolicited packets to the first mapping.
  bed.s3->SendAt(Seconds(2.0), &e3, "r3");
  bed.s1->SendAt(Seconds(2.1), &e1, "f-same");
  bed.s4->SendAt(Seconds(2.2), &e1, "f-port");
  bed.x->SendAt(Seconds(2.3), &e1, "f-address");
  bed.RunUntil(Seconds(3.0));

  EXPECT_TRUE(bed.h->Got("r3")) << "reply from the server's second address";
  EXPECT_EQ(bed.h->SourceOf("r3"), (SeenFrom{b, 3478}));
  EXPECT_TRUE(bed.h->Got("f-same")) << "the remote the mapping was made for is always admitted";
  EXPECT_EQ(bed.h->SourceOf("f-same"), (SeenFrom{a, 3478}));
  EXPECT_EQ(bed.h->Got("f-port"), c.filtering != Dep::kAPD)
      << "same address, other port: admitted unless address-and-port-dependent filtering";
  EXPECT_EQ(bed.h->Got("f-address"), c.filtering == Dep::kEI)
      << "other address: admitted only by endpoint-independent filtering";
  EXPECT_TRUE(bed.h2->received().empty()) << "nothing leaks to the other inner host";
}

// The classic names as RFC 4787 presets (nat-models/nat_behaviour.cc), plus overrides of single
// axes through the NatGateway attributes.
INSTANTIATE_TEST_SUITE_P(
    Presets, NatAxesTest,
    ::testing::Values(
        AxesCase{"open", "open", {}, Dep::kEI, Dep::kEI, Alloc::kPreserving},
        AxesCase{"full_cone", "full-cone", {}, Dep::kEI, Dep::kEI, Alloc::kPreserving},
        AxesCase{"restricted_cone", "restricted-cone", {}, Dep::kEI, Dep::kAD, Alloc::kPreserving},
        AxesCase{"port_restricted_cone",
                 "port-restricted-cone",
                 {},
                 Dep::kEI,
                 Dep::kAPD,
                 Alloc::kPreserving},
        AxesCase{"symmetric", "symmetric", {}, Dep::kAPD, Dep::kAPD, Alloc::kRandom},
        AxesCase{"symmetric_sequential",
                 "symmetric-sequential",
                 {},
                 Dep::kAPD,
                 Dep::kAPD,
                 Alloc::kSequential,
                 1},
        AxesCase{"cgnat", "cgnat", {}, Dep::kEI, Dep::kAPD, Alloc::kRandom},
        AxesCase{"sequential_delta_7",
                 "symmetric-sequential",
                 {{"SequentialDelta", "7"}},
                 Dep::kAPD,
                 Dep::kAPD,
                 Alloc::kSequential,
                 7},
        AxesCase{"address_dependent_mapping",
                 "port-restricted-cone",
                 {{"Mapping", "address-dependent"}},
                 Dep::kAD,
                 Dep::kAPD,
                 Alloc::kPreserving},
        AxesCase{"full_cone_address_dependent_filtering",
                 "full-cone",
                 {{"Filtering", "address-dependent"}},
                 Dep::kEI,
                 Dep::kAD,
                 Alloc::kPreserving}),
    [](const ::testing::TestParamInfo<AxesCase>& info) { return info.param.name; });

}  // namespace
}  // namespace qp2p_sim_test
