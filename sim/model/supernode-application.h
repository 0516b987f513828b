// A qp2p supernode as an ns-3 Application: owns one qp2p::Supernode (stack/supernode) and a
// SansIoSocketAdapter that opens the supernode's listen endpoints (two with one address, four
// with two: RFC 5780 needs A:p, A:q, B:p, B:q).
//
// Attributes (all settable with Config::SetDefault / CommandLine, e.g.
// --ns3::SupernodeApplication::PeerExpiry=60s):
//   PrimaryAddress, PrimaryPort      STUN 1 and qp2p control (0.0.0.0: the node's first address)
//   AlternateAddress, AlternatePort  STUN 2 (0.0.0.0: the node's second address on the same
//                                    interface if it has one, else the primary address)
//   PeerExpiry, KeepaliveInterval, MaxPeers   SupernodeConfig
//   Seed                             0: derived from RngSeedManager seed/run and the node id
//   TurnSecret, TurnRealm            the relay service (TURN, stack/relay); off while the secret
//                                    is empty. Unix time is simulation time (offset 0), so
//                                    credentials are made with Simulator::Now() in seconds.
//   RelayMinPort, RelayMaxPort       relay ports on the primary address
//   NetworkSecret                    the federation's network credential (docs/protocol.md
//                                    section 14); empty: a lone supernode
//   Seeds                            "IP:PORT,IP:PORT,...": supernodes to join (may include this
//                                    one's own primary endpoint, which is skipped)
//   ProbeInterval, SuspicionMultiplier  SWIM's protocol period and suspicion timeout factor
//                                    (federation::MembershipConfig)
//
// Relay sockets are opened as the core asks. The adapter cannot close one socket, so a socket
// the core closes stays bound (datagrams on it are dropped and counted by the core) and is
// reused if the core asks for the same port again.
//
// Trace sources: RxWithAddresses/TxWithAddresses (every datagram, from and to), OnlinePeers (a
// TracedValue), Login / Logout / Expiry (fired with the running total when it grows).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ns3/address.h"
#include "ns3/application.h"
#include "ns3/inet-socket-address.h"
#include "ns3/ipv4-address.h"
#include "ns3/nstime.h"
#include "ns3/traced-callback.h"
#include "ns3/traced-value.h"

namespace qp2p {
class Supernode;
struct SupernodeCounters;
}  // namespace qp2p

namespace ns3 {

class SansIoSocketAdapter;

class SupernodeApplication : public Application {
 public:
  static TypeId GetTypeId();
  SupernodeApplication();
  ~SupernodeApplication() override;

  // Signature of the Login/Logout/Expiry trace sources: the new running total.
  typedef void (*CountTracedCallback)(uint64_t total);

  // The supernode's id (base32 Ed25519 key); empty before the application started.
  std::string GetPeerId() const;
  // The endpoints peers log in to (primary) and STUN 2 uses; valid once started.
  InetSocketAddress GetPrimaryEndpoint() const;
  InetSocketAddress GetAlternateEndpoint() const;
  // The core, for counters and direct inspection; null before the start.
  const qp2p::Supernode* GetSupernode() const { return m_supernode.get(); }
  uint32_t GetOnlinePeers() const { return m_onlinePeers; }

 protected:
  void DoDispose() override;

 private:
  void StartApplication() override;
  void StopApplication() override;
  void OnActivity();
  void ApplySocketChanges();
  uint32_t IndexOnNode() const;

  Ipv4Address m_primaryAddress;
  uint16_t m_primaryPort = 3478;
  Ipv4Address m_alternateAddress;
  uint16_t m_alternatePort = 3479;
  Time m_peerExpiry;
  Time m_keepaliveInterval;
  uint32_t m_maxPeers = 100000;
  uint64_t m_seed = 0;
  std::string m_turnSecret;
  std::string m_turnRealm;
  uint16_t m_relayMinPort = 49152;
  uint16_t m_relayMaxPort = 65535;
  std::string m_networkSecret;
  std::string m_seedsText;
  Time m_probeInterval;
  uint32_t m_suspicionMultiplier = 5;
  Time m_supernodeListDebounce;
  Time m_pushInterval;

  Ipv4Address m_boundPrimary;
  Ipv4Address m_boundAlternate;
  std::unique_ptr<qp2p::Supernode> m_supernode;
  std::unique_ptr<SansIoSocketAdapter> m_adapter;
  uint64_t m_logins = 0;
  uint64_t m_logouts = 0;
  uint64_t m_expiries = 0;

  TracedValue<uint32_t> m_onlinePeers;
  TracedCallback<uint64_t> m_loginTrace;
  TracedCallback<uint64_t> m_logoutTrace;
  TracedCallback<uint64_t> m_expiryTrace;
  TracedCallback<Ptr<const Packet>, const Address&, const Address&> m_rxTrace;
  TracedCallback<Ptr<const Packet>, const Address&, const Address&> m_txTrace;
};

}  // namespace ns3
