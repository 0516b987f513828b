#include "sim/model/supernode-application.h"

#include "ns3/fatal-error.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-address.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"
#include "sim/model/qp2p-sim-logging.h"
#include "sim/model/qp2p-sim-utils.h"
#include "sim/model/sans-io-socket-adapter.h"
#include "stack/identity/identity.h"
#include "stack/supernode/supernode.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("SupernodeApplication");
NS_OBJECT_ENSURE_REGISTERED(SupernodeApplication);

TypeId SupernodeApplication::GetTypeId() {
  static TypeId tid =
      TypeId("ns3::SupernodeApplication")
          .SetParent<Application>()
          .SetGroupName("Qp2p")
          .AddConstructor<SupernodeApplication>()
          .AddAttribute("PrimaryAddress",
                        "Address of STUN service 1 and the qp2p control port (0.0.0.0: the "
                        "node's first IPv4 address).",
                        Ipv4AddressValue(Ipv4Address::GetAny()),
                        MakeIpv4AddressAccessor(&SupernodeApplication::m_primaryAddress),
                        MakeIpv4AddressChecker())
          .AddAttribute("PrimaryPort", "UDP port of STUN service 1 and qp2p control.",
                        UintegerValue(3478),
                        MakeUintegerAccessor(&SupernodeApplication::m_primaryPort),
                        MakeUintegerChecker<uint16_t>(1))
          .AddAttribute("AlternateAddress",
                        "Address of STUN service 2 (0.0.0.0: the node's second IPv4 address if "
                        "it has one, else the primary address: RFC 5780 port tests only).",
                        Ipv4AddressValue(Ipv4Address::GetAny()),
                        MakeIpv4AddressAccessor(&SupernodeApplication::m_alternateAddress),
                        MakeIpv4AddressChecker())
          .AddAttribute("AlternatePort", "UDP port of STUN service 2.", UintegerValue(3479),
                        MakeUintegerAccessor(&SupernodeApplication::m_alternatePort),
                        MakeUintegerChecker<uint16_t>(1))
          .AddAttribute("PeerExpiry", "A peer silent for this long is logged out.",
                        TimeValue(Seconds(30)),
                        MakeTimeAccessor(&SupernodeApplication::m_peerExpiry),
                        MakeTimeChecker(MicroSeconds(1)))
          .AddAttribute("KeepaliveInterval", "Keepalive interval the supernode asks peers to use.",
                        TimeValue(Seconds(10)),
                        MakeTimeAccessor(&SupernodeApplication::m_keepaliveInterval),
                        MakeTimeChecker(MicroSeconds(1)))
          .AddAttribute("MaxPeers", "Logins beyond this many online peers are refused.",
                        UintegerValue(100000),
                        MakeUintegerAccessor(&SupernodeApplication::m_maxPeers),
                        MakeUintegerChecker<uint32_t>(1))
          .AddAttribute("Seed",
                        "Seed of the supernode's identity and randomness (0: derived from the "
                        "RngSeedManager seed and run and the node id).",
                        UintegerValue(0), MakeUintegerAccessor(&SupernodeApplication::m_seed),
                        MakeUintegerChecker<uint64_t>())
          .AddAttribute("TurnSecret",
                        "Shared secret of the TURN REST API credentials; empty: no relay.",
                        StringValue(""), MakeStringAccessor(&SupernodeApplication::m_turnSecret),
                        MakeStringChecker())
          .AddAttribute("TurnRealm", "TURN realm.", StringValue("qp2p"),
                        MakeStringAccessor(&SupernodeApplication::m_turnRealm),
                        MakeStringChecker())
          .AddAttribute("RelayMinPort", "Lowest relay port.", UintegerValue(49152),
                        MakeUintegerAccessor(&SupernodeApplication::m_relayMinPort),
                        MakeUintegerChecker<uint16_t>(1))
          .AddAttribute("RelayMaxPort", "Highest relay port.", UintegerValue(65535),
                        MakeUintegerAccessor(&SupernodeApplication::m_relayMaxPort),
                        MakeUintegerChecker<uint16_t>(1))
          .AddAttribute("NetworkSecret",
                        "Network credential of the supernode federation; empty: federation off.",
                        StringValue(""), MakeStringAccessor(&SupernodeApplication::m_networkSecret),
                        MakeStringChecker())
          .AddAttribute("Seeds",
                        "Federation seeds \"IP:PORT,IP:PORT,...\" (this supernode's own primary "
                        "endpoint may be listed: it is skipped).",
                        StringValue(""), MakeStringAccessor(&SupernodeApplication::m_seedsText),
                        MakeStringChecker())
          .AddAttribute("ProbeInterval", "SWIM protocol period: one failure-detector probe each.",
                        TimeValue(Seconds(1)),
                        MakeTimeAccessor(&SupernodeApplication::m_probeInterval),
                        MakeTimeChecker(MilliSeconds(10)))
          .AddAttribute("SuspicionMultiplier",
                        "Suspicion timeout in probe periods (times max(1, log10 members)).",
                        UintegerValue(5),
                        MakeUintegerAccessor(&SupernodeApplication::m_suspicionMultiplier),
                        MakeUintegerChecker<uint32_t>(1))
          .AddAttribute("SupernodeListDebounce",
                        "Membership changes within this window reach the peers as one "
                        "supernode-list push (0: a push after every change).",
                        TimeValue(Seconds(1)),
                        MakeTimeAccessor(&SupernodeApplication::m_supernodeListDebounce),
                        MakeTimeChecker(Seconds(0)))
          .AddAttribute("PushInterval",
                        "Directory push batching: at most one non-full push payload per member "
                        "this often (0: every record in its own payload).",
                        TimeValue(MilliSeconds(50)),
                        MakeTimeAccessor(&SupernodeApplication::m_pushInterval),
                        MakeTimeChecker(Time(0)))
          .AddTraceSource("OnlinePeers", "Number of peers logged in.",
                          MakeTraceSourceAccessor(&SupernodeApplication::m_onlinePeers),
                          "ns3::TracedValueCallback::Uint32")
          .AddTraceSource("Login", "A peer logged in; the argument is the running total.",
                          MakeTraceSourceAccessor(&SupernodeApplication::m_loginTrace),
                          "ns3::SupernodeApplication::CountTracedCallback")
          .AddTraceSource("Logout", "A peer logged out; the argument is the running total.",
                          MakeTraceSourceAccessor(&SupernodeApplication::m_logoutTrace),
                          "ns3::SupernodeApplication::CountTracedCallback")
          .AddTraceSource("Expiry",
                          "A silent peer was logged out; the argument is the running total.",
                          MakeTraceSourceAccessor(&SupernodeApplication::m_expiryTrace),
                          "ns3::SupernodeApplication::CountTracedCallback")
          .AddTraceSource("RxWithAddresses", "A datagram was received (packet, from, to).",
                          MakeTraceSourceAccessor(&SupernodeApplication::m_rxTrace),
                          "ns3::Packet::TwoAddressTracedCallback")
          .AddTraceSource("TxWithAddresses", "A datagram was sent (packet, from, to).",
                          MakeTraceSourceAccessor(&SupernodeApplication::m_txTrace),
                          "ns3::Packet::TwoAddressTracedCallback");
  return tid;
}

