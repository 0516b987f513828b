// Unicast IPv4 routing with hash tables instead of a list: one hash map per prefix length in
// use, longest first, and a hash set of the node's own addresses. ns-3's Ipv4StaticRouting scans
// every route and, for each forwarded packet, every address of every interface
// (IsDestinationAddress), which makes a core router with a thousand links cost O(links) per
// packet; this does the same job in O(prefix lengths).
//
// Connected networks are added and removed with the interfaces' addresses, as Ipv4StaticRouting
// does; AddNetworkRouteTo / SetDefaultRoute add the rest. No multicast, no metrics: one route
// per prefix (the last one added wins).
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "ns3/ipv4-address.h"
#include "ns3/ipv4-route.h"
#include "ns3/ipv4-routing-protocol.h"
#include "ns3/ipv4.h"

namespace ns3 {

class Ipv4HashRouting : public Ipv4RoutingProtocol {
 public:
  static TypeId GetTypeId();
  Ipv4HashRouting();
  ~Ipv4HashRouting() override;

  void AddNetworkRouteTo(Ipv4Address network, Ipv4Mask mask, Ipv4Address nextHop,
                         uint32_t interface);
  void SetDefaultRoute(Ipv4Address nextHop, uint32_t interface);

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
  struct Entry {
    Ipv4Address nextHop;  // 0.0.0.0: directly connected
    uint32_t interface = 0;
    bool connected = false;
  };
  // Prefix length -> network (host order) -> entry; longest prefix first.
  using Table = std::map<uint32_t, std::unordered_map<uint32_t, Entry>, std::greater<uint32_t>>;

  const Entry* Lookup(Ipv4Address destination) const;
  Ptr<Ipv4Route> MakeRoute(Ipv4Address destination, const Entry& entry) const;
  void AddConnected(uint32_t interface, const Ipv4InterfaceAddress& address);
  void RemoveConnected(uint32_t interface, const Ipv4InterfaceAddress& address);
  void RebuildLocal();

  Ptr<Ipv4> m_ipv4;
  Table m_table;
  std::unordered_set<uint32_t> m_local;  // own addresses and subnet broadcasts (host order)
};

}  // namespace ns3
