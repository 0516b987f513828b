// NatGateway's NAT-PMP responder (RFC 6886; sim/model/nat-gateway.h, "NAT-PMP"): the answer to
// an external address request sent to the gateway's inside address, port 5351, built with
// stack/discovery/nat_pmp.h, and GetNatPmpServer, where a host asks (its default gateway).
#include "ns3/ipv4-route.h"
#include "ns3/ipv4-routing-table-entry.h"
#include "ns3/ipv4-static-routing-helper.h"
#include "ns3/ipv4.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/udp-header.h"
#include "sim/model/nat-gateway.h"
#include "sim/model/qp2p-sim-utils.h"
#include "stack/discovery/nat_pmp.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("NatGatewayNatPmp");

std::optional<InetSocketAddress> NatGateway::GetNatPmpServer(Ptr<Node> host) {
  Ptr<Ipv4> ipv4 = host ? host->GetObject<Ipv4>() : nullptr;
  if (!ipv4) {
    return std::nullopt;
  }
  Ipv4StaticRoutingHelper helper;
  Ptr<Ipv4StaticRouting> routing = helper.GetStaticRouting(ipv4);
  if (!routing) {
    if (Ptr<NatGateway> nat = DynamicCast<NatGateway>(ipv4->GetRoutingProtocol())) {
      routing = nat->GetStaticRouting();
    }
  }
  if (!routing) {
    return std::nullopt;
  }
  for (uint32_t i = 0; i < routing->GetNRoutes(); ++i) {
    const Ipv4RoutingTableEntry route = routing->GetRoute(i);
    if (route.IsDefault() && route.IsGateway()) {
      return InetSocketAddress(route.GetGateway(), qp2p::nat_pmp::kServerPort);
    }
  }
  return std::nullopt;
}

bool NatGateway::AnswerNatPmp(Ptr<const Packet> p, const Ipv4Header& header, uint32_t iif) {
  if (header.GetProtocol() != kUdpProtocol || IsFragment(header)) {
    return false;
  }
  // Only on the address of the interface the request came in on (the host's default gateway).
  bool onInterface = false;
  for (uint32_t i = 0; i < m_ipv4->GetNAddresses(iif); ++i) {
    onInterface = onInterface || m_ipv4->GetAddress(iif, i).GetLocal() == header.GetDestination();
  }
  UdpHeader udp;
  if (!onInterface || p->PeekHeader(udp) == 0 ||
      udp.GetDestinationPort() != qp2p::nat_pmp::kServerPort) {
    return false;
  }
  const uint32_t size = p->GetSize() - udp.GetSerializedSize();
  if (size > qp2p::nat_pmp::kMaxRequestSize) {
    return true;  // not NAT-PMP (nor PCP): dropped
  }
  qp2p::Bytes request(p->GetSize());
  p->CopyData(request.data(), p->GetSize());
  request.erase(request.begin(), request.begin() + udp.GetSerializedSize());
  const auto parsed = qp2p::nat_pmp::parse_request(request.data(), request.size());
  if (!parsed) {
    return true;  // a response or a stub: RFC 6886 section 3.5 says ignore it
  }
  const auto epoch = static_cast<uint32_t>((Simulator::Now() - m_epochStart).GetSeconds());
  qp2p::Bytes answer;
  if (parsed->version != qp2p::nat_pmp::kVersion) {
    qp2p::nat_pmp::append_unsupported_version_response(answer, parsed->opcode, epoch);
  } else if (parsed->opcode != qp2p::nat_pmp::kOpExternalAddress) {
    qp2p::nat_pmp::append_unsupported_opcode_response(answer, request.data(), request.size());
  } else if (m_outside < m_ipv4->GetNInterfaces() && m_ipv4->GetNAddresses(m_outside) > 0) {
    const Ipv4Address external = m_ipv4->GetAddress(m_outside, 0).GetLocal();
    qp2p::nat_pmp::append_external_address_response(answer, qp2p::nat_pmp::ResultCode::kSuccess,
                                                    epoch, ToIpAddress(external));
  } else {
    qp2p::nat_pmp::append_external_address_response(
        answer, qp2p::nat_pmp::ResultCode::kNetworkFailure, epoch, qp2p::IpAddress());
  }

  // From the address asked, port 5351, to the requester.
  const Ipv4Address from = header.GetDestination();
  const Ipv4Address to = header.GetSource();
  Ptr<Packet> packet = Create<Packet>(answer.data(), static_cast<uint32_t>(answer.size()));
  UdpHeader reply;
  reply.SetSourcePort(qp2p::nat_pmp::kServerPort);
  reply.SetDestinationPort(udp.GetSourcePort());
  if (Node::ChecksumEnabled()) {
    reply.EnableChecksums();
    reply.InitializeChecksum(from, to, kUdpProtocol);
  }
  packet->AddHeader(reply);
  Ipv4Header replyHeader;
  replyHeader.SetSource(from);
  replyHeader.SetDestination(to);
  replyHeader.SetProtocol(kUdpProtocol);
  Ptr<Ipv4Route> route = Lookup(replyHeader);
  if (!route) {
    ++m_counters.droppedNoRoute;
    return true;
  }
  ++m_counters.natPmpAnswered;
  NS_LOG_LOGIC("NAT-PMP answer to " << to << ":" << udp.GetSourcePort() << " (" << answer.size()
                                    << " bytes)");
  m_ipv4->Send(packet, from, to, kUdpProtocol, route);
  return true;
}

}  // namespace ns3
