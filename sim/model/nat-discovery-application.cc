#include "sim/model/nat-discovery-application.h"

#include <type_traits>
#include <variant>

#include "ns3/boolean.h"
#include "ns3/fatal-error.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"
#include "sim/model/nat-gateway.h"
#include "sim/model/qp2p-sim-logging.h"
#include "sim/model/qp2p-sim-utils.h"
#include "sim/model/sans-io-socket-adapter.h"
#include "stack/discovery/nat_discovery.h"
#include "stack/discovery/nat_pmp.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("NatDiscoveryApplication");
NS_OBJECT_ENSURE_REGISTERED(NatDiscoveryApplication);

TypeId NatDiscoveryApplication::GetTypeId() {
  static TypeId tid =
      TypeId("ns3::NatDiscoveryApplication")
          .SetParent<Application>()
          .SetGroupName("Qp2p")
          .AddConstructor<NatDiscoveryApplication>()
          .AddAttribute("Server", "The supernode's primary STUN endpoint \"IP:PORT\".",
                        StringValue(""), MakeStringAccessor(&NatDiscoveryApplication::m_server),
                        MakeStringChecker())
          .AddAttribute("LocalAddress",
                        "Address of the sockets (0.0.0.0: the node's first IPv4 address).",
                        Ipv4AddressValue(Ipv4Address::GetAny()),
                        MakeIpv4AddressAccessor(&NatDiscoveryApplication::m_localAddress),
                        MakeIpv4AddressChecker())
          .AddAttribute("ExtraSockets",
                        "Sockets besides the primary one (filtering, hairpin and allocation "
                        "tests); at least 1.",
                        UintegerValue(qp2p::kDefaultNatDiscoveryExtraSockets),
                        MakeUintegerAccessor(&NatDiscoveryApplication::m_extraSockets),
                        MakeUintegerChecker<uint32_t>(1, 16))
          .AddAttribute("NatPmp",
                        "Ask the gateway for its external address (NAT-PMP, RFC 6886) to tell "
                        "one NAT from a chain of NATs.",
                        BooleanValue(true), MakeBooleanAccessor(&NatDiscoveryApplication::m_natPmp),
                        MakeBooleanChecker())
          .AddAttribute("Gateway",
                        "The gateway NAT-PMP asks (0.0.0.0: the next hop of the node's default "
                        "route).",
                        Ipv4AddressValue(Ipv4Address::GetAny()),
                        MakeIpv4AddressAccessor(&NatDiscoveryApplication::m_gateway),
                        MakeIpv4AddressChecker())
          .AddAttribute("Seed",
                        "Seed of the STUN transaction ids (0: derived from the RngSeedManager "
                        "seed and run and the node id).",
                        UintegerValue(0), MakeUintegerAccessor(&NatDiscoveryApplication::m_seed),
                        MakeUintegerChecker<uint64_t>())
          .AddTraceSource("Completed", "Discovery finished: the profile as one line.",
                          MakeTraceSourceAccessor(&NatDiscoveryApplication::m_completedTrace),
                          "ns3::NatDiscoveryApplication::CompletedTracedCallback")
          .AddTraceSource("Failed", "Discovery failed: the reason.",
                          MakeTraceSourceAccessor(&NatDiscoveryApplication::m_failedTrace),
                          "ns3::NatDiscoveryApplication::FailedTracedCallback");
  return tid;
}

NatDiscoveryApplication::NatDiscoveryApplication() = default;
NatDiscoveryApplication::~NatDiscoveryApplication() = default;

void NatDiscoveryApplication::DoDispose() {
  m_adapter.reset();
  m_discovery.reset();
  Application::DoDispose();
}

std::vector<std::string> NatDiscoveryApplication::GetTranscript() const {
  return m_discovery ? m_discovery->transcript() : std::vector<std::string>{};
}

void NatDiscoveryApplication::StartApplication() {
  ApplyQp2pSimLogging();
  Ptr<Node> node = GetNode();
  auto server = qp2p::Endpoint::parse(m_server);
  if (!server || !server->address.is_v4()) {
    NS_FATAL_ERROR("NatDiscoveryApplication on node "
                   << node->GetId() << ": Server is not an IPv4 IP:PORT: '" << m_server << "'");
  }
  Ipv4Address address = m_localAddress;
  if (address == Ipv4Address::GetAny()) {
    const std::vector<Ipv4Address> addresses = GetNodeAddresses(node);
    NS_ABORT_MSG_IF(addresses.empty(), "NatDiscoveryApplication: no IPv4 address");
    address = addresses[0];
  }
  // Fresh sockets on ephemeral ports: the core must know its local endpoints first.
  m_adapter = std::make_unique<SansIoSocketAdapter>(node);
  qp2p::NatDiscoveryConfig config;
  config.server = *server;
  config.primary_local = m_adapter->Bind(ToEndpoint(address, 0));
  for (uint32_t i = 0; i < m_extraSockets; ++i) {
    config.extra_locals.push_back(m_adapter->Bind(ToEndpoint(address, 0)));
  }
  if (m_natPmp) {
    if (m_gateway != Ipv4Address::GetAny()) {
      config.gateway = ToEndpoint(m_gateway, qp2p::nat_pmp::kServerPort);
    } else if (auto server = NatGateway::GetNatPmpServer(node)) {
      config.gateway = ToEndpoint(*server);
    }
  }
  uint32_t index = 0;
  for (uint32_t i = 0; i < node->GetNApplications(); ++i) {
    if (PeekPointer(node->GetApplication(i)) == this) index = i;
  }
  m_discovery = std::make_unique<qp2p::NatDiscovery>(
      std::move(config),
      qp2p::Random::from_u64(DeriveSeed(m_seed, node->GetId(), Qp2pSeedRole::kPeer, 1000 + index)));
  m_adapter->SetActivityCallback([this] { DrainEvents(); });
  m_adapter->SetCore(m_discovery.get());
  m_discovery->start(ToInstant(Simulator::Now()));
  DrainEvents();
  m_adapter->Flush();
}

void NatDiscoveryApplication::StopApplication() {
  if (m_adapter) {
    m_adapter->Close();
  }
}

void NatDiscoveryApplication::DrainEvents() {
  namespace ev = qp2p::nat_discovery_event;
  while (auto event = m_discovery->poll_event()) {
    m_finished = true;
    std::visit(
        [this](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, ev::Completed>) {
            m_profile = e.profile;
            m_completedTrace(e.profile.describe());
          } else {
            m_failure = e.reason;
            m_failedTrace(e.reason);
          }
        },
        *event);
  }
}

}  // namespace ns3
