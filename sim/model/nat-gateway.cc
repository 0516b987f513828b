// NatGateway's forwarding path (sim/model/nat-gateway.h): the table, the dispatch of every
// packet the node receives (RouteInput) to translation, hairpinning, refusal or the static
// routing, the rewrite of translated packets, mapping expiry, and the rest of
// Ipv4RoutingProtocol, which the wrapped static routing does. The attributes are in
// nat-gateway-attributes.cc, the ICMP side (TTL expiry, rejects) in nat-gateway-icmp.cc, the
// NAT-PMP responder in nat-gateway-nat-pmp.cc.
#include "sim/model/nat-gateway.h"

#include <algorithm>
#include <ostream>

#include "ns3/abort.h"
#include "ns3/fatal-error.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-route.h"
#include "ns3/ipv4.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/output-stream-wrapper.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/udp-header.h"
#include "sim/model/qp2p-sim-utils.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("NatGateway");

bool NatGateway::IsFragment(const Ipv4Header& header) {
  return !header.IsLastFragment() || header.GetFragmentOffset() != 0;
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
  } else if (ExpiresHere(header)) {
    return pass();  // no mapping; the forwarding path answers ICMP time exceeded
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
                     ToInetSocketAddress(newSource), ToInetSocketAddress(newDestination));
  }
  NS_LOG_LOGIC(kind << " " << header.GetSource() << ":" << oldSourcePort << " -> "
                    << header.GetDestination() << ":" << oldDestinationPort << " as "
                    << newSource.to_string() << " -> " << newDestination.to_string());
  ucb(route, packet, rewritten);
}

void NatGateway::Drop(const std::string& reason, const qp2p::Endpoint& source,
                      const qp2p::Endpoint& destination) {
  NS_LOG_LOGIC("drop (" << reason << ") " << source.to_string() << " -> "
                        << destination.to_string());
  if (!m_dropTrace.IsEmpty()) {
    m_dropTrace(reason, ToInetSocketAddress(source), ToInetSocketAddress(destination));
  }
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
