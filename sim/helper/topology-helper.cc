#include "sim/helper/topology-helper.h"

#include "nat-models/nat_behaviour.h"
#include "ns3/arp-cache.h"
#include "ns3/double.h"
#include "ns3/enum.h"
#include "ns3/error-model.h"
#include "ns3/fatal-error.h"
#include "ns3/ipv4-interface.h"
#include "ns3/ipv4-l3-protocol.h"
#include "ns3/ipv4-static-routing-helper.h"
#include "ns3/ipv4.h"
#include "ns3/point-to-point-helper.h"
#include "ns3/pointer.h"
#include "ns3/simple-net-device-helper.h"
#include "ns3/simple-net-device.h"
#include "ns3/string.h"
#include "ns3/type-id.h"
#include "sim/model/ipv4-hash-routing.h"

namespace ns3 {

namespace {

// 198.18.0.0/16: core links, one /29 each.
constexpr uint32_t kCoreBase = (198u << 24) | (18u << 16);
constexpr uint32_t kCoreLinkSize = 8;
constexpr uint32_t kMaxCoreLinks = 65536 / kCoreLinkSize;
// 198.19.0.0/16: inside networks.
constexpr uint32_t kInsideBase = (198u << 24) | (19u << 16);
constexpr uint32_t kInsideSpace = 65536;

// Ethernet's MTU on home LANs (a SimpleNetDevice's own default is 65535): a host fragments what
// exceeds it, and the gateway drops fragments, as before.
constexpr uint16_t kLanMtu = 1500;

Ipv4Mask MaskOfSize(uint32_t size) { return Ipv4Mask(~(size - 1)); }

// ns-3's ArpCache marks a neighbour that left MaxRetries (3) requests unanswered "dead" for
// DeadTimeout (100 s by default) and drops every packet sent to it meanwhile. On a lossy LAN three
// lost requests or replies in a row happen (at 5% loss about one LAN in a thousand during a
// nat-discovery run), and the host is then cut off from its gateway for the rest of a short
// simulation: a loss artefact no real network shows, since Linux re-resolves a failed neighbour
// on the next packet. One second of dead state is close to that. Every scenario built with this
// helper gets it, so lossy runs measure the protocol, not ns-3's ARP hold-down.
Time ArpDeadTimeout() { return Seconds(1); }

// True when an attribute's default was changed (Config::SetDefault, or the command line's
// --ns3::Type::Attribute=...): TypeId then holds a new initial value, not the original one.
bool DefaultChanged(const std::string& type, const std::string& attribute) {
  TypeId::AttributeInformation info;
  if (!TypeId::LookupByName(type).LookupAttributeByName(attribute, &info)) {
    NS_FATAL_ERROR("TopologyHelper: no attribute " << type << "::" << attribute);
  }
  return info.initialValue != info.originalInitialValue;
}

}  // namespace

NodeContainer Topology::Hosts() const {
  NodeContainer all;
  for (const NatSite& site : nats) {
    all.Add(site.hosts);
  }
  return all;
}

std::vector<InetSocketAddress> Topology::SupernodeEndpoints(uint16_t port) const {
  std::vector<InetSocketAddress> out;
  for (const SupernodeSite& s : supernodes) {
    out.emplace_back(s.primary, port);
  }
  return out;
}

TopologyHelper::TopologyHelper() {
  m_stack.SetIpv6StackInstall(false);
  m_stack.SetRoutingHelper(Ipv4StaticRoutingHelper());
}

Ptr<Node> TopologyHelper::NewNode() {
  Ptr<Node> node = CreateObject<Node>();
  m_stack.Install(node);
  m_nodes.Add(node);
  return node;
}

void TopologyHelper::SetNatAttribute(const std::string& name, const AttributeValue& value) {
  m_natHelper.SetAttribute(name, value);
}

void TopologyHelper::AddSupernodes(uint32_t count) { m_supernodeCount += count; }

uint32_t TopologyHelper::AddNat(const std::string& preset, uint32_t hosts) {
  if (!qp2p::nat::preset(preset) && !qp2p::nat::chain_preset(preset)) {
    NS_FATAL_ERROR("TopologyHelper: unknown NAT preset '" << preset << "'");
  }
  m_sites.push_back({preset, hosts});
  return static_cast<uint32_t>(m_sites.size() - 1);
}

uint32_t TopologyHelper::AddInterface(Ptr<Node> node, Ptr<NetDevice> device, Ipv4Address address,
                                      Ipv4Mask mask) {
  Ptr<Ipv4> ipv4 = node->GetObject<Ipv4>();
  const uint32_t interface = ipv4->AddInterface(device);
  if (!m_arpDeadTimeout.IsZero()) {
    // Devices that need no ARP (point-to-point) have no cache.
    if (Ptr<ArpCache> arp =
            node->GetObject<Ipv4L3Protocol>()->GetInterface(interface)->GetArpCache()) {
      arp->SetAttribute("DeadTimeout", TimeValue(m_arpDeadTimeout));
    }
  }
  ipv4->AddAddress(interface, Ipv4InterfaceAddress(address, mask));
  ipv4->SetMetric(interface, 1);
  ipv4->SetUp(interface);
  return interface;
}

Ipv4Address TopologyHelper::NextCoreSubnet() {
  if (m_coreLinks >= kMaxCoreLinks) {
    NS_FATAL_ERROR("TopologyHelper: more than " << kMaxCoreLinks << " core links");
  }
  return Ipv4Address(kCoreBase + kCoreLinkSize * m_coreLinks++);
}

Ipv4Address TopologyHelper::NextInsideSubnet(uint32_t size) {
  // Aligned to its size; wraps around (inside networks may overlap across NATs).
  m_insideCursor = (m_insideCursor + size - 1) / size * size;
  if (m_insideCursor + size > kInsideSpace) {
    m_insideCursor = 0;
  }
  const Ipv4Address subnet(kInsideBase + m_insideCursor);
  m_insideCursor += size;
  return subnet;
}

void TopologyHelper::AddLoss(Ptr<NetDevice> device, double loss) {
  if (loss <= 0.0) {
    return;
  }
  Ptr<RateErrorModel> model = CreateObject<RateErrorModel>();
  model->SetAttribute("ErrorUnit", EnumValue(RateErrorModel::ERROR_UNIT_PACKET));
  model->SetAttribute("ErrorRate", DoubleValue(loss));
  m_nextStream += model->AssignStreams(m_nextStream);
  device->SetAttribute("ReceiveErrorModel", PointerValue(model));
}

NetDeviceContainer TopologyHelper::CoreLink(Ptr<Node> far) {
  PointToPointHelper p2p;
  p2p.SetDeviceAttribute("DataRate", DataRateValue(m_core.rate));
  p2p.SetChannelAttribute("Delay", TimeValue(m_core.delay));
  NetDeviceContainer devices = p2p.Install(m_coreNode, far);
  AddLoss(devices.Get(0), m_core.loss);
  AddLoss(devices.Get(1), m_core.loss);
  return devices;
}

void TopologyHelper::SetDefaultRoute(Ptr<Node> node, Ipv4Address nextHop, uint32_t interface) {
  Ptr<Ipv4> ipv4 = node->GetObject<Ipv4>();
  if (Ptr<NatGateway> nat = DynamicCast<NatGateway>(ipv4->GetRoutingProtocol())) {
    nat->GetStaticRouting()->SetDefaultRoute(nextHop, interface);
    return;
  }
  Ipv4StaticRoutingHelper helper;
  Ptr<Ipv4StaticRouting> routing = helper.GetStaticRouting(ipv4);
  NS_ABORT_MSG_IF(!routing, "TopologyHelper: node " << node->GetId() << " has no static routing");
  routing->SetDefaultRoute(nextHop, interface);
}

void TopologyHelper::BuildLan(Ptr<Node> gateway, uint32_t hosts, NatSite& site) {
  // Network and broadcast addresses, the gateway, the hosts; at least a /30.
  uint32_t size = 4;
  while (size < hosts + 3) {
    size *= 2;
  }
  NS_ABORT_MSG_IF(size > 65536 / 4, "TopologyHelper: too many hosts behind one NAT");
  const Ipv4Address subnet = NextInsideSubnet(size);
  const Ipv4Mask mask = MaskOfSize(size);

  NodeContainer lan(gateway);
  for (uint32_t i = 0; i < hosts; ++i) {
    Ptr<Node> host = NewNode();
    site.hosts.Add(host);
    lan.Add(host);
  }
  // A switched LAN: every port sends its own frames at the access rate, full duplex, and every
  // frame reaches the other ports one access delay later. A CSMA bus would hold the medium for
  // the whole propagation delay per frame (one frame per millisecond at 1 ms for the whole LAN,
  // both directions), so a burst (opening checks, birthday sockets) would queue for tens of ms
  // behind itself, as no switched home LAN does.
  SimpleNetDeviceHelper lanHelper;
  lanHelper.SetDeviceAttribute("DataRate", DataRateValue(m_access.rate));
  lanHelper.SetChannelAttribute("Delay", TimeValue(m_access.delay));
  NetDeviceContainer devices = lanHelper.Install(lan);
  for (uint32_t i = 0; i < devices.GetN(); ++i) {
    devices.Get(i)->SetMtu(kLanMtu);
  }

  const Ipv4Address gatewayAddress(subnet.Get() + 1);
  AddLoss(devices.Get(0), m_access.loss);
  AddInterface(gateway, devices.Get(0), gatewayAddress, mask);
  for (uint32_t i = 0; i < hosts; ++i) {
    const Ipv4Address address(subnet.Get() + 2 + i);
    Ptr<Node> host = site.hosts.Get(i);
    AddLoss(devices.Get(i + 1), m_access.loss);
    const uint32_t interface = AddInterface(host, devices.Get(i + 1), address, mask);
    SetDefaultRoute(host, gatewayAddress, interface);
    site.hostAddresses.push_back(address);
  }
}

void TopologyHelper::BuildSite(const SiteSpec& spec, NatSite& site) {
  site.preset = spec.preset;

  if (spec.preset == "open") {
    for (uint32_t i = 0; i < spec.hosts; ++i) {
      Ptr<Node> host = NewNode();
      const Ipv4Address subnet = NextCoreSubnet();
      NetDeviceContainer link = CoreLink(host);
      AddInterface(m_coreNode, link.Get(0), Ipv4Address(subnet.Get() + 1),
                   MaskOfSize(kCoreLinkSize));
      const Ipv4Address address(subnet.Get() + 2);
      const uint32_t interface =
          AddInterface(host, link.Get(1), address, MaskOfSize(kCoreLinkSize));
      SetDefaultRoute(host, Ipv4Address(subnet.Get() + 1), interface);
      site.hosts.Add(host);
      site.hostAddresses.push_back(address);
    }
    return;
  }

  // The outermost gateway: on the core.
  Ptr<Node> outer = NewNode();
  const Ipv4Address subnet = NextCoreSubnet();
  NetDeviceContainer link = CoreLink(outer);
  AddInterface(m_coreNode, link.Get(0), Ipv4Address(subnet.Get() + 1), MaskOfSize(kCoreLinkSize));
  site.publicAddress = Ipv4Address(subnet.Get() + 2);

  const auto chain = qp2p::nat::chain_preset(spec.preset);
  Ptr<NatGateway> outerNat =
      chain ? m_natHelper.Install(outer, 1, chain->carrier) : m_natHelper.Install(outer, 1);
  if (!chain) {
    outerNat->SetAttribute("Preset", StringValue(spec.preset));
  }
  const uint32_t outerOutside =
      AddInterface(outer, link.Get(1), site.publicAddress, MaskOfSize(kCoreLinkSize));
  NS_ASSERT(outerOutside == 1);
  SetDefaultRoute(outer, Ipv4Address(subnet.Get() + 1), outerOutside);
  site.gateways.push_back(outerNat);
  site.gatewayNodes.push_back(outer);

  Ptr<Node> home = outer;
  if (chain) {
    // Carrier access link (/30): carrier .1, home gateway .2.
    home = NewNode();
    const Ipv4Address access = NextInsideSubnet(4);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(m_access.rate));
    p2p.SetChannelAttribute("Delay", TimeValue(m_access.delay));
    NetDeviceContainer devices = p2p.Install(outer, home);
    AddLoss(devices.Get(0), m_access.loss);
    AddLoss(devices.Get(1), m_access.loss);
    Ptr<NatGateway> homeNat = m_natHelper.Install(home, 1, chain->home);
    AddInterface(outer, devices.Get(0), Ipv4Address(access.Get() + 1), MaskOfSize(4));
    const uint32_t homeOutside =
        AddInterface(home, devices.Get(1), Ipv4Address(access.Get() + 2), MaskOfSize(4));
    SetDefaultRoute(home, Ipv4Address(access.Get() + 1), homeOutside);
    site.gateways.push_back(homeNat);
    site.gatewayNodes.push_back(home);
  }
  site.gateway = home;
  BuildLan(home, spec.hosts, site);
}

