// A NAT for ns-3 built on qp2p::nat::NatTable (nat-models/nat_table.h), the same plain table the
// unit tests drive (DESIGN.md, "NAT models as plain tables").
//
// NatGateway is the node's Ipv4RoutingProtocol. It wraps an Ipv4StaticRouting (GetStaticRouting)
// that does every real route lookup, and sees every packet the node receives in RouteInput:
//
//   UDP in on an inside interface, routed out of the outside interface
//        -> translate_outbound: source address and port rewritten, forwarded (TTL decremented
//           by Ipv4L3Protocol); a datagram arriving with TTL 1 takes no mapping and is dropped
//           with an ICMP time exceeded, as Linux drops it in forwarding before source NAT
//   UDP in on an inside interface, to one of the NAT's public addresses
//        -> translate_hairpin: rewritten to the inner target, from the sender's mapping
//   UDP in on the outside interface, to a public address
//        -> translate_inbound: forwarded to the inner host; dropped; or rejected (the
//           IcmpOnUnsolicited hostile case): dropped and answered with an ICMP port unreachable
//   anything else translating would need (non-UDP, IP fragments) -> dropped and counted
//   UDP in on an inside interface, to that interface's own address, port 5351 (NatPmp on)
//        -> answered by the gateway's NAT-PMP responder (below), not delivered further
//   traffic the NAT does not translate (to/from the node itself on inside interfaces, between
//   inside interfaces, multicast, the "open" preset) -> passed to the static routing unchanged
//
// The behaviour comes from the Preset attribute (nat::preset names) with every RFC 4787 axis
// attribute that is not "preset" (or 0) applied on top, or from SetBehaviour(). It is read when
// the first packet passes (attributes set later are ignored). The public addresses are the
// outside interface's addresses. Mappings expire lazily on each packet and by one scheduled
// event at the table's next_expiry().
//
// NAT-PMP (RFC 6886, stack/discovery/nat_pmp.h): with the NatPmp attribute (default on, as on
// most home routers, which ship NAT-PMP or its successor PCP enabled) the gateway answers the
// external address request (opcode 0) sent to its inside address, port 5351, with its outside
// interface's first address and the seconds since the gateway was created ("epoch"); other
// request opcodes (1 and 2 map ports, which this model does not do) get result code 5
// "unsupported opcode", a version other than 0 gets result code 1, responses (opcode >= 128) are
// ignored, and nothing is answered from outside (section 3.1). A carrier NAT of the cgnat chain
// answers on its own inside too, but a home host only asks its default gateway (the home NAT),
// whose external address is on the carrier's inside: the peer sees it differ from the mapped
// address and counts two NAT levels. NatPmp off: requests are delivered to the node like any
// other packet to it (no socket: ignored), as by a router that does not speak NAT-PMP.
//
// Files: nat-gateway.cc (the forwarding path, expiry), nat-gateway-attributes.cc (TypeId and
// the behaviour the attributes select), nat-gateway-icmp.cc (TTL expiry and ICMP rejects),
// nat-gateway-nat-pmp.cc (the NAT-PMP responder).
//
// UDP checksums: ns-3 computes none unless ChecksumEnabled is set; when it is, the gateway
// recomputes the UDP checksum of every packet it rewrites (the IPv4 one is rebuilt when the
// packet is forwarded).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "nat-models/nat_behaviour.h"
#include "nat-models/nat_table.h"
#include "ns3/event-id.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-routing-protocol.h"
#include "ns3/ipv4-static-routing.h"
#include "ns3/nstime.h"
#include "ns3/traced-callback.h"
#include "ns3/traced-value.h"

namespace ns3 {

// Drops and work of the gateway itself; the table's own counters are in GetTableCounters().
struct NatGatewayCounters {
  uint64_t droppedNonUdp = 0;    // non-UDP traffic that would need translating
  uint64_t droppedFragment = 0;  // IPv4 fragments (the gateway does not reassemble)
  uint64_t droppedNoRoute = 0;   // a translated packet with no route onwards
  uint64_t droppedToInside = 0;  // from outside, addressed to an inside address
  uint64_t droppedTable = 0;     // every drop or reject the table decided
  uint64_t icmpSent = 0;         // ICMP port unreachable sent for a kReject verdict
  uint64_t passedThrough = 0;    // handed to the static routing untranslated
  uint64_t natPmpAnswered = 0;   // NAT-PMP requests answered (any result code)
};

class NatGateway : public Ipv4RoutingProtocol {
 public:
  static TypeId GetTypeId();
  NatGateway();
  ~NatGateway() override;

  // Tri-state for the boolean axes: as the preset says, or forced.
  enum Override { FROM_PRESET = 0, ON = 1, OFF = 2 };
  // Mapping/filtering dependency, with "preset" meaning "as the preset says".
  enum DependencyOverride {
    DEPENDENCY_FROM_PRESET = 0,
    ENDPOINT_INDEPENDENT = 1,
    ADDRESS_DEPENDENT = 2,
    ADDRESS_AND_PORT_DEPENDENT = 3,
  };
  enum AllocationOverride {
    ALLOCATION_FROM_PRESET = 0,
    PRESERVING = 1,
    SEQUENTIAL = 2,
    RANDOM = 3
  };

  // Trace signatures. Addresses are InetSocketAddress (IP and UDP port).
  typedef void (*TranslationTracedCallback)(const std::string& kind, const Address& oldSource,
                                            const Address& oldDestination, const Address& newSource,
                                            const Address& newDestination);
  typedef void (*DropTracedCallback)(const std::string& reason, const Address& source,
                                     const Address& destination);

