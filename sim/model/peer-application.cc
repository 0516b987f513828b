#include "sim/model/peer-application.h"

#include <chrono>
#include <type_traits>
#include <utility>

#include "apps/runtime/peer_command.h"
#include "apps/runtime/peer_json.h"
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
#include "stack/discovery/nat_pmp.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("PeerApplication");
NS_OBJECT_ENSURE_REGISTERED(PeerApplication);

namespace {

// "k=v,k2=v2" into entries; false (with `error`) on an item without '=' or with an empty key.
bool ParseMetadata(const std::string& text, qp2p::wire::MetaEntries* out, std::string* error) {
  for (const std::string& item : SplitList(text)) {
    std::string key;
    std::string value;
    if (!qp2p::peer_command::parse_entry(item, &key, &value, error)) {
      return false;
    }
    out->emplace_back(std::move(key), std::move(value));
  }
  return true;
}

Address ToAddress(const qp2p::Endpoint& e) { return ToInetSocketAddress(e); }

double ToMilliseconds(qp2p::Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

TypeId PeerApplication::GetTypeId() {
  static TypeId tid =
      TypeId("ns3::PeerApplication")
          .SetParent<Application>()
          .SetGroupName("Qp2p")
          .AddConstructor<PeerApplication>()
          .AddAttribute("Supernodes",
                        "Supernode endpoints \"IP:PORT,IP:PORT,...\", tried in order.",
                        StringValue(""), MakeStringAccessor(&PeerApplication::m_supernodesText),
                        MakeStringChecker())
          .AddAttribute("Metadata", "Entries \"k=v,k2=v2\" published after the first login.",
                        StringValue(""), MakeStringAccessor(&PeerApplication::m_metadataText),
                        MakeStringChecker())
          .AddAttribute("LocalAddress",
                        "Address of the peer's socket (0.0.0.0: the node's first IPv4 address).",
                        Ipv4AddressValue(Ipv4Address::GetAny()),
                        MakeIpv4AddressAccessor(&PeerApplication::m_localAddress),
                        MakeIpv4AddressChecker())
          .AddAttribute("LocalPort", "UDP port of the peer's socket (0: an ephemeral port).",
                        UintegerValue(0), MakeUintegerAccessor(&PeerApplication::m_localPort),
                        MakeUintegerChecker<uint16_t>())
          .AddAttribute(
              "KeepaliveInterval", "Keepalive interval (0: the interval the supernode asks for).",
              TimeValue(Seconds(0)), MakeTimeAccessor(&PeerApplication::m_keepaliveInterval),
              MakeTimeChecker(Seconds(0)))
          .AddAttribute("FailoverDelay", "Pause before trying the next supernode.",
                        TimeValue(MilliSeconds(500)),
                        MakeTimeAccessor(&PeerApplication::m_failoverDelay),
                        MakeTimeChecker(Seconds(0)))
          .AddAttribute("LogoutOnStop", "Log out (one Logout datagram) when the application stops.",
                        BooleanValue(true), MakeBooleanAccessor(&PeerApplication::m_logoutOnStop),
                        MakeBooleanChecker())
          .AddAttribute("DiscoverySockets",
                        "Extra sockets for RFC 5780 NAT discovery after the first login (0: no "
                        "discovery).",
                        UintegerValue(0),
                        MakeUintegerAccessor(&PeerApplication::m_discoverySockets),
                        MakeUintegerChecker<uint32_t>(0, 16))
          .AddAttribute("NatPmp",
                        "NAT discovery asks the gateway for its external address (NAT-PMP, RFC "
                        "6886) to tell one NAT from a chain of NATs.",
                        BooleanValue(true), MakeBooleanAccessor(&PeerApplication::m_natPmp),
                        MakeBooleanChecker())
          .AddAttribute("Gateway",
                        "The gateway NAT-PMP asks (0.0.0.0: the next hop of the node's default "
                        "route).",
                        Ipv4AddressValue(Ipv4Address::GetAny()),
                        MakeIpv4AddressAccessor(&PeerApplication::m_gateway),
                        MakeIpv4AddressChecker())
          .AddAttribute("Seed",
                        "Seed of the peer's identity and randomness (0: derived from the "
                        "RngSeedManager seed and run and the node id).",
                        UintegerValue(0), MakeUintegerAccessor(&PeerApplication::m_seed),
                        MakeUintegerChecker<uint64_t>())
          .AddAttribute("AutoAccept",
                        "Accept every tunnel request at once (as qp2p-peer --auto-accept).",
                        BooleanValue(false), MakeBooleanAccessor(&PeerApplication::m_autoAccept),
                        MakeBooleanChecker())
          .AddAttribute("OpeningChecks",
                        "Begin direct tunnel attempts with TTL-limited opening checks once NAT "
                        "discovery counted the NAT levels (TunnelManagerConfig::opening_checks).",
                        BooleanValue(true),
                        MakeBooleanAccessor(&PeerApplication::m_openingChecks),
                        MakeBooleanChecker())
          .AddTraceSource("Registered", "Logged in: supernode id, supernode, mapped endpoint.",
                          MakeTraceSourceAccessor(&PeerApplication::m_registeredTrace),
                          "ns3::PeerApplication::RegisteredTracedCallback")
          .AddTraceSource("Disconnected", "Lost the supernode: its endpoint and the reason.",
                          MakeTraceSourceAccessor(&PeerApplication::m_disconnectedTrace),
                          "ns3::PeerApplication::DisconnectedTracedCallback")
          .AddTraceSource("Published", "A publish was stored: request id, record version.",
                          MakeTraceSourceAccessor(&PeerApplication::m_publishedTrace),
                          "ns3::PeerApplication::PublishedTracedCallback")
          .AddTraceSource("LookupDone", "A lookup answered: request, peer id, online, mapped.",
                          MakeTraceSourceAccessor(&PeerApplication::m_lookupDoneTrace),
                          "ns3::PeerApplication::LookupDoneTracedCallback")
          .AddTraceSource("SearchDone", "A search answered: request, total, returned.",
                          MakeTraceSourceAccessor(&PeerApplication::m_searchDoneTrace),
                          "ns3::PeerApplication::SearchDoneTracedCallback")
          .AddTraceSource("MessageReceived", "An instant message: sender id, message id, text.",
                          MakeTraceSourceAccessor(&PeerApplication::m_messageReceivedTrace),
                          "ns3::PeerApplication::MessageReceivedTracedCallback")
          .AddTraceSource("Delivered", "A sent message was acknowledged: recipient, message id.",
                          MakeTraceSourceAccessor(&PeerApplication::m_deliveredTrace),
                          "ns3::PeerApplication::DeliveredTracedCallback")
          .AddTraceSource("Presence", "A watched peer went online/offline: id, online, reason.",
                          MakeTraceSourceAccessor(&PeerApplication::m_presenceTrace),
                          "ns3::PeerApplication::PresenceTracedCallback")
          .AddTraceSource("RequestFailed", "A request failed: request id, command, reason.",
                          MakeTraceSourceAccessor(&PeerApplication::m_requestFailedTrace),
                          "ns3::PeerApplication::RequestFailedTracedCallback")
          .AddTraceSource("Event", "Every event as one JSON line (the qp2p-peer output format).",
                          MakeTraceSourceAccessor(&PeerApplication::m_eventTrace),
                          "ns3::PeerApplication::EventTracedCallback")
          .AddTraceSource("NatClassified",
                          "NAT discovery finished: the profile as one line (RFC 4787 terms).",
                          MakeTraceSourceAccessor(&PeerApplication::m_natClassifiedTrace),
                          "ns3::PeerApplication::NatClassifiedTracedCallback")
          .AddTraceSource("NatDiscoveryFailed", "NAT discovery failed: the reason.",
                          MakeTraceSourceAccessor(&PeerApplication::m_natDiscoveryFailedTrace),
                          "ns3::PeerApplication::NatClassifiedTracedCallback")
          .AddTraceSource("TunnelRequested", "A peer asks for a tunnel: its id.",
                          MakeTraceSourceAccessor(&PeerApplication::m_tunnelRequestedTrace),
                          "ns3::PeerApplication::TunnelRequestedTracedCallback")
          .AddTraceSource("TunnelRefused", "Our tunnel request was refused: peer id, reason.",
                          MakeTraceSourceAccessor(&PeerApplication::m_tunnelRefusedTrace),
                          "ns3::PeerApplication::TunnelRefusedTracedCallback")
          .AddTraceSource("TunnelEstablished",
                          "A tunnel is up: peer id, path (direct|relay), setup ms, RTT ms.",
                          MakeTraceSourceAccessor(&PeerApplication::m_tunnelEstablishedTrace),
                          "ns3::PeerApplication::TunnelEstablishedTracedCallback")
          .AddTraceSource("TunnelClosed",
                          "A tunnel (or the attempt to make it) ended: peer id, reason.",
                          MakeTraceSourceAccessor(&PeerApplication::m_tunnelClosedTrace),
                          "ns3::PeerApplication::TunnelClosedTracedCallback")
          .AddTraceSource("TunnelData", "Data arrived through a tunnel: peer id, bytes.",
                          MakeTraceSourceAccessor(&PeerApplication::m_tunnelDataTrace),
                          "ns3::PeerApplication::TunnelDataTracedCallback")
          .AddTraceSource("RxWithAddresses", "A datagram was received (packet, from, to).",
                          MakeTraceSourceAccessor(&PeerApplication::m_rxTrace),
                          "ns3::Packet::TwoAddressTracedCallback")
          .AddTraceSource("TxWithAddresses", "A datagram was sent (packet, from, to).",
                          MakeTraceSourceAccessor(&PeerApplication::m_txTrace),
                          "ns3::Packet::TwoAddressTracedCallback");
  return tid;
}

PeerApplication::PeerApplication() = default;
PeerApplication::~PeerApplication() = default;

void PeerApplication::DoDispose() {
  m_adapter.reset();
  m_session.reset();
  m_eventHook = nullptr;
  Application::DoDispose();
}

void PeerApplication::SetSupernodes(const std::vector<InetSocketAddress>& supernodes) {
  std::string text;
  for (const InetSocketAddress& a : supernodes) {
    if (!text.empty()) {
      text += ',';
    }
    text += ToEndpoint(a).to_string();
  }
  m_supernodesText = text;
}

void PeerApplication::SetEventHook(std::function<void(const qp2p::PeerEvent&)> hook) {
  m_eventHook = std::move(hook);
}

void PeerApplication::EnsureIdentity() {
  if (m_identity) {
    return;
  }
  Ptr<Node> node = GetNode();
  NS_ABORT_MSG_IF(!node, "PeerApplication: not installed on a node");
  uint32_t index = 0;
  for (uint32_t i = 0; i < node->GetNApplications(); ++i) {
    if (PeekPointer(node->GetApplication(i)) == this) {
      index = i;
    }
  }
  m_random = std::make_unique<qp2p::Random>(
      qp2p::Random::from_u64(DeriveSeed(m_seed, node->GetId(), Qp2pSeedRole::kPeer, index)));
  m_identity = std::make_unique<qp2p::Identity>(qp2p::Identity::generate(*m_random));
}

std::string PeerApplication::GetPeerId() {
  EnsureIdentity();
  return m_identity->id().to_string();
}

bool PeerApplication::IsRegistered() const { return m_session && m_session->registered(); }

InetSocketAddress PeerApplication::GetMappedEndpoint() const {
  if (m_session && m_session->mapped()) {
    return ToInetSocketAddress(*m_session->mapped());
  }
  return InetSocketAddress(Ipv4Address::GetAny(), 0);
}

InetSocketAddress PeerApplication::GetLocalEndpoint() const { return ToInetSocketAddress(m_local); }

std::vector<InetSocketAddress> PeerApplication::GetSocketEndpoints() const {
  std::vector<InetSocketAddress> out;
  if (m_adapter) {
    for (const qp2p::Endpoint& e : m_adapter->GetLocalEndpoints()) {
      out.push_back(ToInetSocketAddress(e));
    }
  }
  return out;
}

qp2p::Instant PeerApplication::Now() const { return ToInstant(Simulator::Now()); }

void PeerApplication::StartApplication() {
  ApplyQp2pSimLogging();
  Ptr<Node> node = GetNode();
  EnsureIdentity();

  qp2p::PeerConfig config;
  std::string error;
  m_supernodes.clear();
  if (!ParseEndpointList(m_supernodesText, &m_supernodes, &error) || m_supernodes.empty()) {
    NS_FATAL_ERROR("PeerApplication on node " << node->GetId() << ": Supernodes attribute: "
                                              << (error.empty() ? "empty" : error));
  }
  if (!ParseMetadata(m_metadataText, &config.initial_meta, &error)) {
    NS_FATAL_ERROR("PeerApplication on node " << node->GetId()
                                              << ": Metadata attribute: " << error);
  }
  Ipv4Address address = m_localAddress;
  if (address == Ipv4Address::GetAny()) {
    const std::vector<Ipv4Address> addresses = GetNodeAddresses(node);
    NS_ABORT_MSG_IF(addresses.empty(),
                    "PeerApplication: node " << node->GetId() << " has no IPv4 address");
    address = addresses[0];
  }

  m_adapter = std::make_unique<SansIoSocketAdapter>(node);
  m_local = m_adapter->Bind(ToEndpoint(address, m_localPort));

  for (uint32_t i = 0; i < m_discoverySockets; ++i) {
    config.discovery_locals.push_back(m_adapter->Bind(ToEndpoint(address, 0)));
  }
  if (m_discoverySockets > 0 && m_natPmp) {
    if (m_gateway != Ipv4Address::GetAny()) {
      config.gateway = ToEndpoint(m_gateway, qp2p::nat_pmp::kServerPort);
    } else if (auto server = NatGateway::GetNatPmpServer(node)) {
      config.gateway = ToEndpoint(*server);
    }
  }
  config.supernodes = m_supernodes;
  config.local = m_local;
  config.auto_accept_tunnels = m_autoAccept;
  config.tunnel_limits.opening_checks = m_openingChecks;
  config.keepalive_interval = ToDuration(m_keepaliveInterval);
  config.failover_delay = ToDuration(m_failoverDelay);
  // Simulations start from record version 0 (PeerConfig::record_version_base).
  m_session = std::make_unique<qp2p::PeerSession>(std::move(config), *m_identity, m_random->fork());

  m_adapter->SetActivityCallback([this] { DrainEvents(); });
  m_adapter->SetRxHook([this](Ptr<const Packet> p, const Address& from, const Address& to) {
    m_rxTrace(p, from, to);
  });
  m_adapter->SetTxHook([this](Ptr<const Packet> p, const Address& from, const Address& to) {
    m_txTrace(p, from, to);
  });
  m_adapter->SetCore(m_session.get());
  m_session->start(Now());
  Flush();
  NS_LOG_INFO("peer " << m_identity->id().to_string() << " on node " << node->GetId() << " at "
                      << m_local.to_string());
}

void PeerApplication::StopApplication() {
  if (!m_session || !m_adapter) {
    return;
  }
  m_session->close_all_tunnels(Now());
  if (m_logoutOnStop && m_session->registered()) {
    m_session->logout(Now());
    Flush();
  }
  m_adapter->Close();
}

void PeerApplication::Flush() {
  if (!m_adapter) {
    return;
  }
  DrainEvents();
  m_adapter->Flush();
}

void PeerApplication::DrainEvents() {
  namespace ev = qp2p::peer_event;
  while (auto event = m_session->poll_event()) {
    Dispatch(*event);
    // The runtime's part of the tunnel events, after the traces and the hook saw them.
    if (auto* needed = std::get_if<ev::TunnelSocketsNeeded>(&*event)) {
      BindTunnelSockets(*needed);
    } else if (auto* released = std::get_if<ev::TunnelSocketsReleased>(&*event)) {
      ReleaseTunnelSockets(*released);
    }
  }
}

void PeerApplication::Dispatch(const qp2p::PeerEvent& event) {
  namespace ev = qp2p::peer_event;
  if (!m_eventTrace.IsEmpty()) {
    m_eventTrace(qp2p::peer_json::to_line(qp2p::peer_json::event(event, m_identity->id())));
  }
  std::visit(
      [this](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ev::Registered>) {
          m_registeredTrace(e.supernode.to_string(), ToAddress(e.supernode_endpoint),
                            ToAddress(e.mapped));
        } else if constexpr (std::is_same_v<T, ev::Disconnected>) {
          m_disconnectedTrace(ToAddress(e.supernode_endpoint), e.reason);
        } else if constexpr (std::is_same_v<T, ev::Published>) {
          m_publishedTrace(e.request, e.version);
        } else if constexpr (std::is_same_v<T, ev::LookupDone>) {
          m_lookupDoneTrace(e.request, e.info.id.to_string(), e.info.online,
                            ToAddress(e.info.mapped));
        } else if constexpr (std::is_same_v<T, ev::SearchDone>) {
          m_searchDoneTrace(e.request, e.total, static_cast<uint32_t>(e.peers.size()));
        } else if constexpr (std::is_same_v<T, ev::MessageReceived>) {
          m_messageReceivedTrace(e.from.to_string(), e.message_id, e.text);
        } else if constexpr (std::is_same_v<T, ev::Delivered>) {
          m_deliveredTrace(e.to.to_string(), e.message_id);
        } else if constexpr (std::is_same_v<T, ev::Presence>) {
          m_presenceTrace(e.peer.to_string(), e.online, qp2p::peer_json::to_string(e.reason));
        } else if constexpr (std::is_same_v<T, ev::RequestFailed>) {
          m_requestFailedTrace(e.request, e.command, e.reason);
        } else if constexpr (std::is_same_v<T, ev::NatClassified>) {
          m_natClassifiedTrace(e.profile.describe());
        } else if constexpr (std::is_same_v<T, ev::NatDiscoveryFailed>) {
          m_natDiscoveryFailedTrace(e.reason);
        } else if constexpr (std::is_same_v<T, ev::TunnelRequested>) {
          m_tunnelRequestedTrace(e.from.to_string());
        } else if constexpr (std::is_same_v<T, ev::TunnelRefused>) {
          m_tunnelRefusedTrace(e.peer.to_string(), e.reason);
        } else if constexpr (std::is_same_v<T, ev::TunnelEstablished>) {
          m_tunnelEstablishedTrace(e.peer.to_string(), qp2p::tunnel::to_string(e.path),
                                   ToMilliseconds(e.setup), ToMilliseconds(e.rtt));
        } else if constexpr (std::is_same_v<T, ev::TunnelData>) {
          m_tunnelDataTrace(e.peer.to_string(), std::string(e.bytes.begin(), e.bytes.end()));
        } else if constexpr (std::is_same_v<T, ev::TunnelClosed>) {
          m_tunnelClosedTrace(e.peer.to_string(), e.reason);
        }
      },
      event);
  if (m_eventHook) {
    m_eventHook(event);
  }
}

void PeerApplication::RequireStarted(const char* what) const {
  NS_ABORT_MSG_IF(!m_session, "PeerApplication::" << what << " before the application started");
}

uint64_t PeerApplication::Publish(const std::string& metadata) {
  RequireStarted("Publish");
  qp2p::wire::MetaEntries entries;
  std::string error;
  if (!ParseMetadata(metadata, &entries, &error)) {
    Dispatch(qp2p::peer_event::RequestFailed{0, "publish", error});
    return 0;
  }
  const uint64_t id = m_session->publish(Now(), entries);
  Flush();
  return id;
}

uint64_t PeerApplication::Lookup(const std::string& peerId) {
  RequireStarted("Lookup");
  auto id = qp2p::PeerId::parse(peerId);
  if (!id) {
    Dispatch(qp2p::peer_event::RequestFailed{0, "lookup", "not a peer id: " + peerId});
    return 0;
  }
  const uint64_t request = m_session->lookup(Now(), *id);
  Flush();
  return request;
}

uint64_t PeerApplication::Search(const std::string& terms, uint16_t limit) {
  RequireStarted("Search");
  qp2p::wire::MetaEntries entries;
  std::string error;
  if (!ParseMetadata(terms, &entries, &error)) {
    Dispatch(qp2p::peer_event::RequestFailed{0, "search", error});
    return 0;
  }
  std::vector<qp2p::wire::SearchTerm> search;
  for (auto& [key, value] : entries) {
    const bool prefix = !value.empty() && value.back() == '*';
    if (prefix) {
      value.pop_back();
    }
    search.push_back({key, value, prefix});
  }
  const uint64_t request = m_session->search(Now(), std::move(search), limit);
  Flush();
  return request;
}

uint64_t PeerApplication::Watch(const std::string& peerId) {
  RequireStarted("Watch");
  auto id = qp2p::PeerId::parse(peerId);
  if (!id) {
    Dispatch(qp2p::peer_event::RequestFailed{0, "watch", "not a peer id: " + peerId});
    return 0;
  }
  const uint64_t request = m_session->watch(Now(), *id);
  Flush();
  return request;
}

uint64_t PeerApplication::SendMessage(const std::string& peerId, const std::string& text) {
  RequireStarted("SendMessage");
  auto id = qp2p::PeerId::parse(peerId);
  if (!id) {
    Dispatch(qp2p::peer_event::RequestFailed{0, "send", "not a peer id: " + peerId});
    return 0;
  }
  const uint64_t request = m_session->send_message(Now(), *id, text);
  Flush();
  return request;
}

void PeerApplication::Logout() {
  RequireStarted("Logout");
  m_session->logout(Now());
  Flush();
}

uint64_t PeerApplication::Execute(const std::string& line) {
  RequireStarted("Execute");
  namespace pc = qp2p::peer_command;
  const pc::Command command = pc::parse(line);
  const qp2p::Instant now = Now();
  uint64_t request = 0;
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, pc::Publish>) {
          request = m_session->publish(now, c.entries);
        } else if constexpr (std::is_same_v<T, pc::Lookup>) {
          request = m_session->lookup(now, c.target);
        } else if constexpr (std::is_same_v<T, pc::Search>) {
          request = m_session->search(now, c.terms);
        } else if constexpr (std::is_same_v<T, pc::Send>) {
          request = m_session->send_message(now, c.to, c.text);
        } else if constexpr (std::is_same_v<T, pc::Watch>) {
          request = m_session->watch(now, c.target);
        } else if constexpr (std::is_same_v<T, pc::Connect>) {
          request = m_session->connect(now, c.peer);
        } else if constexpr (std::is_same_v<T, pc::Accept>) {
          request = m_session->accept(now, c.peer);
        } else if constexpr (std::is_same_v<T, pc::Refuse>) {
          request = m_session->refuse(now, c.peer, c.reason);
        } else if constexpr (std::is_same_v<T, pc::TunnelSend>) {
          if (!m_session->tunnel_send(now, c.to, reinterpret_cast<const uint8_t*>(c.text.data()),
                                      c.text.size())) {
            Dispatch(
                qp2p::peer_event::RequestFailed{0, "tsend", "no tunnel to " + c.to.to_string()});
          }
        } else if constexpr (std::is_same_v<T, pc::Close>) {
          m_session->tunnel_close(now, c.peer);
        } else if constexpr (std::is_same_v<T, pc::Quit>) {
          m_session->logout(now);
        } else if constexpr (std::is_same_v<T, pc::Invalid>) {
          Dispatch(qp2p::peer_event::RequestFailed{0, c.command, c.reason});
        }
      },
      command);
  Flush();
  return request;
}

}  // namespace ns3
