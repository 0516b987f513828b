// PeerApplication's tunnels (see peer-application.h): the requests (Connect, Accept, Refuse,
// TunnelSend, TunnelClose) and the runtime's part of a birthday attempt, binding the extra
// sockets TunnelSocketsNeeded asks for and closing them on TunnelSocketsReleased
// (stack/peer/peer_session.h; docs/protocol.md section 8.5).
#include "ns3/log.h"
#include "sim/model/peer-application.h"
#include "sim/model/sans-io-socket-adapter.h"

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("PeerApplicationTunnels");

void PeerApplication::BindTunnelSockets(const qp2p::peer_event::TunnelSocketsNeeded& needed) {
  std::vector<qp2p::Endpoint> locals;
  locals.reserve(needed.count);
  for (std::size_t i = 0; i < needed.count; ++i) {
    locals.push_back(m_adapter->Bind(qp2p::Endpoint{m_local.address, 0}));
  }
  NS_LOG_DEBUG("peer " << m_identity->id().to_string() << ": " << locals.size()
                       << " tunnel sockets for " << needed.peer.to_string());
  m_session->provide_tunnel_sockets(Now(), needed.peer, std::move(locals));
}

void PeerApplication::ReleaseTunnelSockets(
    const qp2p::peer_event::TunnelSocketsReleased& released) {
  for (const qp2p::Endpoint& local : released.locals) {
    if (local == m_local) {
      continue;  // never the main socket
    }
    m_adapter->Close(local);
  }
}

std::optional<qp2p::PeerId> PeerApplication::ParsePeer(const std::string& peerId,
                                                       const char* command) {
  auto id = qp2p::PeerId::parse(peerId);
  if (!id) {
    Dispatch(qp2p::peer_event::RequestFailed{0, command, "not a peer id: " + peerId});
  }
  return id;
}

uint64_t PeerApplication::Connect(const std::string& peerId) {
  RequireStarted("Connect");
  auto id = ParsePeer(peerId, "connect");
  if (!id) {
    return 0;
  }
  const uint64_t request = m_session->connect(Now(), *id);
  Flush();
  return request;
}

uint64_t PeerApplication::Accept(const std::string& peerId) {
  RequireStarted("Accept");
  auto id = ParsePeer(peerId, "accept");
  if (!id) {
    return 0;
  }
  const uint64_t request = m_session->accept(Now(), *id);
  Flush();
  return request;
}

uint64_t PeerApplication::Refuse(const std::string& peerId, const std::string& reason) {
  RequireStarted("Refuse");
  auto id = ParsePeer(peerId, "refuse");
  if (!id) {
    return 0;
  }
  const uint64_t request = m_session->refuse(Now(), *id, reason);
  Flush();
  return request;
}

bool PeerApplication::TunnelSend(const std::string& peerId, const std::string& bytes) {
  RequireStarted("TunnelSend");
  auto id = ParsePeer(peerId, "tsend");
  if (!id) {
    return false;
  }
  const bool sent = m_session->tunnel_send(
      Now(), *id, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  Flush();
  return sent;
}

void PeerApplication::TunnelClose(const std::string& peerId) {
  RequireStarted("TunnelClose");
  auto id = ParsePeer(peerId, "close");
  if (!id) {
    return;
  }
  m_session->tunnel_close(Now(), *id);
  Flush();
}

}  // namespace ns3
