// NatProfile's RFC 4787 words and its signed-record metadata form. (The port allocation
// classifier's tests are in port_allocation_test.cc.)
#include "stack/discovery/nat_profile.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace qp2p
