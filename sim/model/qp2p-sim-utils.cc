#include "sim/model/qp2p-sim-utils.h"

#include "ns3/ipv4.h"
#include "ns3/rng-seed-manager.h"

namespace ns3 {

namespace {

// splitmix64's finaliser: a bijective mix, so distinct inputs never collide by construction.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

qp2p::Instant ToInstant(Time t) { return qp2p::instant_from_us(t.GetMicroSeconds()); }

Time ToTime(qp2p::Instant t) { return MicroSeconds(qp2p::to_us(t)); }

Time ToTime(qp2p::Duration d) { return MicroSeconds(d.count()); }

qp2p::Duration ToDuration(Time t) { return qp2p::Duration(t.GetMicroSeconds()); }

qp2p::IpAddress ToIpAddress(Ipv4Address a) { return qp2p::IpAddress::v4(a.Get()); }

Ipv4Address ToIpv4Address(const qp2p::IpAddress& a) {
  return a.is_v4() ? Ipv4Address(a.v4_host_order()) : Ipv4Address::GetAny();
}

qp2p::Endpoint ToEndpoint(Ipv4Address a, uint16_t port) { return {ToIpAddress(a), port}; }

qp2p::Endpoint ToEndpoint(const InetSocketAddress& a) {
  return ToEndpoint(a.GetIpv4(), a.GetPort());
}

InetSocketAddress ToInetSocketAddress(const qp2p::Endpoint& e) {
  return InetSocketAddress(ToIpv4Address(e.address), e.port);
}

std::vector<Ipv4Address> GetNodeAddresses(Ptr<Node> node) {
  std::vector<Ipv4Address> out;
  Ptr<Ipv4> ipv4 = node->GetObject<Ipv4>();
  if (!ipv4) {
    return out;
  }
  for (uint32_t i = 0; i < ipv4->GetNInterfaces(); ++i) {
    for (uint32_t j = 0; j < ipv4->GetNAddresses(i); ++j) {
      const Ipv4Address a = ipv4->GetAddress(i, j).GetLocal();
      if (!a.IsLocalhost()) {
        out.push_back(a);
      }
    }
  }
  return out;
}

// Items of a comma-separated list, trimmed of blanks; empty items are skipped.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string::npos ? text.size() : comma;
    std::string item = text.substr(start, end - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) {
      out.push_back(item.substr(first, last - first + 1));
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

bool ParseEndpointList(const std::string& text, std::vector<qp2p::Endpoint>* out,
                       std::string* error) {
  for (const std::string& item : SplitList(text)) {
    auto e = qp2p::Endpoint::parse(item);
    if (!e || !e->address.is_v4()) {
      *error = "not an IPv4 IP:PORT: '" + item + "'";
      return false;
    }
    out->push_back(*e);
  }
  return true;
}

uint64_t DeriveSeed(uint64_t base, uint32_t nodeId, Qp2pSeedRole role, uint32_t index) {
  uint64_t h =
      base != 0 ? Mix(base) : Mix(Mix(RngSeedManager::GetSeed()) ^ RngSeedManager::GetRun());
  h = Mix(h ^ nodeId);
  h = Mix(h ^ static_cast<uint32_t>(role));
  return Mix(h ^ index);
}

}  // namespace ns3