  // Uses exactly this behaviour (bypassing Preset and the axis attributes), e.g. one half of a
  // nat::chain_preset. Must be called before the first packet.
  void SetBehaviour(const qp2p::nat::NatBehaviour& behaviour);
  // The behaviour in force (computed from the attributes if no packet passed yet).
  qp2p::nat::NatBehaviour GetBehaviour() const;
  // The interface facing the Internet; every other non-loopback interface is inside.
  void SetOutsideInterface(uint32_t interface) { m_outside = interface; }
  uint32_t GetOutsideInterface() const { return m_outside; }

  // Where a host asks for NAT-PMP (the client side of the responder above): the next hop of
  // the host's default route, port 5351, as an OS finds its gateway; nullopt when the host has
  // no static default route (or no IPv4).
  static std::optional<InetSocketAddress> GetNatPmpServer(Ptr<Node> host);

  Ptr<Ipv4StaticRouting> GetStaticRouting() const { return m_static; }
  const NatGatewayCounters& GetCounters() const { return m_counters; }
  qp2p::nat::NatCounters GetTableCounters() const;
  // Live mappings (after expiring what the current time has passed).
  uint32_t GetMappingCount();

  // Ipv4RoutingProtocol
  Ptr<Ipv4Route> RouteOutput(Ptr<Packet> p, const Ipv4Header& header, Ptr<NetDevice> oif,
                             Socket::SocketErrno& sockerr) override;
  bool RouteInput(Ptr<const Packet> p, const Ipv4Header& header, Ptr<const NetDevice> idev,
                  UnicastForwardCallback ucb, MulticastForwardCallback mcb,
                  LocalDeliverCallback lcb, ErrorCallback ecb) override;
  void NotifyInterfaceUp(uint32_t interface) override;
  void NotifyInterfaceDown(uint32_t interface) override;
  void NotifyAddAddress(uint32_t interface, Ipv4InterfaceAddress address) override;
  void NotifyRemoveAddress(uint32_t interface, Ipv4InterfaceAddress address) override;
  void SetIpv4(Ptr<Ipv4> ipv4) override;
  void PrintRoutingTable(Ptr<OutputStreamWrapper> stream, Time::Unit unit = Time::S) const override;

 protected:
  void DoDispose() override;

 private:
  static constexpr uint8_t kUdpProtocol = 17;
  // Not a whole datagram: the gateway does not reassemble.
  static bool IsFragment(const Ipv4Header& header);
  // Its TTL runs out at this gateway: it takes no mapping (nat-gateway-icmp.cc).
  static bool ExpiresHere(const Ipv4Header& header);

  qp2p::nat::NatTable& Table();
  qp2p::Instant Now() const;
  bool IsLocalAddress(Ipv4Address address) const;
  Ptr<Ipv4Route> Lookup(const Ipv4Header& header);
  // Rewrites the packet's UDP ports and the header's addresses, then forwards.
  void Forward(Ptr<const Packet> p, const Ipv4Header& header, const qp2p::Endpoint& newSource,
               const qp2p::Endpoint& newDestination, const std::string& kind,
               UnicastForwardCallback ucb);
  // Drops a refused datagram; answers it with ICMP port unreachable on a kReject verdict.
  void Refuse(Ptr<const Packet> p, const Ipv4Header& header, const qp2p::nat::InboundVerdict& v,
              const qp2p::Endpoint& source, const qp2p::Endpoint& destination);
  void Drop(const std::string& reason, const qp2p::Endpoint& source,
            const qp2p::Endpoint& destination);
  // Answers a NAT-PMP request that arrived on inside interface `iif`; false if the datagram is
  // none (then it takes the ordinary path).
  bool AnswerNatPmp(Ptr<const Packet> p, const Ipv4Header& header, uint32_t iif);
  void ScheduleExpiry();
  void HandleExpiry();
  void UpdateMappingCount();

  // Attributes
  std::string m_preset;
  DependencyOverride m_mapping = DEPENDENCY_FROM_PRESET;
  DependencyOverride m_filtering = DEPENDENCY_FROM_PRESET;
  AllocationOverride m_allocation = ALLOCATION_FROM_PRESET;
  uint16_t m_sequentialDelta = 0;
  uint16_t m_portMin = 0;
  uint16_t m_portMax = 0;
  uint16_t m_portBlockSize = 0;
  uint16_t m_maxBlocksPerHost = 0;
  Time m_mappingTimeout;
  Override m_inboundRefresh = FROM_PRESET;
  Override m_hairpinning = FROM_PRESET;
  Override m_icmpOnUnsolicited = FROM_PRESET;
  uint64_t m_seed = 0;
  bool m_natPmp = true;
  Time m_epochStart;  // NAT-PMP "seconds since start of epoch" count from here

  std::unique_ptr<qp2p::nat::NatBehaviour> m_explicit;  // SetBehaviour
  std::unique_ptr<qp2p::nat::NatTable> m_table;
  Ptr<Ipv4> m_ipv4;
  Ptr<Ipv4StaticRouting> m_static;
  uint32_t m_outside = 1;
  EventId m_expiryEvent;
  qp2p::Instant m_expiryAt;
  NatGatewayCounters m_counters;

  TracedValue<uint32_t> m_mappings;
  TracedCallback<const std::string&, const Address&, const Address&, const Address&, const Address&>
      m_translateTrace;
  TracedCallback<const std::string&, const Address&, const Address&> m_dropTrace;
  TracedCallback<const std::string&, const Address&, const Address&> m_rejectTrace;
};

}  // namespace ns3
