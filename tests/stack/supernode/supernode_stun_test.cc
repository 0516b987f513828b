// STUN through Supernode::handle_datagram: RFC 8489 Binding with XOR-MAPPED-ADDRESS, and the
// RFC 5780 behaviour-discovery attributes (CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS) with
// one IP (two ports: change of IP refused with 420) and with two IPs (four endpoints).
#include <gtest/gtest.h>

#include <set>

#include "stack/stun/stun_message.h"
#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

const stun::TransactionId kTid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

Bytes binding_request(std::optional<std::uint32_t> change = std::nullopt) {
  Bytes out;
  stun::MessageBuilder b(out, stun::Method::kBinding, stun::Class::kRequest, kTid);
  if (change) b.add_u32(stun::attr::kChangeRequest, *change);
  b.add_fingerprint();
  return out;
}

// Sends a Binding request arriving on `local` from `client` and returns the single answer.
std::optional<Datagram> ask(Supernode& node, const Endpoint& local, const Endpoint& client,
                            const Bytes& request) {
  node.handle_datagram(instant_from_us(1'000'000), local, client, request.data(), request.size());
  auto d = node.poll_transmit();
  EXPECT_FALSE(node.poll_transmit()) << "one answer per request";
  return d;
}

TEST(SupernodeStun, BindingReturnsTheXorMappedAddress) {
  Supernode node(one_ip_config(), supernode_identity(), Random::from_u64(1));
  const Endpoint client = ep("198.51.100.10:40000");
  auto d = ask(node, ep("192.0.2.1:3478"), client, binding_request());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->local, ep("192.0.2.1:3478"));
  EXPECT_EQ(d->remote, client);
  auto v = stun::MessageView::parse(d->payload.data(), d->payload.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->method(), stun::Method::kBinding);
  EXPECT_EQ(v->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(v->transaction_id(), kTid);
  EXPECT_EQ(v->xor_address(stun::attr::kXorMappedAddress), client);
  EXPECT_EQ(v->address(stun::attr::kResponseOrigin), ep("192.0.2.1:3478"));
  EXPECT_EQ(v->address(stun::attr::kOtherAddress), ep("192.0.2.1:3479"))
      << "one IP: the other address differs in port only";
  EXPECT_TRUE(v->check_fingerprint());
  EXPECT_EQ(node.stun_counters().binding_requests, 1u);
  EXPECT_EQ(node.counters().datagrams_in, 1u);
  EXPECT_EQ(node.counters().datagrams_out, 1u);
}

TEST(SupernodeStun, Ipv6ClientGetsItsAddress) {
  Supernode node(one_ip_config(), supernode_identity(), Random::from_u64(1));
  const Endpoint client = ep("[2001:db8::10]:40000");
  auto d = ask(node, ep("192.0.2.1:3478"), client, binding_request());
  ASSERT_TRUE(d);
  auto v = stun::MessageView::parse(d->payload.data(), d->payload.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->xor_address(stun::attr::kXorMappedAddress), client);
}

TEST(SupernodeStun, ChangePortIsAnsweredFromTheAlternatePort) {
  Supernode node(one_ip_config(), supernode_identity(), Random::from_u64(1));
  const Endpoint client = ep("198.51.100.10:40000");
  auto d = ask(node, ep("192.0.2.1:3478"), client, binding_request(stun::kChangePort));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->local, ep("192.0.2.1:3479"));
  auto v = stun::MessageView::parse(d->payload.data(), d->payload.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(v->address(stun::attr::kResponseOrigin), ep("192.0.2.1:3479"));
  EXPECT_EQ(v->xor_address(stun::attr::kXorMappedAddress), client);
  EXPECT_EQ(node.stun_counters().change_requests, 1u);
}

TEST(SupernodeStun, RequestOnTheAlternatePortIsAnsweredFromIt) {
  Supernode node(one_ip_config(), supernode_identity(), Random::from_u64(1));
  auto d = ask(node, ep("192.0.2.1:3479"), ep("198.51.100.10:40000"), binding_request());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->local, ep("192.0.2.1:3479"));
  auto v = stun::MessageView::parse(d->payload.data(), d->payload.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->address(stun::attr::kOtherAddress), ep("192.0.2.1:3478"));
  // And a change of port from there goes back to the primary.
  d = ask(node, ep("192.0.2.1:3479"), ep("198.51.100.10:40000"),
          binding_request(stun::kChangePort));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->local, ep("192.0.2.1:3478"));
}

