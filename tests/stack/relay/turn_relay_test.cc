// The TURN data path (RFC 8656 sections 9-12): permissions by peer IP, Send and Data
// indications, ChannelBind rules and ChannelData both ways (padded to 4 bytes), expiry of
// permissions and channels driven by `now`, and every dropped datagram counted by reason.
#include <gtest/gtest.h>

#include "stack/relay/channel_data.h"
#include "tests/stack/hex_bytes.h"
#include "tests/stack/relay/turn_test_client.h"

namespace qp2p::turn_test {
namespace {

using stun::Method;

const Endpoint kPeer = ep("203.0.113.5:7000");
const Bytes kHello = {'h', 'e', 'l', 'l', 'o'};

// Tests here run for up to 15 minutes of virtual time: nonces live an hour, and the allocation
// is refreshed to an hour at once.
turn::TurnConfig long_lived(turn::TurnConfig c) {
  c.nonce_lifetime = std::chrono::seconds(3600);
  return c;
}

struct Fixture {
  explicit Fixture(turn::TurnConfig config = test_turn_config())
      : server(long_lived(config), Random::from_u64(21)), client(server, ep("198.51.100.7:40000")) {
    relay = *client.allocate(at_s(0));
    EXPECT_EQ(client.refresh(at_s(0), 3600).error(), 0);
  }
  Bytes send_indication(const Endpoint& peer, const Bytes& data) {
    return client.request(
        Method::kSend,
        [&](stun::MessageBuilder& b) {
          b.add_xor_address(stun::attr::kXorPeerAddress, peer);
          b.add(stun::attr::kData, data.data(), data.size());
        },
        /*sign=*/false, stun::Class::kIndication);
  }
  void from_peer(Instant now, const Endpoint& peer, const Bytes& data) {
    server.handle_peer_datagram(now, relay, peer, data.data(), data.size());
  }
  void channel_data(Instant now, const Bytes& bytes) {
    server.handle_channel_data(now, server.config().listen, client.me(), bytes.data(),
                               bytes.size());
  }
  turn::TurnServer server;
  TurnTestClient client;
  Endpoint relay;
};

TEST(TurnRelay, SendIndicationNeedsAPermissionByIpAddress) {
  Fixture f;
  f.client.deliver(at_s(1), f.send_indication(kPeer, kHello));
  EXPECT_FALSE(f.server.poll_transmit());
  EXPECT_EQ(f.server.counters().dropped_no_permission, 1u);

  auto ok = f.client.create_permission(at_s(1), {ep("203.0.113.5:1")});  // port is ignored
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->message_class(), stun::Class::kSuccess) << ok.error();
  f.client.deliver(at_s(2), f.send_indication(kPeer, kHello));
  auto out = f.server.poll_transmit();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->local, f.relay);
  EXPECT_EQ(out->remote, kPeer);
  EXPECT_EQ(out->payload, kHello);
  EXPECT_EQ(f.server.counters().send_indications, 1u);
}

TEST(TurnRelay, PeerDataBecomesADataIndication) {
  Fixture f;
  f.from_peer(at_s(1), kPeer, kHello);
  EXPECT_FALSE(f.server.poll_transmit()) << "no permission yet";
  EXPECT_EQ(f.server.counters().dropped_no_permission, 1u);
  ASSERT_TRUE(f.client.create_permission(at_s(1), {kPeer}));
  f.from_peer(at_s(2), kPeer, kHello);
  auto d = f.client.answer();
  ASSERT_TRUE(d);
  EXPECT_EQ(d.datagram.local, f.server.config().listen);
  EXPECT_EQ(d.datagram.remote, f.client.me());
  EXPECT_EQ(d->method(), Method::kData);
  EXPECT_EQ(d->message_class(), stun::Class::kIndication);
  EXPECT_EQ(d->xor_address(stun::attr::kXorPeerAddress), kPeer);
  ASSERT_TRUE(d->find(stun::attr::kData));
  EXPECT_EQ(d->string(stun::attr::kData), "hello");
  EXPECT_EQ(f.server.counters().data_indications, 1u);
}

