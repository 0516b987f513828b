#include "sim/model/nat-gateway.h"

#include <algorithm>
#include <ostream>

#include "ns3/boolean.h"
#include "ns3/enum.h"
#include "ns3/fatal-error.h"
#include "ns3/icmpv4-l4-protocol.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-route.h"
#include "ns3/ipv4-routing-table-entry.h"
#include "ns3/ipv4-static-routing-helper.h"
#include "ns3/ipv4.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/output-stream-wrapper.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/udp-header.h"
#include "ns3/uinteger.h"
#include "sim/model/qp2p-sim-utils.h"
#include "stack/discovery/nat_pmp.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("NatGateway");
NS_OBJECT_ENSURE_REGISTERED(NatGateway);

namespace {

constexpr uint8_t kUdpProtocol = 17;

Address ToAddress(const qp2p::Endpoint& e) { return ToInetSocketAddress(e); }

bool IsFragment(const Ipv4Header& header) {
  return !header.IsLastFragment() || header.GetFragmentOffset() != 0;
}

}  // namespace

TypeId NatGateway::GetTypeId() {
  static TypeId tid =
      TypeId("ns3::NatGateway")
          .SetParent<Ipv4RoutingProtocol>()
          .SetGroupName("Qp2p")
          .AddConstructor<NatGateway>()
          .AddAttribute("Preset",
                        "NAT preset: open, full-cone, restricted-cone, port-restricted-cone, "
                        "symmetric, symmetric-sequential. The axis attributes override it.",
                        StringValue("port-restricted-cone"),
                        MakeStringAccessor(&NatGateway::m_preset), MakeStringChecker())
          .AddAttribute(
              "Mapping", "RFC 4787 section 4.1 mapping behaviour.",
              EnumValue(DEPENDENCY_FROM_PRESET), MakeEnumAccessor(&NatGateway::m_mapping),
              MakeEnumChecker(DEPENDENCY_FROM_PRESET, "preset", ENDPOINT_INDEPENDENT,
                              "endpoint-independent", ADDRESS_DEPENDENT, "address-dependent",
                              ADDRESS_AND_PORT_DEPENDENT, "address-and-port-dependent"))
          .AddAttribute(
              "Filtering", "RFC 4787 section 5 filtering behaviour.",
              EnumValue(DEPENDENCY_FROM_PRESET), MakeEnumAccessor(&NatGateway::m_filtering),
              MakeEnumChecker(DEPENDENCY_FROM_PRESET, "preset", ENDPOINT_INDEPENDENT,
                              "endpoint-independent", ADDRESS_DEPENDENT, "address-dependent",
                              ADDRESS_AND_PORT_DEPENDENT, "address-and-port-dependent"))
          .AddAttribute("PortAllocation", "RFC 4787 section 4.2.1 port assignment.",
                        EnumValue(ALLOCATION_FROM_PRESET),
                        MakeEnumAccessor(&NatGateway::m_allocation),
                        MakeEnumChecker(ALLOCATION_FROM_PRESET, "preset", PRESERVING, "preserving",
                                        SEQUENTIAL, "sequential", RANDOM, "random"))
          .AddAttribute("SequentialDelta",
                        "Step between sequentially allocated ports (0: as the preset).",
                        UintegerValue(0), MakeUintegerAccessor(&NatGateway::m_sequentialDelta),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("PortMin", "Lowest external port (0: as the preset).", UintegerValue(0),
                        MakeUintegerAccessor(&NatGateway::m_portMin),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("PortMax", "Highest external port (0: as the preset).", UintegerValue(0),
                        MakeUintegerAccessor(&NatGateway::m_portMax),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("PortBlockSize", "RFC 7422 ports per subscriber block (0: as the preset).",
                        UintegerValue(0), MakeUintegerAccessor(&NatGateway::m_portBlockSize),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("MaxBlocksPerHost",
                        "RFC 6888 per-subscriber limit in blocks (0: as the preset).",
                        UintegerValue(0), MakeUintegerAccessor(&NatGateway::m_maxBlocksPerHost),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("MappingTimeout",
                        "RFC 4787 section 4.3 mapping lifetime after the last refresh (0: as "
                        "the preset, 120 s).",
                        TimeValue(Seconds(0)), MakeTimeAccessor(&NatGateway::m_mappingTimeout),
                        MakeTimeChecker(Seconds(0)))
          .AddAttribute("InboundRefresh", "Inbound packets refresh a mapping (REQ-6 optional).",
                        EnumValue(FROM_PRESET), MakeEnumAccessor(&NatGateway::m_inboundRefresh),
                        MakeEnumChecker(FROM_PRESET, "preset", ON, "on", OFF, "off"))
          .AddAttribute("Hairpinning", "RFC 4787 section 6 hairpinning.", EnumValue(FROM_PRESET),
                        MakeEnumAccessor(&NatGateway::m_hairpinning),
                        MakeEnumChecker(FROM_PRESET, "preset", ON, "on", OFF, "off"))
          .AddAttribute("IcmpOnUnsolicited",
                        "Hostile gateway: answer refused inbound UDP with ICMP port unreachable "
                        "instead of dropping it silently.",
                        EnumValue(FROM_PRESET), MakeEnumAccessor(&NatGateway::m_icmpOnUnsolicited),
                        MakeEnumChecker(FROM_PRESET, "preset", ON, "on", OFF, "off"))
          .AddAttribute("Seed",
                        "Seed of the port allocator (0: derived from the RngSeedManager seed "
                        "and run and the node id).",
                        UintegerValue(0), MakeUintegerAccessor(&NatGateway::m_seed),
                        MakeUintegerChecker<uint64_t>())
          .AddAttribute("NatPmp",
                        "Answer NAT-PMP (RFC 6886) external address requests on the inside "
                        "addresses, UDP port 5351 (on by default, as on most home routers).",
                        BooleanValue(true), MakeBooleanAccessor(&NatGateway::m_natPmp),
                        MakeBooleanChecker())
          .AddTraceSource("Mappings", "Number of live mappings.",
                          MakeTraceSourceAccessor(&NatGateway::m_mappings),
                          "ns3::TracedValueCallback::Uint32")
          .AddTraceSource("Translate",
                          "A packet was translated: kind (outbound, inbound, hairpin), source and "
                          "destination before, source and destination after.",
                          MakeTraceSourceAccessor(&NatGateway::m_translateTrace),
                          "ns3::NatGateway::TranslationTracedCallback")
          .AddTraceSource("Drop",
                          "A packet was dropped: reason (no-mapping, filtered, pool-exhausted, "
                          "host-quota, hairpin-disabled, non-udp, fragment, no-route, "
                          "to-inside), source, destination.",
                          MakeTraceSourceAccessor(&NatGateway::m_dropTrace),
                          "ns3::NatGateway::DropTracedCallback")
          .AddTraceSource("Reject",
                          "A dropped packet was answered with ICMP port unreachable "
                          "(IcmpOnUnsolicited): reason, source, destination.",
                          MakeTraceSourceAccessor(&NatGateway::m_rejectTrace),
                          "ns3::NatGateway::DropTracedCallback");
  return tid;
}

NatGateway::NatGateway()
    : m_epochStart(Simulator::Now()), m_static(CreateObject<Ipv4StaticRouting>()) {}

NatGateway::~NatGateway() = default;

void NatGateway::DoDispose() {
  m_expiryEvent.Cancel();
  m_table.reset();
  if (m_static) {
    m_static->Dispose();
    m_static = nullptr;
  }
  m_ipv4 = nullptr;
  Ipv4RoutingProtocol::DoDispose();
}

void NatGateway::SetBehaviour(const qp2p::nat::NatBehaviour& behaviour) {
  NS_ABORT_MSG_IF(m_table, "NatGateway::SetBehaviour after the first packet");
  m_explicit = std::make_unique<qp2p::nat::NatBehaviour>(behaviour);
}

qp2p::nat::NatBehaviour NatGateway::GetBehaviour() const {
  using qp2p::nat::Dependency;
  using qp2p::nat::PortAllocation;
  if (m_table) {
    return m_table->behaviour();
  }
  if (m_explicit) {
    return *m_explicit;
  }
  auto preset = qp2p::nat::preset(m_preset);
  if (!preset) {
    std::string names;
    for (auto n : qp2p::nat::preset_names()) {
      names += (names.empty() ? "" : ", ") + std::string(n);
    }
    NS_FATAL_ERROR("NatGateway: unknown Preset '" << m_preset << "' (one of: " << names
                                                  << "; cgnat is a chain: TopologyHelper)");
  }
  qp2p::nat::NatBehaviour b = *preset;
  auto dependency = [](DependencyOverride o, Dependency current) {
    switch (o) {
      case ENDPOINT_INDEPENDENT:
        return Dependency::kEndpointIndependent;
      case ADDRESS_DEPENDENT:
        return Dependency::kAddressDependent;
      case ADDRESS_AND_PORT_DEPENDENT:
        return Dependency::kAddressAndPortDependent;
      default:
        return current;
    }
  };
  auto flag = [](Override o, bool current) { return o == FROM_PRESET ? current : o == ON; };
  b.mapping = dependency(m_mapping, b.mapping);
  b.filtering = dependency(m_filtering, b.filtering);
  switch (m_allocation) {
    case PRESERVING:
      b.port_allocation = PortAllocation::kPreserving;
      break;
    case SEQUENTIAL:
      b.port_allocation = PortAllocation::kSequential;
      break;
    case RANDOM:
      b.port_allocation = PortAllocation::kRandom;
      break;
    default:
      break;
  }
  if (m_sequentialDelta != 0) b.sequential_delta = m_sequentialDelta;
  if (m_portMin != 0) b.port_min = m_portMin;
  if (m_portMax != 0) b.port_max = m_portMax;
  if (m_portBlockSize != 0) b.port_block_size = m_portBlockSize;
  if (m_maxBlocksPerHost != 0) b.max_blocks_per_host = m_maxBlocksPerHost;
  if (m_mappingTimeout.IsStrictlyPositive()) b.mapping_timeout = ToDuration(m_mappingTimeout);
  b.inbound_refreshes = flag(m_inboundRefresh, b.inbound_refreshes);
  b.hairpinning = flag(m_hairpinning, b.hairpinning);
  b.icmp_on_unsolicited = flag(m_icmpOnUnsolicited, b.icmp_on_unsolicited);
  return b;
}

qp2p::nat::NatTable& NatGateway::Table() {
  if (m_table) {
    return *m_table;
  }
  NS_ABORT_MSG_IF(!m_ipv4, "NatGateway: not installed on a node");
  const qp2p::nat::NatBehaviour behaviour = GetBehaviour();
  if (auto invalid = behaviour.validate()) {
    NS_FATAL_ERROR("NatGateway: invalid behaviour: " << *invalid);
  }
  std::vector<qp2p::IpAddress> publics;
  if (m_outside < m_ipv4->GetNInterfaces()) {
    for (uint32_t i = 0; i < m_ipv4->GetNAddresses(m_outside); ++i) {
      publics.push_back(ToIpAddress(m_ipv4->GetAddress(m_outside, i).GetLocal()));
    }
  }
  Ptr<Node> node = m_ipv4->GetObject<Node>();
  if (behaviour.translating && publics.empty()) {
    NS_FATAL_ERROR("NatGateway on node " << node->GetId() << ": outside interface " << m_outside
                                         << " has no address");
  }
  m_table = std::make_unique<qp2p::nat::NatTable>(
      behaviour, std::move(publics),
      qp2p::Random::from_u64(DeriveSeed(m_seed, node->GetId(), Qp2pSeedRole::kNatGateway, 0)));
  NS_LOG_INFO("NAT on node " << node->GetId() << ": " << qp2p::nat::describe(behaviour));
  return *m_table;
}

qp2p::Instant NatGateway::Now() const { return ToInstant(Simulator::Now()); }

qp2p::nat::NatCounters NatGateway::GetTableCounters() const {
  return m_table ? m_table->counters() : qp2p::nat::NatCounters{};
}

uint32_t NatGateway::GetMappingCount() {
  if (!m_table) {
    return 0;
  }
  m_table->expire(Now());
  UpdateMappingCount();
  return m_mappings;
}

bool NatGateway::IsLocalAddress(Ipv4Address address) const {
  for (uint32_t i = 0; i < m_ipv4->GetNInterfaces(); ++i) {
    for (uint32_t j = 0; j < m_ipv4->GetNAddresses(i); ++j) {
      const Ipv4InterfaceAddress a = m_ipv4->GetAddress(i, j);
      if (a.GetLocal() == address || a.GetBroadcast() == address) {
        return true;
      }
    }
  }
  return false;
}

Ptr<Ipv4Route> NatGateway::Lookup(const Ipv4Header& header) {
  Socket::SocketErrno error;
  return m_static->RouteOutput(nullptr, header, nullptr, error);
}

// --- forwarding path ---

bool NatGateway::RouteInput(Ptr<const Packet> p, const Ipv4Header& header,
                            Ptr<const NetDevice> idev, UnicastForwardCallback ucb,
                            MulticastForwardCallback mcb, LocalDeliverCallback lcb,
                            ErrorCallback ecb) {
  qp2p::nat::NatTable& table = Table();
  const int32_t iif = m_ipv4->GetInterfaceForDevice(idev);
  const Ipv4Address dst = header.GetDestination();
  auto pass = [&] {
    ++m_counters.passedThrough;
    return m_static->RouteInput(p, header, idev, ucb, mcb, lcb, ecb);
  };
  if (!table.behaviour().translating || iif < 0 || dst.IsMulticast() || dst.IsBroadcast()) {
    return pass();
  }
  const bool fromOutside = static_cast<uint32_t>(iif) == m_outside;
  const bool toPublic = table.is_public(ToIpAddress(dst));

  if (!fromOutside && !toPublic) {
    if (IsLocalAddress(dst)) {
      if (m_natPmp && AnswerNatPmp(p, header, static_cast<uint32_t>(iif))) {
        return true;
      }
      return pass();  // to the gateway itself
    }
    Ptr<Ipv4Route> route = Lookup(header);
    if (!route || static_cast<uint32_t>(m_ipv4->GetInterfaceForDevice(route->GetOutputDevice())) !=
                      m_outside) {
      return pass();  // between inside networks, or no route (the static routing reports it)
    }
  }

  // Translation needed from here on: UDP only, whole datagrams only.
  if (header.GetProtocol() != kUdpProtocol || IsFragment(header)) {
    const bool udp = header.GetProtocol() == kUdpProtocol;
    ++(udp ? m_counters.droppedFragment : m_counters.droppedNonUdp);
    if (!m_dropTrace.IsEmpty()) {
      m_dropTrace(udp ? "fragment" : "non-udp", InetSocketAddress(header.GetSource(), 0),
                  InetSocketAddress(dst, 0));
    }
    return true;
  }
  UdpHeader udp;
  p->PeekHeader(udp);
  const qp2p::Endpoint source = ToEndpoint(header.GetSource(), udp.GetSourcePort());
  const qp2p::Endpoint destination = ToEndpoint(dst, udp.GetDestinationPort());
  const qp2p::Instant now = Now();

  if (fromOutside) {
    if (!toPublic) {
      // A NAT admits nothing addressed to its inside networks directly.
      ++m_counters.droppedToInside;
      Drop("to-inside", source, destination);
      return true;
    }
    const qp2p::nat::InboundVerdict v = table.translate_inbound(now, destination, source);
    if (v.forwarded()) {
      Forward(p, header, v.source, v.inner, "inbound", ucb);
    } else {
      Refuse(p, header, v, source, destination);
    }
  } else if (toPublic) {
    const qp2p::nat::InboundVerdict v = table.translate_hairpin(now, source, destination);
    if (v.forwarded()) {
      Forward(p, header, v.source, v.inner, "hairpin", ucb);
    } else {
      Refuse(p, header, v, source, destination);
    }
  } else if (header.GetTtl() <= 1) {
    // Its TTL runs out here: Linux drops it in ip_forward, before POSTROUTING's source NAT, so
    // it takes no mapping. The static routing forwards it and Ipv4L3Protocol::IpForward drops it
    // with an ICMP time exceeded, as for any router.
    return pass();
  } else {
    const qp2p::nat::NatCounters before = table.counters();
    const auto external = table.translate_outbound(now, source, destination);
    if (external) {
      Forward(p, header, *external, destination, "outbound", ucb);
    } else {
      ++m_counters.droppedTable;
      using qp2p::nat::DropReason;
      const auto& after = table.counters();
      const DropReason why = after.drops_host_quota != before.drops_host_quota
                                 ? DropReason::kHostQuota
                             : after.drops_tuple_clash != before.drops_tuple_clash
                                 ? DropReason::kTupleClash
                                 : DropReason::kPoolExhausted;
      Drop(std::string(qp2p::nat::to_string(why)), source, destination);
    }
  }
  UpdateMappingCount();
  ScheduleExpiry();
  return true;
}

void NatGateway::Forward(Ptr<const Packet> p, const Ipv4Header& header,
                         const qp2p::Endpoint& newSource, const qp2p::Endpoint& newDestination,
                         const std::string& kind, UnicastForwardCallback ucb) {
  const Ipv4Address sourceAddress = ToIpv4Address(newSource.address);
  const Ipv4Address destinationAddress = ToIpv4Address(newDestination.address);
  Ptr<Packet> packet = p->Copy();
  UdpHeader old;
  packet->RemoveHeader(old);
  const uint16_t oldSourcePort = old.GetSourcePort();
  const uint16_t oldDestinationPort = old.GetDestinationPort();
  // A fresh header: a deserialized one would write its old checksum back unchanged.
  UdpHeader udp;
  udp.SetSourcePort(newSource.port);
  udp.SetDestinationPort(newDestination.port);
  if (Node::ChecksumEnabled()) {
    udp.EnableChecksums();
    udp.InitializeChecksum(sourceAddress, destinationAddress, kUdpProtocol);
  }
  packet->AddHeader(udp);

  Ipv4Header rewritten = header;
  rewritten.SetSource(sourceAddress);
  rewritten.SetDestination(destinationAddress);
  Ptr<Ipv4Route> route = Lookup(rewritten);
  if (!route) {
    ++m_counters.droppedNoRoute;
    Drop("no-route", newSource, newDestination);
    return;
  }
  if (!m_translateTrace.IsEmpty()) {
    m_translateTrace(kind, InetSocketAddress(header.GetSource(), oldSourcePort),
                     InetSocketAddress(header.GetDestination(), oldDestinationPort),
                     ToAddress(newSource), ToAddress(newDestination));
  }
  NS_LOG_LOGIC(kind << " " << header.GetSource() << ":" << oldSourcePort << " -> "
                    << header.GetDestination() << ":" << oldDestinationPort << " as "
                    << newSource.to_string() << " -> " << newDestination.to_string());
  ucb(route, packet, rewritten);
}

void NatGateway::Refuse(Ptr<const Packet> p, const Ipv4Header& header,
                        const qp2p::nat::InboundVerdict& v, const qp2p::Endpoint& source,
                        const qp2p::Endpoint& destination) {
  ++m_counters.droppedTable;
  const std::string reason(qp2p::nat::to_string(v.reason));
  Drop(reason, source, destination);
  if (v.action != qp2p::nat::InboundVerdict::Action::kReject) {
    return;
  }
  if (Ptr<Icmpv4L4Protocol> icmp = m_ipv4->GetObject<Icmpv4L4Protocol>()) {
    // Sent by the gateway itself: from the address facing the sender (the public address for
    // an inbound packet), quoting the refused datagram's IP header and UDP header.
    icmp->SendDestUnreachPort(header, p);
    ++m_counters.icmpSent;
  }
  if (!m_rejectTrace.IsEmpty()) {
    m_rejectTrace(reason, ToAddress(source), ToAddress(destination));
  }
}

void NatGateway::Drop(const std::string& reason, const qp2p::Endpoint& source,
                      const qp2p::Endpoint& destination) {
  NS_LOG_LOGIC("drop (" << reason << ") " << source.to_string() << " -> "
                        << destination.to_string());
  if (!m_dropTrace.IsEmpty()) {
    m_dropTrace(reason, ToAddress(source), ToAddress(destination));
  }
}

// --- NAT-PMP responder ---

std::optional<InetSocketAddress> NatGateway::GetNatPmpServer(Ptr<Node> host) {
  Ptr<Ipv4> ipv4 = host ? host->GetObject<Ipv4>() : nullptr;
  if (!ipv4) {
    return std::nullopt;
  }
  Ipv4StaticRoutingHelper helper;
  Ptr<Ipv4StaticRouting> routing = helper.GetStaticRouting(ipv4);
  if (!routing) {
    if (Ptr<NatGateway> nat = DynamicCast<NatGateway>(ipv4->GetRoutingProtocol())) {
      routing = nat->GetStaticRouting();
    }
  }
  if (!routing) {
    return std::nullopt;
  }
  for (uint32_t i = 0; i < routing->GetNRoutes(); ++i) {
    const Ipv4RoutingTableEntry route = routing->GetRoute(i);
    if (route.IsDefault() && route.IsGateway()) {
      return InetSocketAddress(route.GetGateway(), qp2p::nat_pmp::kServerPort);
    }
  }
  return std::nullopt;
}

bool NatGateway::AnswerNatPmp(Ptr<const Packet> p, const Ipv4Header& header, uint32_t iif) {
  if (header.GetProtocol() != kUdpProtocol || IsFragment(header)) {
    return false;
  }
  // Only on the address of the interface the request came in on (the host's default gateway).
  bool onInterface = false;
  for (uint32_t i = 0; i < m_ipv4->GetNAddresses(iif); ++i) {
    onInterface = onInterface || m_ipv4->GetAddress(iif, i).GetLocal() == header.GetDestination();
  }
  UdpHeader udp;
  if (!onInterface || p->PeekHeader(udp) == 0 ||
      udp.GetDestinationPort() != qp2p::nat_pmp::kServerPort) {
    return false;
  }
  const uint32_t size = p->GetSize() - udp.GetSerializedSize();
  if (size > qp2p::nat_pmp::kMaxRequestSize) {
    return true;  // not NAT-PMP (nor PCP): dropped
  }
  qp2p::Bytes request(p->GetSize());
  p->CopyData(request.data(), p->GetSize());
  request.erase(request.begin(), request.begin() + udp.GetSerializedSize());
  const auto parsed = qp2p::nat_pmp::parse_request(request.data(), request.size());
  if (!parsed) {
    return true;  // a response or a stub: RFC 6886 section 3.5 says ignore it
  }
  const auto epoch = static_cast<uint32_t>((Simulator::Now() - m_epochStart).GetSeconds());
  qp2p::Bytes answer;
  if (parsed->version != qp2p::nat_pmp::kVersion) {
    qp2p::nat_pmp::append_unsupported_version_response(answer, parsed->opcode, epoch);
  } else if (parsed->opcode != qp2p::nat_pmp::kOpExternalAddress) {
    qp2p::nat_pmp::append_unsupported_opcode_response(answer, request.data(), request.size());
  } else if (m_outside < m_ipv4->GetNInterfaces() && m_ipv4->GetNAddresses(m_outside) > 0) {
    const Ipv4Address external = m_ipv4->GetAddress(m_outside, 0).GetLocal();
    qp2p::nat_pmp::append_external_address_response(answer, qp2p::nat_pmp::ResultCode::kSuccess,
                                                    epoch, ToIpAddress(external));
  } else {
    qp2p::nat_pmp::append_external_address_response(
        answer, qp2p::nat_pmp::ResultCode::kNetworkFailure, epoch, qp2p::IpAddress());
  }

  // From the address asked, port 5351, to the requester.
  const Ipv4Address from = header.GetDestination();
  const Ipv4Address to = header.GetSource();
  Ptr<Packet> packet = Create<Packet>(answer.data(), static_cast<uint32_t>(answer.size()));
  UdpHeader reply;
  reply.SetSourcePort(qp2p::nat_pmp::kServerPort);
  reply.SetDestinationPort(udp.GetSourcePort());
  if (Node::ChecksumEnabled()) {
    reply.EnableChecksums();
    reply.InitializeChecksum(from, to, kUdpProtocol);
  }
  packet->AddHeader(reply);
  Ipv4Header replyHeader;
  replyHeader.SetSource(from);
  replyHeader.SetDestination(to);
  replyHeader.SetProtocol(kUdpProtocol);
  Ptr<Ipv4Route> route = Lookup(replyHeader);
  if (!route) {
    ++m_counters.droppedNoRoute;
    return true;
  }
  ++m_counters.natPmpAnswered;
  NS_LOG_LOGIC("NAT-PMP answer to " << to << ":" << udp.GetSourcePort() << " (" << answer.size()
                                    << " bytes)");
  m_ipv4->Send(packet, from, to, kUdpProtocol, route);
  return true;
}

// --- expiry ---

void NatGateway::UpdateMappingCount() {
  const auto count = static_cast<uint32_t>(m_table->mapping_count());
  if (count != m_mappings) {
    m_mappings = count;
  }
}

void NatGateway::ScheduleExpiry() {
  const qp2p::Instant next = m_table->next_expiry();
  if (next == qp2p::kNever) {
    return;
  }
  // Refreshes only push expiries later: an event already due earlier fires early, harmlessly,
  // and re-schedules itself.
  if (m_expiryEvent.IsRunning() && m_expiryAt <= next) {
    return;
  }
  m_expiryEvent.Cancel();
  m_expiryAt = next;
  const Time delay = std::max(ToTime(next) - Simulator::Now(), Time(0));
  m_expiryEvent = Simulator::Schedule(delay, &NatGateway::HandleExpiry, this);
}

void NatGateway::HandleExpiry() {
  m_table->expire(Now());
  UpdateMappingCount();
  ScheduleExpiry();
}

// --- the rest of Ipv4RoutingProtocol: the static routing does it ---

Ptr<Ipv4Route> NatGateway::RouteOutput(Ptr<Packet> p, const Ipv4Header& header, Ptr<NetDevice> oif,
                                       Socket::SocketErrno& sockerr) {
  return m_static->RouteOutput(p, header, oif, sockerr);
}

void NatGateway::NotifyInterfaceUp(uint32_t interface) { m_static->NotifyInterfaceUp(interface); }

void NatGateway::NotifyInterfaceDown(uint32_t interface) {
  m_static->NotifyInterfaceDown(interface);
}

void NatGateway::NotifyAddAddress(uint32_t interface, Ipv4InterfaceAddress address) {
  m_static->NotifyAddAddress(interface, address);
}

void NatGateway::NotifyRemoveAddress(uint32_t interface, Ipv4InterfaceAddress address) {
  m_static->NotifyRemoveAddress(interface, address);
}

void NatGateway::SetIpv4(Ptr<Ipv4> ipv4) {
  m_ipv4 = ipv4;
  m_static->SetIpv4(ipv4);
}

void NatGateway::PrintRoutingTable(Ptr<OutputStreamWrapper> stream, Time::Unit unit) const {
  std::ostream* os = stream->GetStream();
  *os << "NAT (outside interface " << m_outside << "): " << qp2p::nat::describe(GetBehaviour())
      << "\n";
  if (m_table) {
    const qp2p::nat::NatCounters& c = m_table->counters();
    *os << "  mappings " << m_table->mapping_count() << ", created " << c.mappings_created
        << ", expired " << c.mappings_expired << ", outbound " << c.outbound_translated
        << ", inbound " << c.inbound_forwarded << ", hairpinned " << c.hairpinned << "\n";
  }
  m_static->PrintRoutingTable(stream, unit);
}

}  // namespace ns3
