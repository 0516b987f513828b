// The ICMP side of NatGateway (sim/model/nat-gateway.h), as a Linux NAT router behaves:
//   - a datagram whose TTL runs out at the gateway takes no mapping (Linux drops it in
//     ip_forward, before POSTROUTING's source NAT) and is answered with ICMP time exceeded by the
//     forwarding path like at any router (ExpiresHere); qp2p's opening checks rely on this
//     (stack/tunnel/hole_punch.h, docs/protocol.md section 8.6);
//   - a datagram the table refuses is dropped, and with a kReject verdict (the hostile
//     IcmpOnUnsolicited gateway, whose conntrack side effect nat-models/nat_table.h models)
//     answered with ICMP port unreachable (Refuse).
#include "ns3/icmpv4-l4-protocol.h"
#include "ns3/ipv4.h"
#include "sim/model/nat-gateway.h"
#include "sim/model/qp2p-sim-utils.h"

namespace ns3 {

bool NatGateway::ExpiresHere(const Ipv4Header& header) {
  // Ipv4L3Protocol::IpForward drops a datagram arriving with TTL 1 (or 0) and sends the time
  // exceeded: the caller hands it to the static routing untranslated.
  return header.GetTtl() <= 1;
}

void NatGateway::Refuse(Ptr<const Packet> p, const Ipv4Header& header,
                        const qp2p::nat::InboundVerdict& v, const qp2p::Endpoint& source,
                        const qp2p::Endpoint& destination) {
  ++m_counters.droppedTable;
  const std::string reason(qp2p::nat::to_string(v.reason));
  Drop(reason, source, destination);
  if (v.action != qp2p::nat::InboundVerdict::Action::kReject) {
    return;
  }
  if (Ptr<Icmpv4L4Protocol> icmp = m_ipv4->GetObject<Icmpv4L4Protocol>()) {
    // Sent by the gateway itself: from the address facing the sender (the public address for
    // an inbound packet), quoting the refused datagram's IP header and UDP header.
    icmp->SendDestUnreachPort(header, p);
    ++m_counters.icmpSent;
  }
  if (!m_rejectTrace.IsEmpty()) {
    m_rejectTrace(reason, ToInetSocketAddress(source), ToInetSocketAddress(destination));
  }
}

}  // namespace ns3
