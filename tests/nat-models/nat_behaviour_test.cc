// NatBehaviour: RFC 4787 words (sections 4.1, 4.2.1, 5), validation, and every preset's axes,
// including the "cgnat" chain (carrier per RFC 6888 / RFC 7422, home port-restricted cone).
#include "nat-models/nat_behaviour.h"

#include <gtest/gtest.h>

#include <chrono>

namespace qp2p::nat {
namespace {

using std::chrono::seconds;

TEST(NatBehaviourText, DependencyWordsRoundTrip) {
  for (auto d : {Dependency::kEndpointIndependent, Dependency::kAddressDependent,
                 Dependency::kAddressAndPortDependent}) {
    EXPECT_EQ(parse_dependency(to_string(d)), d);
  }
  EXPECT_EQ(to_string(Dependency::kEndpointIndependent), "endpoint-independent");
  EXPECT_EQ(to_string(Dependency::kAddressDependent), "address-dependent");
  EXPECT_EQ(to_string(Dependency::kAddressAndPortDependent), "address-and-port-dependent");
  EXPECT_FALSE(parse_dependency("symmetric"));
  EXPECT_FALSE(parse_dependency("Endpoint-Independent"));
  EXPECT_FALSE(parse_dependency(""));
}

TEST(NatBehaviourText, AllocationWordsRoundTrip) {
  for (auto p :
       {PortAllocation::kPreserving, PortAllocation::kSequential, PortAllocation::kRandom}) {
    EXPECT_EQ(parse_port_allocation(to_string(p)), p);
  }
  EXPECT_EQ(to_string(PortAllocation::kPreserving), "preserving");
  EXPECT_EQ(to_string(PortAllocation::kSequential), "sequential");
  EXPECT_EQ(to_string(PortAllocation::kRandom), "random");
  EXPECT_FALSE(parse_port_allocation("incremental"));
}

TEST(NatBehaviourText, DescribeNamesEveryAxis) {
  NatBehaviour b = *preset("symmetric-sequential");
  EXPECT_EQ(describe(b),
            "mapping=address-and-port-dependent filtering=address-and-port-dependent "
            "ports=sequential(+1) 1024-65535 timeout=120s hairpin=off");
  EXPECT_EQ(describe(*preset("open")), "no-translation");
  auto carrier = chain_preset("cgnat")->carrier;
  EXPECT_NE(describe(carrier).find("blocks=512x4"), std::string::npos);
  EXPECT_NE(describe(carrier).find("hairpin=on"), std::string::npos);
}

TEST(NatBehaviourDefaults, FollowRfc4787) {
  NatBehaviour b;
  EXPECT_TRUE(b.translating);
  EXPECT_GE(b.mapping_timeout, seconds(120));  // REQ-5
  EXPECT_EQ(b.port_min, 1024);
  EXPECT_EQ(b.port_max, 65535);
  EXPECT_EQ(b.sequential_delta, 1);
  EXPECT_FALSE(b.inbound_refreshes);
  EXPECT_FALSE(b.icmp_on_unsolicited);
  EXPECT_FALSE(b.validate());
}

TEST(NatBehaviourValidate, RefusesUnusableConfigurations) {
  auto invalid = [](auto change) {
    NatBehaviour b;
    change(b);
    return b.validate().has_value();
  };
  EXPECT_TRUE(invalid([](NatBehaviour& b) { b.port_min = 0; }));
  EXPECT_TRUE(invalid([](NatBehaviour& b) { b.port_min = 5000, b.port_max = 4999; }));
  EXPECT_TRUE(invalid([](NatBehaviour& b) { b.sequential_delta = 0; }));
  EXPECT_TRUE(invalid([](NatBehaviour& b) { b.mapping_timeout = Duration::zero(); }));
  EXPECT_TRUE(invalid(
      [](NatBehaviour& b) { b.port_min = 5000, b.port_max = 5009, b.port_block_size = 11; }));
  EXPECT_TRUE(invalid([](NatBehaviour& b) { b.max_blocks_per_host = 2; }));
  EXPECT_FALSE(invalid([](NatBehaviour& b) { b.port_min = b.port_max = 7000; }));
}

TEST(NatBehaviourPresets, NamesAreListedAndResolve) {
  ASSERT_EQ(preset_names().size(), 6u);
  for (auto name : preset_names()) {
    auto b = preset(name);
    ASSERT_TRUE(b) << name;
    EXPECT_FALSE(b->validate()) << name;
  }
  EXPECT_FALSE(preset("cgnat"));  // a chain, not a single NAT
  EXPECT_FALSE(preset("moderate"));
  ASSERT_EQ(chain_preset_names().size(), 1u);
  EXPECT_TRUE(chain_preset(chain_preset_names().front()));
  EXPECT_FALSE(chain_preset("full-cone"));
}

TEST(NatBehaviourPresets, EachPresetHasItsAxes) {
  struct Case {
    const char* name;
    Dependency mapping;
    Dependency filtering;
    PortAllocation allocation;
  };
  using D = Dependency;
  using P = PortAllocation;
  const Case cases[] = {
      {"full-cone", D::kEndpointIndependent, D::kEndpointIndependent, P::kPreserving},
      {"restricted-cone", D::kEndpointIndependent, D::kAddressDependent, P::kPreserving},
      {"port-restricted-cone", D::kEndpointIndependent, D::kAddressAndPortDependent,
       P::kPreserving},
      {"symmetric", D::kAddressAndPortDependent, D::kAddressAndPortDependent, P::kRandom},
      {"symmetric-sequential", D::kAddressAndPortDependent, D::kAddressAndPortDependent,
       P::kSequential},
  };
  for (const Case& c : cases) {
    NatBehaviour b = *preset(c.name);
    EXPECT_TRUE(b.translating) << c.name;
    EXPECT_EQ(b.mapping, c.mapping) << c.name;
    EXPECT_EQ(b.filtering, c.filtering) << c.name;
    EXPECT_EQ(b.port_allocation, c.allocation) << c.name;
    EXPECT_EQ(b.sequential_delta, 1) << c.name;
    EXPECT_EQ(b.mapping_timeout, kDefaultMappingTimeout) << c.name;
    EXPECT_EQ(b.port_block_size, 0) << c.name;
    EXPECT_FALSE(b.hairpinning) << c.name;
    EXPECT_FALSE(b.icmp_on_unsolicited) << c.name;
  }
  EXPECT_FALSE(preset("open")->translating);
}

TEST(NatBehaviourPresets, CgnatIsACarrierNatInFrontOfAHomeNat) {
  auto chain = chain_preset("cgnat");
  ASSERT_TRUE(chain);
  const NatBehaviour& carrier = chain->carrier;
  EXPECT_TRUE(carrier.translating);
  EXPECT_EQ(carrier.mapping, Dependency::kEndpointIndependent);
  EXPECT_EQ(carrier.filtering, Dependency::kAddressAndPortDependent);
  EXPECT_EQ(carrier.port_allocation, PortAllocation::kRandom);
  EXPECT_EQ(carrier.port_block_size, 512);
  EXPECT_EQ(carrier.max_blocks_per_host, 4);
  EXPECT_TRUE(carrier.hairpinning);
  EXPECT_GE(carrier.mapping_timeout, seconds(120));
  EXPECT_FALSE(carrier.validate());
  EXPECT_EQ(chain->home, *preset("port-restricted-cone"));
}

}  // namespace
}  // namespace qp2p::nat
