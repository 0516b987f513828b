#include "sim/helper/nat-gateway-helper.h"

#include "ns3/fatal-error.h"
#include "ns3/ipv4.h"
#include "ns3/string.h"

namespace ns3 {

NatGatewayHelper::NatGatewayHelper() { m_factory.SetTypeId(NatGateway::GetTypeId()); }

void NatGatewayHelper::SetAttribute(const std::string& name, const AttributeValue& value) {
  m_factory.Set(name, value);
}

void NatGatewayHelper::SetPreset(const std::string& preset) {
  m_factory.Set("Preset", StringValue(preset));
}

Ptr<NatGateway> NatGatewayHelper::Install(Ptr<Node> node, uint32_t outsideInterface) const {
  Ptr<Ipv4> ipv4 = node->GetObject<Ipv4>();
  NS_ABORT_MSG_IF(!ipv4, "NatGatewayHelper: node " << node->GetId() << " has no Internet stack");
  Ptr<NatGateway> gateway = m_factory.Create<NatGateway>();
  gateway->SetOutsideInterface(outsideInterface);
  ipv4->SetRoutingProtocol(gateway);
  return gateway;
}

Ptr<NatGateway> NatGatewayHelper::Install(Ptr<Node> node, uint32_t outsideInterface,
                                          const qp2p::nat::NatBehaviour& behaviour) const {
  Ptr<Ipv4> ipv4 = node->GetObject<Ipv4>();
  NS_ABORT_MSG_IF(!ipv4, "NatGatewayHelper: node " << node->GetId() << " has no Internet stack");
  Ptr<NatGateway> gateway = m_factory.Create<NatGateway>();
  gateway->SetOutsideInterface(outsideInterface);
  gateway->SetBehaviour(behaviour);
  ipv4->SetRoutingProtocol(gateway);
  return gateway;
}

Ptr<NatGateway> NatGatewayHelper::Get(Ptr<Node> node) {
  Ptr<Ipv4> ipv4 = node->GetObject<Ipv4>();
  return ipv4 ? DynamicCast<NatGateway>(ipv4->GetRoutingProtocol()) : nullptr;
}

}  // namespace ns3
