// NatTable, one RFC 4787 axis at a time: mapping (section 4.1), port assignment (4.2.1),
// refresh and expiry (4.3), filtering (5), hairpinning (6), plus the hostile flag, port blocks,
// paired pooling, determinism and scale. Virtual time only; addresses from the documentation
// ranges (inner hosts 192.0.2.0/24, NAT 203.0.113.0/24, remotes 198.51.100.0/24).
#include "nat-models/nat_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <vector>

namespace qp2p::nat {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Action = InboundVerdict::Action;

constexpr std::uint32_t kPublicIp = 0xCB007101;   // 203.0.113.1
constexpr std::uint32_t kPublicIp2 = 0xCB007102;  // 203.0.113.2
constexpr std::uint32_t kHostA = 0xC000020A;      // 192.0.2.10
constexpr std::uint32_t kHostB = 0xC000020B;      // 192.0.2.11
constexpr std::uint32_t kHostC = 0xC000020C;      // 192.0.2.12
constexpr std::uint32_t kRemote1 = 0xC6336401;    // 198.51.100.1
constexpr std::uint32_t kRemote2 = 0xC6336402;    // 198.51.100.2

Endpoint ep(std::uint32_t ip, std::uint16_t port) { return Endpoint{IpAddress::v4(ip), port}; }
Instant at(Duration d) { return Instant(d); }

NatBehaviour axes(Dependency mapping, Dependency filtering,
                  PortAllocation allocation = PortAllocation::kPreserving) {
  NatBehaviour b;
  b.mapping = mapping;
  b.filtering = filtering;
  b.port_allocation = allocation;
  return b;
}

NatTable make_table(const NatBehaviour& b, std::uint64_t seed = 1) {
  return NatTable(b, IpAddress::v4(kPublicIp), Random::from_u64(seed));
}

// Opens `count` mappings from one inner endpoint to distinct remote ports (new mappings under
// address-and-port-dependent mapping) and returns the external ports in order.
std::vector<std::uint16_t> open_flows(NatTable& t, int count, Instant now = Instant{}) {
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < count; ++i) {
    auto ext = t.translate_outbound(now, ep(kHostA, 5000),
                                    ep(kRemote1, static_cast<std::uint16_t>(10000 + i)));
    if (ext) ports.push_back(ext->port);
  }
  return ports;
}

// ---- Mapping (RFC 4787 section 4.1) ----------------------------------------------------------

TEST(NatTableMapping, EndpointIndependentKeepsOnePortForEveryDestination) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent));
  auto a = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  auto b = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3479));
  auto c = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote2, 3478));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->address, IpAddress::v4(kPublicIp));
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_EQ(t.mapping_count(), 1u);
  EXPECT_EQ(t.counters().mappings_created, 1u);
  EXPECT_EQ(t.counters().outbound_translated, 3u);
}

TEST(NatTableMapping, AddressDependentChangesPortWithRemoteAddressOnly) {
  auto t = make_table(axes(Dependency::kAddressDependent, Dependency::kAddressDependent));
  auto a = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  auto b = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3479));
  auto c = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote2, 3478));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(a->port, c->port);
  EXPECT_EQ(t.mapping_count(), 2u);
}

TEST(NatTableMapping, AddressAndPortDependentChangesPortWithEitherPart) {
  auto t =
      make_table(axes(Dependency::kAddressAndPortDependent, Dependency::kAddressAndPortDependent));
  auto a = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  auto b = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3479));
  auto c = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote2, 3478));
  auto a2 = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  ASSERT_TRUE(a && b && c && a2);
  EXPECT_NE(a->port, b->port);
  EXPECT_NE(a->port, c->port);
  EXPECT_NE(b->port, c->port);
  EXPECT_EQ(*a, *a2);  // the same flow keeps its mapping
  EXPECT_EQ(t.mapping_count(), 3u);
}

