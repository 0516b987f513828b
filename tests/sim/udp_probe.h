// A plain ns-3 UDP socket for probing NAT behaviour from the outside: no qp2p code, so the NAT
// gateway is judged by what ordinary ns-3 sockets see. It records every datagram (source, text,
// time) and every ICMP error reported on the socket.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "ns3/callback.h"
#include "ns3/fatal-error.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-address.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/socket.h"
#include "ns3/udp-socket-factory.h"

namespace qp2p_sim_test {

struct SeenFrom {
  ns3::Ipv4Address address;
  uint16_t port = 0;
  friend bool operator==(const SeenFrom& a, const SeenFrom& b) {
    return a.address == b.address && a.port == b.port;
  }
  friend bool operator!=(const SeenFrom& a, const SeenFrom& b) { return !(a == b); }
};

inline std::ostream& operator<<(std::ostream& os, const SeenFrom& s) {
  return os << s.address << ":" << s.port;
}

class UdpProbe {
 public:
  struct Datagram {
    SeenFrom from;
    std::string text;
    ns3::Time at;
  };
  struct IcmpError {
    ns3::Ipv4Address reporter;
    uint8_t type = 0;
    uint8_t code = 0;
  };

  UdpProbe(ns3::Ptr<ns3::Node> node, ns3::Ipv4Address address, uint16_t port)
      : m_local{address, port} {
    m_socket = ns3::Socket::CreateSocket(node, ns3::UdpSocketFactory::GetTypeId());
    m_socket->SetAttribute("IcmpCallback",
                           ns3::CallbackValue(ns3::MakeCallback(&UdpProbe::OnIcmp, this)));
    if (m_socket->Bind(ns3::InetSocketAddress(address, port)) != 0) {
      NS_FATAL_ERROR("UdpProbe: cannot bind " << address << ":" << port);
    }
    m_socket->SetRecvCallback(ns3::MakeCallback(&UdpProbe::OnRead, this));
  }
  ~UdpProbe() { m_socket->Close(); }
  UdpProbe(const UdpProbe&) = delete;
  UdpProbe& operator=(const UdpProbe&) = delete;

  void SendTo(ns3::Ipv4Address address, uint16_t port, const std::string& text) {
    ns3::Ptr<ns3::Packet> p =
        ns3::Create<ns3::Packet>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    m_socket->SendTo(p, 0, ns3::InetSocketAddress(address, port));
  }
  void SendTo(const SeenFrom& to, const std::string& text) { SendTo(to.address, to.port, text); }
  // Sends at simulation time `at` (absolute).
  void SendAt(ns3::Time at, ns3::Ipv4Address address, uint16_t port, const std::string& text) {
    ns3::Simulator::Schedule(at - ns3::Simulator::Now(),
                             [this, address, port, text] { SendTo(address, port, text); });
  }
  // Sends at `at` to an endpoint only known then (e.g. a mapping observed earlier).
  void SendAt(ns3::Time at, const SeenFrom* to, const std::string& text) {
    ns3::Simulator::Schedule(at - ns3::Simulator::Now(), [this, to, text] { SendTo(*to, text); });
  }

  const std::vector<Datagram>& received() const { return m_received; }
  const std::vector<IcmpError>& icmp() const { return m_icmp; }
  const SeenFrom& local() const { return m_local; }
  // The source of the first datagram whose text is `text`, or 0.0.0.0:0.
  SeenFrom SourceOf(const std::string& text) const {
    for (const auto& d : m_received) {
      if (d.text == text) return d.from;
    }
    return {};
  }
  bool Got(const std::string& text) const {
    for (const auto& d : m_received) {
      if (d.text == text) return true;
    }
    return false;
  }

 private:
  void OnRead(ns3::Ptr<ns3::Socket> socket) {
    ns3::Address from;
    while (ns3::Ptr<ns3::Packet> p = socket->RecvFrom(from)) {
      std::string text(p->GetSize(), '\0');
      p->CopyData(reinterpret_cast<uint8_t*>(text.data()), text.size());
      const auto inet = ns3::InetSocketAddress::ConvertFrom(from);
      m_received.push_back({{inet.GetIpv4(), inet.GetPort()}, text, ns3::Simulator::Now()});
    }
  }
  void OnIcmp(ns3::Ipv4Address reporter, uint8_t ttl, uint8_t type, uint8_t code, uint32_t info) {
    m_icmp.push_back({reporter, type, code});
  }

  SeenFrom m_local;
  ns3::Ptr<ns3::Socket> m_socket;
  std::vector<Datagram> m_received;
  std::vector<IcmpError> m_icmp;
};

}  // namespace qp2p_sim_test
