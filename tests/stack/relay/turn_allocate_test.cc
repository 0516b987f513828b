// TURN Allocate and Refresh (RFC 8656 sections 7.2, 7.3) with long-term credentials
// (RFC 8489 section 9.2): the 401 challenge, each error code, retransmissions, quotas, relay
// sockets that fail to open, EVEN-PORT reservations, and expiry driven by `now`.
#include <gtest/gtest.h>

#include "tests/stack/relay/turn_test_client.h"

namespace qp2p::turn_test {
namespace {

using stun::Method;

TEST(TurnAllocate, UnauthenticatedRequestIsChallengedWithRealmAndNonce) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(1));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  auto a =
      client.exchange(at_s(1), client.request(Method::kAllocate, client.udp_transport(), false));
  ASSERT_TRUE(a);
  EXPECT_EQ(a.error(), 401);
  EXPECT_EQ(a->string(stun::attr::kRealm), std::string_view(kRealm));
  ASSERT_TRUE(a->string(stun::attr::kNonce));
  EXPECT_EQ(a->string(stun::attr::kNonce)->size(), turn::NonceFactory::kLength);
  EXPECT_FALSE(a->find(stun::attr::kMessageIntegrity)) << "no integrity without credentials";
  EXPECT_TRUE(a->check_fingerprint());
  EXPECT_EQ(a.datagram.local, ep("192.0.2.1:3478"));
  EXPECT_EQ(a.datagram.remote, client.me());
  EXPECT_EQ(server.counters().challenges, 1u);
  EXPECT_EQ(server.allocation_count(), 0u) << "nothing kept before authentication";
}

TEST(TurnAllocate, SucceedsWithRelayedMappedAddressAndLifetime) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(2));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(client.learn_nonce(at_s(1)));
  client.deliver(at_s(1), client.request(Method::kAllocate, client.udp_transport()));
  EXPECT_FALSE(server.poll_transmit()) << "the answer waits for the relay socket";
  auto opened = client.settle_sockets(at_s(1));
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].address, ep("192.0.2.1:0").address) << "relay address defaults to listen";
  EXPECT_GE(opened[0].port, 50000);
  EXPECT_LE(opened[0].port, 50099);
  auto a = client.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->message_class(), stun::Class::kSuccess) << a.error();
  EXPECT_EQ(a->xor_address(stun::attr::kXorRelayedAddress), opened[0]);
  EXPECT_EQ(a->xor_address(stun::attr::kXorMappedAddress), client.me());
  EXPECT_EQ(a->u32(stun::attr::kLifetime), 600u);
  const auto key = client.key();
  EXPECT_TRUE(a->check_message_integrity(key.data(), key.size()));
  EXPECT_TRUE(server.owns_relay(opened[0]));
  EXPECT_EQ(server.counters().allocations_created, 1u);
}

TEST(TurnAllocate, RetransmissionGetsTheSameAnswerAnotherTransaction437) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(3));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(client.learn_nonce(at_s(1)));
  const Bytes request = client.request(Method::kAllocate, client.udp_transport());
  auto first = client.exchange(at_s(1), request);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->message_class(), stun::Class::kSuccess);
  auto again = client.exchange(at_s(1.5), request);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.datagram.payload, first.datagram.payload);
  EXPECT_EQ(server.counters().allocate_retransmits, 1u);
  auto other = client.exchange(at_s(2), client.request(Method::kAllocate, client.udp_transport()));
  ASSERT_TRUE(other);
  EXPECT_EQ(other.error(), 437);
  EXPECT_EQ(server.allocation_count(), 1u);
}

