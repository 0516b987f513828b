// Installs a NatGateway (sim/model/nat-gateway.h) as a node's IPv4 routing protocol.
//
//   NatGatewayHelper nat;
//   nat.SetAttribute("Preset", StringValue("symmetric"));
//   Ptr<NatGateway> gw = nat.Install(node, outsideInterface);
//   gw->GetStaticRouting()->SetDefaultRoute(upstream, outsideInterface);
//
// The node must have an Internet stack; its previous routing protocol is replaced (routes added
// to it are lost: add static routes through GetStaticRouting() afterwards). Interfaces and
// addresses may be added before or after.
#pragma once

#include <cstdint>
#include <string>

#include "nat-models/nat_behaviour.h"
#include "ns3/attribute.h"
#include "ns3/node.h"
#include "ns3/object-factory.h"
#include "ns3/ptr.h"
#include "sim/model/nat-gateway.h"

namespace ns3 {

class NatGatewayHelper {
 public:
  NatGatewayHelper();

  // Any NatGateway attribute (Preset, Mapping, Filtering, Hairpinning, ...).
  void SetAttribute(const std::string& name, const AttributeValue& value);
  void SetPreset(const std::string& preset);

  Ptr<NatGateway> Install(Ptr<Node> node, uint32_t outsideInterface) const;
  // With an explicit behaviour (e.g. one half of nat::chain_preset("cgnat")).
  Ptr<NatGateway> Install(Ptr<Node> node, uint32_t outsideInterface,
                          const qp2p::nat::NatBehaviour& behaviour) const;

  // The NatGateway of a node, or null.
  static Ptr<NatGateway> Get(Ptr<Node> node);

 private:
  ObjectFactory m_factory;
};

}  // namespace ns3
