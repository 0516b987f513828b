// Supernode login: Hello -> Challenge (stateless nonce bound to peer and address, 30 s life)
// -> Login (signed transcript, ephemeral X25519 key) -> LoginOk (signed, unsealed), and every
// way a login is refused.
#include <gtest/gtest.h>

#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

using std::chrono::seconds;

TEST(SupernodeLogin, CompletesAndOpensASession) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);

  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->supernode, net.supernode.identity().id());
  // The nonce starts with its issue time in microseconds, big-endian (docs/protocol.md).
  std::uint64_t issued = 0;
  for (int i = 0; i < 8; ++i) issued = issued << 8 | challenge->nonce[i];
  EXPECT_EQ(issued, static_cast<std::uint64_t>(to_us(net.now)));
  EXPECT_EQ(net.supernode.online_peers(), 0u) << "a Hello creates no state";

  auto answer = net.send_login(alice, alice.make_login(*challenge));
  ASSERT_TRUE(answer && std::holds_alternative<wire::LoginOk>(*answer));
  const auto& ok = std::get<wire::LoginOk>(*answer);
  EXPECT_NE(ok.session_id, 0u);
  EXPECT_EQ(ok.mapped, alice.address);
  EXPECT_EQ(ok.keepalive_ms, 10000u);
  EXPECT_EQ(ok.expiry_ms, 30000u);
  ASSERT_TRUE(alice.accept_login_ok(ok)) << "LoginOk signature over the transcript verifies";

  EXPECT_EQ(net.supernode.online_peers(), 1u);
  EXPECT_EQ(net.supernode.counters().logins, 1u);
  EXPECT_EQ(net.supernode.counters().rejected_login, 0u);
  // Both ends derived the same key: a sealed request is answered, sealed.
  auto ack = net.request(alice, wire::Keepalive{});
  ASSERT_TRUE(ack && std::holds_alternative<wire::KeepaliveAck>(*ack));
  EXPECT_EQ(alice.open_failures, 0u);
}

TEST(SupernodeLogin, WorksOnTheAlternatePortAndAnswersFromIt) {
  TestNetwork net;
  const Endpoint alternate = net.supernode.listen_endpoints().at(1);
  TestClient alice(1, ep("198.51.100.10:40000"), alternate);
  net.attach(alice);
  const std::uint64_t txn = alice.new_txn();
  net.send(alice, alice.plain(txn, wire::Hello{alice.id()}));
  auto challenge = alice.take_response(txn);
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->datagram.local, alternate);
  EXPECT_EQ(challenge->datagram.remote, alice.address);
  ASSERT_TRUE(net.login(alice));
  const std::uint64_t ka = alice.new_txn();
  net.send(alice, alice.seal(ka, wire::Keepalive{}));
  auto ack = alice.take_response(ka);
  ASSERT_TRUE(ack && ack->sealed);
  EXPECT_EQ(ack->datagram.local, alternate) << "session replies leave from the peer's socket";
  EXPECT_EQ(net.supernode.counters().logins, 1u);
}

TEST(SupernodeLogin, BadSignatureIsRefusedWith401) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  wire::Login login = alice.make_login(*challenge);
  login.signature[10] ^= 0x01;
  EXPECT_EQ(error_code(net.send_login(alice, login)), 401);
  EXPECT_EQ(net.supernode.online_peers(), 0u);
  EXPECT_EQ(net.supernode.counters().rejected_login, 1u);
  EXPECT_EQ(net.supernode.counters().logins, 0u);
}

TEST(SupernodeLogin, SignatureByAnotherKeyIsRefused) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  TestClient mallory(2, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  // Mallory signs a login in Alice's name (same address, Alice's nonce).
  wire::Login login = mallory.make_login(*challenge);
  login.peer = alice.id();
  EXPECT_EQ(error_code(net.send_login(alice, login)), 401);
  EXPECT_EQ(net.supernode.online_peers(), 0u);
}

