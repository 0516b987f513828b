// The emulated gateways' nftables rulesets (scenarios/emulation/nat_rules.h) and the expected
// profiles (expected_profile.h), without root: each RFC 4787 axis of a preset turns into the
// netfilter recipe docs/emulation.md lists, and what netfilter cannot do is refused. The rulesets
// themselves are loaded into real namespaces by the emu tests.
#include "scenarios/emulation/nat_rules.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "nat-models/nat_behaviour.h"
#include "scenarios/emulation/expected_profile.h"

namespace qp2p::emu {
namespace {

std::string rules_for(const nat::NatBehaviour& b, int loss = 0) {
  GatewayRules r;
  r.behaviour = b;
  r.wan_address = "198.18.1.7";
  r.loss_percent = loss;
  return gateway_ruleset(r);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(EmuNatRules, ConesPreservePortsAndFilterByTheirDependency) {
  const std::string full = rules_for(*nat::preset("full-cone"));
  const std::string restricted = rules_for(*nat::preset("restricted-cone"));
  const std::string port_restricted = rules_for(*nat::preset("port-restricted-cone"));
  for (const std::string* r : {&full, &restricted, &port_restricted}) {
    EXPECT_TRUE(has(*r, "oifname \"wan\" meta l4proto udp masquerade\n")) << *r;
    EXPECT_TRUE(has(*r, "policy drop")) << *r;  // an ordinary router: silent
  }
  // Endpoint-independent filtering: any remote reaches a mapped port.
  EXPECT_TRUE(has(full,
                  "iifname \"wan\" meta l4proto udp dnat ip addr . port to udp dport map "
                  "@outmap"));
  // Address-dependent: only remotes the mapping has sent to.
  EXPECT_TRUE(has(restricted, "ip saddr . udp dport @sentto dnat"));
  EXPECT_FALSE(has(restricted, "iifname \"wan\" meta l4proto udp dnat"));
  // Address-and-port-dependent: conntrack alone, no inbound dnat at all.
  EXPECT_FALSE(has(port_restricted, "dnat ip addr"));
}

TEST(EmuNatRules, SymmetricPresetsAllocateRandomlyOrFromTheCounter) {
  EXPECT_TRUE(has(rules_for(*nat::preset("symmetric")), "masquerade fully-random"));
  nat::NatBehaviour seq = *nat::preset("symmetric-sequential");
  std::string r = rules_for(seq);
  EXPECT_TRUE(has(r, "snat ip to 198.18.1.7 : numgen inc mod 1024 map @seqmap")) << r;
  EXPECT_TRUE(has(r, "typeof numgen inc mod 1024 : udp sport"));
  EXPECT_TRUE(has(r, "{ 0 : 20480, 1 : 20481, 2 : 20482"));
  seq.sequential_delta = 2;
  EXPECT_TRUE(has(rules_for(seq), "{ 0 : 20480, 1 : 20482, 2 : 20484"));
}

TEST(EmuNatRules, CarrierKeepsOneRandomPortPerInnerEndpointAndHairpins) {
  const auto chain = nat::chain_preset("cgnat");
  ASSERT_TRUE(chain);
  const std::string carrier = rules_for(chain->carrier);
  EXPECT_TRUE(has(carrier, "snat ip to 198.18.1.7 : ip saddr . udp sport map @eimmap"));
  EXPECT_TRUE(has(carrier, "snat ip to 198.18.1.7 : 20480-20991 random"));  // one 512 block
  EXPECT_TRUE(has(carrier,
                  "update @eimmap { ct original ip saddr . ct original proto-src : "
                  "udp sport }"));
  EXPECT_TRUE(has(carrier, "iifname \"lan\" ip daddr 198.18.1.7 meta l4proto udp dnat"));
  EXPECT_FALSE(has(rules_for(chain->home), "iifname \"lan\" ip daddr"));  // home: no hairpin
}

TEST(EmuNatRules, HostileGatewaysAcceptOnInputAndLossDropsOnForward) {
  nat::NatBehaviour b = *nat::preset("port-restricted-cone");
  b.icmp_on_unsolicited = true;
  const std::string r = rules_for(b, 5);
  EXPECT_TRUE(has(r, "type filter hook input priority filter; policy accept;")) << r;
  EXPECT_TRUE(has(r, "meta l4proto udp numgen random mod 100 < 5 drop"));
  EXPECT_FALSE(has(rules_for(*nat::preset("full-cone")), "numgen random"));
}

TEST(EmuNatRules, WhatNetfilterCannotDoIsRefused) {
  EXPECT_THROW(rules_for(*nat::preset("open")), std::invalid_argument);  // no gateway
  nat::NatBehaviour address_dependent = *nat::preset("symmetric");
  address_dependent.mapping = nat::Dependency::kAddressDependent;
  EXPECT_THROW(rules_for(address_dependent), std::invalid_argument);
  GatewayRules no_wan;
  no_wan.behaviour = *nat::preset("full-cone");
  EXPECT_THROW(gateway_ruleset(no_wan), std::invalid_argument);
}

TEST(EmuExpectedProfile, FollowsTheNs3ScenarioRule) {
  const ExpectedProfile open = expected_profile({});
  EXPECT_EQ(open.levels, 0);
  EXPECT_TRUE(open.hairpin);
  EXPECT_EQ(open.filtering, "endpoint-independent");
  const auto chain = *nat::chain_preset("cgnat");
  const ExpectedProfile cgnat = expected_profile({chain.carrier, chain.home});
  EXPECT_EQ(cgnat.levels, 2);
  EXPECT_EQ(cgnat.allocation, "random");
  EXPECT_TRUE(cgnat.hairpin);  // the outer NAT's
  EXPECT_EQ(cgnat.filtering, "address-and-port-dependent");
  const ExpectedProfile seq = expected_profile({*nat::preset("symmetric-sequential")});
  EXPECT_EQ(seq.allocation, "sequential");
  EXPECT_EQ(seq.delta, 1);
  EXPECT_EQ(seq.mapping, "address-and-port-dependent");
}

}  // namespace
}  // namespace qp2p::emu
