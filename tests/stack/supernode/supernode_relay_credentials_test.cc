// Relay credentials in punch-start (docs/protocol.md section 8.5): with TURN configured each
// side of an accepted negotiation gets its own time-limited credentials (user = its peer id,
// one hour), and they work: a TurnClient allocates with them on the supernode's primary port.
// Without TURN the fields are empty.
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

TEST(SupernodeRelayCredentials, TheyAllocateOnTheSupernodesRelay) {
  RelayFixture f(turn_config());
  auto [a, b] = f.negotiate();
  ASSERT_TRUE(a);
  turn::TurnClientConfig config;
  config.local = ep("203.0.113.10:40002");  // another socket of Alice's host
  config.server = f.net.primary();
  config.credentials.username = a->relay.username;
  config.credentials.password = a->relay.password;
  turn::TurnClient client(config, Random::from_u64(77));
  ASSERT_TRUE(client.allocate(f.net.now));
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
  ASSERT_EQ(client.state(), turn::TurnClient::State::kAllocated);
  ASSERT_TRUE(client.relayed());
  EXPECT_EQ(client.relayed()->address, f.net.primary().address);
  EXPECT_EQ(f.net.supernode.turn_counters().allocations_created, 1u);
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