TEST(NatTableMapping, DistinctInnerEndpointsNeverShareAnExternalPort) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent));
  auto a = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  auto b = t.translate_outbound(Instant{}, ep(kHostA, 4001), ep(kRemote1, 3478));
  auto c = t.translate_outbound(Instant{}, ep(kHostB, 4000), ep(kRemote1, 3478));
  ASSERT_TRUE(a && b && c);
  std::set<std::uint16_t> ports{a->port, b->port, c->port};
  EXPECT_EQ(ports.size(), 3u);  // REQ-4: no port overloading
  // Inbound to each external endpoint reaches its own inner endpoint.
  EXPECT_EQ(t.translate_inbound(Instant{}, *c, ep(kRemote1, 3478)).inner, ep(kHostB, 4000));
  EXPECT_EQ(t.translate_inbound(Instant{}, *b, ep(kRemote1, 3478)).inner, ep(kHostA, 4001));
}

TEST(NatTableMapping, PairedPoolingKeepsAHostOnOnePublicAddress) {
  NatTable t(axes(Dependency::kAddressAndPortDependent, Dependency::kAddressAndPortDependent),
             {IpAddress::v4(kPublicIp), IpAddress::v4(kPublicIp2)}, Random::from_u64(3));
  auto a1 = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
  auto b1 = t.translate_outbound(Instant{}, ep(kHostB, 4000), ep(kRemote1, 1));
  auto a2 = t.translate_outbound(Instant{}, ep(kHostA, 4001), ep(kRemote2, 2));
  ASSERT_TRUE(a1 && b1 && a2);
  EXPECT_EQ(a1->address, a2->address);
  EXPECT_NE(a1->address, b1->address);  // round-robin pairing spreads hosts
  EXPECT_TRUE(t.is_public(IpAddress::v4(kPublicIp2)));
  EXPECT_FALSE(t.is_public(IpAddress::v4(kRemote1)));
  EXPECT_EQ(t.translate_inbound(Instant{}, *b1, ep(kRemote1, 1)).inner, ep(kHostB, 4000));
}

// ---- Filtering (RFC 4787 section 5) ----------------------------------------------------------

TEST(NatTableFiltering, EndpointIndependentAdmitsAnyRemoteOnceMapped) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent));
  auto before = t.translate_inbound(Instant{}, ep(kPublicIp, 4000), ep(kRemote2, 9));
  EXPECT_EQ(before.action, Action::kDrop);
  EXPECT_EQ(before.reason, DropReason::kNoMapping);

  auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  ASSERT_TRUE(ext);
  auto v = t.translate_inbound(Instant{}, *ext, ep(kRemote2, 9));
  EXPECT_EQ(v.action, Action::kForward);
  EXPECT_EQ(v.inner, ep(kHostA, 4000));
  EXPECT_EQ(v.source, ep(kRemote2, 9));
  EXPECT_EQ(t.counters().drops_no_mapping, 1u);
  EXPECT_EQ(t.counters().inbound_forwarded, 1u);
}

TEST(NatTableFiltering, AddressDependentAdmitsOnlyAddressesSentTo) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kAddressDependent));
  auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  ASSERT_TRUE(ext);
  EXPECT_TRUE(t.translate_inbound(Instant{}, *ext, ep(kRemote1, 3478)).forwarded());
  EXPECT_TRUE(t.translate_inbound(Instant{}, *ext, ep(kRemote1, 5555)).forwarded());
  auto v = t.translate_inbound(Instant{}, *ext, ep(kRemote2, 3478));
  EXPECT_EQ(v.action, Action::kDrop);
  EXPECT_EQ(v.reason, DropReason::kFiltered);
  // Once the host sends to remote 2 (any port), remote 2 gets in.
  t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote2, 1));
  EXPECT_TRUE(t.translate_inbound(Instant{}, *ext, ep(kRemote2, 3478)).forwarded());
  EXPECT_EQ(t.counters().drops_filtered, 1u);
}

