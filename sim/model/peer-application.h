// A qp2p peer as an ns-3 Application: owns one qp2p::PeerSession (stack/peer) on one UDP socket
// through a SansIoSocketAdapter, and turns the session's events into trace sources.
//
// Attributes (Config::SetDefault / CommandLine, e.g. --ns3::PeerApplication::Metadata=role=x):
//   Supernodes         "IP:PORT,IP:PORT,..." tried in order (failover to the next)
//   Metadata           "k=v,k2=v2" published right after the first login
//   LocalAddress/Port  the socket (0.0.0.0: the node's first address; port 0: ephemeral)
//   KeepaliveInterval  0: the interval the supernode asks for
//   FailoverDelay      pause before trying the next supernode
//   LogoutOnStop       StopApplication logs out (one Logout datagram) before closing
//   DiscoverySockets   extra sockets for RFC 5780 NAT discovery after the first login (0: no
//                      discovery; 3 makes every test possible); the profile is published
//                      as nat.* metadata and reported by the NatClassified trace
//   NatPmp             discovery asks the gateway for its external address (RFC 6886) to
//                      count NAT levels (default on)
//   Gateway            the gateway it asks (0.0.0.0: the next hop of the node's default route)
//   Seed               0: derived from RngSeedManager seed/run and the node id
//   AutoAccept         accept every tunnel request at once (as qp2p-peer --auto-accept)
//
// Trace sources, one per PeerEvent a researcher counts (signatures below), plus "Event": every
// event as one JSON line in exactly the qp2p-peer output format (apps/runtime/peer_json.h), so
// simulated and emulated runs feed the same analysis scripts.
//
// Requests (Publish, Lookup, ...) need the application started; each returns the request id the
// outcome event names, and sends at once ("one change, then drain").
//
// Tunnels (stack/peer/peer_session.h, docs/protocol.md section 8.5): Connect asks the handshake
// service for a tunnel; the callee sees TunnelRequested and answers with Accept or Refuse (or
// AutoAccept does). The session's TunnelSocketsNeeded is served here: the extra sockets of a
// birthday attempt are bound on the main socket's address (ephemeral ports) and handed back
// with provide_tunnel_sockets; TunnelSocketsReleased closes them again. Both events still reach
// the Event trace and the event hook.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ns3/address.h"
#include "ns3/application.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-address.h"
#include "ns3/nstime.h"
#include "ns3/traced-callback.h"
#include "stack/core/endpoint.h"
#include "stack/peer/peer_session.h"

namespace ns3 {

class SansIoSocketAdapter;

class PeerApplication : public Application {
 public:
  static TypeId GetTypeId();
  PeerApplication();
  ~PeerApplication() override;

  typedef void (*RegisteredTracedCallback)(const std::string& supernodeId, const Address& supernode,
                                           const Address& mapped);
  typedef void (*DisconnectedTracedCallback)(const Address& supernode, const std::string& reason);
  typedef void (*PublishedTracedCallback)(uint64_t request, uint64_t version);
  typedef void (*LookupDoneTracedCallback)(uint64_t request, const std::string& peerId, bool online,
                                           const Address& mapped);
  typedef void (*SearchDoneTracedCallback)(uint64_t request, uint32_t total, uint32_t returned);
  typedef void (*MessageReceivedTracedCallback)(const std::string& from, uint64_t messageId,
                                                const std::string& text);
  typedef void (*DeliveredTracedCallback)(const std::string& to, uint64_t messageId);
  typedef void (*PresenceTracedCallback)(const std::string& peerId, bool online,
                                         const std::string& reason);
  typedef void (*RequestFailedTracedCallback)(uint64_t request, const std::string& command,
                                              const std::string& reason);
  typedef void (*EventTracedCallback)(const std::string& json);
  typedef void (*NatClassifiedTracedCallback)(const std::string& profile);
  typedef void (*TunnelRequestedTracedCallback)(const std::string& from);
  typedef void (*TunnelRefusedTracedCallback)(const std::string& peer, const std::string& reason);
  // path: "direct" or "relay"; setup measured from Connect (caller) or from the offer (callee).
  typedef void (*TunnelEstablishedTracedCallback)(const std::string& peer, const std::string& path,
                                                  double setupMs, double rttMs);
  typedef void (*TunnelClosedTracedCallback)(const std::string& peer, const std::string& reason);
  typedef void (*TunnelDataTracedCallback)(const std::string& peer, const std::string& bytes);

  void SetSupernodes(const std::vector<InetSocketAddress>& supernodes);

  // The peer's id (base32 Ed25519 key). Available once the application is on a node (the
  // identity is derived from the seed and the node id), before it starts.
  std::string GetPeerId();
  bool IsRegistered() const;
  // The server-reflexive endpoint the supernode saw (0.0.0.0:0 until registered).
  InetSocketAddress GetMappedEndpoint() const;
  InetSocketAddress GetLocalEndpoint() const;
  // Every socket the application has open: the main one, the discovery sockets and the extra
  // sockets of a tunnel attempt while it holds them (empty before the start).
  std::vector<InetSocketAddress> GetSocketEndpoints() const;