TEST(SupernodeLogin, AlteredEphemeralKeyBreaksTheSignature) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  wire::Login login = alice.make_login(*challenge);
  login.ephemeral[0] ^= 0x40;  // a man in the middle substituting his own key
  EXPECT_EQ(error_code(net.send_login(alice, login)), 401);
}

TEST(SupernodeLogin, NonceIssuedToAnotherPeerIsRefused) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  TestClient bob(2, ep("198.51.100.10:40000"), net.primary());  // same address, other key
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  net.clients = {&bob};  // answers to the shared address now reach Bob
  EXPECT_EQ(error_code(net.send_login(bob, bob.make_login(*challenge))), 401);
  EXPECT_EQ(net.supernode.online_peers(), 0u);
}

TEST(SupernodeLogin, NonceIssuedToAnotherAddressIsRefused) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  const wire::Login login = alice.make_login(*challenge);
  alice.address = ep("198.51.100.10:40001");  // another port
  EXPECT_EQ(error_code(net.send_login(alice, login)), 401);
  alice.address = ep("198.51.100.11:40000");  // another IP
  EXPECT_EQ(error_code(net.send_login(alice, login)), 401);
  EXPECT_EQ(net.supernode.counters().rejected_login, 2u);
}

TEST(SupernodeLogin, NonceNotIssuedByThisSupernodeIsRefused) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  // A challenge from another supernode (other secret) for the same peer and address.
  TestNetwork other(one_ip_config(), 2);
  other.attach(alice);
  auto foreign = other.hello(alice);
  ASSERT_TRUE(foreign);
  foreign->supernode = net.supernode.identity().id();
  EXPECT_EQ(error_code(net.send_login(alice, alice.make_login(*foreign))), 401);
  // And a made-up nonce.
  wire::Challenge made_up{net.supernode.identity().id(), {}};
  made_up.nonce.fill(0x5a);
  EXPECT_EQ(error_code(net.send_login(alice, alice.make_login(made_up))), 401);
}

TEST(SupernodeLogin, NonceExpiresAfterThirtySeconds) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  net.advance(seconds(31));
  EXPECT_EQ(error_code(net.send_login(alice, alice.make_login(*challenge))), 401);
  EXPECT_EQ(net.supernode.online_peers(), 0u);
}

TEST(SupernodeLogin, NonceIsStillGoodAtThirtySeconds) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  net.advance(seconds(30));
  auto answer = net.send_login(alice, alice.make_login(*challenge));
  ASSERT_TRUE(answer);
  EXPECT_TRUE(std::holds_alternative<wire::LoginOk>(*answer));
}

TEST(SupernodeLogin, ErrorAnswersEchoTheTransactionUnsealed) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  wire::Challenge bogus{net.supernode.identity().id(), {}};
  const std::uint64_t txn = alice.new_txn();
  net.send(alice, alice.plain(txn, alice.make_login(bogus)));
  auto r = alice.take_response(txn);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->sealed);
  ASSERT_TRUE(std::holds_alternative<wire::Error>(r->message.body));
  EXPECT_EQ(std::get<wire::Error>(r->message.body).code, wire::ErrorCode::kUnauthorized);
  EXPECT_FALSE(std::get<wire::Error>(r->message.body).reason.empty());
}

TEST(SupernodeLogin, LowOrderEphemeralKeyIsRefusedWith400) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  // A correctly signed login whose ephemeral key is the all-zero (low-order) point.
  wire::Login login{alice.id(), challenge->nonce, {}, {}};
  Bytes t = wire::login_transcript(alice.id(), challenge->supernode, login.nonce, login.ephemeral);
  login.signature = alice.identity().sign(t.data(), t.size());
  EXPECT_EQ(error_code(net.send_login(alice, login)), 400);
  EXPECT_EQ(net.supernode.online_peers(), 0u);
}

