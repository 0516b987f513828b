#include "sim/model/sans-io-socket-adapter.h"

#include <algorithm>

#include "ns3/fatal-error.h"
#include "ns3/inet-socket-address.h"
#include "ns3/log.h"
#include "ns3/simulator.h"
#include "ns3/socket.h"
#include "ns3/udp-socket-factory.h"
#include "sim/model/qp2p-sim-utils.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("SansIoSocketAdapter");

namespace {
// Larger than any UDP payload over IPv4 (65507 bytes).
constexpr std::size_t kMaxDatagramBytes = 65535;
// A core whose deadline is still due right after handle_timeout() at the same instant would
// spin at one simulated time; the timer then waits this long (counted as a firing like any).
const Time kMinTimerStep = MicroSeconds(1);
}  // namespace

SansIoSocketAdapter::SansIoSocketAdapter(Ptr<Node> node)
    : m_node(node), m_rxBuffer(kMaxDatagramBytes) {}

SansIoSocketAdapter::~SansIoSocketAdapter() { Close(); }

qp2p::Endpoint SansIoSocketAdapter::Bind(const qp2p::Endpoint& local) {
  if (!local.address.is_v4()) {
    NS_FATAL_ERROR("SansIoSocketAdapter: only IPv4 endpoints are simulated: " << local.to_string());
  }
  Ptr<Socket> socket = Socket::CreateSocket(m_node, UdpSocketFactory::GetTypeId());
  if (socket->Bind(ToInetSocketAddress(local)) != 0) {
    NS_FATAL_ERROR("SansIoSocketAdapter: node " << m_node->GetId() << " cannot bind "
                                                << local.to_string() << " (errno "
                                                << socket->GetErrno() << ")");
  }
  Address name;
  socket->GetSockName(name);
  const qp2p::Endpoint bound = ToEndpoint(InetSocketAddress::ConvertFrom(name));
  socket->SetRecvCallback(MakeCallback(&SansIoSocketAdapter::HandleRead, this));
  m_sockets.push_back({socket, bound, InetSocketAddress(ToInetSocketAddress(bound))});
  NS_LOG_DEBUG("node " << m_node->GetId() << " bound " << bound.to_string());
  return bound;
}

void SansIoSocketAdapter::SetCore(qp2p::SansIoEndpoint* core) {
  m_core = core;
  if (!core) {
    m_timer.Cancel();
  }
}

void SansIoSocketAdapter::SetActivityCallback(std::function<void()> callback) {
  m_onActivity = std::move(callback);
}

void SansIoSocketAdapter::SetRxHook(PacketHook hook) { m_rxHook = std::move(hook); }

void SansIoSocketAdapter::SetTxHook(PacketHook hook) { m_txHook = std::move(hook); }

void SansIoSocketAdapter::Close() {
  for (auto& s : m_sockets) {
    s.socket->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
    s.socket->Close();
  }
  m_sockets.clear();
  m_lastSocket = 0;
  m_timer.Cancel();
}

bool SansIoSocketAdapter::Close(const qp2p::Endpoint& local) {
  auto it = std::find_if(m_sockets.begin(), m_sockets.end(),
                         [&local](const BoundSocket& s) { return s.local == local; });
  if (it == m_sockets.end()) {
    return false;
  }
  Ptr<Socket> socket = it->socket;
  socket->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
  m_sockets.erase(it);
  m_lastSocket = 0;
  // Not socket->Close() here: this may run inside that socket's own receive callback, and
  // closing frees the endpoint ns-3's UDP layer is still delivering through.
  Simulator::ScheduleNow([socket]() { socket->Close(); });
  NS_LOG_DEBUG("node " << m_node->GetId() << " closed " << local.to_string());
  return true;
}

std::vector<qp2p::Endpoint> SansIoSocketAdapter::GetLocalEndpoints() const {
  std::vector<qp2p::Endpoint> out;
  out.reserve(m_sockets.size());
  for (const auto& s : m_sockets) {
    out.push_back(s.local);
  }
  return out;
}

SansIoSocketAdapter::BoundSocket* SansIoSocketAdapter::FindSocket(const qp2p::Endpoint& local) {
  if (m_lastSocket < m_sockets.size() && m_sockets[m_lastSocket].local == local) {
    return &m_sockets[m_lastSocket];
  }
  for (std::size_t i = 0; i < m_sockets.size(); ++i) {
    if (m_sockets[i].local == local) {
      m_lastSocket = i;
      return &m_sockets[i];
    }
  }
  return nullptr;
}