  // Requests; the application must have started. Metadata and search terms use the forms of
  // the Metadata attribute ("k=v,k2=v2"; a search value ending in '*' is a prefix).
  uint64_t Publish(const std::string& metadata);
  uint64_t Lookup(const std::string& peerId);
  uint64_t Search(const std::string& terms, uint16_t limit = 20);
  uint64_t Watch(const std::string& peerId);
  uint64_t SendMessage(const std::string& peerId, const std::string& text);
  void Logout();
  // One line of the qp2p-peer stdin language (apps/runtime/peer_command.h): "publish k=v",
  // "lookup ID", "search k=v*", "send ID text...", "watch ID", "quit". Returns the request id
  // (0 for quit); a line that does not parse is reported through RequestFailed and Event.
  // Also "connect ID", "accept ID", "refuse ID [reason]", "tsend ID text...", "close ID".
  uint64_t Execute(const std::string& line);

  // Tunnels. Connect, Accept and Refuse return the request id (0 when the peer id does not
  // parse: reported through RequestFailed). TunnelSend is false without a tunnel to the peer (or
  // for a payload over tunnel::kMaxPlaintext).
  uint64_t Connect(const std::string& peerId);
  uint64_t Accept(const std::string& peerId);
  uint64_t Refuse(const std::string& peerId, const std::string& reason = "refused");
  bool TunnelSend(const std::string& peerId, const std::string& bytes);
  void TunnelClose(const std::string& peerId);

  // Every event, typed, for scenario code that wants more than the trace sources give.
  void SetEventHook(std::function<void(const qp2p::PeerEvent&)> hook);
  // Direct access to the core. After calling into it, call Flush().
  qp2p::PeerSession* GetSession() { return m_session.get(); }
  void Flush();

 protected:
  void DoDispose() override;

 private:
  void StartApplication() override;
  void StopApplication() override;
  void EnsureIdentity();
  void DrainEvents();
  void Dispatch(const qp2p::PeerEvent& event);
  qp2p::Instant Now() const;
  void RequireStarted(const char* what) const;
  std::optional<qp2p::PeerId> ParsePeer(const std::string& peerId, const char* command);
  void BindTunnelSockets(const qp2p::peer_event::TunnelSocketsNeeded& needed);
  void ReleaseTunnelSockets(const qp2p::peer_event::TunnelSocketsReleased& released);

  std::string m_supernodesText;
  std::vector<qp2p::Endpoint> m_supernodes;
  std::string m_metadataText;
  Ipv4Address m_localAddress;
  uint16_t m_localPort = 0;
  Time m_keepaliveInterval;
  Time m_failoverDelay;
  bool m_logoutOnStop = true;
  uint32_t m_discoverySockets = 0;
  bool m_natPmp = true;
  Ipv4Address m_gateway;
  uint64_t m_seed = 0;
  bool m_autoAccept = false;
  bool m_openingChecks = true;

  std::unique_ptr<qp2p::Identity> m_identity;
  std::unique_ptr<qp2p::Random> m_random;
  std::unique_ptr<qp2p::PeerSession> m_session;
  std::unique_ptr<SansIoSocketAdapter> m_adapter;
  qp2p::Endpoint m_local;
  std::function<void(const qp2p::PeerEvent&)> m_eventHook;

  TracedCallback<const std::string&, const Address&, const Address&> m_registeredTrace;
  TracedCallback<const Address&, const std::string&> m_disconnectedTrace;
  TracedCallback<uint64_t, uint64_t> m_publishedTrace;
  TracedCallback<uint64_t, const std::string&, bool, const Address&> m_lookupDoneTrace;
  TracedCallback<uint64_t, uint32_t, uint32_t> m_searchDoneTrace;
  TracedCallback<const std::string&, uint64_t, const std::string&> m_messageReceivedTrace;
  TracedCallback<const std::string&, uint64_t> m_deliveredTrace;
  TracedCallback<const std::string&, bool, const std::string&> m_presenceTrace;
  TracedCallback<uint64_t, const std::string&, const std::string&> m_requestFailedTrace;
  TracedCallback<const std::string&> m_eventTrace;
  TracedCallback<const std::string&> m_natClassifiedTrace;
  TracedCallback<const std::string&> m_natDiscoveryFailedTrace;
  TracedCallback<const std::string&> m_tunnelRequestedTrace;
  TracedCallback<const std::string&, const std::string&> m_tunnelRefusedTrace;
  TracedCallback<const std::string&, const std::string&, double, double> m_tunnelEstablishedTrace;
  TracedCallback<const std::string&, const std::string&> m_tunnelClosedTrace;
  TracedCallback<const std::string&, const std::string&> m_tunnelDataTrace;
  TracedCallback<Ptr<const Packet>, const Address&, const Address&> m_rxTrace;
  TracedCallback<Ptr<const Packet>, const Address&, const Address&> m_txTrace;
};

}  // namespace ns3