TEST(TurnAllocate, WrongCredentialsAre401) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(4));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(client.learn_nonce(at_s(1)));
  client.credentials().password = "not-the-password";
  auto a = client.exchange(at_s(1), client.request(Method::kAllocate, client.udp_transport()));
  ASSERT_TRUE(a);
  EXPECT_EQ(a.error(), 401);
  EXPECT_TRUE(a->string(stun::attr::kNonce));
  EXPECT_FALSE(a->find(stun::attr::kMessageIntegrity));

  TurnTestClient realm(server, ep("198.51.100.7:40001"));
  ASSERT_TRUE(realm.learn_nonce(at_s(1)));
  realm.realm() = "elsewhere";
  auto b = realm.exchange(at_s(1), realm.request(Method::kAllocate, realm.udp_transport()));
  ASSERT_TRUE(b);
  EXPECT_EQ(b.error(), 401);

  TurnTestClient forged(server, ep("198.51.100.7:40002"));
  ASSERT_TRUE(forged.learn_nonce(at_s(1)));
  forged.credentials().username = "1900000000:alice";  // a later expiry than was signed
  auto c = forged.exchange(at_s(1), forged.request(Method::kAllocate, forged.udp_transport()));
  ASSERT_TRUE(c);
  EXPECT_EQ(c.error(), 401);
  EXPECT_EQ(server.counters().error_401, 6u) << "three challenges and three refusals";
  EXPECT_EQ(server.allocation_count(), 0u);
}

TEST(TurnAllocate, ExpiredRestUsernameIsRefused) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(5));
  TurnTestClient client(server, ep("198.51.100.7:40000"), "alice", /*ttl=*/60);
  ASSERT_TRUE(client.learn_nonce(at_s(59)));
  auto ok = client.exchange(at_s(59), client.request(Method::kAllocate, client.udp_transport()));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->message_class(), stun::Class::kSuccess) << "valid one second before expiry";
  TurnTestClient late(server, ep("198.51.100.7:40001"), "alice", /*ttl=*/60);
  ASSERT_TRUE(late.learn_nonce(at_s(60)));
  auto refused = late.exchange(at_s(60), late.request(Method::kAllocate, late.udp_transport()));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused.error(), 401);
}

TEST(TurnAllocate, MissingNonceIs400AndStaleNonceIs438WithAFreshOne) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(6));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(client.learn_nonce(at_s(0)));
  Bytes no_nonce;
  {
    stun::TransactionId t{9};
    stun::MessageBuilder b(no_nonce, Method::kAllocate, stun::Class::kRequest, t);
    client.udp_transport()(b);
    b.add_string(stun::attr::kUsername, client.credentials().username);
    b.add_string(stun::attr::kRealm, kRealm);
    const auto k = client.key();
    b.add_message_integrity(k.data(), k.size());
  }
  auto bad = client.exchange(at_s(1), no_nonce);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad.error(), 400);

  // Nonces live 600 s.
  auto stale =
      client.exchange(at_s(600), client.request(Method::kAllocate, client.udp_transport()));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale.error(), 438);
  ASSERT_TRUE(stale->string(stun::attr::kNonce));
  client.nonce() = std::string(*stale->string(stun::attr::kNonce));
  auto ok = client.exchange(at_s(600), client.request(Method::kAllocate, client.udp_transport()));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->message_class(), stun::Class::kSuccess) << ok.error();

  // A nonce issued to another client address is stale here too.
  TurnTestClient thief(server, ep("198.51.100.8:40000"));
  thief.nonce() = client.nonce();
  auto stolen = thief.exchange(at_s(601), thief.request(Method::kAllocate, thief.udp_transport()));
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen.error(), 438);
  EXPECT_EQ(server.counters().error_438, 2u);
}

TEST(TurnAllocate, TransportMustBeUdp) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(7));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(client.learn_nonce(at_s(0)));
  auto tcp = client.exchange(at_s(1), client.request(Method::kAllocate, client.udp_transport(6)));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp.error(), 442);
  const auto k = client.key();
  EXPECT_TRUE(tcp->check_message_integrity(k.data(), k.size()))
      << "errors to authenticated requests are signed";
  auto none = client.exchange(at_s(1), client.request(Method::kAllocate, nullptr));
  ASSERT_TRUE(none);
  EXPECT_EQ(none.error(), 400);
}

