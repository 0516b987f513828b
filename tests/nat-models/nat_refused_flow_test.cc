// NatTable's hostile gateway (icmp_on_unsolicited) with Linux conntrack's side effect: a refused
// unsolicited datagram remote -> external leaves a flow (kRefusedFlowTimeout) whose tuple a later
// outbound flow of an inner host to that same remote may not reuse (netfilter keeps reply tuples
// unique), per preset: masquerade-like preserving NATs move the flow to another port, pinned
// ports (cgnat's carrier) drop it, sequential NATs spend the counter value. RFC 4787 sections
// 4.1 and 5 for the mapping and filtering this changes. Virtual time only; addresses from the
// documentation ranges (inner hosts 192.0.2.0/24, NAT 203.0.113.0/24, remotes 198.51.100.0/24).
#include <gtest/gtest.h>

#include <chrono>

#include "nat-models/nat_table.h"

namespace qp2p::nat {
namespace {

using Action = InboundVerdict::Action;

constexpr std::uint32_t kPublicIp = 0xCB007101;  // 203.0.113.1
constexpr std::uint32_t kHostA = 0xC000020A;     // 192.0.2.10
constexpr std::uint32_t kServer = 0xC6336401;    // 198.51.100.1 (the supernode)
constexpr std::uint32_t kPeer = 0xC6336402;      // 198.51.100.2 (the other peer's NAT)

Endpoint ep(std::uint32_t ip, std::uint16_t port) { return Endpoint{IpAddress::v4(ip), port}; }

NatTable table(NatBehaviour b, bool hostile, std::uint64_t seed = 7) {
  b.icmp_on_unsolicited = hostile;
  return NatTable(b, IpAddress::v4(kPublicIp), Random::from_u64(seed));
}

const Endpoint kInner = ep(kHostA, 40000);
const Endpoint kRemote = ep(kPeer, 40000);
const Instant kT0{};

// The trap of the emulated matrix: A talks to the supernode, B's check reaches A's gateway
// before A sent to B, then A sends to B.
TEST(NatRefusedFlow, PortRestrictedConeMovesTheFlowToTheRefusingRemoteOffItsPort) {
  for (bool hostile : {false, true}) {
    SCOPED_TRACE(hostile ? "hostile" : "silent");
    auto t = table(*preset("port-restricted-cone"), hostile);
    const auto mapped = t.translate_outbound(kT0, kInner, ep(kServer, 3478));
    ASSERT_TRUE(mapped);
    EXPECT_EQ(mapped->port, 40000);  // preserving
    const auto check = t.translate_inbound(kT0, *mapped, kRemote);
    EXPECT_EQ(check.action, hostile ? Action::kReject : Action::kDrop);
    const auto to_peer = t.translate_outbound(kT0 + std::chrono::milliseconds(5), kInner, kRemote);
    ASSERT_TRUE(to_peer);
    if (!hostile) {
      EXPECT_EQ(*to_peer, *mapped);  // endpoint-independent: one port for every remote
      EXPECT_EQ(t.counters().refused_flows, 0u);
      continue;
    }
    EXPECT_NE(to_peer->port, mapped->port);
    EXPECT_EQ(to_peer->address, mapped->address);
    EXPECT_EQ(t.counters().refused_flows, 1u);
    EXPECT_EQ(t.counters().displaced_flows, 1u);
    // The displaced flow is a flow of its own: it stays, admits its remote, and the mapping's
    // port keeps refusing that remote while serving every other one.
    const Instant later = kT0 + std::chrono::seconds(1);
    EXPECT_EQ(t.translate_outbound(later, kInner, kRemote), to_peer);
    EXPECT_EQ(t.lookup_outbound(later, kInner, kRemote), to_peer);
    const auto reply = t.translate_inbound(later, *to_peer, kRemote);
    ASSERT_TRUE(reply.forwarded());
    EXPECT_EQ(reply.inner, kInner);
    EXPECT_EQ(t.translate_inbound(later, *mapped, kRemote).action, Action::kReject);
    EXPECT_EQ(t.translate_outbound(later, kInner, ep(kServer, 3478)), mapped);
    EXPECT_EQ(t.translate_outbound(later, kInner, ep(kPeer, 40001)), mapped);  // exact tuple
  }
}

TEST(NatRefusedFlow, TheRefusedFlowExpiresAfterTheConntrackTimeout) {
  auto t = table(*preset("restricted-cone"), true);
  const auto mapped = t.translate_outbound(kT0, kInner, ep(kServer, 3478));
  ASSERT_TRUE(mapped);
  EXPECT_EQ(t.translate_inbound(kT0, *mapped, kRemote).action, Action::kReject);
  // No outbound to the remote until the refused flow is gone: the mapping's port again.
  EXPECT_FALSE(t.lookup_outbound(kT0 + kRefusedFlowTimeout - std::chrono::milliseconds(1),
                                 kInner, kRemote));
  EXPECT_EQ(t.lookup_outbound(kT0 + kRefusedFlowTimeout, kInner, kRemote), mapped);
  // A further refused datagram renews it (the remote's continued checks keep it alive).
  const Instant renewed = kT0 + kRefusedFlowTimeout + std::chrono::seconds(1);
  EXPECT_EQ(t.translate_inbound(renewed, *mapped, kRemote).action, Action::kReject);
  const auto moved = t.translate_outbound(renewed + std::chrono::seconds(29), kInner, kRemote);
  ASSERT_TRUE(moved);
  EXPECT_NE(moved->port, mapped->port);
}

TEST(NatRefusedFlow, AnUnmappedPortRefusedToARemoteIsNotPreservedForIt) {
  // Full cone: B's datagram to a port nothing maps yet is refused; A's first flow to B cannot
  // preserve that port, its flow to another remote can.
  auto t = table(*preset("full-cone"), true);
  EXPECT_EQ(t.translate_inbound(kT0, ep(kPublicIp, 40000), kRemote).reason,
            DropReason::kNoMapping);
  const auto to_peer = t.translate_outbound(kT0, kInner, kRemote);
  ASSERT_TRUE(to_peer);
  EXPECT_NE(to_peer->port, 40000);
  auto other = table(*preset("full-cone"), true);
  EXPECT_EQ(other.translate_inbound(kT0, ep(kPublicIp, 40000), kRemote).reason,
            DropReason::kNoMapping);
  EXPECT_EQ(other.translate_outbound(kT0, kInner, ep(kServer, 3478))->port, 40000);
}

TEST(NatRefusedFlow, SequentialSpendsTheClashingPortAndDropsTheDatagram) {
  // Symmetric-sequential: the remote probes the port the counter will hand out next.
  auto t = table(*preset("symmetric-sequential"), true);
  const auto first = t.translate_outbound(kT0, kInner, ep(kServer, 3478));
  ASSERT_TRUE(first);
  const Endpoint predicted{first->address, static_cast<std::uint16_t>(first->port + 1)};
  EXPECT_EQ(t.translate_inbound(kT0, predicted, kRemote).action, Action::kReject);
  EXPECT_FALSE(t.translate_outbound(kT0, kInner, kRemote));
  EXPECT_EQ(t.counters().drops_tuple_clash, 1u);
  const auto retry = t.translate_outbound(kT0, kInner, kRemote);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->port, first->port + 2);
}

TEST(NatRefusedFlow, APinnedPortDropsTheFlowToTheRefusingRemote) {
  // The carrier of cgnat: endpoint-independent with random ports keeps an explicit
  // inner -> port map, so the flow cannot move and its datagrams clash while the refused flow
  // lives; other remotes are unaffected.
  auto t = table(chain_preset("cgnat")->carrier, true);
  const auto mapped = t.translate_outbound(kT0, kInner, ep(kServer, 3478));
  ASSERT_TRUE(mapped);
  EXPECT_EQ(t.translate_inbound(kT0, *mapped, kRemote).action, Action::kReject);
  EXPECT_FALSE(t.translate_outbound(kT0, kInner, kRemote));
  EXPECT_EQ(t.counters().drops_tuple_clash, 1u);
  EXPECT_EQ(t.translate_outbound(kT0, kInner, ep(kServer, 3479)), mapped);
  EXPECT_EQ(t.translate_outbound(kT0 + kRefusedFlowTimeout, kInner, kRemote), mapped);
}

}  // namespace
}  // namespace qp2p::nat
