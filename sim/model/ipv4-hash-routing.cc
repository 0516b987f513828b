#include "sim/model/ipv4-hash-routing.h"

#include <ostream>

#include "ns3/log.h"
#include "ns3/net-device.h"
#include "ns3/output-stream-wrapper.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("Ipv4HashRouting");
NS_OBJECT_ENSURE_REGISTERED(Ipv4HashRouting);

TypeId Ipv4HashRouting::GetTypeId() {
  static TypeId tid = TypeId("ns3::Ipv4HashRouting")
                          .SetParent<Ipv4RoutingProtocol>()
                          .SetGroupName("Qp2p")
                          .AddConstructor<Ipv4HashRouting>();
  return tid;
}

Ipv4HashRouting::Ipv4HashRouting() = default;
Ipv4HashRouting::~Ipv4HashRouting() = default;

void Ipv4HashRouting::DoDispose() {
  m_table.clear();
  m_local.clear();
  m_ipv4 = nullptr;
  Ipv4RoutingProtocol::DoDispose();
}

void Ipv4HashRouting::AddNetworkRouteTo(Ipv4Address network, Ipv4Mask mask, Ipv4Address nextHop,
                                        uint32_t interface) {
  const uint32_t length = mask.GetPrefixLength();
  m_table[length][network.CombineMask(mask).Get()] = Entry{nextHop, interface, false};
}

void Ipv4HashRouting::SetDefaultRoute(Ipv4Address nextHop, uint32_t interface) {
  AddNetworkRouteTo(Ipv4Address::GetZero(), Ipv4Mask::GetZero(), nextHop, interface);
}

const Ipv4HashRouting::Entry* Ipv4HashRouting::Lookup(Ipv4Address destination) const {
  const uint32_t d = destination.Get();
  for (const auto& [length, networks] : m_table) {
    const uint32_t mask = length == 0 ? 0 : ~uint32_t{0} << (32 - length);
    auto it = networks.find(d & mask);
    if (it != networks.end() && m_ipv4->IsUp(it->second.interface)) {
      return &it->second;
    }
  }
  return nullptr;
}

Ptr<Ipv4Route> Ipv4HashRouting::MakeRoute(Ipv4Address destination, const Entry& entry) const {
  Ptr<Ipv4Route> route = Create<Ipv4Route>();
  route->SetDestination(destination);
  route->SetGateway(entry.nextHop);
  route->SetOutputDevice(m_ipv4->GetNetDevice(entry.interface));
  route->SetSource(m_ipv4->SourceAddressSelection(entry.interface, destination));
  return route;
}

Ptr<Ipv4Route> Ipv4HashRouting::RouteOutput(Ptr<Packet> p, const Ipv4Header& header,
                                            Ptr<NetDevice> oif, Socket::SocketErrno& sockerr) {
  const Entry* entry = Lookup(header.GetDestination());
  if (!entry || (oif && m_ipv4->GetNetDevice(entry->interface) != oif)) {
    sockerr = Socket::ERROR_NOROUTETOHOST;
    return nullptr;
  }
  sockerr = Socket::ERROR_NOTERROR;
  return MakeRoute(header.GetDestination(), *entry);
}

bool Ipv4HashRouting::RouteInput(Ptr<const Packet> p, const Ipv4Header& header,
                                 Ptr<const NetDevice> idev, UnicastForwardCallback ucb,
                                 MulticastForwardCallback mcb, LocalDeliverCallback lcb,
                                 ErrorCallback ecb) {
  const Ipv4Address destination = header.GetDestination();
  const int32_t iif = m_ipv4->GetInterfaceForDevice(idev);
  if (destination.IsMulticast()) {
    return false;
  }
  if (destination.IsBroadcast() || m_local.count(destination.Get())) {
    if (lcb.IsNull()) {
      return false;
    }
    lcb(p, header, iif);
    return true;
  }
  if (!m_ipv4->IsForwarding(iif)) {
    ecb(p, header, Socket::ERROR_NOROUTETOHOST);
    return true;
  }
  const Entry* entry = Lookup(destination);
  if (!entry) {
    return false;
  }
  ucb(MakeRoute(destination, *entry), p, header);
  return true;
}