TEST(TurnAllocate, UnknownComprehensionRequiredAttributeIs420) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(8));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(client.learn_nonce(at_s(0)));
  auto a = client.exchange(at_s(1), client.request(Method::kAllocate, [](stun::MessageBuilder& b) {
    TurnTestClient::udp_transport()(b);
    b.add(stun::attr::kDontFragment, nullptr, 0);  // we cannot set DF: RFC 8656 says 420
  }));
  ASSERT_TRUE(a);
  EXPECT_EQ(a.error(), 420);
  const stun::AttributeView* unknown = a->find(stun::attr::kUnknownAttributes);
  ASSERT_TRUE(unknown);
  ASSERT_EQ(unknown->length, 2);
  EXPECT_EQ(a->value(*unknown)[0], 0x00);
  EXPECT_EQ(a->value(*unknown)[1], 0x1A);
}

TEST(TurnAllocate, Ipv6FamilyOnAnIpv4RelayIs440) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(9));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(client.learn_nonce(at_s(0)));
  auto a = client.exchange(at_s(1), client.request(Method::kAllocate, [](stun::MessageBuilder& b) {
    TurnTestClient::udp_transport()(b);
    b.add_u32(stun::attr::kRequestedAddressFamily, 0x02000000);
  }));
  ASSERT_TRUE(a);
  EXPECT_EQ(a.error(), 440);
}

TEST(TurnAllocate, QuotasPerUserAndInTotal) {
  auto config = test_turn_config();
  config.max_allocations_per_user = 2;
  config.max_allocations = 3;
  turn::TurnServer server(config, Random::from_u64(10));
  std::vector<std::unique_ptr<TurnTestClient>> clients;
  auto add = [&](const char* user, std::uint16_t port) {
    clients.push_back(std::make_unique<TurnTestClient>(
        server, Endpoint{ep("198.51.100.7:1").address, port}, user));
    TurnTestClient& c = *clients.back();
    EXPECT_TRUE(c.learn_nonce(at_s(1)));
    return c.exchange(at_s(1), c.request(Method::kAllocate, c.udp_transport()));
  };
  EXPECT_EQ(add("alice", 40000)->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(add("alice", 40001)->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(add("alice", 40002).error(), 486);
  EXPECT_EQ(add("bob", 40003)->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(add("carol", 40004).error(), 508);
  EXPECT_EQ(server.counters().error_486, 1u);
  EXPECT_EQ(server.counters().error_508, 1u);
}

TEST(TurnAllocate, PortsTakenElsewhereAreReplacedThen508) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(11));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(client.learn_nonce(at_s(0)));
  client.deliver(at_s(1), client.request(Method::kAllocate, client.udp_transport()));
  // The first two ports are "in use by another process", the third opens.
  auto first = server.poll_socket_change();
  ASSERT_TRUE(first);
  server.handle_socket_result(at_s(1), first->local, false);
  auto second = server.poll_socket_change();
  ASSERT_TRUE(second);
  EXPECT_NE(second->local, first->local);
  server.handle_socket_result(at_s(1), second->local, false);
  auto third = client.settle_sockets(at_s(1));
  ASSERT_EQ(third.size(), 1u);
  auto a = client.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->xor_address(stun::attr::kXorRelayedAddress), third[0]);
  EXPECT_EQ(server.counters().relay_bind_failures, 2u);

  TurnTestClient unlucky(server, ep("198.51.100.7:40001"));
  ASSERT_TRUE(unlucky.learn_nonce(at_s(2)));
  auto refused =
      unlucky.exchange(at_s(2), unlucky.request(Method::kAllocate, unlucky.udp_transport()),
                       /*open_ok=*/false);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused.error(), 508);
  EXPECT_EQ(server.counters().relay_bind_failures, 2u + turn::TurnServer::kMaxBindAttempts);
  EXPECT_EQ(server.allocation_count(), 1u);
}

