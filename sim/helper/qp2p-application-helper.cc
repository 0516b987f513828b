#include "sim/helper/qp2p-application-helper.h"

#include "ns3/string.h"
#include "sim/model/nat-discovery-application.h"
#include "sim/model/peer-application.h"
#include "sim/model/qp2p-sim-utils.h"
#include "sim/model/supernode-application.h"

namespace ns3 {

SupernodeHelper::SupernodeHelper() { m_factory.SetTypeId(SupernodeApplication::GetTypeId()); }

void SupernodeHelper::SetAttribute(const std::string& name, const AttributeValue& value) {
  m_factory.Set(name, value);
}

ApplicationContainer SupernodeHelper::Install(Ptr<Node> node) const {
  Ptr<Application> app = m_factory.Create<SupernodeApplication>();
  node->AddApplication(app);
  return ApplicationContainer(app);
}

ApplicationContainer SupernodeHelper::Install(const NodeContainer& nodes) const {
  ApplicationContainer apps;
  for (auto i = nodes.Begin(); i != nodes.End(); ++i) {
    apps.Add(Install(*i));
  }
  return apps;
}

PeerHelper::PeerHelper() { m_factory.SetTypeId(PeerApplication::GetTypeId()); }

PeerHelper::PeerHelper(const std::vector<InetSocketAddress>& supernodes) : PeerHelper() {
  SetSupernodes(supernodes);
}

void PeerHelper::SetSupernodes(const std::vector<InetSocketAddress>& supernodes) {
  std::string text;
  for (const InetSocketAddress& a : supernodes) {
    text += (text.empty() ? "" : ",") + ToEndpoint(a).to_string();
  }
  m_factory.Set("Supernodes", StringValue(text));
}

void PeerHelper::SetAttribute(const std::string& name, const AttributeValue& value) {
  m_factory.Set(name, value);
}

ApplicationContainer PeerHelper::Install(Ptr<Node> node) const {
  Ptr<Application> app = m_factory.Create<PeerApplication>();
  node->AddApplication(app);
  return ApplicationContainer(app);
}

ApplicationContainer PeerHelper::Install(const NodeContainer& nodes) const {
  ApplicationContainer apps;
  for (auto i = nodes.Begin(); i != nodes.End(); ++i) {
    apps.Add(Install(*i));
  }
  return apps;
}

NatDiscoveryHelper::NatDiscoveryHelper(const InetSocketAddress& server) {
  m_factory.SetTypeId(NatDiscoveryApplication::GetTypeId());
  m_factory.Set("Server", StringValue(ToEndpoint(server).to_string()));
}

void NatDiscoveryHelper::SetAttribute(const std::string& name, const AttributeValue& value) {
  m_factory.Set(name, value);
}

ApplicationContainer NatDiscoveryHelper::Install(Ptr<Node> node) const {
  Ptr<Application> app = m_factory.Create<NatDiscoveryApplication>();
  node->AddApplication(app);
  return ApplicationContainer(app);
}

ApplicationContainer NatDiscoveryHelper::Install(const NodeContainer& nodes) const {
  ApplicationContainer apps;
  for (auto i = nodes.Begin(); i != nodes.End(); ++i) {
    apps.Add(Install(*i));
  }
  return apps;
}

}  // namespace ns3
