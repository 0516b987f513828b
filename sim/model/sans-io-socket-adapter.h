// The ns-3 runtime for one sans-IO core (DESIGN.md, "Sans-IO core"; STYLE.md habit 9): the
// counterpart of apps/runtime/udp_runtime.h with ns-3 UDP sockets and Simulator::Schedule in
// place of Asio. No protocol logic lives here.
//
//   socket RecvCallback -> core.handle_datagram(Now, local, remote, ...) per queued datagram
//                       -> activity callback -> Flush()
//   timer event         -> core.handle_timeout(Now) -> activity callback -> Flush()
//   Flush()             -> drain core.poll_transmit(), each from the socket whose local
//                          endpoint it names (none: counted) -> re-arm the one timer at
//                          core.poll_timeout()
//
// One socket per local endpoint the core needs (Bind); each is bound to its exact address, so
// ns-3 sends from that address even when a node has several on one interface. An application
// that calls into the core itself (API calls) drains the core's events and calls Flush().
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ns3/address.h"
#include "ns3/event-id.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/packet.h"
#include "ns3/ptr.h"
#include "ns3/socket.h"
#include "stack/core/sans_io.h"

namespace ns3 {

// What the adapter did and dropped; the core counts its own drops.
struct SansIoSocketAdapterCounters {
  uint64_t datagramsReceived = 0;
  uint64_t datagramsSent = 0;
  uint64_t timerFirings = 0;
  uint64_t droppedNoSocket = 0;   // a transmit named a local endpoint with no socket
  uint64_t droppedSendError = 0;  // Socket::SendTo refused the datagram
  uint64_t droppedNotIpv4 = 0;    // a received datagram without an IPv4 source
};

class SansIoSocketAdapter {
 public:
  // (packet, from, to), both InetSocketAddress: the shape of ns-3's
  // Packet::TwoAddressTracedCallback (Rx: remote then local; Tx: local then remote).
  using PacketHook = std::function<void(Ptr<const Packet>, const Address&, const Address&)>;

  explicit SansIoSocketAdapter(Ptr<Node> node);
  // Closes the sockets and cancels the timer.
  ~SansIoSocketAdapter();
  SansIoSocketAdapter(const SansIoSocketAdapter&) = delete;
  SansIoSocketAdapter& operator=(const SansIoSocketAdapter&) = delete;

  // Opens a UDP socket bound to `local` (port 0: an ephemeral port). Returns the endpoint
  // actually bound. Fatal error when the address is not the node's or the port is taken.
  qp2p::Endpoint Bind(const qp2p::Endpoint& local);

  // The core to drive; it must outlive the adapter or be detached with SetCore(nullptr).
  // Sockets may be bound before the core exists (a core that must know its local endpoint).
  void SetCore(qp2p::SansIoEndpoint* core);

  // Called after every input (a batch of datagrams or a timeout) before the transmits are
  // drained: the owner drains the core's events there.
  void SetActivityCallback(std::function<void()> callback);
  void SetRxHook(PacketHook hook);
  void SetTxHook(PacketHook hook);

  // Drains the core's transmits onto the sockets and re-arms the timer at poll_timeout().
  void Flush();
  // Closes every socket and cancels the timer; the core is left as it is.
  void Close();
  // Closes the one socket bound to `local` (false: none is). Safe from inside the activity
  // callback of a datagram that socket received: the socket stops receiving and sending at
  // once, and ns-3's Close runs from a zero-delay event, after the receive path has returned.
  bool Close(const qp2p::Endpoint& local);

  std::vector<qp2p::Endpoint> GetLocalEndpoints() const;
  const SansIoSocketAdapterCounters& GetCounters() const { return m_counters; }

 private:
  struct BoundSocket {
    Ptr<Socket> socket;
    qp2p::Endpoint local;
    Address localAddress;
  };

  void HandleRead(Ptr<Socket> socket);
  void HandleTimer();
  void Rearm();
  BoundSocket* FindSocket(const qp2p::Endpoint& local);
  BoundSocket* FindSocket(const Ptr<Socket>& socket);

  Ptr<Node> m_node;
  qp2p::SansIoEndpoint* m_core = nullptr;
  std::vector<BoundSocket> m_sockets;
  std::size_t m_lastSocket = 0;  // transmits usually leave from the socket used last
  std::function<void()> m_onActivity;
  PacketHook m_rxHook;
  PacketHook m_txHook;
  std::vector<uint8_t> m_rxBuffer;

  EventId m_timer;
  qp2p::Instant m_armedDeadline;  // the deadline m_timer waits for, when it is running
  Time m_lastTimerFiring = Time(-1);
  SansIoSocketAdapterCounters m_counters;
};

}  // namespace ns3
