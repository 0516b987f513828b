// NAT behaviour to nftables (see nat_rules.h for the recipe per RFC 4787 axis).
#include "scenarios/emulation/nat_rules.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace qp2p::emu {
namespace {

using nat::Dependency;
using nat::PortAllocation;

// RFC 4787 REQ-5: two minutes, as the models' default mapping timeout.
std::string timeout_text(const nat::NatBehaviour& b) {
  return std::to_string(std::max<long long>(1, to_ms(b.mapping_timeout) / 1000)) + "s";
}

bool eim_random(const nat::NatBehaviour& b) {
  return b.mapping == Dependency::kEndpointIndependent &&
         b.port_allocation != PortAllocation::kPreserving;
}

// The statement that translates a new outbound flow (postrouting, nat type).
std::string snat_statement(const GatewayRules& r) {
  const nat::NatBehaviour& b = r.behaviour;
  const std::string wan = r.wan_address;
  if (b.mapping == Dependency::kEndpointIndependent) {
    if (b.port_allocation == PortAllocation::kPreserving) return "masquerade";
    if (b.port_allocation == PortAllocation::kRandom) {
      const std::uint32_t size = b.port_block_size != 0 ? b.port_block_size : 4096;
      return "snat ip to " + wan + " : " + std::to_string(kTranslatedPortBase) + "-" +
             std::to_string(kTranslatedPortBase + size - 1) + " random";
    }
    throw std::invalid_argument(
        "endpoint-independent mapping with sequential ports has no recipe here");
  }
  if (b.mapping == Dependency::kAddressAndPortDependent) {
    if (b.port_allocation == PortAllocation::kRandom) return "masquerade fully-random";
    if (b.port_allocation == PortAllocation::kSequential) {
      return "snat ip to " + wan + " : numgen inc mod " + std::to_string(kSequentialPorts) +
             " map @seqmap";
    }
    throw std::invalid_argument(
        "address-and-port-dependent mapping with preserved ports has no recipe here");
  }
  throw std::invalid_argument("address-dependent mapping has no netfilter recipe here");
}

}  // namespace

std::string gateway_ruleset(const GatewayRules& r) {
  const nat::NatBehaviour& b = r.behaviour;
  if (!b.translating) throw std::invalid_argument("an open site has no gateway ruleset");
  if (auto why = b.validate()) throw std::invalid_argument("behaviour: " + *why);
  if (r.wan_address.empty()) throw std::invalid_argument("gateway without a wan address");
  const std::string wan_if = "\"" + r.wan_interface + "\"";
  const std::string lan_if = "\"" + r.lan_interface + "\"";
  const std::string timeout = timeout_text(b);
  const std::string snat = snat_statement(r);  // throws first for behaviours without a recipe
  const std::string dnat_to_inner = "dnat ip addr . port to udp dport map @outmap";

  std::ostringstream s;
  s << "table ip qp2p {\n";
  // External port -> inner endpoint, and (remote IP . external port) the mapping has sent to.
  s << "  map outmap { type inet_service : ipv4_addr . inet_service; flags dynamic,timeout; "
       "timeout "
    << timeout << "; }\n";
  s << "  set sentto { type ipv4_addr . inet_service; flags dynamic,timeout; timeout " << timeout
    << "; }\n";
  if (eim_random(b)) {
    s << "  map eimmap { type ipv4_addr . inet_service : inet_service; flags dynamic,timeout; "
         "timeout "
      << timeout << "; }\n";
  }
  if (b.mapping == Dependency::kAddressAndPortDependent &&
      b.port_allocation == PortAllocation::kSequential) {
    s << "  map seqmap { typeof numgen inc mod " << kSequentialPorts
      << " : udp sport; elements = { ";
    for (std::uint32_t i = 0; i < kSequentialPorts; ++i) {
      const std::uint32_t port =
          kTranslatedPortBase + (i * b.sequential_delta) % (65536u - kTranslatedPortBase);
      s << (i ? ", " : "") << i << " : " << port;
    }
    s << " } }\n";
  }

  s << "  chain input {\n    type filter hook input priority filter; policy "
    << (b.icmp_on_unsolicited ? "accept" : "drop") << ";\n"
    << "    ct state established,related accept\n    iif \"lo\" accept\n"
    << "    iifname " << lan_if << " accept\n  }\n";

  s << "  chain forward {\n    type filter hook forward priority filter; policy drop;\n";
  if (r.loss_percent > 0) {
    s << "    meta l4proto udp numgen random mod 100 < " << r.loss_percent << " drop\n";
  }
  s << "    ct state established,related accept\n    iifname " << lan_if << " accept\n"
    << "    ct status dnat accept\n  }\n";

  s << "  chain prerouting {\n    type nat hook prerouting priority dstnat;\n";
  if (b.filtering == Dependency::kEndpointIndependent) {
    s << "    iifname " << wan_if << " meta l4proto udp " << dnat_to_inner << "\n";
  } else if (b.filtering == Dependency::kAddressDependent) {
    s << "    iifname " << wan_if << " meta l4proto udp ip saddr . udp dport @sentto "
      << dnat_to_inner << "\n";
  }
  if (b.hairpinning) {
    s << "    iifname " << lan_if << " ip daddr " << r.wan_address << " meta l4proto udp "
      << dnat_to_inner << "\n";
  }
  s << "  }\n";

  s << "  chain postrouting {\n    type nat hook postrouting priority srcnat;\n";
  if (b.hairpinning) {
    // The hairpinned datagram leaves from the sender's external endpoint.
    const std::string hairpin_prefix =
        "    iifname " + lan_if + " oifname " + lan_if + " ct status dnat meta l4proto udp ";
    if (eim_random(b)) {
      s << hairpin_prefix << "snat ip to " << r.wan_address
        << " : ip saddr . udp sport map @eimmap\n";
    }
    s << hairpin_prefix << "snat ip to " << r.wan_address << "\n";
  }
  if (eim_random(b)) {
    // A known inner endpoint keeps its external port; a new one falls through to the block.
    s << "    oifname " << wan_if << " meta l4proto udp snat ip to " << r.wan_address
      << " : ip saddr . udp sport map @eimmap\n";
  }
  s << "    oifname " << wan_if << " meta l4proto udp " << snat << "\n";
  s << "    oifname " << wan_if << " masquerade\n  }\n";

  // After SNAT (priority srcnat + 1) the packet carries its external source: remember the
  // mapping for inbound dnat, hairpinning and the endpoint-independent random allocation.
  s << "  chain record {\n    type filter hook postrouting priority srcnat + 1;\n";
  const std::string rec = "    oifname " + wan_if + " ct direction original meta l4proto udp ";
  s << rec << "update @outmap { udp sport : ct original ip saddr . ct original proto-src }\n";
  s << rec << "update @sentto { ip daddr . udp sport }\n";
  if (eim_random(b)) {
    s << rec << "update @eimmap { ct original ip saddr . ct original proto-src : udp sport }\n";
  }
  s << "  }\n}\n";
  return s.str();
}

}  // namespace qp2p::emu
