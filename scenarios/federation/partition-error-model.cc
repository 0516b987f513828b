#include "scenarios/federation/partition-error-model.h"

#include "ns3/ipv4-header.h"
#include "ns3/net-device.h"
#include "ns3/packet.h"
#include "ns3/pointer.h"
#include "ns3/ppp-header.h"

namespace ns3 {

NS_OBJECT_ENSURE_REGISTERED(PartitionErrorModel);

TypeId PartitionErrorModel::GetTypeId() {
  static TypeId tid = TypeId("ns3::PartitionErrorModel")
                          .SetParent<ErrorModel>()
                          .SetGroupName("Qp2p")
                          .AddConstructor<PartitionErrorModel>();
  return tid;
}

Ptr<PartitionErrorModel> PartitionErrorModel::Install(Ptr<NetDevice> device) {
  PointerValue current;
  device->GetAttribute("ReceiveErrorModel", current);
  Ptr<PartitionErrorModel> model = CreateObject<PartitionErrorModel>();
  model->SetInner(current.Get<ErrorModel>());
  device->SetAttribute("ReceiveErrorModel", PointerValue(model));
  return model;
}

bool PartitionErrorModel::DoCorrupt(Ptr<Packet> p) {
  if (m_inner && m_inner->IsCorrupt(p)) {
    return true;
  }
  if (!m_active || m_blocked.empty()) {
    return false;
  }
  // A point-to-point device asks before removing its PPP header: skip it to read the source.
  Ptr<Packet> copy = p->Copy();
  PppHeader ppp;
  copy->RemoveHeader(ppp);
  if (ppp.GetProtocol() != 0x0021) {  // not IPv4
    return false;
  }
  Ipv4Header ip;
  copy->PeekHeader(ip);
  if (m_blocked.count(ip.GetSource().Get()) == 0) {
    return false;
  }
  ++m_dropped;
  return true;
}

}  // namespace ns3