TEST(TurnRelay, ChannelDataBothWaysPadded) {
  Fixture f;
  auto bound = f.client.channel_bind(at_s(1), 0x4001, kPeer);
  ASSERT_TRUE(bound);
  ASSERT_EQ(bound->message_class(), stun::Class::kSuccess) << bound.error();

  f.from_peer(at_s(2), kPeer, kHello);
  auto d = f.server.poll_transmit();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->payload, test::hex("4001 0005 68656c6c6f 000000"));
  EXPECT_EQ(d->remote, f.client.me());

  f.channel_data(at_s(3), test::hex("4001 0003 616263 00"));
  auto out = f.server.poll_transmit();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->local, f.relay);
  EXPECT_EQ(out->remote, kPeer);
  EXPECT_EQ(out->payload, (Bytes{'a', 'b', 'c'}));
  EXPECT_TRUE(f.server.is_bound_channel(f.server.config().listen, f.client.me(),
                                        test::hex("4001 0000").data(), 4));
  EXPECT_FALSE(f.server.is_bound_channel(f.server.config().listen, f.client.me(),
                                         test::hex("4002 0000").data(), 4));
  // Another peer port on the same IP has the permission but no channel: Data indication.
  f.from_peer(at_s(4), ep("203.0.113.5:7001"), kHello);
  auto di = f.client.answer();
  ASSERT_TRUE(di);
  EXPECT_EQ(di->method(), Method::kData);
}

TEST(TurnRelay, ChannelBindRules) {
  Fixture f;
  EXPECT_EQ(f.client.channel_bind(at_s(1), 0x3FFF, kPeer).error(), 400);
  EXPECT_EQ(f.client.channel_bind(at_s(1), 0x8000, kPeer).error(), 400);
  ASSERT_EQ(f.client.channel_bind(at_s(1), 0x4001, kPeer).error(), 0);
  EXPECT_EQ(f.client.channel_bind(at_s(2), 0x4001, kPeer).error(), 0) << "refresh";
  EXPECT_EQ(f.client.channel_bind(at_s(2), 0x4001, ep("203.0.113.6:7000")).error(), 400)
      << "channel already bound to another peer";
  EXPECT_EQ(f.client.channel_bind(at_s(2), 0x4002, kPeer).error(), 400)
      << "peer already bound to another channel";
  EXPECT_EQ(f.client.channel_bind(at_s(2), 0x6abc, ep("203.0.113.6:7000")).error(), 0)
      << "RFC 5766 range accepted by default (coturn's client uses it)";
  EXPECT_EQ(f.client.channel_bind(at_s(2), 0x4003, ep("[2001:db8::1]:7000")).error(), 443);
  EXPECT_EQ(f.server.counters().channels_bound, 3u);
}

TEST(TurnRelay, StrictRfc8656ChannelRange) {
  auto config = test_turn_config();
  config.rfc5766_channel_range = false;
  Fixture f(config);
  EXPECT_EQ(f.client.channel_bind(at_s(1), 0x5000, kPeer).error(), 400);
  EXPECT_EQ(f.client.channel_bind(at_s(1), 0x4fff, kPeer).error(), 0);
}

TEST(TurnRelay, PermissionsExpireAfter300Seconds) {
  Fixture f;
  ASSERT_TRUE(f.client.create_permission(at_s(10), {kPeer}));
  f.from_peer(at_s(309.9), kPeer, kHello);
  EXPECT_TRUE(f.server.poll_transmit());
  f.from_peer(at_s(310), kPeer, kHello);
  EXPECT_FALSE(f.server.poll_transmit());
  EXPECT_EQ(f.server.counters().dropped_no_permission, 1u);
  // A refresh before expiry keeps it.
  ASSERT_TRUE(f.client.create_permission(at_s(311), {kPeer}));
  ASSERT_TRUE(f.client.create_permission(at_s(600), {kPeer}));
  f.client.deliver(at_s(899), f.send_indication(kPeer, kHello));
  EXPECT_TRUE(f.server.poll_transmit());
}

