// Conversions between the sans-IO core's value types (stack/core) and ns-3's, and the seed
// derivation every qp2p object in a simulation uses.
//
// Time: the core's Instant counts microseconds; ns-3's Simulator::Now() is converted by
// truncation to whole microseconds, deadlines back by MicroSeconds(). A deadline therefore never
// fires before the instant the core asked for.
//
// Seeds: a simulation replays exactly when every qp2p::Random it creates is a pure function of
// (RngSeedManager::GetSeed(), RngSeedManager::GetRun(), node id, role, index). DeriveSeed() is
// that function (a splitmix64 chain); a non-zero "Seed" attribute on an object replaces the
// seed/run part, so identities can be pinned across runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-address.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/ptr.h"
#include "stack/core/endpoint.h"
#include "stack/core/instant.h"

namespace ns3 {

// Roles salted into DeriveSeed so that objects on one node draw unrelated streams.
enum class Qp2pSeedRole : uint32_t {
  kSupernode = 1,
  kPeer = 2,
  kNatGateway = 3,
};

qp2p::Instant ToInstant(Time t);
// The simulation time of a core deadline (not meaningful for qp2p::kNever).
Time ToTime(qp2p::Instant t);
Time ToTime(qp2p::Duration d);
qp2p::Duration ToDuration(Time t);

// IPv4 only: the simulator runs IPv4 topologies. An IPv6 address converts to 0.0.0.0.
qp2p::IpAddress ToIpAddress(Ipv4Address a);
Ipv4Address ToIpv4Address(const qp2p::IpAddress& a);
qp2p::Endpoint ToEndpoint(Ipv4Address a, uint16_t port);
qp2p::Endpoint ToEndpoint(const InetSocketAddress& a);
InetSocketAddress ToInetSocketAddress(const qp2p::Endpoint& e);

// Every IPv4 address of the node except loopback, in interface then address order.
std::vector<Ipv4Address> GetNodeAddresses(Ptr<Node> node);

// "a, b,c" -> {"a", "b", "c"}: items of a comma-separated attribute, blanks trimmed, empty ones
// skipped.
std::vector<std::string> SplitList(const std::string& text);
// "IP:PORT,IP:PORT,...": IPv4 endpoints appended to `out`; false with `error` at a bad item.
bool ParseEndpointList(const std::string& text, std::vector<qp2p::Endpoint>* out,
                       std::string* error);

// A 64-bit seed for qp2p::Random::from_u64. `base` 0 means "the current RngSeedManager seed and
// run"; otherwise `base` is used in their place.
uint64_t DeriveSeed(uint64_t base, uint32_t nodeId, Qp2pSeedRole role, uint32_t index);

}  // namespace ns3