TEST(NatTableFiltering, AddressAndPortDependentAdmitsOnlyExactEndpointsSentTo) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kAddressAndPortDependent));
  auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  ASSERT_TRUE(ext);
  EXPECT_TRUE(t.translate_inbound(Instant{}, *ext, ep(kRemote1, 3478)).forwarded());
  EXPECT_EQ(t.translate_inbound(Instant{}, *ext, ep(kRemote1, 3479)).reason, DropReason::kFiltered);
  EXPECT_EQ(t.translate_inbound(Instant{}, *ext, ep(kRemote2, 3478)).reason, DropReason::kFiltered);
  // Hole punching: the host sends to the peer first, then the peer's packets are admitted.
  t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote2, 3478));
  EXPECT_TRUE(t.translate_inbound(Instant{}, *ext, ep(kRemote2, 3478)).forwarded());
  EXPECT_EQ(t.counters().drops_filtered, 2u);
}

TEST(NatTableFiltering, UnknownExternalPortIsNoMapping) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent));
  auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 3478));
  ASSERT_TRUE(ext);
  Endpoint other = *ext;
  other.port = static_cast<std::uint16_t>(other.port + 1);
  EXPECT_EQ(t.translate_inbound(Instant{}, other, ep(kRemote1, 3478)).reason,
            DropReason::kNoMapping);
}

// ---- Port assignment (RFC 4787 section 4.2.1) ------------------------------------------------

TEST(NatTablePorts, PreservingKeepsTheInnerPortAndFallsBackToTheNextFree) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent));
  auto a = t.translate_outbound(Instant{}, ep(kHostA, 40000), ep(kRemote1, 1));
  auto b = t.translate_outbound(Instant{}, ep(kHostB, 40000), ep(kRemote1, 1));
  auto c = t.translate_outbound(Instant{}, ep(kHostC, 40000), ep(kRemote1, 1));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->port, 40000);
  EXPECT_EQ(b->port, 40001);
  EXPECT_EQ(c->port, 40002);
  // An inner port below the pool starts the search at the bottom of the pool.
  auto low = t.translate_outbound(Instant{}, ep(kHostA, 80), ep(kRemote1, 1));
  ASSERT_TRUE(low);
  EXPECT_EQ(low->port, kDefaultPortMin);
}

TEST(NatTablePorts, PreservingWrapsAtTheTopOfThePool) {
  NatBehaviour b = axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent);
  b.port_min = 2000;
  b.port_max = 2009;
  auto t = make_table(b);
  EXPECT_EQ(t.translate_outbound(Instant{}, ep(kHostA, 2009), ep(kRemote1, 1))->port, 2009);
  EXPECT_EQ(t.translate_outbound(Instant{}, ep(kHostB, 2009), ep(kRemote1, 1))->port, 2000);
}

TEST(NatTablePorts, SequentialStepsByDelta) {
  for (std::uint16_t delta : {1, 2, 7}) {
    NatBehaviour b = axes(Dependency::kAddressAndPortDependent,
                          Dependency::kAddressAndPortDependent, PortAllocation::kSequential);
    b.sequential_delta = delta;
    auto t = make_table(b);
    auto ports = open_flows(t, 20);
    ASSERT_EQ(ports.size(), 20u);
    const std::uint32_t size = b.port_max - b.port_min + 1;
    for (std::size_t i = 1; i < ports.size(); ++i) {
      const std::uint32_t expected = b.port_min + (ports[i - 1] - b.port_min + delta) % size;
      EXPECT_EQ(ports[i], expected) << "delta " << delta << " step " << i;
    }
  }
}

TEST(NatTablePorts, SequentialWrapsAndSkipsPortsInUse) {
  NatBehaviour b = axes(Dependency::kAddressAndPortDependent, Dependency::kAddressAndPortDependent,
                        PortAllocation::kSequential);
  b.port_min = 3000;
  b.port_max = 3003;  // 4 ports
  b.sequential_delta = 2;
  auto t = make_table(b);
  // delta 2 in a pool of 4 visits only two ports before repeating: the other two must still
  // be handed out (next free), and all four are distinct.
  auto ports = open_flows(t, 4);
  ASSERT_EQ(ports.size(), 4u);
  std::set<std::uint16_t> distinct(ports.begin(), ports.end());
  EXPECT_EQ(distinct.size(), 4u);
  for (auto p : ports) {
    EXPECT_GE(p, 3000);
    EXPECT_LE(p, 3003);
  }
  EXPECT_EQ(ports[1], 3000 + (ports[0] - 3000 + 2) % 4);
}

