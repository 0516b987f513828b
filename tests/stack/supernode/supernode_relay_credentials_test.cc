// Relay credentials in punch-start (docs/protocol.md section 8.5): with TURN configured each
// side of an accepted negotiation gets its own time-limited credentials (user = its peer id,
// one hour), and they work: a TurnClient allocates with them on the supernode's primary port.
// Without TURN the fields are empty. A relayed address is passed on only when it is the sender's
// own allocation there.
#include <gtest/gtest.h>

#include "stack/relay/turn_client.h"
#include "stack/relay/turn_credentials.h"
#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

constexpr char kSecret[] = "relay-secret";
constexpr std::int64_t kUnixAtZero = 1700000000;

SupernodeConfig turn_config() {
  SupernodeConfig c = one_ip_config();
  c.turn.secret = kSecret;
  c.turn.realm = "qp2p.test";
  c.turn.unix_offset_us = kUnixAtZero * 1000000;
  return c;
}

struct RelayFixture {
  explicit RelayFixture(SupernodeConfig config) : net(std::move(config)) {
    EXPECT_TRUE(net.login(alice));
    EXPECT_TRUE(net.login(bob));
  }

  template <typename T>
  std::optional<T> take_push(TestClient& c) {
    auto r = c.take<T>();
    if (!r) return std::nullopt;
    EXPECT_TRUE(r->sealed) << "credentials travel only sealed";
    net.ack(c, r->message.transaction);
    return std::get<T>(r->message.body);
  }

  // Alice connects, Bob accepts: both punch-starts.
  std::pair<std::optional<wire::PunchStart>, std::optional<wire::PunchStart>> negotiate() {
    auto r = net.request(alice, wire::TunnelConnect{bob.id(), {}, 20});
    if (!r || !std::holds_alternative<wire::TunnelConnectAccepted>(*r)) return {};
    const auto attempt = std::get<wire::TunnelConnectAccepted>(*r).attempt;
    EXPECT_TRUE(take_push<wire::TunnelOffer>(bob));
    auto ack = net.request(bob, wire::TunnelAnswer{alice.id(), attempt, true, {}, 20, ""});
    EXPECT_TRUE(ack && std::holds_alternative<wire::TunnelAnswerAck>(*ack));
    return {take_push<wire::PunchStart>(alice), take_push<wire::PunchStart>(bob)};
  }

  TestNetwork net;
  TestClient alice{1, ep("203.0.113.10:40000"), net.primary()};
  TestClient bob{2, ep("198.51.100.20:41000"), net.primary()};
};

TEST(SupernodeRelayCredentials, EachSideGetsItsOwnForAnHour) {
  RelayFixture f(turn_config());
  auto [a, b] = f.negotiate();
  ASSERT_TRUE(a && b);
  const std::int64_t unix_now = (to_us(f.net.now) / 1000000) + kUnixAtZero;
  EXPECT_EQ(a->relay.username, std::to_string(unix_now + 3600) + ":" + f.alice.id().to_string());
  EXPECT_EQ(b->relay.username, std::to_string(unix_now + 3600) + ":" + f.bob.id().to_string());
  EXPECT_EQ(a->relay.password, turn::rest_api_password(kSecret, a->relay.username));
  EXPECT_EQ(b->relay.password, turn::rest_api_password(kSecret, b->relay.username));
}

// Allocates on the supernode's relay from `local` with `relay` credentials; the relayed address.
std::optional<Endpoint> allocate(RelayFixture& f, const wire::RelayCredentials& relay,
                                 const Endpoint& local) {
  turn::TurnClientConfig config;
  config.local = local;
  config.server = f.net.primary();
  config.credentials.username = relay.username;
  config.credentials.password = relay.password;
  turn::TurnClient client(config, Random::from_u64(77));
  if (!client.allocate(f.net.now)) return std::nullopt;
  for (int round = 0; round < 10 && client.state() == turn::TurnClient::State::kAllocating;
       ++round) {
    while (auto d = client.poll_transmit()) f.net.deliver(d->remote, d->local, d->payload);
    while (auto change = f.net.supernode.poll_socket_change())
      if (change->kind == turn::SocketChange::Kind::kOpen)
        f.net.supernode.handle_socket_result(f.net.now, change->local, true);
    f.net.route();
    for (const Datagram& d : f.net.unrouted)
      client.handle_datagram(f.net.now, d.remote, d.local, d.payload.data(), d.payload.size());
    f.net.unrouted.clear();
  }
  if (client.state() != turn::TurnClient::State::kAllocated) return std::nullopt;
  return client.relayed();
}

