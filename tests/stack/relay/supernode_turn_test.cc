// The relay service inside a Supernode: TURN is off without a secret; with one, TURN methods on
// the primary endpoint reach it (Binding stays with STUN), relay sockets are asked for with
// poll_socket_change(), datagrams on them are peer data, and a ChannelData first byte of 0x51 is
// told apart from qp2p control by whether that channel is bound on the sender's 5-tuple.
#include <gtest/gtest.h>

#include "stack/supernode/supernode.h"
#include "stack/wire/control_message.h"
#include "tests/stack/hex_bytes.h"
#include "tests/stack/relay/turn_test_client.h"

namespace qp2p::turn_test {
namespace {

using stun::Method;

const Endpoint kPrimary = ep("192.0.2.1:3478");
const Endpoint kAlternate = ep("192.0.2.1:3479");
const Endpoint kClient = ep("198.51.100.7:40000");
const Endpoint kPeer = ep("203.0.113.5:7000");

SupernodeConfig config(bool turn_on) {
  SupernodeConfig c;
  c.primary = kPrimary;
  c.alternate = kAlternate;
  c.turn = test_turn_config();
  if (!turn_on) c.turn.secret.clear();
  return c;
}

Identity identity() {
  Random r = Random::from_u64(0x5eed);
  return Identity::generate(r);
}

// A client of the Supernode (not of a bare TurnServer).
class Driver {
 public:
  explicit Driver(Supernode& node) : node_(node) {}

  Answer send(Instant now, const Endpoint& local, const Bytes& bytes) {
    node_.handle_datagram(now, local, kClient, bytes.data(), bytes.size());
    while (auto c = node_.poll_socket_change()) {
      if (c->kind == turn::SocketChange::Kind::kOpen) {
        relay_ = c->local;
        node_.handle_socket_result(now, c->local, true);
      }
    }
    Answer a;
    if (auto d = node_.poll_transmit()) {
      a.datagram = std::move(*d);
      a.view = stun::MessageView::parse(a.datagram.payload.data(), a.datagram.payload.size());
    }
    return a;
  }

  Bytes request(Method method, const TurnTestClient::Attrs& attrs, bool sign = true) {
    ++txn_[0];
    Bytes out;
    stun::MessageBuilder b(out, method, stun::Class::kRequest, txn_);
    if (attrs) attrs(b);
    if (sign) {
      b.add_string(stun::attr::kUsername, creds_.username);
      b.add_string(stun::attr::kRealm, kRealm);
      b.add_string(stun::attr::kNonce, nonce_);
      const auto k = stun::long_term_key(creds_.username, kRealm, creds_.password);
      b.add_message_integrity(k.data(), k.size());
    }
    b.add_fingerprint();
    return out;
  }

  std::string nonce_;
  turn::TurnCredentials creds_ = turn::make_turn_credentials(kSecret, "alice", kUnixStart, 3600);
  std::optional<Endpoint> relay_;

 private:
  Supernode& node_;
  stun::TransactionId txn_{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
};

TEST(SupernodeTurn, OffWithoutASecret) {
  Supernode node(config(false), identity(), Random::from_u64(1));
  Driver d(node);
  auto a = d.send(at_s(1), kPrimary,
                  d.request(Method::kAllocate, TurnTestClient::udp_transport(), false));
  EXPECT_FALSE(a) << "no TURN answer";
  EXPECT_EQ(node.stun_counters().dropped_not_request, 1u);
  EXPECT_EQ(node.turn_counters().requests, 0u);
}

TEST(SupernodeTurn, AllocatesOnThePrimaryEndpointAndRelays) {
  Supernode node(config(true), identity(), Random::from_u64(2));
  Driver d(node);
  // Not on the alternate endpoint: only the primary serves TURN.
  EXPECT_FALSE(d.send(at_s(1), kAlternate,
                      d.request(Method::kAllocate, TurnTestClient::udp_transport(), false)));
  auto challenge = d.send(at_s(1), kPrimary,
                          d.request(Method::kAllocate, TurnTestClient::udp_transport(), false));
  ASSERT_TRUE(challenge);
  ASSERT_EQ(challenge.error(), 401);
  d.nonce_ = std::string(*challenge->string(stun::attr::kNonce));
  auto ok =
      d.send(at_s(1), kPrimary, d.request(Method::kAllocate, TurnTestClient::udp_transport()));
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->message_class(), stun::Class::kSuccess) << ok.error();
  ASSERT_TRUE(d.relay_);
  EXPECT_EQ(ok->xor_address(stun::attr::kXorRelayedAddress), d.relay_);
  EXPECT_EQ(node.relay_allocations(), 1u);