TEST(SupernodeStun, ChangeIpWithOneIpIs420) {
  Supernode node(one_ip_config(), supernode_identity(), Random::from_u64(1));
  for (std::uint32_t change : {stun::kChangeIp, stun::kChangeIp | stun::kChangePort}) {
    auto d = ask(node, ep("192.0.2.1:3478"), ep("198.51.100.10:40000"), binding_request(change));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->local, ep("192.0.2.1:3478")) << "the refusal comes from where the request went";
    auto v = stun::MessageView::parse(d->payload.data(), d->payload.size());
    ASSERT_TRUE(v);
    EXPECT_EQ(v->message_class(), stun::Class::kError);
    auto error = v->error_code();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, 420);
    const auto* unknown = v->find(stun::attr::kUnknownAttributes);
    ASSERT_NE(unknown, nullptr);
    ASSERT_EQ(unknown->length, 2);
    EXPECT_EQ((v->value(*unknown)[0] << 8 | v->value(*unknown)[1]), stun::attr::kChangeRequest);
  }
}

TEST(SupernodeStun, TwoIpConfigListensOnFourEndpoints) {
  Supernode node(two_ip_config(), supernode_identity(), Random::from_u64(1));
  const auto endpoints = node.listen_endpoints();
  ASSERT_EQ(endpoints.size(), 4u);
  EXPECT_EQ(endpoints[0], ep("192.0.2.1:3478")) << "the primary comes first";
  const std::set<Endpoint> got(endpoints.begin(), endpoints.end());
  const std::set<Endpoint> want = {ep("192.0.2.1:3478"), ep("192.0.2.1:3479"), ep("192.0.2.2:3478"),
                                   ep("192.0.2.2:3479")};
  EXPECT_EQ(got, want);
  Supernode one(one_ip_config(), supernode_identity(), Random::from_u64(1));
  EXPECT_EQ(one.listen_endpoints().size(), 2u);
}

TEST(SupernodeStun, TwoIpConfigHonoursEveryChangeFromTheRightEndpoint) {
  Supernode node(two_ip_config(), supernode_identity(), Random::from_u64(1));
  const Endpoint client = ep("198.51.100.10:40000");
  struct Case {
    const char* arrived_on;
    std::uint32_t change;
    const char* answered_from;
  };
  const Case cases[] = {
      {"192.0.2.1:3478", 0, "192.0.2.1:3478"},
      {"192.0.2.1:3478", stun::kChangePort, "192.0.2.1:3479"},
      {"192.0.2.1:3478", stun::kChangeIp, "192.0.2.2:3478"},
      {"192.0.2.1:3478", stun::kChangeIp | stun::kChangePort, "192.0.2.2:3479"},
      {"192.0.2.2:3479", stun::kChangeIp | stun::kChangePort, "192.0.2.1:3478"},
      {"192.0.2.2:3479", stun::kChangeIp, "192.0.2.1:3479"},
      {"192.0.2.1:3479", stun::kChangeIp, "192.0.2.2:3479"},
      {"192.0.2.2:3478", stun::kChangePort, "192.0.2.2:3479"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.arrived_on) + " change " + std::to_string(c.change));
    auto d = ask(node, ep(c.arrived_on), client,
                 binding_request(c.change ? std::optional<std::uint32_t>(c.change) : std::nullopt));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->local, ep(c.answered_from));
    auto v = stun::MessageView::parse(d->payload.data(), d->payload.size());
    ASSERT_TRUE(v);
    EXPECT_EQ(v->message_class(), stun::Class::kSuccess);
    EXPECT_EQ(v->address(stun::attr::kResponseOrigin), ep(c.answered_from));
    EXPECT_EQ(v->xor_address(stun::attr::kXorMappedAddress), client);
  }
}

TEST(SupernodeStun, TwoIpOtherAddressDiffersInIpAndPort) {
  Supernode node(two_ip_config(), supernode_identity(), Random::from_u64(1));
  auto d = ask(node, ep("192.0.2.1:3478"), ep("198.51.100.10:40000"), binding_request());
  ASSERT_TRUE(d);
  auto v = stun::MessageView::parse(d->payload.data(), d->payload.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->address(stun::attr::kOtherAddress), ep("192.0.2.2:3479"));
}

TEST(SupernodeStun, MalformedStunIsDroppedAndCounted) {
  Supernode node(one_ip_config(), supernode_identity(), Random::from_u64(1));
  Bytes bad = binding_request();
  bad[3] += 4;  // length no longer matches
  node.handle_datagram(instant_from_us(0), ep("192.0.2.1:3478"), ep("198.51.100.10:40000"),
                       bad.data(), bad.size());
  EXPECT_FALSE(node.poll_transmit());
  EXPECT_EQ(node.counters().dropped_stun_malformed, 1u);
}

TEST(SupernodeStun, StunAndControlShareTheSocket) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  const Bytes request = binding_request();
  net.supernode.handle_datagram(net.now, net.primary(), alice.address, request.data(),
                                request.size());
  auto d = net.supernode.poll_transmit();
  ASSERT_TRUE(d);
  auto v = stun::MessageView::parse(d->payload.data(), d->payload.size());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->xor_address(stun::attr::kXorMappedAddress), alice.address);
  EXPECT_TRUE(net.request(alice, wire::Keepalive{})) << "the control session is unaffected";
  EXPECT_EQ(net.supernode.counters().dropped_unknown_protocol, 0u);
}

}  // namespace
}  // namespace qp2p::test
