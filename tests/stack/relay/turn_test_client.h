// Test helper: a TURN client speaking to a TurnServer in virtual time. It builds requests with
// the long-term credential attributes, answers the 401 challenge, confirms (or fails) the relay
// sockets the server asks for, and hands back the server's answers as parsed messages.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "stack/relay/turn_server.h"
#include "stack/stun/stun_message.h"

namespace qp2p::turn_test {

inline Endpoint ep(std::string_view text) { return *Endpoint::parse(text); }

// 2023-11-14T22:13:20Z: a fixed wall-clock date for the REST API expiries.
inline constexpr std::int64_t kUnixStart = 1700000000;
inline constexpr char kSecret[] = "north-secret";
inline constexpr char kRealm[] = "qp2p.test";

inline turn::TurnConfig test_turn_config() {
  turn::TurnConfig c;
  c.secret = kSecret;
  c.realm = kRealm;
  c.listen = ep("192.0.2.1:3478");
  c.min_port = 50000;
  c.max_port = 50099;
  // Instant zero is kUnixStart in wall time.
  c.unix_offset_us = kUnixStart * 1000000;
  return c;
}

inline Instant at_s(double seconds) {
  return instant_from_us(static_cast<std::int64_t>(seconds * 1e6));
}

// A received message kept with its bytes (MessageView borrows them).
// Empty (false) when nothing came. Move-only in spirit: the view points into the payload.
struct Answer {
  Datagram datagram;
  std::optional<stun::MessageView> view;
  explicit operator bool() const { return view.has_value(); }
  const stun::MessageView* operator->() const { return &*view; }
  int error() const {
    auto e = view->error_code();
    return e ? e->code : 0;
  }
};

class TurnTestClient {
 public:
  TurnTestClient(turn::TurnServer& server, Endpoint me, std::string user = "alice",
                 std::int64_t ttl = 3600)
      : server_(server), me_(me) {
    creds_ = turn::make_turn_credentials(kSecret, user, kUnixStart, ttl);
  }

  const Endpoint& me() const { return me_; }
  turn::TurnCredentials& credentials() { return creds_; }
  std::string& nonce() { return nonce_; }
  std::string& realm() { return realm_; }
  turn::LongTermKey key() const {
    return stun::long_term_key(creds_.username, realm_, creds_.password);
  }

  using Attrs = std::function<void(stun::MessageBuilder&)>;

  // A request with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY (when `sign`) and FINGERPRINT.
  Bytes request(stun::Method method, const Attrs& attrs, bool sign = true,
                stun::Class cls = stun::Class::kRequest) {
    ++txn_[0];
    Bytes out;
    stun::MessageBuilder b(out, method, cls, txn_);
    if (attrs) attrs(b);
    if (sign) {
      b.add_string(stun::attr::kUsername, creds_.username);
      b.add_string(stun::attr::kRealm, realm_);
      b.add_string(stun::attr::kNonce, nonce_);
      const auto k = key();
      b.add_message_integrity(k.data(), k.size());
    }
    b.add_fingerprint();
    return out;
  }
  const stun::TransactionId& last_transaction() const { return txn_; }

  // Feeds `bytes` to the server as from this client; confirms socket opens with `open_ok`.
  void deliver(Instant now, const Bytes& bytes) {
    auto m = stun::MessageView::parse(bytes.data(), bytes.size());
    ASSERT_TRUE(m);
    server_.handle_stun(now, server_.config().listen, me_, *m);
  }
  // Runs the socket changes the server asked for; returns the endpoints it asked to open.
  std::vector<Endpoint> settle_sockets(Instant now, bool open_ok = true) {
    std::vector<Endpoint> opened;
    for (int i = 0; i < 64; ++i) {
      auto c = server_.poll_socket_change();
      if (!c) break;
      if (c->kind == turn::SocketChange::Kind::kOpen) {
        opened.push_back(c->local);
        server_.handle_socket_result(now, c->local, open_ok);
      } else {
        closed_.push_back(c->local);
      }
    }
    return opened;
  }
  const std::vector<Endpoint>& closed() const { return closed_; }

  // The single STUN answer waiting for this client, if any.
  Answer answer() {
    auto d = server_.poll_transmit();
    Answer a;
    if (!d) return a;
    a.datagram = std::move(*d);
    a.view = stun::MessageView::parse(a.datagram.payload.data(), a.datagram.payload.size());
    return a;
  }

  Answer exchange(Instant now, const Bytes& bytes, bool open_ok = true) {
    deliver(now, bytes);
    settle_sockets(now, open_ok);
    return answer();
  }

  // Unauthenticated request -> 401 -> learn realm and nonce.
  bool learn_nonce(Instant now) {
    auto a = exchange(now, request(stun::Method::kAllocate, udp_transport(), false));
    if (!a || a.error() != 401) return false;
    realm_ = std::string(*a->string(stun::attr::kRealm));
    nonce_ = std::string(*a->string(stun::attr::kNonce));
    return true;
  }

  static Attrs udp_transport(std::uint8_t protocol = 17) {
    return [protocol](stun::MessageBuilder& b) {
      const std::uint8_t v[4] = {protocol, 0, 0, 0};
      b.add(stun::attr::kRequestedTransport, v, 4);
    };
  }

  // The whole dance; returns the relayed address.
  std::optional<Endpoint> allocate(Instant now) {
    if (nonce_.empty() && !learn_nonce(now)) return std::nullopt;
    auto a = exchange(now, request(stun::Method::kAllocate, udp_transport()));
    if (!a || a->message_class() != stun::Class::kSuccess) return std::nullopt;
    return a->xor_address(stun::attr::kXorRelayedAddress);
  }

  Answer create_permission(Instant now, const std::vector<Endpoint>& peers) {
    return exchange(now, request(stun::Method::kCreatePermission, [&](stun::MessageBuilder& b) {
                      for (const auto& p : peers) b.add_xor_address(stun::attr::kXorPeerAddress, p);
                    }));
  }

  Answer channel_bind(Instant now, std::uint16_t channel, const Endpoint& peer) {
    return exchange(now, request(stun::Method::kChannelBind, [&](stun::MessageBuilder& b) {
                      b.add_u32(stun::attr::kChannelNumber, std::uint32_t{channel} << 16);
                      b.add_xor_address(stun::attr::kXorPeerAddress, peer);
                    }));
  }

  Answer refresh(Instant now, std::optional<std::uint32_t> lifetime) {
    return exchange(now, request(stun::Method::kRefresh, [&](stun::MessageBuilder& b) {
                      if (lifetime) b.add_u32(stun::attr::kLifetime, *lifetime);
                    }));
  }

 private:
  turn::TurnServer& server_;
  Endpoint me_;
  turn::TurnCredentials creds_;
  std::string realm_ = kRealm;
  std::string nonce_;
  stun::TransactionId txn_{0, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
  std::vector<Endpoint> closed_;
};

}  // namespace qp2p::turn_test