TEST(NatTablePorts, RandomSpreadsOverThePool) {
  auto t = make_table(axes(Dependency::kAddressAndPortDependent,
                           Dependency::kAddressAndPortDependent, PortAllocation::kRandom));
  auto ports = open_flows(t, 200);
  ASSERT_EQ(ports.size(), 200u);
  std::set<std::uint16_t> distinct(ports.begin(), ports.end());
  EXPECT_EQ(distinct.size(), 200u);
  int small_steps = 0;
  for (std::size_t i = 1; i < ports.size(); ++i) {
    if (std::abs(int{ports[i]} - int{ports[i - 1]}) <= 8) ++small_steps;
  }
  EXPECT_LT(small_steps, 5);  // not predictable from the previous port
  // Spread: the 200 ports cover most of the pool and land in every eighth of it.
  EXPECT_GT(*distinct.rbegin() - *distinct.begin(), 50000);
  std::set<int> eighths;
  for (auto p : ports) eighths.insert((p - kDefaultPortMin) * 8 / (65536 - kDefaultPortMin));
  EXPECT_EQ(eighths.size(), 8u);
}

TEST(NatTablePorts, ExhaustedPoolDropsNewFlowsUntilAMappingExpires) {
  for (auto allocation :
       {PortAllocation::kPreserving, PortAllocation::kSequential, PortAllocation::kRandom}) {
    NatBehaviour b = axes(Dependency::kAddressAndPortDependent,
                          Dependency::kAddressAndPortDependent, allocation);
    b.port_min = 5000;
    b.port_max = 5003;
    auto t = make_table(b);
    auto ports = open_flows(t, 4);
    ASSERT_EQ(ports.size(), 4u);
    EXPECT_EQ(std::set<std::uint16_t>(ports.begin(), ports.end()).size(), 4u);
    EXPECT_FALSE(t.translate_outbound(Instant{}, ep(kHostB, 1), ep(kRemote2, 1)));
    EXPECT_EQ(t.counters().drops_pool_exhausted, 1u);
    // Existing flows still work.
    EXPECT_TRUE(t.translate_outbound(Instant{}, ep(kHostA, 5000), ep(kRemote1, 10000)));
    // After the timeout the ports come back.
    EXPECT_TRUE(t.translate_outbound(at(seconds(121)), ep(kHostB, 1), ep(kRemote2, 1)));
    EXPECT_EQ(t.counters().mappings_expired, 4u);
  }
}

TEST(NatTablePorts, PortBlocksConfineAHostAndEnforceItsQuota) {
  NatBehaviour b = axes(Dependency::kAddressAndPortDependent, Dependency::kAddressAndPortDependent,
                        PortAllocation::kRandom);
  b.port_min = 6000;
  b.port_max = 6015;  // 4 blocks of 4
  b.port_block_size = 4;
  b.max_blocks_per_host = 2;
  auto t = make_table(b);
  auto ports = open_flows(t, 8);
  ASSERT_EQ(ports.size(), 8u);
  std::set<int> blocks_a;
  for (auto p : ports) blocks_a.insert((p - 6000) / 4);
  EXPECT_EQ(blocks_a.size(), 2u);
  std::set<int> first_four;
  for (int i = 0; i < 4; ++i) first_four.insert((ports[i] - 6000) / 4);
  EXPECT_EQ(first_four.size(), 1u);  // one block is filled before the next is taken

  // Ninth flow: over the host's quota, while another host still gets a block of its own.
  EXPECT_FALSE(t.translate_outbound(Instant{}, ep(kHostA, 5000), ep(kRemote2, 1)));
  EXPECT_EQ(t.counters().drops_host_quota, 1u);
  auto other = t.translate_outbound(Instant{}, ep(kHostB, 5000), ep(kRemote2, 1));
  ASSERT_TRUE(other);
  EXPECT_EQ(blocks_a.count((other->port - 6000) / 4), 0u);
  // Host C takes the last block; host D finds none.
  EXPECT_TRUE(t.translate_outbound(Instant{}, ep(kHostC, 5000), ep(kRemote2, 1)));
  EXPECT_FALSE(t.translate_outbound(Instant{}, ep(0xC000020D, 5000), ep(kRemote2, 1)));
  EXPECT_EQ(t.counters().drops_pool_exhausted, 1u);
  // Everything expires; the blocks return to the pool.
  EXPECT_TRUE(t.translate_outbound(at(seconds(200)), ep(0xC000020D, 5000), ep(kRemote2, 1)));
  EXPECT_EQ(t.mapping_count(), 1u);
}