TEST(SupernodeLogin, ReplayedLoginDoesNotReplaceTheLiveSession) {
  // A retransmitted Login (its LoginOk was slow or lost) or an attacker replaying a captured one
  // from the same address within the nonce's 30 s must not tear down the session the peer is
  // using: the session it derived from the first LoginOk has to keep working.
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  Bytes login_datagram;
  auto first = net.send_login(alice, alice.make_login(*challenge), &login_datagram);
  ASSERT_TRUE(first && std::holds_alternative<wire::LoginOk>(*first));
  ASSERT_TRUE(alice.accept_login_ok(std::get<wire::LoginOk>(*first)));

  net.advance(seconds(1));
  net.send(alice, login_datagram);  // the byte-identical Login again
  EXPECT_EQ(net.supernode.online_peers(), 1u);
  EXPECT_EQ(net.supernode.counters().logins, 1u) << "a replay is not a second login";
  // If the replay is answered, the answer is the same session.
  if (auto again = alice.take<wire::LoginOk>()) {
    EXPECT_EQ(std::get<wire::LoginOk>(again->message.body).session_id,
              std::get<wire::LoginOk>(*first).session_id);
  }

  auto ack = net.request(alice, wire::Keepalive{});
  EXPECT_TRUE(ack && std::holds_alternative<wire::KeepaliveAck>(*ack))
      << "the peer's session was replaced by the replayed Login";
  EXPECT_EQ(net.supernode.counters().dropped_control_unauthenticated, 0u);
}

TEST(SupernodeLogin, ReplayedLoginFromAnotherAddressIsRefused) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  net.attach(alice);
  auto challenge = net.hello(alice);
  ASSERT_TRUE(challenge);
  Bytes login_datagram;
  auto first = net.send_login(alice, alice.make_login(*challenge), &login_datagram);
  ASSERT_TRUE(first && std::holds_alternative<wire::LoginOk>(*first));
  ASSERT_TRUE(alice.accept_login_ok(std::get<wire::LoginOk>(*first)));

  TestClient attacker(9, ep("203.0.113.66:5555"), net.primary());
  net.attach(attacker);
  net.send(attacker, login_datagram);
  auto r = attacker.take<wire::Error>();
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<wire::Error>(r->message.body).code, wire::ErrorCode::kUnauthorized);
  EXPECT_TRUE(net.request(alice, wire::Keepalive{}));
}

TEST(SupernodeLogin, FreshLoginReplacesTheOldSession) {
  TestNetwork net;
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  const std::uint64_t old_session = alice.session_id();
  // Alice restarts behind a new mapping and logs in again.
  alice.address = ep("198.51.100.10:40002");
  ASSERT_TRUE(net.login(alice));
  EXPECT_NE(alice.session_id(), old_session);
  EXPECT_EQ(net.supernode.online_peers(), 1u);
  EXPECT_EQ(net.supernode.counters().logins, 2u);
  auto ack = net.request(alice, wire::Keepalive{});
  ASSERT_TRUE(ack && std::holds_alternative<wire::KeepaliveAck>(*ack));
  EXPECT_EQ(std::get<wire::KeepaliveAck>(*ack).mapped, alice.address);
}

TEST(SupernodeLogin, FullSupernodeRefusesNewPeersButNotReturningOnes) {
  SupernodeConfig config = one_ip_config();
  config.max_peers = 1;
  TestNetwork net(config);
  TestClient alice(1, ep("198.51.100.10:40000"), net.primary());
  TestClient bob(2, ep("198.51.100.20:40000"), net.primary());
  ASSERT_TRUE(net.login(alice));
  net.attach(bob);
  auto challenge = net.hello(bob);
  ASSERT_TRUE(challenge);
  EXPECT_EQ(error_code(net.send_login(bob, bob.make_login(*challenge))), 503);
  EXPECT_TRUE(net.login(alice)) << "a peer already online may log in again";
  EXPECT_EQ(net.supernode.online_peers(), 1u);
}

}  // namespace
}  // namespace qp2p::test