TEST(SupernodeRelayCredentials, TheyAllocateOnTheSupernodesRelay) {
  RelayFixture f(turn_config());
  auto [a, b] = f.negotiate();
  ASSERT_TRUE(a);
  // From another socket of Alice's host.
  auto relayed = allocate(f, a->relay, ep("203.0.113.10:40002"));
  ASSERT_TRUE(relayed);
  EXPECT_EQ(relayed->address, f.net.primary().address);
  EXPECT_EQ(f.net.supernode.turn_counters().allocations_created, 1u);
}

// docs/protocol.md section 8.6: a tunnel-relay is passed on only when it names the sender's own
// allocation on this supernode, so no peer can aim the other side's checks at a third party.
TEST(SupernodeRelayCredentials, TunnelRelayMustNameTheSendersOwnAllocation) {
  RelayFixture f(turn_config());
  auto [a, b] = f.negotiate();
  ASSERT_TRUE(a && b);
  const std::uint64_t attempt = b->attempt;
  auto bobs = allocate(f, b->relay, ep("198.51.100.20:41002"));
  auto alices = allocate(f, a->relay, ep("203.0.113.10:40002"));
  ASSERT_TRUE(bobs && alices);
  ASSERT_NE(*bobs, *alices);

  // A third party's address, and an address of this supernode that is no relay of Bob's.
  for (const Endpoint& forged : {ep("203.0.113.77:9"), f.net.primary(), *alices}) {
    SCOPED_TRACE(forged.to_string());
    auto refused = f.net.request(f.bob, wire::TunnelRelay{f.alice.id(), attempt, forged});
    ASSERT_EQ(error_code(refused), 400);
    EXPECT_EQ(std::get<wire::Error>(*refused).reason.rfind("relayed: ", 0), 0u)
        << "names the field: " << std::get<wire::Error>(*refused).reason;
  }
  EXPECT_EQ(f.net.supernode.handshake_counters().relays_not_allocated, 3u);
  EXPECT_EQ(f.net.supernode.handshake_counters().relays, 0u);
  EXPECT_EQ(f.alice.count<wire::TunnelRelayed>(), 0u) << "nothing forged is passed on";

  // Bob's own allocation goes through, to Alice.
  auto ack = f.net.request(f.bob, wire::TunnelRelay{f.alice.id(), attempt, *bobs});
  ASSERT_TRUE(ack && std::holds_alternative<wire::TunnelRelayAck>(*ack));
  auto relayed = f.take_push<wire::TunnelRelayed>(f.alice);
  ASSERT_TRUE(relayed);
  EXPECT_EQ(relayed->relayed, *bobs);
  EXPECT_EQ(relayed->peer, f.bob.id());
  EXPECT_EQ(f.net.supernode.handshake_counters().relays, 1u);
}

TEST(SupernodeRelayCredentials, WithoutTurnNoRelayedAddressIsPassedOn) {
  RelayFixture f(one_ip_config());
  auto [a, b] = f.negotiate();
  ASSERT_TRUE(a && b);
  auto refused = f.net.request(f.bob, wire::TunnelRelay{f.alice.id(), b->attempt,
                                                         ep("192.0.2.1:50000")});
  EXPECT_EQ(error_code(refused), 400);
  EXPECT_EQ(f.alice.count<wire::TunnelRelayed>(), 0u);
}

TEST(SupernodeRelayCredentials, NoneWithoutTurn) {
  RelayFixture f(one_ip_config());
  auto [a, b] = f.negotiate();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->relay.username.empty());
  EXPECT_TRUE(a->relay.password.empty());
  EXPECT_TRUE(b->relay.username.empty());
}

}  // namespace
}  // namespace qp2p::test
