// A network partition between groups of supernodes, as an ns-3 receive error model: installed on
// a supernode's core-facing point-to-point device, it drops every IPv4 packet whose source is an
// address of a supernode in another group while the partition is active. Traffic between
// supernodes and their peers is untouched, so each half keeps serving its peers; only the
// federation is split. A loss model already on the device (TopologyHelper's per-packet loss)
// still applies: it is kept as the inner model and asked first.
#pragma once

#include <cstdint>
#include <unordered_set>

#include "ns3/error-model.h"
#include "ns3/ipv4-address.h"
#include "ns3/net-device.h"

namespace ns3 {

class PartitionErrorModel : public ErrorModel {
 public:
  static TypeId GetTypeId();

  // `inner` may be null (no loss model on the device).
  void SetInner(Ptr<ErrorModel> inner) { m_inner = inner; }
  // Sources dropped while the partition is active: the supernodes of the other group.
  void Block(Ipv4Address source) { m_blocked.insert(source.Get()); }
  void SetActive(bool active) { m_active = active; }
  uint64_t GetDropped() const { return m_dropped; }

  // Installs a model on `device` (keeping its current receive error model as the inner one).
  static Ptr<PartitionErrorModel> Install(Ptr<NetDevice> device);

 private:
  bool DoCorrupt(Ptr<Packet> p) override;
  void DoReset() override {}

  Ptr<ErrorModel> m_inner;
  std::unordered_set<uint32_t> m_blocked;
  bool m_active = false;
  uint64_t m_dropped = 0;
};

}  // namespace ns3
