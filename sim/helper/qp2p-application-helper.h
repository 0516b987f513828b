// Helpers that install the qp2p applications on nodes, in the manner of ns-3's
// UdpEchoServerHelper: attributes set once on the helper apply to every application installed.
//
//   SupernodeHelper supernodes;
//   ApplicationContainer s = supernodes.Install(topology.supernodes[0].node);
//   PeerHelper peers(topology.SupernodeEndpoints());
//   peers.SetAttribute("Metadata", StringValue("role=worker"));
//   ApplicationContainer p = peers.Install(topology.Hosts());
#pragma once

#include <string>
#include <vector>

#include "ns3/application-container.h"
#include "ns3/attribute.h"
#include "ns3/inet-socket-address.h"
#include "ns3/node-container.h"
#include "ns3/object-factory.h"

namespace ns3 {

class SupernodeHelper {
 public:
  SupernodeHelper();
  // Any SupernodeApplication attribute.
  void SetAttribute(const std::string& name, const AttributeValue& value);
  ApplicationContainer Install(Ptr<Node> node) const;
  ApplicationContainer Install(const NodeContainer& nodes) const;

 private:
  ObjectFactory m_factory;
};

class PeerHelper {
 public:
  PeerHelper();
  explicit PeerHelper(const std::vector<InetSocketAddress>& supernodes);
  void SetSupernodes(const std::vector<InetSocketAddress>& supernodes);
  // Any PeerApplication attribute.
  void SetAttribute(const std::string& name, const AttributeValue& value);
  ApplicationContainer Install(Ptr<Node> node) const;
  ApplicationContainer Install(const NodeContainer& nodes) const;

 private:
  ObjectFactory m_factory;
};

class NatDiscoveryHelper {
 public:
  // `server`: the supernode's primary STUN endpoint.
  explicit NatDiscoveryHelper(const InetSocketAddress& server);
  // Any NatDiscoveryApplication attribute.
  void SetAttribute(const std::string& name, const AttributeValue& value);
  ApplicationContainer Install(Ptr<Node> node) const;
  ApplicationContainer Install(const NodeContainer& nodes) const;

 private:
  ObjectFactory m_factory;
};

}  // namespace ns3