// ---- Refresh and expiry (RFC 4787 section 4.3) -----------------------------------------------

TEST(NatTableTimeout, MappingExpiresAtTheTimeoutAfterTheLastOutboundPacket) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent));
  auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
  ASSERT_TRUE(ext);
  EXPECT_EQ(t.next_expiry(), at(seconds(120)));
  EXPECT_TRUE(t.translate_inbound(at(milliseconds(119999)), *ext, ep(kRemote1, 1)).forwarded());
  EXPECT_EQ(t.translate_inbound(at(seconds(120)), *ext, ep(kRemote1, 1)).reason,
            DropReason::kNoMapping);
  EXPECT_EQ(t.counters().mappings_expired, 1u);
  EXPECT_EQ(t.mapping_count(), 0u);
  EXPECT_EQ(t.next_expiry(), kNever);
}

TEST(NatTableTimeout, OutboundRefreshes) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent));
  auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
  auto again = t.translate_outbound(at(seconds(100)), ep(kHostA, 4000), ep(kRemote1, 1));
  ASSERT_TRUE(ext && again);
  EXPECT_EQ(*ext, *again);
  EXPECT_EQ(t.next_expiry(), at(seconds(220)));
  EXPECT_TRUE(t.translate_inbound(at(seconds(219)), *ext, ep(kRemote1, 1)).forwarded());
  EXPECT_FALSE(t.translate_inbound(at(seconds(220)), *ext, ep(kRemote1, 1)).forwarded());
}

TEST(NatTableTimeout, InboundRefreshesOnlyWhenEnabled) {
  for (bool inbound_refreshes : {false, true}) {
    NatBehaviour b = axes(Dependency::kEndpointIndependent, Dependency::kAddressDependent);
    b.inbound_refreshes = inbound_refreshes;
    auto t = make_table(b);
    auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
    ASSERT_TRUE(ext);
    EXPECT_TRUE(t.translate_inbound(at(seconds(100)), *ext, ep(kRemote1, 2)).forwarded());
    EXPECT_EQ(t.translate_inbound(at(seconds(200)), *ext, ep(kRemote1, 2)).forwarded(),
              inbound_refreshes);
    EXPECT_EQ(t.mapping_count(), inbound_refreshes ? 1u : 0u);
  }
}

TEST(NatTableTimeout, ConfigurableTimeoutAndPortReuseAfterExpiry) {
  NatBehaviour b = axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent);
  b.mapping_timeout = seconds(30);
  auto t = make_table(b);
  auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
  ASSERT_TRUE(ext);
  EXPECT_FALSE(t.translate_inbound(at(seconds(30)), *ext, ep(kRemote1, 1)).forwarded());
  auto ext2 = t.translate_outbound(at(seconds(31)), ep(kHostA, 4000), ep(kRemote1, 1));
  ASSERT_TRUE(ext2);
  EXPECT_EQ(*ext, *ext2);  // preserved port is free again
  EXPECT_EQ(t.counters().mappings_created, 2u);
}