Topology TopologyHelper::Build() {
  NS_ABORT_MSG_IF(m_built, "TopologyHelper::Build called twice");
  m_built = true;
  m_arpDeadTimeout = DefaultChanged("ns3::ArpCache", "DeadTimeout") ? Time() : ArpDeadTimeout();
  Topology topology;
  m_nextStream = m_streamBase;
  m_coreNode = NewNode();
  // A thousand links: hash lookups instead of Ipv4StaticRouting's linear scans.
  m_coreNode->GetObject<Ipv4>()->SetRoutingProtocol(CreateObject<Ipv4HashRouting>());
  topology.core = m_coreNode;

  for (uint32_t i = 0; i < m_supernodeCount; ++i) {
    Ptr<Node> node = NewNode();
    const Ipv4Address subnet = NextCoreSubnet();
    NetDeviceContainer link = CoreLink(node);
    const Ipv4Mask mask = MaskOfSize(kCoreLinkSize);
    AddInterface(m_coreNode, link.Get(0), Ipv4Address(subnet.Get() + 1), mask);
    SupernodeSite site;
    site.node = node;
    site.primary = Ipv4Address(subnet.Get() + 2);
    site.alternate = Ipv4Address(subnet.Get() + 3);
    const uint32_t interface = AddInterface(node, link.Get(1), site.primary, mask);
    // The second address on the same device: the core's connected /29 covers it, and a socket
    // bound to it sends with it as the source (ns-3 keeps a bound source address).
    node->GetObject<Ipv4>()->AddAddress(interface, Ipv4InterfaceAddress(site.alternate, mask));
    SetDefaultRoute(node, Ipv4Address(subnet.Get() + 1), interface);
    topology.supernodes.push_back(site);
  }

  topology.nats.resize(m_sites.size());
  for (std::size_t i = 0; i < m_sites.size(); ++i) {
    BuildSite(m_sites[i], topology.nats[i]);
  }
  m_nextStream += m_stack.AssignStreams(m_nodes, m_nextStream);
  return topology;
}

}  // namespace ns3
