// NatProfile's RFC 4787 words and its signed-record metadata form, and the port allocation
// classifier (port_allocation.h) on hand-made mapping sequences.
#include "stack/discovery/nat_profile.h"

#include <gtest/gtest.h>

#include "stack/discovery/port_allocation.h"
#include "stack/identity/identity.h"

namespace qp2p {
namespace {

using Behaviour = NatProfile::Behaviour;
using Allocation = NatProfile::Allocation;

TEST(NatProfileMeta, WordsRoundTrip) {
  for (auto b : {Behaviour::kEndpointIndependent, Behaviour::kAddressDependent,
                 Behaviour::kAddressAndPortDependent, Behaviour::kUnknown}) {
    EXPECT_EQ(parse_nat_behaviour(to_string(b)), b);
  }
  for (auto a : {Allocation::kPreserving, Allocation::kSequential, Allocation::kRandom,
                 Allocation::kUnknown}) {
    EXPECT_EQ(parse_nat_allocation(to_string(a)), a);
  }
  EXPECT_EQ(to_string(Behaviour::kAddressAndPortDependent), "address-and-port-dependent");
  EXPECT_FALSE(parse_nat_behaviour("Endpoint-Independent"));
  EXPECT_FALSE(parse_nat_allocation("symmetric"));
}

TEST(NatProfileMeta, EveryProfileRoundTripsThroughASignedRecord) {
  Random r = Random::from_u64(3);
  const Identity owner = Identity::generate(r);
  std::uint64_t version = 1;
  for (auto m : {Behaviour::kEndpointIndependent, Behaviour::kAddressDependent,
                 Behaviour::kAddressAndPortDependent, Behaviour::kUnknown}) {
    for (auto f : {Behaviour::kEndpointIndependent, Behaviour::kAddressAndPortDependent,
                   Behaviour::kUnknown}) {
      for (auto a : {Allocation::kPreserving, Allocation::kSequential, Allocation::kRandom,
                     Allocation::kUnknown}) {
        for (int levels : {0, 1, 2}) {
          NatProfile p;
          p.mapping = m;
          p.filtering = f;
          p.allocation = a;
          p.sequential_delta = a == Allocation::kSequential ? -3 : 0;
          p.hairpin = levels == 1;
          p.nat_levels = levels;
          p.complete =
              m != Behaviour::kUnknown && f != Behaviour::kUnknown && a != Allocation::kUnknown;
          auto meta = p.to_meta();
          EXPECT_EQ(wire::validate_entries(meta), "") << p.describe();
          meta.emplace_back("name", "alice");  // other keys are left alone
          auto record = wire::SignedRecord::make(owner, version++, meta);
          ASSERT_TRUE(record.verify());
          auto back = NatProfile::from_meta(record.entries);
          ASSERT_TRUE(back) << p.describe();
          EXPECT_EQ(*back, p) << p.describe() << " vs " << back->describe();
        }
      }
    }
  }
}

TEST(NatProfileMeta, PublishesTheDocumentedKeys) {
  NatProfile p;
  p.mapping = Behaviour::kAddressAndPortDependent;
  p.filtering = Behaviour::kAddressAndPortDependent;
  p.allocation = Allocation::kSequential;
  p.sequential_delta = 1;
  p.nat_levels = 1;
  const wire::MetaEntries want = {{"nat.allocation", "sequential"},
                                  {"nat.delta", "1"},
                                  {"nat.filtering", "address-and-port-dependent"},
                                  {"nat.hairpin", "false"},
                                  {"nat.levels", "1"},
                                  {"nat.mapping", "address-and-port-dependent"}};
  EXPECT_EQ(p.to_meta(), want);
  p.allocation = Allocation::kRandom;
  for (const auto& [k, v] : p.to_meta()) EXPECT_NE(k, "nat.delta");
}

TEST(NatProfileMeta, RejectsMalformedValues) {
  const wire::MetaEntries good = NatProfile{}.to_meta();
  EXPECT_TRUE(NatProfile::from_meta(good));
  EXPECT_FALSE(NatProfile::from_meta({}));
  EXPECT_FALSE(NatProfile::from_meta({{"name", "alice"}}));
  auto with = [&](std::string key, std::string value) {
    wire::MetaEntries m = good;
    bool replaced = false;
    for (auto& [k, v] : m) {
      if (k == key) {
        v = value;
        replaced = true;
      }
    }
    if (!replaced) m.emplace_back(key, value);
    return NatProfile::from_meta(m);
  };
  EXPECT_FALSE(with("nat.mapping", "cone"));
  EXPECT_FALSE(with("nat.filtering", ""));
  EXPECT_FALSE(with("nat.allocation", "Random"));
  EXPECT_FALSE(with("nat.hairpin", "yes"));
  EXPECT_FALSE(with("nat.levels", "-1"));
  EXPECT_FALSE(with("nat.levels", "1x"));
  EXPECT_FALSE(with("nat.levels", "99"));
  EXPECT_FALSE(with("nat.delta", "+1"));
  EXPECT_FALSE(with("nat.delta", "70000"));
  // Sequential needs a non-zero delta.
  EXPECT_FALSE(with("nat.allocation", "sequential"));
  wire::MetaEntries seq = good;
  for (auto& [k, v] : seq) {
    if (k == "nat.allocation") v = "sequential";
  }
  seq.emplace_back("nat.delta", "0");
  EXPECT_FALSE(NatProfile::from_meta(seq));
  seq.back().second = "-2";
  auto p = NatProfile::from_meta(seq);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->sequential_delta, -2);
}

// --- port allocation ----------------------------------------------------------------------------

NewMapping first(std::uint16_t local, std::uint16_t external) {
  return {Endpoint{*IpAddress::parse("198.18.0.1"), external}, local};
}
NewMapping later(std::uint16_t external) {
  return {Endpoint{*IpAddress::parse("198.18.0.1"), external}, std::nullopt};
}

TEST(PortAllocation, PreservingIgnoresLaterMappingsOfASocket) {
  // An address-and-port-dependent preserving NAT: S0's second and third mappings move up by one.
  auto v = classify_port_allocation(
      {first(40000, 40000), first(40100, 40100), later(40001), later(40002)});
  EXPECT_EQ(v.allocation, Allocation::kPreserving);
  EXPECT_TRUE(v.notes.empty());
}

TEST(PortAllocation, PreservingToleratesAMinorityOfTakenPorts) {
  auto v = classify_port_allocation(
      {first(40000, 40000), first(40100, 40101), first(40200, 40200), first(40300, 40300)});
  EXPECT_EQ(v.allocation, Allocation::kPreserving);
  ASSERT_EQ(v.notes.size(), 1u);
}

TEST(PortAllocation, SequentialNeedsTwoEqualStepsInAMajority) {
  auto v = classify_port_allocation(
      {first(40000, 5000), first(40100, 5002), first(40200, 5004), later(5006)});
  EXPECT_EQ(v.allocation, Allocation::kSequential);
  EXPECT_EQ(v.delta, 2);
  // Another host's allocation in the middle breaks one step of three.
  v = classify_port_allocation(
      {first(40000, 5000), first(40100, 5001), first(40200, 5003), first(40300, 5004)});
  EXPECT_EQ(v.allocation, Allocation::kSequential);
  EXPECT_EQ(v.delta, 1);
  // Downwards counters too.
  v = classify_port_allocation({first(40000, 9000), first(40100, 8999), first(40200, 8998)});
  EXPECT_EQ(v.allocation, Allocation::kSequential);
  EXPECT_EQ(v.delta, -1);
}

TEST(PortAllocation, RandomWhenNoStepDominates) {
  auto v = classify_port_allocation(
      {first(40000, 31877), first(40100, 2210), first(40200, 51003), first(40300, 17712)});
  EXPECT_EQ(v.allocation, Allocation::kRandom);
  // Two equal steps of four are no majority.
  v = classify_port_allocation(
      {first(40000, 100), first(40100, 101), first(40200, 102), later(9000), later(31000)});
  EXPECT_EQ(v.allocation, Allocation::kRandom);
}

TEST(PortAllocation, OneStepIsNotEnough) {
  auto v = classify_port_allocation({first(40000, 5000), first(40100, 5001)});
  EXPECT_EQ(v.allocation, Allocation::kUnknown);
  EXPECT_FALSE(v.notes.empty());
  EXPECT_EQ(classify_port_allocation({}).allocation, Allocation::kUnknown);
}

}  // namespace
}  // namespace qp2p