TEST(NatTableTimeout, ExpireAndNextExpiryLetARuntimeScheduleCleanup) {
  auto t =
      make_table(axes(Dependency::kAddressAndPortDependent, Dependency::kAddressAndPortDependent));
  EXPECT_EQ(t.next_expiry(), kNever);
  t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
  t.translate_outbound(at(seconds(10)), ep(kHostA, 4000), ep(kRemote1, 2));
  EXPECT_EQ(t.next_expiry(), at(seconds(120)));
  EXPECT_EQ(t.expire(at(seconds(119))), 0u);  // early call is harmless
  EXPECT_EQ(t.expire(t.next_expiry()), 1u);
  EXPECT_EQ(t.next_expiry(), at(seconds(130)));
  EXPECT_EQ(t.expire(at(seconds(500))), 1u);
  EXPECT_EQ(t.next_expiry(), kNever);
  EXPECT_EQ(t.counters().mappings_expired, 2u);
}

TEST(NatTableTimeout, EachFilterPermissionHasItsOwnTimer) {
  // The mapping is kept alive by traffic to remote 2; the pinhole for remote 1 is not.
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kAddressAndPortDependent));
  auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
  t.translate_outbound(at(seconds(100)), ep(kHostA, 4000), ep(kRemote2, 1));
  ASSERT_TRUE(ext);
  EXPECT_EQ(t.translate_inbound(at(seconds(150)), *ext, ep(kRemote1, 1)).reason,
            DropReason::kFiltered);
  EXPECT_TRUE(t.translate_inbound(at(seconds(150)), *ext, ep(kRemote2, 1)).forwarded());
  EXPECT_EQ(t.lookup_outbound(at(seconds(150)), ep(kHostA, 4000), ep(kRemote1, 1)), ext);
}

// ---- Hairpinning (RFC 4787 section 6) --------------------------------------------------------

TEST(NatTableHairpin, OffDropsPacketsToTheNatsOwnEndpoint) {
  auto t = make_table(axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent));
  auto ext_b = t.translate_outbound(Instant{}, ep(kHostB, 4000), ep(kRemote1, 1));
  ASSERT_TRUE(ext_b);
  EXPECT_TRUE(t.is_public(ext_b->address));
  auto v = t.translate_hairpin(Instant{}, ep(kHostA, 4000), *ext_b);
  EXPECT_EQ(v.action, Action::kDrop);
  EXPECT_EQ(v.reason, DropReason::kHairpinDisabled);
  EXPECT_EQ(t.counters().drops_hairpin_disabled, 1u);
  EXPECT_EQ(t.counters().hairpinned, 0u);
}

TEST(NatTableHairpin, OnDeliversFromTheSendersExternalEndpoint) {
  NatBehaviour b = axes(Dependency::kEndpointIndependent, Dependency::kEndpointIndependent);
  b.hairpinning = true;
  auto t = make_table(b);
  auto ext_b = t.translate_outbound(Instant{}, ep(kHostB, 4000), ep(kRemote1, 1));
  ASSERT_TRUE(ext_b);
  auto v = t.translate_hairpin(Instant{}, ep(kHostA, 5000), *ext_b);
  ASSERT_EQ(v.action, Action::kForward);
  EXPECT_EQ(v.inner, ep(kHostB, 4000));
  auto ext_a = t.lookup_outbound(Instant{}, ep(kHostA, 5000), *ext_b);
  ASSERT_TRUE(ext_a);
  EXPECT_EQ(v.source, *ext_a);
  EXPECT_TRUE(t.is_public(v.source.address));
  EXPECT_EQ(t.counters().hairpinned, 1u);
}

