// Test bed for the TURN client: a TurnClient talking to the real TurnServer in virtual time,
// with no sockets. Datagrams move between them (and between the server's relay sockets and a
// recording "peer") in a bounded loop; a drop filter loses chosen datagrams.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "stack/relay/turn_client.h"
#include "tests/stack/relay/turn_test_client.h"

namespace qp2p::turn_test {

inline const Endpoint kClientEp = ep("198.51.100.7:40000");
inline const Endpoint kPeerEp = ep("203.0.113.5:7000");

struct ClientLab {
  explicit ClientLab(turn::TurnConfig server_config = test_turn_config(), std::int64_t ttl = 3600,
                     std::string_view secret = kSecret)
      : server(server_config, Random::from_u64(31)),
        client(client_config(server_config, ttl, secret), Random::from_u64(32)) {}

  static turn::TurnClientConfig client_config(const turn::TurnConfig& s, std::int64_t ttl,
                                              std::string_view secret) {
    turn::TurnClientConfig c;
    c.local = kClientEp;
    c.server = s.listen;
    c.credentials = turn::make_turn_credentials(secret, "alice", kUnixStart, ttl);
    return c;
  }

  // Which datagrams are lost: (from client?) and the datagram. Returning true drops it.
  using DropFilter = std::function<bool(bool from_client, const Datagram&)>;

  // Moves everything that is ready, then fires timers, until `until` (virtual time). Bounded.
  void run_until(Instant until) {
    for (int guard = 0; guard < 200000; ++guard) {
      pump();
      Instant next = std::min(client.poll_timeout(), server.poll_timeout());
      if (next > until) break;
      now = std::max(now, next);
      client.handle_timeout(now);
      server.handle_timeout(now);
    }
    now = std::max(now, until);
    client.handle_timeout(now);
    server.handle_timeout(now);
    pump();
  }
  void run_for(double seconds) {
    run_until(now + std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6)));
  }

  void pump() {
    for (int guard = 0; guard < 10000; ++guard) {
      bool moved = false;
      while (auto d = client.poll_transmit()) {
        moved = true;
        ++client_sent;
        if (drop && drop(true, *d)) continue;
        to_server(*d);
      }
      for (int i = 0; i < 64; ++i) {
        auto c = server.poll_socket_change();
        if (!c) break;
        moved = true;
        if (c->kind == turn::SocketChange::Kind::kOpen)
          server.handle_socket_result(now, c->local, true);
      }
      while (auto d = server.poll_transmit()) {
        moved = true;
        if (d->local == server.config().listen) {
          if (drop && drop(false, *d)) continue;
          EXPECT_TRUE(client.handle_datagram(now, d->remote, d->local, d->payload.data(),
                                             d->payload.size()));
        } else {
          at_peer.push_back(std::move(*d));
        }
      }
      while (auto e = client.poll_event()) {
        moved = true;
        events.push_back(std::move(*e));
      }
      if (!moved) return;
    }
    ADD_FAILURE() << "pump did not settle";
  }

  void to_server(const Datagram& d) {
    ASSERT_EQ(d.remote, server.config().listen);
    if (turn::TurnClient::looks_like_channel_data(d.payload.data(), d.payload.size())) {
      server.handle_channel_data(now, d.remote, d.local, d.payload.data(), d.payload.size());
      return;
    }
    auto m = stun::MessageView::parse(d.payload.data(), d.payload.size());
    ASSERT_TRUE(m) << "the client sent something that is not STUN";
    server.handle_stun(now, d.remote, d.local, *m);
  }

  // The peer sends to our relayed address.
  void from_peer(const Endpoint& peer, const Bytes& data) {
    server.handle_peer_datagram(now, *client.relayed(), peer, data.data(), data.size());
    pump();
  }

  template <typename T>
  std::vector<T> events_of() const {
    std::vector<T> out;
    for (const auto& e : events)
      if (auto* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
  }

  // The Failed events, one a line, for assertion messages.
  std::string failures() const {
    std::string out;
    for (const auto& f : events_of<turn::client_event::Failed>())
      out += std::string(turn::to_string(f.operation)) + " " + f.peer.to_string() + " " +
             std::to_string(f.code) + " " + f.reason + "\n";
    return out;
  }

  bool allocate() {
    client.allocate(now);
    run_for(0);
    return client.state() == turn::TurnClient::State::kAllocated;
  }

  turn::TurnServer server;
  turn::TurnClient client;
  Instant now = at_s(0);
  DropFilter drop;
  std::vector<turn::TurnClientEvent> events;
  std::vector<Datagram> at_peer;  // what the relay sent to peers
  int client_sent = 0;
};

}  // namespace qp2p::turn_test