void Ipv4HashRouting::AddConnected(uint32_t interface, const Ipv4InterfaceAddress& address) {
  if (address.GetLocal() == Ipv4Address::GetLoopback()) {
    return;
  }
  const Ipv4Mask mask = address.GetMask();
  m_table[mask.GetPrefixLength()][address.GetLocal().CombineMask(mask).Get()] =
      Entry{Ipv4Address::GetZero(), interface, true};
}

void Ipv4HashRouting::RemoveConnected(uint32_t interface, const Ipv4InterfaceAddress& address) {
  const Ipv4Mask mask = address.GetMask();
  auto t = m_table.find(mask.GetPrefixLength());
  if (t == m_table.end()) {
    return;
  }
  auto it = t->second.find(address.GetLocal().CombineMask(mask).Get());
  if (it != t->second.end() && it->second.connected && it->second.interface == interface) {
    t->second.erase(it);
  }
}

void Ipv4HashRouting::RebuildLocal() {
  m_local.clear();
  for (uint32_t i = 0; i < m_ipv4->GetNInterfaces(); ++i) {
    for (uint32_t j = 0; j < m_ipv4->GetNAddresses(i); ++j) {
      const Ipv4InterfaceAddress a = m_ipv4->GetAddress(i, j);
      m_local.insert(a.GetLocal().Get());
      m_local.insert(a.GetBroadcast().Get());
    }
  }
}

void Ipv4HashRouting::NotifyInterfaceUp(uint32_t interface) {
  for (uint32_t j = 0; j < m_ipv4->GetNAddresses(interface); ++j) {
    const Ipv4InterfaceAddress a = m_ipv4->GetAddress(interface, j);
    AddConnected(interface, a);
    m_local.insert(a.GetLocal().Get());
    m_local.insert(a.GetBroadcast().Get());
  }
}

void Ipv4HashRouting::NotifyInterfaceDown(uint32_t interface) {
  // The addresses stay the node's own (as for Ipv4L3Protocol::IsDestinationAddress).
  for (uint32_t j = 0; j < m_ipv4->GetNAddresses(interface); ++j) {
    RemoveConnected(interface, m_ipv4->GetAddress(interface, j));
  }
}

void Ipv4HashRouting::NotifyAddAddress(uint32_t interface, Ipv4InterfaceAddress address) {
  if (m_ipv4->IsUp(interface)) {
    AddConnected(interface, address);
  }
  m_local.insert(address.GetLocal().Get());
  m_local.insert(address.GetBroadcast().Get());
}

void Ipv4HashRouting::NotifyRemoveAddress(uint32_t interface, Ipv4InterfaceAddress address) {
  RemoveConnected(interface, address);
  RebuildLocal();
}

void Ipv4HashRouting::SetIpv4(Ptr<Ipv4> ipv4) {
  m_ipv4 = ipv4;
  m_table.clear();
  RebuildLocal();
  for (uint32_t i = 0; i < m_ipv4->GetNInterfaces(); ++i) {
    if (m_ipv4->IsUp(i)) {
      NotifyInterfaceUp(i);
    }
  }
}

void Ipv4HashRouting::PrintRoutingTable(Ptr<OutputStreamWrapper> stream, Time::Unit unit) const {
  std::ostream* os = stream->GetStream();
  *os << "Ipv4HashRouting\nDestination/len     Gateway          Iface\n";
  for (const auto& [length, networks] : m_table) {
    for (const auto& [network, entry] : networks) {
      *os << Ipv4Address(network) << "/" << length << "  " << entry.nextHop << "  "
          << entry.interface << (entry.connected ? " (connected)" : "") << "\n";
    }
  }
}

}  // namespace ns3