SansIoSocketAdapter::BoundSocket* SansIoSocketAdapter::FindSocket(const Ptr<Socket>& socket) {
  for (auto& s : m_sockets) {
    if (s.socket == socket) {
      return &s;
    }
  }
  return nullptr;
}

void SansIoSocketAdapter::HandleRead(Ptr<Socket> socket) {
  BoundSocket* bound = FindSocket(socket);
  if (!bound || !m_core) {
    // Not ours any more, or no core yet: empty the queue so it does not grow.
    while (socket->Recv()) {
    }
    return;
  }
  // The datagrams queued on one socket arrived at this instant: one Now() per batch.
  const qp2p::Instant now = ToInstant(Simulator::Now());
  const qp2p::Endpoint local = bound->local;
  const Address localAddress = bound->localAddress;
  Address from;
  while (Ptr<Packet> packet = socket->RecvFrom(from)) {
    if (!InetSocketAddress::IsMatchingType(from)) {
      ++m_counters.droppedNotIpv4;
      continue;
    }
    ++m_counters.datagramsReceived;
    if (m_rxHook) {
      m_rxHook(packet, from, localAddress);
    }
    const uint32_t size = packet->CopyData(m_rxBuffer.data(), m_rxBuffer.size());
    m_core->handle_datagram(now, local, ToEndpoint(InetSocketAddress::ConvertFrom(from)),
                            m_rxBuffer.data(), size);
  }
  if (m_onActivity) {
    m_onActivity();
  }
  Flush();
}

void SansIoSocketAdapter::HandleTimer() {
  if (!m_core) {
    return;
  }
  ++m_counters.timerFirings;
  m_lastTimerFiring = Simulator::Now();
  m_core->handle_timeout(ToInstant(m_lastTimerFiring));
  if (m_onActivity) {
    m_onActivity();
  }
  Flush();
}

void SansIoSocketAdapter::Flush() {
  if (!m_core) {
    return;
  }
  while (auto datagram = m_core->poll_transmit()) {
    BoundSocket* bound = FindSocket(datagram->local);
    if (!bound) {
      ++m_counters.droppedNoSocket;
      NS_LOG_DEBUG("node " << m_node->GetId() << ": no socket on " << datagram->local.to_string()
                           << ", transmit dropped");
      continue;
    }
    Ptr<Packet> packet =
        Create<Packet>(datagram->payload.data(), static_cast<uint32_t>(datagram->payload.size()));
    const InetSocketAddress remote = ToInetSocketAddress(datagram->remote);
    if (datagram->ttl != 0) {
      // This datagram's IP TTL (an opening check's), as IP_TTL ancillary data does on Linux:
      // Ipv4L3Protocol::Send takes it from the tag, the socket's own TTL stays as it is.
      SocketIpTtlTag ttl;
      ttl.SetTtl(datagram->ttl);
      packet->AddPacketTag(ttl);
    }
    if (m_txHook) {
      m_txHook(packet, bound->localAddress, remote);
    }
    if (bound->socket->SendTo(packet, 0, remote) < 0) {
      ++m_counters.droppedSendError;
      NS_LOG_DEBUG("node " << m_node->GetId() << ": send to " << datagram->remote.to_string()
                           << " failed, errno " << bound->socket->GetErrno());
      continue;
    }
    ++m_counters.datagramsSent;
  }
  Rearm();
}

void SansIoSocketAdapter::Rearm() {
  const qp2p::Instant deadline = m_core->poll_timeout();
  if (deadline == qp2p::kNever) {
    m_timer.Cancel();
    return;
  }
  if (m_timer.IsRunning() && m_armedDeadline == deadline) {
    return;
  }
  m_timer.Cancel();
  const Time now = Simulator::Now();
  Time delay = std::max(ToTime(deadline) - now, Time(0));
  if (delay.IsZero() && m_lastTimerFiring == now) {
    delay = kMinTimerStep;
  }
  m_armedDeadline = deadline;
  m_timer = Simulator::Schedule(delay, &SansIoSocketAdapter::HandleTimer, this);
}

}  // namespace ns3
