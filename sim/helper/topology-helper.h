// Builds the standard qp2p test-bed topology in ns-3: a public core router, supernodes with two
// public addresses each, and NAT sites (a gateway per RFC 4787 preset, or a chain for cgnat)
// with hosts behind them.
//
//                          +-- supernode k   (198.18.x.2 and .3 on one device)
//   core router ---p2p-----+-- NAT gateway ==lan== hosts      (inside 198.19.0.0/16)
//   (198.18.x.1 per link)  +-- carrier NAT --p2p-- home NAT ==lan== hosts     ("cgnat")
//                          +-- open host     (198.18.x.2: "open", directly on the core)
//
// Addresses: every core link is a /29 of 198.18.0.0/16 (8192 links); inside networks (home LANs
// sized to their host count, /30 carrier access links) come from 198.19.0.0/16 and wrap around
// when it is used up: inside networks are private to their NAT, so they may overlap, as home
// networks do. Nothing from 10/8, 172.16/12 or 192.168/16.
//
// Routing: static routes set directly (no GlobalRouting). The core router only has its
// connected /29s, in an Ipv4HashRouting (O(1) per packet with a thousand links); every other
// node has an Ipv4StaticRouting (or a NatGateway wrapping one) with a default route towards the
// core.
//
// Links: point-to-point to the core (SetCoreLink); for home LANs a switched LAN (SimpleNetDevice
// ports on one SimpleChannel: each port sends at the access rate, full duplex, every frame reaches
// the others one access delay later, ARP and broadcast as on Ethernet, MTU 1500) and
// point-to-point for carrier access links (SetAccessLink). Loss is a RateErrorModel (per packet)
// on every receiving device of a link.
//
// ARP: every ARP cache the helper creates (home LANs) holds a neighbour that left its requests
// unanswered "dead" for 1 s, not ns-3's 100 s (see ArpDeadTimeout() in topology-helper.cc), unless
// the default was changed (Config::SetDefault or --ns3::ArpCache::DeadTimeout=...), which then
// applies as usual.
//
// Random streams: every random variable the topology creates (loss models, ARP request jitter,
// ...) gets a fixed ns-3 stream number, from SetStreamBase() upwards in build
// order, so a seed and run reproduce the same run even when several simulations are built in
// one process (ns-3's automatic stream numbers keep counting across Simulator::Destroy).
// NextFreeStream() tells where the caller's own AssignStreams may start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ns3/attribute.h"
#include "ns3/data-rate.h"
#include "ns3/inet-socket-address.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address.h"
#include "ns3/net-device.h"
#include "ns3/node-container.h"
#include "ns3/nstime.h"
#include "sim/helper/nat-gateway-helper.h"
#include "sim/model/nat-gateway.h"

namespace ns3 {

struct LinkParameters {
  DataRate rate = DataRate("100Mbps");
  Time delay = MilliSeconds(5);
  double loss = 0.0;  // per-packet loss probability at each receiving device
};

struct SupernodeSite {
  Ptr<Node> node;
  Ipv4Address primary;  // both on the node's one device (interface 1)
  Ipv4Address alternate;
};

struct NatSite {
  std::string preset;
  // The node the hosts sit behind (the home gateway of a chain); null for "open".
  Ptr<Node> gateway;
  // Every NAT of the site, outermost first (carrier, home); empty for "open".
  std::vector<Ptr<NatGateway>> gateways;
  std::vector<Ptr<Node>> gatewayNodes;  // same order
  // The outermost public address (what the Internet sees); 0.0.0.0 for "open".
  Ipv4Address publicAddress;
  NodeContainer hosts;
  std::vector<Ipv4Address> hostAddresses;  // inside addresses ("open": public ones)
};

struct Topology {
  Ptr<Node> core;
  std::vector<SupernodeSite> supernodes;
  std::vector<NatSite> nats;

  // Every host of every site, in site order.
  NodeContainer Hosts() const;
  // The supernodes' primary addresses with `port`, in order (a PeerApplication's Supernodes).
  std::vector<InetSocketAddress> SupernodeEndpoints(uint16_t port = 3478) const;
};

class TopologyHelper {
 public:
  TopologyHelper();

  // Links from the core router to supernodes, NAT public sides and open hosts.
  void SetCoreLink(const LinkParameters& link) { m_core = link; }
  // Inside networks: home LANs (switched) and carrier-to-home links (point-to-point).
  void SetAccessLink(const LinkParameters& link) { m_access = link; }
  // The usual pair at the default rate: core links of `coreDelay`, access links of
  // `accessDelay`, `loss` on every receiving device of both.
  void SetDelaysAndLoss(Time coreDelay, Time accessDelay, double loss) {
    m_core.delay = coreDelay;
    m_core.loss = loss;
    m_access.delay = accessDelay;
    m_access.loss = loss;
  }
  // First fixed random stream of the topology (default 0).
  void SetStreamBase(int64_t stream) { m_streamBase = stream; }
  // The first stream number Build() did not use.
  int64_t NextFreeStream() const { return m_nextStream; }
  // An attribute for every NAT gateway, e.g. ("MappingTimeout", TimeValue(Seconds(30))). The
  // cgnat chain's gateways keep nat::chain_preset's behaviour: only the attributes beyond it
  // (NatPmp, Seed) reach them.
  void SetNatAttribute(const std::string& name, const AttributeValue& value);

  void AddSupernodes(uint32_t count);
  // A site of `hosts` hosts behind a NAT: a nat::preset name ("open": hosts directly on the
  // core) or a nat::chain_preset name ("cgnat"). Returns the site's index in Topology::nats.
  // Fatal error for an unknown name.
  uint32_t AddNat(const std::string& preset, uint32_t hosts = 1);

  // Creates nodes, devices, addresses and routes. Call once.
  Topology Build();

 private:
  struct SiteSpec {
    std::string preset;
    uint32_t hosts;
  };

  Ptr<Node> NewNode();
  uint32_t AddInterface(Ptr<Node> node, Ptr<NetDevice> device, Ipv4Address address, Ipv4Mask mask);
  NetDeviceContainer CoreLink(Ptr<Node> far);
  Ipv4Address NextCoreSubnet();
  Ipv4Address NextInsideSubnet(uint32_t size);
  void AddLoss(Ptr<NetDevice> device, double loss);
  void SetDefaultRoute(Ptr<Node> node, Ipv4Address nextHop, uint32_t interface);
  void BuildSite(const SiteSpec& spec, NatSite& site);
  void BuildLan(Ptr<Node> gateway, uint32_t hosts, NatSite& site);

  LinkParameters m_core;
  LinkParameters m_access;
  int64_t m_streamBase = 0;
  int64_t m_nextStream = 0;
  NodeContainer m_nodes;             // every node built, for AssignStreams
  uint32_t m_supernodeCount = 0;
  std::vector<SiteSpec> m_sites;
  NatGatewayHelper m_natHelper;
  InternetStackHelper m_stack;
  bool m_built = false;

  Time m_arpDeadTimeout;  // set by Build(); zero: leave the ArpCache default alone
  Ptr<Node> m_coreNode;
  uint32_t m_coreLinks = 0;
  uint32_t m_insideCursor = 0;  // offset into 198.19.0.0/16
};

}  // namespace ns3
