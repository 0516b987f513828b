// PeerApplication's tunnels in ns-3 (sim/model/peer-application.h): two peers with NAT
// discovery on, a tunnel request, the trace sources TunnelEstablished / TunnelData /
// TunnelClosed / TunnelRefused, and the extra sockets of a birthday attempt bound through the
// adapter and closed again once the tunnel is up (SansIoSocketAdapter::Close(endpoint)).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ns3/boolean.h"
#include "ns3/uinteger.h"
#include "stack/discovery/nat_discovery.h"
#include "tests/sim/peer_bed.h"

namespace qp2p_sim_test {
namespace {

using ns3::Seconds;

struct TunnelLog {
  std::vector<std::string> established;  // "peer path"
  double setupMs = 0;
  double rttMs = 0;
  std::vector<std::string> data;
  std::vector<std::string> closed;   // reasons
  std::vector<std::string> refused;  // reasons
  std::vector<std::string> requests;
};

void OnEstablished(TunnelLog* log, const std::string& peer, const std::string& path, double setupMs,
                   double rttMs) {
  log->established.push_back(peer + " " + path);
  log->setupMs = setupMs;
  log->rttMs = rttMs;
}
void OnData(TunnelLog* log, const std::string&, const std::string& bytes) {
  log->data.push_back(bytes);
}
void OnClosed(TunnelLog* log, const std::string&, const std::string& reason) {
  log->closed.push_back(reason);
}
void OnRefused(TunnelLog* log, const std::string&, const std::string& reason) {
  log->refused.push_back(reason);
}
void OnRequested(TunnelLog* log, const std::string& from) { log->requests.push_back(from); }

void Watch(ns3::Ptr<ns3::PeerApplication> app, TunnelLog* log) {
  app->TraceConnectWithoutContext("TunnelEstablished", ns3::MakeBoundCallback(&OnEstablished, log));
  app->TraceConnectWithoutContext("TunnelData", ns3::MakeBoundCallback(&OnData, log));
  app->TraceConnectWithoutContext("TunnelClosed", ns3::MakeBoundCallback(&OnClosed, log));
  app->TraceConnectWithoutContext("TunnelRefused", ns3::MakeBoundCallback(&OnRefused, log));
  app->TraceConnectWithoutContext("TunnelRequested", ns3::MakeBoundCallback(&OnRequested, log));
}

// Both peers with discovery on (their profiles published before the request at 10 s).
PeerBedOptions TwoPeers(const std::string& a, const std::string& b) {
  PeerBedOptions options;
  options.presets = {a, b};
  return options;
}

void EnableDiscovery(PeerBed& bed, bool autoAccept) {
  for (auto& p : bed.peers) {
    p.app->SetAttribute("DiscoverySockets",
                        ns3::UintegerValue(qp2p::kDefaultNatDiscoveryExtraSockets));
  }
  bed.peers[1].app->SetAttribute("AutoAccept", ns3::BooleanValue(autoAccept));
}

TEST(PeerTunnel, BirthdayTunnelCarriesDataAndReleasesItsSockets) {
  // port-restricted-cone x symmetric: the service plans birthday probing, the symmetric side
  // opens 256 extra sockets.
  PeerBed bed(TwoPeers("port-restricted-cone", "symmetric"));
  EnableDiscovery(bed, /*autoAccept=*/true);
  ns3::Ptr<ns3::PeerApplication> a = bed.peers[0].app;
  ns3::Ptr<ns3::PeerApplication> b = bed.peers[1].app;
  TunnelLog aLog;
  TunnelLog bLog;
  Watch(a, &aLog);
  Watch(b, &bLog);
  const std::string aId = a->GetPeerId();
  const std::string bId = b->GetPeerId();
  std::size_t bSocketsMost = 0;
  ns3::PeerApplication* bRaw = ns3::PeekPointer(b);
  b->SetEventHook([bRaw, &bSocketsMost](const qp2p::PeerEvent&) {
    bSocketsMost = std::max(bSocketsMost, bRaw->GetSocketEndpoints().size());
  });
  ns3::Simulator::Schedule(Seconds(10), [&] { EXPECT_NE(a->Connect(bId), 0u); });
  bed.RunUntil(Seconds(20));
  ASSERT_EQ(aLog.established, std::vector<std::string>{bId + " direct"});
  ASSERT_EQ(bLog.established, std::vector<std::string>{aId + " direct"});
  EXPECT_EQ(bLog.requests, std::vector<std::string>{aId});
  EXPECT_GT(aLog.setupMs, 0.0);
  EXPECT_GT(aLog.rttMs, 0.0);
  EXPECT_GT(bSocketsMost, 1u + qp2p::kDefaultNatDiscoveryExtraSockets);
  // Released once the tunnel is up: the main socket, the discovery sockets and the one extra
  // socket whose mapping the probes hit (the tunnel runs on it) remain.
  EXPECT_EQ(b->GetSocketEndpoints().size(), 2u + qp2p::kDefaultNatDiscoveryExtraSockets);

  ns3::Simulator::Schedule(Seconds(0), [&] {
    EXPECT_TRUE(a->TunnelSend(bId, "over the tunnel"));
    EXPECT_TRUE(b->TunnelSend(aId, "and back"));
  });
  bed.RunUntil(Seconds(21));
  EXPECT_EQ(bLog.data, std::vector<std::string>{"over the tunnel"});
  EXPECT_EQ(aLog.data, std::vector<std::string>{"and back"});

  ns3::Simulator::Schedule(Seconds(0), [&] { a->TunnelClose(bId); });
  bed.RunUntil(Seconds(22));
  EXPECT_EQ(aLog.closed.size(), 1u);
  EXPECT_EQ(bLog.closed.size(), 1u);
  EXPECT_FALSE(a->TunnelSend(bId, "after the close"));
  // The tunnel's socket too, once the tunnel is gone.
  EXPECT_EQ(b->GetSocketEndpoints().size(), 1u + qp2p::kDefaultNatDiscoveryExtraSockets);
}

TEST(PeerTunnel, RefusedRequestIsReported) {
  PeerBed bed(TwoPeers("full-cone", "cgnat"));
  EnableDiscovery(bed, /*autoAccept=*/false);
  ns3::Ptr<ns3::PeerApplication> a = bed.peers[0].app;
  ns3::Ptr<ns3::PeerApplication> b = bed.peers[1].app;
  TunnelLog aLog;
  TunnelLog bLog;
  Watch(a, &aLog);
  Watch(b, &bLog);
  const std::string aId = a->GetPeerId();
  const std::string bId = b->GetPeerId();
  ns3::Simulator::Schedule(Seconds(10), [&] { a->Execute("connect " + bId); });
  ns3::Simulator::Schedule(Seconds(11), [&] { EXPECT_NE(b->Refuse(aId, "busy"), 0u); });
  bed.RunUntil(Seconds(13));
  EXPECT_EQ(bLog.requests, std::vector<std::string>{aId});
  ASSERT_EQ(aLog.refused.size(), 1u);
  EXPECT_NE(aLog.refused[0].find("busy"), std::string::npos) << aLog.refused[0];
  EXPECT_TRUE(aLog.established.empty());
  EXPECT_TRUE(bLog.established.empty());
}

}  // namespace
}  // namespace qp2p_sim_test