SupernodeApplication::SupernodeApplication() = default;
SupernodeApplication::~SupernodeApplication() = default;

void SupernodeApplication::DoDispose() {
  m_adapter.reset();
  m_supernode.reset();
  Application::DoDispose();
}

uint32_t SupernodeApplication::IndexOnNode() const {
  Ptr<Node> node = GetNode();
  for (uint32_t i = 0; i < node->GetNApplications(); ++i) {
    if (PeekPointer(node->GetApplication(i)) == this) {
      return i;
    }
  }
  return 0;
}

void SupernodeApplication::StartApplication() {
  ApplyQp2pSimLogging();
  Ptr<Node> node = GetNode();
  const std::vector<Ipv4Address> addresses = GetNodeAddresses(node);
  if (addresses.empty()) {
    NS_FATAL_ERROR("SupernodeApplication on node " << node->GetId() << ": no IPv4 address");
  }
  m_boundPrimary = m_primaryAddress == Ipv4Address::GetAny() ? addresses[0] : m_primaryAddress;
  if (m_alternateAddress != Ipv4Address::GetAny()) {
    m_boundAlternate = m_alternateAddress;
  } else {
    m_boundAlternate = m_boundPrimary;
    for (const Ipv4Address& a : addresses) {
      if (a != m_boundPrimary) {
        m_boundAlternate = a;
        break;
      }
    }
  }

  qp2p::SupernodeConfig config;
  config.primary = ToEndpoint(m_boundPrimary, m_primaryPort);
  config.alternate = ToEndpoint(m_boundAlternate, m_alternatePort);
  config.peer_expiry = ToDuration(m_peerExpiry);
  config.keepalive_interval = ToDuration(m_keepaliveInterval);
  config.max_peers = m_maxPeers;
  config.software = "qp2p-ns3";
  config.turn.secret = m_turnSecret;
  config.turn.realm = m_turnRealm;
  config.turn.min_port = m_relayMinPort;
  config.turn.max_port = m_relayMaxPort;
  config.turn.software = "qp2p-ns3";
  config.network_secret = m_networkSecret;
  std::string error;
  if (!ParseEndpointList(m_seedsText, &config.seeds, &error)) {
    NS_FATAL_ERROR("SupernodeApplication on node " << node->GetId() << ": Seeds: " << error);
  }
  config.federation.probe_interval = ToDuration(m_probeInterval);
  config.federation.suspicion_multiplier = m_suspicionMultiplier;
  config.supernode_list_debounce = ToDuration(m_supernodeListDebounce);
  config.directory.push.interval_ms = static_cast<qp2p::federation::WallMs>(
      m_pushInterval.GetMilliSeconds());

  qp2p::Random random = qp2p::Random::from_u64(
      DeriveSeed(m_seed, node->GetId(), Qp2pSeedRole::kSupernode, IndexOnNode()));
  qp2p::Identity identity = qp2p::Identity::generate(random);
  m_supernode =
      std::make_unique<qp2p::Supernode>(std::move(config), std::move(identity), random.fork());

  m_adapter = std::make_unique<SansIoSocketAdapter>(node);
  for (const qp2p::Endpoint& e : m_supernode->listen_endpoints()) {
    m_adapter->Bind(e);
  }
  m_adapter->SetActivityCallback([this] { OnActivity(); });
  m_adapter->SetRxHook([this](Ptr<const Packet> p, const Address& from, const Address& to) {
    m_rxTrace(p, from, to);
  });
  m_adapter->SetTxHook([this](Ptr<const Packet> p, const Address& from, const Address& to) {
    m_txTrace(p, from, to);
  });
  m_adapter->SetCore(m_supernode.get());
  m_adapter->Flush();
  NS_LOG_INFO("supernode " << GetPeerId() << " on node " << node->GetId() << " at "
                           << m_boundPrimary << ":" << m_primaryPort << " / " << m_boundAlternate
                           << ":" << m_alternatePort);
}