TEST(TurnAllocate, EvenPortWithReservationThenReservationToken) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(12));
  TurnTestClient rtp(server, ep("198.51.100.7:40000"));
  ASSERT_TRUE(rtp.learn_nonce(at_s(0)));
  auto a = rtp.exchange(at_s(1), rtp.request(Method::kAllocate, [](stun::MessageBuilder& b) {
    TurnTestClient::udp_transport()(b);
    const std::uint8_t r = 0x80;
    b.add(stun::attr::kEvenPort, &r, 1);
  }));
  ASSERT_TRUE(a);
  ASSERT_EQ(a->message_class(), stun::Class::kSuccess) << a.error();
  auto relay = a->xor_address(stun::attr::kXorRelayedAddress);
  ASSERT_TRUE(relay);
  EXPECT_EQ(relay->port % 2, 0);
  const stun::AttributeView* token = a->find(stun::attr::kReservationToken);
  ASSERT_TRUE(token);
  ASSERT_EQ(token->length, 8);
  Bytes token_value(a->value(*token), a->value(*token) + 8);

  TurnTestClient rtcp(server, ep("198.51.100.7:40001"));
  ASSERT_TRUE(rtcp.learn_nonce(at_s(2)));
  auto b = rtcp.exchange(at_s(2), rtcp.request(Method::kAllocate, [&](stun::MessageBuilder& m) {
    TurnTestClient::udp_transport()(m);
    m.add(stun::attr::kReservationToken, token_value.data(), 8);
  }));
  ASSERT_TRUE(b);
  ASSERT_EQ(b->message_class(), stun::Class::kSuccess) << b.error();
  EXPECT_EQ(b->xor_address(stun::attr::kXorRelayedAddress)->port, relay->port + 1);

  TurnTestClient again(server, ep("198.51.100.7:40002"));
  ASSERT_TRUE(again.learn_nonce(at_s(3)));
  auto c = again.exchange(at_s(3), again.request(Method::kAllocate, [&](stun::MessageBuilder& m) {
    TurnTestClient::udp_transport()(m);
    m.add(stun::attr::kReservationToken, token_value.data(), 8);
  }));
  ASSERT_TRUE(c);
  EXPECT_EQ(c.error(), 508) << "a token is good once";
}

TEST(TurnRefresh, ExtendsDeletesAndChecksTheAllocation) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(13));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  auto relay = client.allocate(at_s(0));
  ASSERT_TRUE(relay);

  auto longer = client.refresh(at_s(500), 3000);
  ASSERT_TRUE(longer);
  EXPECT_EQ(longer->u32(stun::attr::kLifetime), 3000u);
  auto capped = client.refresh(at_s(500), 99999);
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->u32(stun::attr::kLifetime), 3600u) << "max lifetime";
  auto floor = client.refresh(at_s(500), 10);
  ASSERT_TRUE(floor);
  EXPECT_EQ(floor->u32(stun::attr::kLifetime), 600u) << "never below the default";

  // Another user on the same 5-tuple: 441.
  TurnTestClient mallory(server, client.me(), "mallory");
  mallory.nonce() = client.nonce();
  auto wrong = mallory.refresh(at_s(501), 600);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong.error(), 441);

  auto gone = client.refresh(at_s(502), 0);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(gone->u32(stun::attr::kLifetime), 0u);
  EXPECT_EQ(client.closed(), std::vector<Endpoint>{*relay}) << "the relay socket is closed";
  EXPECT_EQ(server.allocation_count(), 0u);
  auto mismatch = client.refresh(at_s(503), 600);
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch.error(), 437);
  EXPECT_EQ(server.counters().allocations_deleted, 1u);
}

TEST(TurnExpiry, AllocationExpiresAtItsLifetime) {
  turn::TurnServer server(test_turn_config(), Random::from_u64(14));
  TurnTestClient client(server, ep("198.51.100.7:40000"));
  auto relay = client.allocate(at_s(0));
  ASSERT_TRUE(relay);
  EXPECT_LE(server.poll_timeout(), at_s(600));
  server.handle_timeout(at_s(599.9));
  EXPECT_EQ(server.allocation_count(), 1u);
  // Drive the timers as a runtime would, bounded.
  for (int i = 0; i < 10 && server.allocation_count() > 0; ++i)
    server.handle_timeout(std::max(server.poll_timeout(), at_s(600)));
  EXPECT_EQ(server.allocation_count(), 0u);
  client.settle_sockets(at_s(601));
  EXPECT_EQ(client.closed(), std::vector<Endpoint>{*relay});
  EXPECT_EQ(server.counters().allocations_expired, 1u);
  EXPECT_FALSE(server.owns_relay(*relay));
  EXPECT_EQ(server.poll_timeout(), kNever);
}

}  // namespace
}  // namespace qp2p::turn_test