TEST(TurnRelay, ChannelsExpireAndStayReservedFor300MoreSeconds) {
  Fixture f;
  ASSERT_EQ(f.client.channel_bind(at_s(10), 0x4001, kPeer).error(), 0);
  // Keep the permission alive but not the channel.
  for (double t : {250.0, 500.0}) ASSERT_TRUE(f.client.create_permission(at_s(t), {kPeer}));
  f.channel_data(at_s(609), test::hex("4001 0001 61 000000"));
  EXPECT_TRUE(f.server.poll_transmit());
  f.channel_data(at_s(610), test::hex("4001 0001 61 000000"));
  EXPECT_FALSE(f.server.poll_transmit());
  EXPECT_EQ(f.server.counters().dropped_channel_unbound, 1u);
  f.server.handle_timeout(at_s(700));
  EXPECT_EQ(f.client.channel_bind(at_s(700), 0x4001, ep("203.0.113.6:7000")).error(), 400)
      << "quarantined until 910 s";
  f.server.handle_timeout(at_s(911));
  EXPECT_EQ(f.client.channel_bind(at_s(911), 0x4001, ep("203.0.113.6:7000")).error(), 0);
}

TEST(TurnRelay, MalformedAndUnroutedInputIsCounted) {
  Fixture f;
  f.channel_data(at_s(1), test::hex("4001 0009 6161"));       // truncated
  f.channel_data(at_s(1), test::hex("4001"));                 // too short
  f.channel_data(at_s(1), test::hex("4005 0001 61 000000"));  // unbound
  TurnTestClient stranger(f.server, ep("198.51.100.9:40000"));
  f.server.handle_channel_data(at_s(1), f.server.config().listen, stranger.me(),
                               test::hex("4001 0000").data(), 4);
  stranger.deliver(at_s(1), stranger.request(
                                Method::kSend,
                                [](stun::MessageBuilder& b) {
                                  b.add_xor_address(stun::attr::kXorPeerAddress, kPeer);
                                },
                                false, stun::Class::kIndication));
  f.client.deliver(at_s(1), f.client.request(
                                Method::kSend,
                                [](stun::MessageBuilder& b) {
                                  b.add_xor_address(stun::attr::kXorPeerAddress, kPeer);  // no DATA
                                },
                                false, stun::Class::kIndication));
  f.server.handle_peer_datagram(at_s(1), ep("192.0.2.1:50100"), kPeer, kHello.data(),
                                kHello.size());
  f.client.deliver(at_s(1),
                   f.client.request(Method::kData, nullptr, false, stun::Class::kIndication));
  const auto& c = f.server.counters();
  EXPECT_EQ(c.dropped_channel_data_malformed, 2u);
  EXPECT_EQ(c.dropped_channel_unbound, 1u);
  EXPECT_EQ(c.dropped_no_allocation, 2u);
  EXPECT_EQ(c.dropped_send_malformed, 1u);
  EXPECT_EQ(c.dropped_relay_unknown, 1u);
  EXPECT_EQ(c.dropped_unexpected_indication, 1u);
  EXPECT_FALSE(f.server.poll_transmit()) << "nothing relayed, nothing answered";
}

TEST(TurnRelay, CreatePermissionNeedsAPeerAndRespectsTheQuota) {
  auto config = test_turn_config();
  config.max_permissions_per_allocation = 2;
  Fixture f(config);
  EXPECT_EQ(f.client.create_permission(at_s(1), {}).error(), 400);
  EXPECT_EQ(f.client.create_permission(at_s(1), {ep("203.0.113.1:1"), ep("203.0.113.2:1")}).error(),
            0);
  EXPECT_EQ(f.client.create_permission(at_s(1), {ep("203.0.113.3:1")}).error(), 508);
  EXPECT_EQ(f.client.create_permission(at_s(1), {ep("[2001:db8::3]:1")}).error(), 443);
}

}  // namespace
}  // namespace qp2p::turn_test
