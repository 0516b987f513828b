// The relay service in ns-3: a SupernodeApplication with TurnSecret serves TURN; a client
// behind a port-restricted NAT allocates (401 challenge, then Allocate with REST API
// credentials), permits an open host, and the host's datagrams to the relayed address reach the
// client as Data indications through the NAT. Plain ns-3 sockets (UdpProbe) on both ends.
#include <gtest/gtest.h>

#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/helper/topology-helper.h"
#include "sim/model/qp2p-sim-utils.h"
#include "sim/model/supernode-application.h"
#include "stack/relay/turn_credentials.h"
#include "stack/stun/stun_message.h"
#include "tests/sim/udp_probe.h"

namespace qp2p_sim_test {
namespace {

using qp2p::stun::MessageBuilder;
using qp2p::stun::MessageView;

std::string as_text(const qp2p::Bytes& b) { return std::string(b.begin(), b.end()); }

std::optional<MessageView> view(const std::string& text) {
  return MessageView::parse(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

TEST(RelayInSimulation, AllocatePermitAndReceiveDataThroughANat) {
  ns3::TopologyHelper builder;
  builder.AddSupernodes(1);
  const uint32_t natSite = builder.AddNat("port-restricted-cone", 1);
  const uint32_t openSite = builder.AddNat("open", 1);
  ns3::Topology topology = builder.Build();
  ns3::SupernodeHelper helper;
  helper.SetAttribute("TurnSecret", ns3::StringValue("sim-secret"));
  helper.SetAttribute("RelayMinPort", ns3::UintegerValue(50000));
  helper.SetAttribute("RelayMaxPort", ns3::UintegerValue(50010));
  helper.Install(topology.supernodes[0].node);
  const ns3::Ipv4Address server = topology.supernodes[0].primary;

  UdpProbe client(topology.nats[natSite].hosts.Get(0), topology.nats[natSite].hostAddresses[0],
                  40000);
  UdpProbe peer(topology.nats[openSite].hosts.Get(0), topology.nats[openSite].hostAddresses[0],
                7000);
  // Unix time is simulation time in ns-3 (offset 0).
  const auto creds = qp2p::turn::make_turn_credentials("sim-secret", "simuser", 0, 3600);

  qp2p::stun::TransactionId txn{1};
  auto request = [&](qp2p::stun::Method method, const std::string& nonce,
                     const std::function<void(MessageBuilder&)>& attrs) {
    ++txn[0];
    qp2p::Bytes out;
    MessageBuilder b(out, method, qp2p::stun::Class::kRequest, txn);
    attrs(b);
    if (!nonce.empty()) {
      b.add_string(qp2p::stun::attr::kUsername, creds.username);
      b.add_string(qp2p::stun::attr::kRealm, "qp2p");
      b.add_string(qp2p::stun::attr::kNonce, nonce);
      const auto k = qp2p::stun::long_term_key(creds.username, "qp2p", creds.password);
      b.add_message_integrity(k.data(), k.size());
    }
    b.add_fingerprint();
    return as_text(out);
  };
  auto udp = [](MessageBuilder& b) {
    const std::uint8_t v[4] = {17, 0, 0, 0};
    b.add(qp2p::stun::attr::kRequestedTransport, v, 4);
  };

  std::string nonce;
  std::optional<qp2p::Endpoint> relay;
  client.SendAt(ns3::Seconds(1), server, 3478, request(qp2p::stun::Method::kAllocate, "", udp));
  ns3::Simulator::Schedule(ns3::Seconds(2), [&] {
    ASSERT_EQ(client.received().size(), 1u);
    auto v = view(client.received()[0].text);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->error_code()->code, 401);
    nonce = std::string(*v->string(qp2p::stun::attr::kNonce));
    client.SendTo(server, 3478, request(qp2p::stun::Method::kAllocate, nonce, udp));
  });
  ns3::Simulator::Schedule(ns3::Seconds(3), [&] {
    ASSERT_EQ(client.received().size(), 2u);
    auto v = view(client.received()[1].text);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->message_class(), qp2p::stun::Class::kSuccess);
    relay = v->xor_address(qp2p::stun::attr::kXorRelayedAddress);
    ASSERT_TRUE(relay);
    const qp2p::Endpoint peer_ep = ns3::ToEndpoint(peer.local().address, peer.local().port);
    client.SendTo(server, 3478,
                  request(qp2p::stun::Method::kCreatePermission, nonce, [&](MessageBuilder& b) {
                    b.add_xor_address(qp2p::stun::attr::kXorPeerAddress, peer_ep);
                  }));
  });
  ns3::Simulator::Schedule(ns3::Seconds(4), [&] {
    ASSERT_TRUE(relay);
    peer.SendTo(ns3::ToIpv4Address(relay->address), relay->port, "through the relay");
  });
  ns3::Simulator::Stop(ns3::Seconds(5));
  ns3::Simulator::Run();

  ASSERT_TRUE(relay);
  EXPECT_EQ(ns3::ToIpv4Address(relay->address), server);
  EXPECT_GE(relay->port, 50000);
  EXPECT_LE(relay->port, 50010);
  ASSERT_EQ(client.received().size(), 4u) << "401, Allocate, CreatePermission, Data";
  auto data = view(client.received()[3].text);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->method(), qp2p::stun::Method::kData);
  EXPECT_EQ(data->string(qp2p::stun::attr::kData), "through the relay");
  ns3::Simulator::Destroy();
}

}  // namespace
}  // namespace qp2p_sim_test