void SupernodeApplication::StopApplication() {
  if (m_adapter) {
    m_adapter->Close();
  }
}

void SupernodeApplication::ApplySocketChanges() {
  // Finite: every answer adds at most one request, up to TurnServer::kMaxBindAttempts each.
  while (auto change = m_supernode->poll_socket_change()) {
    if (change->kind != qp2p::turn::SocketChange::Kind::kOpen) {
      continue;  // kept bound: see the header
    }
    bool open = false;
    for (const qp2p::Endpoint& e : m_adapter->GetLocalEndpoints()) {
      open = open || e == change->local;
    }
    if (!open) {
      m_adapter->Bind(change->local);
    }
    m_supernode->handle_socket_result(ToInstant(Simulator::Now()), change->local, true);
  }
}

void SupernodeApplication::OnActivity() {
  ApplySocketChanges();
  const qp2p::SupernodeCounters& c = m_supernode->counters();
  // The core reports no per-peer events, only counters: fire a trace when one grows.
  if (c.logins != m_logins) {
    m_logins = c.logins;
    m_loginTrace(m_logins);
  }
  if (c.logouts != m_logouts) {
    m_logouts = c.logouts;
    m_logoutTrace(m_logouts);
  }
  if (c.expiries != m_expiries) {
    m_expiries = c.expiries;
    m_expiryTrace(m_expiries);
  }
  const auto online = static_cast<uint32_t>(m_supernode->online_peers());
  if (online != m_onlinePeers) {
    m_onlinePeers = online;
  }
}

std::string SupernodeApplication::GetPeerId() const {
  return m_supernode ? m_supernode->identity().id().to_string() : std::string();
}

InetSocketAddress SupernodeApplication::GetPrimaryEndpoint() const {
  return InetSocketAddress(m_boundPrimary, m_primaryPort);
}

InetSocketAddress SupernodeApplication::GetAlternateEndpoint() const {
  return InetSocketAddress(m_boundAlternate, m_alternatePort);
}

}  // namespace ns3
