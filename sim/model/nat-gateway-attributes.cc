// NatGateway's configuration (sim/model/nat-gateway.h): its ns-3 TypeId (the Attributes and
// TraceSources) and the qp2p::nat::NatBehaviour they select, a preset (nat-models/nat_behaviour.h)
// with every RFC 4787 axis attribute that is not "preset" (or 0) applied on top, unless
// SetBehaviour() named one outright.
#include "ns3/abort.h"
#include "ns3/boolean.h"
#include "ns3/enum.h"
#include "ns3/fatal-error.h"
#include "ns3/string.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/uinteger.h"
#include "sim/model/nat-gateway.h"
#include "sim/model/qp2p-sim-utils.h"

namespace ns3 {

NS_OBJECT_ENSURE_REGISTERED(NatGateway);

namespace {

// Mapping and Filtering: "preset", or one of RFC 4787's three dependencies.
Ptr<const AttributeChecker> DependencyChecker() {
  return MakeEnumChecker(NatGateway::DEPENDENCY_FROM_PRESET, "preset",
                         NatGateway::ENDPOINT_INDEPENDENT, "endpoint-independent",
                         NatGateway::ADDRESS_DEPENDENT, "address-dependent",
                         NatGateway::ADDRESS_AND_PORT_DEPENDENT, "address-and-port-dependent");
}

// The boolean axes: "preset", "on" or "off".
Ptr<const AttributeChecker> OverrideChecker() {
  return MakeEnumChecker(NatGateway::FROM_PRESET, "preset", NatGateway::ON, "on", NatGateway::OFF,
                         "off");
}

}  // namespace

TypeId NatGateway::GetTypeId() {
  static TypeId tid =
      TypeId("ns3::NatGateway")
          .SetParent<Ipv4RoutingProtocol>()
          .SetGroupName("Qp2p")
          .AddConstructor<NatGateway>()
          .AddAttribute("Preset",
                        "NAT preset: open, full-cone, restricted-cone, port-restricted-cone, "
                        "symmetric, symmetric-sequential. The axis attributes override it.",
                        StringValue("port-restricted-cone"),
                        MakeStringAccessor(&NatGateway::m_preset), MakeStringChecker())
          .AddAttribute(
              "Mapping", "RFC 4787 section 4.1 mapping behaviour.",
              EnumValue(DEPENDENCY_FROM_PRESET), MakeEnumAccessor(&NatGateway::m_mapping),
              DependencyChecker())
          .AddAttribute(
              "Filtering", "RFC 4787 section 5 filtering behaviour.",
              EnumValue(DEPENDENCY_FROM_PRESET), MakeEnumAccessor(&NatGateway::m_filtering),
              DependencyChecker())
          .AddAttribute("PortAllocation", "RFC 4787 section 4.2.1 port assignment.",
                        EnumValue(ALLOCATION_FROM_PRESET),
                        MakeEnumAccessor(&NatGateway::m_allocation),
                        MakeEnumChecker(ALLOCATION_FROM_PRESET, "preset", PRESERVING, "preserving",
                                        SEQUENTIAL, "sequential", RANDOM, "random"))
          .AddAttribute("SequentialDelta",
                        "Step between sequentially allocated ports (0: as the preset).",
                        UintegerValue(0), MakeUintegerAccessor(&NatGateway::m_sequentialDelta),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("PortMin", "Lowest external port (0: as the preset).", UintegerValue(0),
                        MakeUintegerAccessor(&NatGateway::m_portMin),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("PortMax", "Highest external port (0: as the preset).", UintegerValue(0),
                        MakeUintegerAccessor(&NatGateway::m_portMax),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("PortBlockSize", "RFC 7422 ports per subscriber block (0: as the preset).",
                        UintegerValue(0), MakeUintegerAccessor(&NatGateway::m_portBlockSize),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("MaxBlocksPerHost",
                        "RFC 6888 per-subscriber limit in blocks (0: as the preset).",
                        UintegerValue(0), MakeUintegerAccessor(&NatGateway::m_maxBlocksPerHost),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute("MappingTimeout",
                        "RFC 4787 section 4.3 mapping lifetime after the last refresh (0: as "
                        "the preset, 120 s).",
                        TimeValue(Seconds(0)), MakeTimeAccessor(&NatGateway::m_mappingTimeout),
                        MakeTimeChecker(Seconds(0)))
          .AddAttribute("InboundRefresh", "Inbound packets refresh a mapping (REQ-6 optional).",
                        EnumValue(FROM_PRESET), MakeEnumAccessor(&NatGateway::m_inboundRefresh),
                        OverrideChecker())
          .AddAttribute("Hairpinning", "RFC 4787 section 6 hairpinning.", EnumValue(FROM_PRESET),
                        MakeEnumAccessor(&NatGateway::m_hairpinning),
                        OverrideChecker())
          .AddAttribute("IcmpOnUnsolicited",
                        "Hostile gateway: answer refused inbound UDP with ICMP port unreachable "
                        "instead of dropping it silently.",
                        EnumValue(FROM_PRESET), MakeEnumAccessor(&NatGateway::m_icmpOnUnsolicited),
                        OverrideChecker())
          .AddAttribute("Seed",
                        "Seed of the port allocator (0: derived from the RngSeedManager seed "
                        "and run and the node id).",
                        UintegerValue(0), MakeUintegerAccessor(&NatGateway::m_seed),
                        MakeUintegerChecker<uint64_t>())
          .AddAttribute("NatPmp",
                        "Answer NAT-PMP (RFC 6886) external address requests on the inside "
                        "addresses, UDP port 5351 (on by default, as on most home routers).",
                        BooleanValue(true), MakeBooleanAccessor(&NatGateway::m_natPmp),
                        MakeBooleanChecker())
          .AddTraceSource("Mappings", "Number of live mappings.",
                          MakeTraceSourceAccessor(&NatGateway::m_mappings),
                          "ns3::TracedValueCallback::Uint32")
          .AddTraceSource("Translate",
                          "A packet was translated: kind (outbound, inbound, hairpin), source and "
                          "destination before, source and destination after.",
                          MakeTraceSourceAccessor(&NatGateway::m_translateTrace),
                          "ns3::NatGateway::TranslationTracedCallback")
          .AddTraceSource("Drop",
                          "A packet was dropped: reason (no-mapping, filtered, pool-exhausted, "
                          "host-quota, hairpin-disabled, non-udp, fragment, no-route, "
                          "to-inside), source, destination.",
                          MakeTraceSourceAccessor(&NatGateway::m_dropTrace),
                          "ns3::NatGateway::DropTracedCallback")
          .AddTraceSource("Reject",
                          "A dropped packet was answered with ICMP port unreachable "
                          "(IcmpOnUnsolicited): reason, source, destination.",
                          MakeTraceSourceAccessor(&NatGateway::m_rejectTrace),
                          "ns3::NatGateway::DropTracedCallback");
  return tid;
}

void NatGateway::SetBehaviour(const qp2p::nat::NatBehaviour& behaviour) {
  NS_ABORT_MSG_IF(m_table, "NatGateway::SetBehaviour after the first packet");
  m_explicit = std::make_unique<qp2p::nat::NatBehaviour>(behaviour);
}

qp2p::nat::NatBehaviour NatGateway::GetBehaviour() const {
  using qp2p::nat::Dependency;
  using qp2p::nat::PortAllocation;
  if (m_table) {
    return m_table->behaviour();
  }
  if (m_explicit) {
    return *m_explicit;
  }
  auto preset = qp2p::nat::preset(m_preset);
  if (!preset) {
    std::string names;
    for (auto n : qp2p::nat::preset_names()) {
      names += (names.empty() ? "" : ", ") + std::string(n);
    }
    NS_FATAL_ERROR("NatGateway: unknown Preset '" << m_preset << "' (one of: " << names
                                                  << "; cgnat is a chain: TopologyHelper)");
  }
  qp2p::nat::NatBehaviour b = *preset;
  auto dependency = [](DependencyOverride o, Dependency current) {
    switch (o) {
      case ENDPOINT_INDEPENDENT:
        return Dependency::kEndpointIndependent;
      case ADDRESS_DEPENDENT:
        return Dependency::kAddressDependent;
      case ADDRESS_AND_PORT_DEPENDENT:
        return Dependency::kAddressAndPortDependent;
      default:
        return current;
    }
  };
  auto flag = [](Override o, bool current) { return o == FROM_PRESET ? current : o == ON; };
  b.mapping = dependency(m_mapping, b.mapping);
  b.filtering = dependency(m_filtering, b.filtering);
  switch (m_allocation) {
    case PRESERVING:
      b.port_allocation = PortAllocation::kPreserving;
      break;
    case SEQUENTIAL:
      b.port_allocation = PortAllocation::kSequential;
      break;
    case RANDOM:
      b.port_allocation = PortAllocation::kRandom;
      break;
    default:
      break;
  }
  if (m_sequentialDelta != 0) b.sequential_delta = m_sequentialDelta;
  if (m_portMin != 0) b.port_min = m_portMin;
  if (m_portMax != 0) b.port_max = m_portMax;
  if (m_portBlockSize != 0) b.port_block_size = m_portBlockSize;
  if (m_maxBlocksPerHost != 0) b.max_blocks_per_host = m_maxBlocksPerHost;
  if (m_mappingTimeout.IsStrictlyPositive()) b.mapping_timeout = ToDuration(m_mappingTimeout);
  b.inbound_refreshes = flag(m_inboundRefresh, b.inbound_refreshes);
  b.hairpinning = flag(m_hairpinning, b.hairpinning);
  b.icmp_on_unsolicited = flag(m_icmpOnUnsolicited, b.icmp_on_unsolicited);
  return b;
}

}  // namespace ns3