TEST(NatTableHairpin, OnStillAppliesTheReceiversFilter) {
  NatBehaviour b = axes(Dependency::kEndpointIndependent, Dependency::kAddressAndPortDependent);
  b.hairpinning = true;
  auto t = make_table(b);
  auto ext_a = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
  auto ext_b = t.translate_outbound(Instant{}, ep(kHostB, 4000), ep(kRemote1, 1));
  ASSERT_TRUE(ext_a && ext_b);
  // A -> B first: B has not sent to A's external endpoint, so B's filter refuses...
  EXPECT_EQ(t.translate_hairpin(Instant{}, ep(kHostA, 4000), *ext_b).reason, DropReason::kFiltered);
  // ...but A's packet opened A's pinhole toward B, so B -> A gets through, and then A -> B.
  EXPECT_TRUE(t.translate_hairpin(Instant{}, ep(kHostB, 4000), *ext_a).forwarded());
  auto v = t.translate_hairpin(Instant{}, ep(kHostA, 4000), *ext_b);
  EXPECT_TRUE(v.forwarded());
  EXPECT_EQ(v.source, *ext_a);
}

// ---- Hostile gateway ---------------------------------------------------------------------------

TEST(NatTableHostile, UnsolicitedPacketsAreRejectedInsteadOfDropped) {
  for (bool hostile : {false, true}) {
    NatBehaviour b = axes(Dependency::kEndpointIndependent, Dependency::kAddressAndPortDependent);
    b.icmp_on_unsolicited = hostile;
    auto t = make_table(b);
    const Action refused = hostile ? Action::kReject : Action::kDrop;
    auto none = t.translate_inbound(Instant{}, ep(kPublicIp, 7000), ep(kRemote1, 1));
    EXPECT_EQ(none.action, refused);
    EXPECT_EQ(none.reason, DropReason::kNoMapping);
    auto ext = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
    ASSERT_TRUE(ext);
    auto filtered = t.translate_inbound(Instant{}, *ext, ep(kRemote2, 1));
    EXPECT_EQ(filtered.action, refused);
    EXPECT_EQ(filtered.reason, DropReason::kFiltered);
    EXPECT_TRUE(t.translate_inbound(Instant{}, *ext, ep(kRemote1, 1)).forwarded());
    EXPECT_EQ(t.counters().rejects, hostile ? 2u : 0u);
    EXPECT_EQ(t.counters().drops_no_mapping, 1u);
    EXPECT_EQ(t.counters().drops_filtered, 1u);
  }
}

// ---- Presets in a table, determinism, configuration, scale -----------------------------------

TEST(NatTablePresets, OpenTranslatesNothing) {
  NatTable t(*preset("open"), std::vector<IpAddress>{}, Random::from_u64(1));
  auto ext = t.translate_outbound(Instant{}, ep(kPublicIp, 4000), ep(kRemote1, 1));
  ASSERT_TRUE(ext);
  EXPECT_EQ(*ext, ep(kPublicIp, 4000));
  auto v = t.translate_inbound(Instant{}, ep(kPublicIp, 4000), ep(kRemote2, 9));
  EXPECT_TRUE(v.forwarded());
  EXPECT_EQ(v.inner, ep(kPublicIp, 4000));
  EXPECT_EQ(t.mapping_count(), 0u);
}

TEST(NatTablePresets, ConePresetsDifferOnlyInFiltering) {
  struct Case {
    const char* name;
    bool other_port;
    bool other_address;
  };
  for (const Case& c : {Case{"full-cone", true, true}, Case{"restricted-cone", true, false},
                        Case{"port-restricted-cone", false, false}}) {
    auto t = make_table(*preset(c.name));
    auto e1 = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
    auto e2 = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote2, 2));
    ASSERT_TRUE(e1 && e2);
    EXPECT_EQ(*e1, *e2) << c.name;
    EXPECT_EQ(e1->port, 4000) << c.name;
    EXPECT_TRUE(t.translate_inbound(Instant{}, *e1, ep(kRemote1, 1)).forwarded()) << c.name;
    EXPECT_EQ(t.translate_inbound(Instant{}, *e1, ep(kRemote1, 9)).forwarded(), c.other_port)
        << c.name;
    EXPECT_EQ(t.translate_inbound(Instant{}, *e1, ep(0xC6336403, 1)).forwarded(), c.other_address)
        << c.name;
  }
}

