// A NAT gateway as an nftables ruleset: the RFC 4787 axes of a nat-models NatBehaviour
// (nat-models/nat_behaviour.h) turned into Linux netfilter, in the namespace of the gateway.
// The recipes are the ones ../shared/DESIGN.md ("Real NATs for emulation") verified here:
//
//   mapping endpoint-independent, ports preserving    masquerade (conntrack keeps the port)
//   mapping endpoint-independent, ports random        a dynamic map inner addr.port -> external
//     (the carrier of cgnat, in a port block)          port, filled after SNAT; a new inner
//                                                      endpoint gets `snat to WAN:block random`
//   mapping address-and-port-dependent, random        masquerade fully-random
//   mapping address-and-port-dependent, sequential    snat to WAN : numgen inc mod N map
//                                                      { i : base + i*delta } (a typeof map: the
//                                                      short `offset` form byte-swaps in 1.0.6)
//   filtering address-and-port-dependent              conntrack alone (RFC 4787 section 5)
//   filtering endpoint-independent (full cone)        prerouting dnat by external port through
//                                                      the dynamic map external port -> inner
//   filtering address-dependent (restricted cone)     the same dnat, only from remote IPs the
//                                                      mapping has sent to (a dynamic set)
//   hairpinning (RFC 4787 section 6)                  LAN-side dnat to the inner endpoint plus
//                                                      snat to the sender's external endpoint
//   icmp_on_unsolicited (hostile)                     INPUT policy accept: the kernel answers an
//                                                      unsolicited datagram with ICMP port
//                                                      unreachable; otherwise silent drop
//   loss                                              `numgen random mod 100 < N drop` on the
//                                                      forward path (UDP, both directions)
//
// Address-dependent mapping has no netfilter recipe here and is refused with a message.
#pragma once

#include <cstdint>
#include <string>

#include "nat-models/nat_behaviour.h"

namespace qp2p::emu {

struct GatewayRules {
  nat::NatBehaviour behaviour;  // translating must be true
  std::string wan_interface = "wan";
  std::string lan_interface = "lan";
  std::string wan_address;  // the gateway's public (or carrier-side) IPv4 address
  int loss_percent = 0;     // 0..100, on UDP forwarded through the gateway
};

// The external ports of allocation strategies that do not preserve the inner port: the
// sequential counter starts here, the carrier's port block is [base, base + block size).
inline constexpr std::uint16_t kTranslatedPortBase = 20480;  // 40 * 512: block-aligned
// Sequential allocation cycles through this many ports (one new mapping each): far more than a
// scenario opens within the 120 s mapping timeout, so the counter never meets a live mapping.
inline constexpr std::uint32_t kSequentialPorts = 1024;

// The `nft -f` script of table "ip qp2p" for the gateway, or throws std::invalid_argument
// naming the behaviour that cannot be realised.
std::string gateway_ruleset(const GatewayRules& rules);

}  // namespace qp2p::emu
