// Only UDP is translated: a TCP connection attempt from behind the NAT is dropped at the
// gateway and counted (NatGatewayCounters::droppedNonUdp, Drop trace "non-udp"); the server
// never sees it.
#include <gtest/gtest.h>

#include <string>

#include "ns3/inet-socket-address.h"
#include "ns3/socket.h"
#include "ns3/tcp-socket-factory.h"
#include "tests/sim/nat_probe_bed.h"

namespace qp2p_sim_test {
namespace {

void OnDrop(std::vector<std::string>* reasons, const std::string& reason, const ns3::Address&,
            const ns3::Address&) {
  reasons->push_back(reason);
}

bool OnConnectionRequest(bool* seen, ns3::Ptr<ns3::Socket>, const ns3::Address&) {
  *seen = true;
  return true;
}

TEST(NatDropsNonUdp, TcpFromInsideIsDroppedAndCounted) {
  NatProbeBed bed("full-cone");
  std::vector<std::string> reasons;
  bed.nat().gateways[0]->TraceConnectWithoutContext("Drop",
                                                    ns3::MakeBoundCallback(&OnDrop, &reasons));
  const ns3::SupernodeSite& server = bed.topology.supernodes[0];
  bool seen = false;
  ns3::Ptr<ns3::Socket> listener =
      ns3::Socket::CreateSocket(server.node, ns3::TcpSocketFactory::GetTypeId());
  listener->Bind(ns3::InetSocketAddress(server.primary, 8080));
  listener->Listen();
  listener->SetAcceptCallback(
      ns3::MakeBoundCallback(&OnConnectionRequest, &seen),
      ns3::MakeNullCallback<void, ns3::Ptr<ns3::Socket>, const ns3::Address&>());
  ns3::Ptr<ns3::Socket> client =
      ns3::Socket::CreateSocket(bed.nat().hosts.Get(0), ns3::TcpSocketFactory::GetTypeId());
  client->Bind();
  client->Connect(ns3::InetSocketAddress(server.primary, 8080));
  bed.RunUntil(ns3::Seconds(5));
  EXPECT_FALSE(seen);
  EXPECT_GE(bed.nat().gateways[0]->GetCounters().droppedNonUdp, 1u);
  ASSERT_FALSE(reasons.empty());
  EXPECT_EQ(reasons[0], "non-udp");
  client->Close();
  listener->Close();
}

}  // namespace
}  // namespace qp2p_sim_test