  // Channel 0x5123 starts with the control protocol's 0x51.
  auto bound =
      d.send(at_s(2), kPrimary, d.request(Method::kChannelBind, [](stun::MessageBuilder& b) {
        b.add_u32(stun::attr::kChannelNumber, 0x51230000);
        b.add_xor_address(stun::attr::kXorPeerAddress, kPeer);
      }));
  ASSERT_TRUE(bound);
  ASSERT_EQ(bound.error(), 0);

  const Bytes cd = test::hex("5123 0002 6869 0000");
  node.handle_datagram(at_s(3), kPrimary, kClient, cd.data(), cd.size());
  auto out = node.poll_transmit();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->local, *d.relay_);
  EXPECT_EQ(out->remote, kPeer);
  EXPECT_EQ(out->payload, (Bytes{'h', 'i'}));

  // The same bytes from elsewhere are a (malformed) control message.
  node.handle_datagram(at_s(3), kPrimary, ep("198.51.100.8:40000"), cd.data(), cd.size());
  EXPECT_FALSE(node.poll_transmit());
  EXPECT_EQ(node.counters().dropped_control_malformed, 1u);

  // A datagram on the relay socket is peer data, whatever it looks like (here: a STUN Binding).
  Bytes binding;
  stun::MessageBuilder(binding, Method::kBinding, stun::Class::kRequest, stun::TransactionId{})
      .add_fingerprint();
  node.handle_datagram(at_s(4), *d.relay_, kPeer, binding.data(), binding.size());
  auto back = node.poll_transmit();
  ASSERT_TRUE(back);
  EXPECT_EQ(back->local, kPrimary);
  EXPECT_EQ(back->remote, kClient);
  EXPECT_EQ(back->payload[0], 0x51);
  EXPECT_EQ(back->payload[1], 0x23);
  EXPECT_EQ(node.stun_counters().binding_requests, 0u);
  EXPECT_EQ(node.turn_counters().channel_data_out, 1u);

  // Binding on the primary still goes to STUN.
  node.handle_datagram(at_s(5), kPrimary, kClient, binding.data(), binding.size());
  EXPECT_TRUE(node.poll_transmit());
  EXPECT_EQ(node.stun_counters().binding_requests, 1u);

  // The supernode's own endpoints are no peers: nothing is relayed to or from them.
  auto perm =
      d.send(at_s(5), kPrimary, d.request(Method::kCreatePermission, [](stun::MessageBuilder& b) {
        b.add_xor_address(stun::attr::kXorPeerAddress, kPrimary);
      }));
  ASSERT_EQ(perm.error(), 0);
  Bytes send;
  stun::MessageBuilder(send, Method::kSend, stun::Class::kIndication, stun::TransactionId{7})
      .add_xor_address(stun::attr::kXorPeerAddress, kAlternate)
      .add(stun::attr::kData, binding.data(), binding.size());
  node.handle_datagram(at_s(5), kPrimary, kClient, send.data(), send.size());
  node.handle_datagram(at_s(5), *d.relay_, kPrimary, binding.data(), binding.size());
  EXPECT_FALSE(node.poll_transmit());
  EXPECT_EQ(node.turn_counters().dropped_forbidden_peer, 2u);

  // Expiry through the Supernode's timers closes the relay socket.
  Instant t = at_s(5);
  std::optional<turn::SocketChange> closed;
  for (int i = 0; i < 2000 && !closed; ++i) {
    t = std::max(node.poll_timeout(), t + std::chrono::seconds(1));
    node.handle_timeout(t);
    closed = node.poll_socket_change();
  }
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->kind, turn::SocketChange::Kind::kClose);
  EXPECT_EQ(closed->local, *d.relay_);
  EXPECT_GE(t, at_s(600));
}

}  // namespace
}  // namespace qp2p::turn_test