TEST(NatTablePresets, SymmetricPresetsChangePortPerDestination) {
  auto random = make_table(*preset("symmetric"));
  auto sequential = make_table(*preset("symmetric-sequential"));
  auto r = open_flows(random, 10);
  auto s = open_flows(sequential, 10);
  ASSERT_EQ(r.size(), 10u);
  ASSERT_EQ(s.size(), 10u);
  EXPECT_EQ(std::set<std::uint16_t>(r.begin(), r.end()).size(), 10u);
  for (std::size_t i = 1; i < s.size(); ++i) {
    EXPECT_EQ(s[i], s[i - 1] == kDefaultPortMax ? kDefaultPortMin : s[i - 1] + 1);
  }
}

TEST(NatTablePresets, CgnatCarrierKeepsOneRandomPortInsideASubscriberBlock) {
  auto chain = chain_preset("cgnat");
  ASSERT_TRUE(chain);
  auto t = make_table(chain->carrier);
  auto e1 = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote1, 1));
  auto e2 = t.translate_outbound(Instant{}, ep(kHostA, 4000), ep(kRemote2, 2));
  auto e3 = t.translate_outbound(Instant{}, ep(kHostA, 4001), ep(kRemote2, 2));
  ASSERT_TRUE(e1 && e2 && e3);
  EXPECT_EQ(*e1, *e2);  // endpoint-independent mapping
  const int block = chain->carrier.port_block_size;
  EXPECT_EQ((e1->port - kDefaultPortMin) / block, (e3->port - kDefaultPortMin) / block);
  EXPECT_FALSE(t.translate_inbound(Instant{}, *e1, ep(kRemote1, 9)).forwarded());
}

TEST(NatTableDeterminism, SameSeedSamePortsDifferentSeedDifferentPorts) {
  for (auto name : {"symmetric", "symmetric-sequential"}) {
    auto a = make_table(*preset(name), 42);
    auto b = make_table(*preset(name), 42);
    auto c = make_table(*preset(name), 43);
    auto pa = open_flows(a, 50);
    auto pb = open_flows(b, 50);
    auto pc = open_flows(c, 50);
    EXPECT_EQ(pa, pb) << name;
    EXPECT_NE(pa, pc) << name;
  }
}

TEST(NatTableConfig, InvalidBehaviourIsRefused) {
  NatBehaviour b;
  b.port_min = 3000;
  b.port_max = 2000;
  EXPECT_THROW(make_table(b), std::invalid_argument);
  NatBehaviour ok;
  EXPECT_THROW(NatTable(ok, std::vector<IpAddress>{}, Random::from_u64(1)), std::invalid_argument);
}

TEST(NatTableScale, ThousandsOfMappingsStayConsistent) {
  auto t = make_table(*preset("symmetric"));
  constexpr int kFlows = 5000;
  std::set<std::uint16_t> ports;
  for (int i = 0; i < kFlows; ++i) {
    auto inner =
        ep(kHostA + static_cast<std::uint32_t>(i % 50), static_cast<std::uint16_t>(4000 + i));
    auto remote = ep(kRemote1, static_cast<std::uint16_t>(1000 + i % 7));
    auto ext = t.translate_outbound(at(milliseconds(i)), inner, remote);
    ASSERT_TRUE(ext);
    ports.insert(ext->port);
    ASSERT_EQ(t.translate_inbound(at(milliseconds(i)), *ext, remote).inner, inner);
  }
  EXPECT_EQ(ports.size(), static_cast<std::size_t>(kFlows));
  EXPECT_EQ(t.mapping_count(), static_cast<std::size_t>(kFlows));
  EXPECT_EQ(t.expire(at(seconds(120) + milliseconds(kFlows / 2))), kFlows / 2 + 1u);
  EXPECT_EQ(t.expire(at(seconds(1000))), kFlows / 2 - 1u);
  EXPECT_EQ(t.mapping_count(), 0u);
}

}  // namespace
}  // namespace qp2p::nat
