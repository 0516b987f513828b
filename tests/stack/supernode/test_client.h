// Test-only helpers for driving a qp2p::Supernode in virtual time: a hand-rolled client that
// speaks the control protocol with the wire API (Hello -> Challenge -> Login -> LoginOk, then a
// wire::Session for sealing and opening), and a TestNetwork that owns the supernode and the
// clock, routes the supernode's transmits to the clients by address and runs its timers.
//
// Deliberately independent of stack/peer: the supernode is tested against the wire format, not
// against the production client.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "stack/supernode/supernode.h"
#include "stack/wire/control_message.h"
#include "stack/wire/session.h"

namespace qp2p::test {

inline Endpoint ep(std::string_view text) {
  auto e = Endpoint::parse(text);
  EXPECT_TRUE(e.has_value()) << text;
  return e.value_or(Endpoint{});
}

// One IP, two ports (the common deployment): STUN on :3478 and :3479, control on :3478.
inline SupernodeConfig one_ip_config() {
  SupernodeConfig c;
  c.primary = ep("192.0.2.1:3478");
  c.alternate = ep("192.0.2.1:3479");
  return c;
}

// Two IPs (RFC 5780 full behaviour discovery).
inline SupernodeConfig two_ip_config() {
  SupernodeConfig c;
  c.primary = ep("192.0.2.1:3478");
  c.alternate = ep("192.0.2.2:3479");
  return c;
}

inline Identity supernode_identity() {
  Random r = Random::from_u64(0x5eed);
  return Identity::generate(r);
}

// A control message a client received: sealed ones have been opened with its session.
struct Received {
  Datagram datagram;
  bool sealed = false;
  wire::ControlMessage message;
};

class TestClient {
 public:
  TestClient(std::uint64_t seed, Endpoint address, Endpoint server)
      : address(address),
        server(server),
        random_(Random::from_u64(seed)),
        identity_(Identity::generate(random_)),
        next_txn_(seed << 32 | 1) {}

  Endpoint address;  // where its datagrams come from (its server-reflexive address)
  Endpoint server;   // the supernode endpoint it sends to

  const Identity& identity() const { return identity_; }
  const PeerId& id() const { return identity_.id(); }
  std::uint64_t new_txn() { return next_txn_++; }

  Bytes plain(std::uint64_t txn, wire::Body body) const {
    Bytes out;
    wire::encode({txn, std::move(body)}, out);
    return out;
  }
  Bytes seal(std::uint64_t txn, wire::Body body) {
    EXPECT_TRUE(logged_in_) << "sealing without a session";
    return session_.seal({txn, std::move(body)});
  }

  // A Login answering `challenge`, with a fresh ephemeral key, signed by this client.
  wire::Login make_login(const wire::Challenge& challenge) {
    supernode_ = challenge.supernode;
    ephemeral_ = wire::EphemeralKeyPair::generate(random_);
    wire::Login login{id(), challenge.nonce, ephemeral_.public_key, {}};
    Bytes t = wire::login_transcript(id(), challenge.supernode, login.nonce, login.ephemeral);
    login.signature = identity_.sign(t.data(), t.size());
    return login;
  }
  // Checks the supernode's signature, derives the key and installs the session.
  bool accept_login_ok(const wire::LoginOk& ok) {
    Bytes t = wire::login_ok_transcript(id(), supernode_, ephemeral_.public_key, ok);
    if (!verify_signature(supernode_, t.data(), t.size(), ok.signature)) return false;
    auto key = wire::derive_session_key(ephemeral_, ok.ephemeral, id(), supernode_,
                                        ephemeral_.public_key, ok.ephemeral);
    if (!key) return false;
    session_ = wire::Session(ok.session_id, *key, wire::Direction::kToSupernode);
    logged_in_ = true;
    return true;
  }
  bool logged_in() const { return logged_in_; }
  std::uint64_t session_id() const { return session_.id(); }

  // Called by TestNetwork for every datagram addressed to this client.
  void receive(const Datagram& d) {
    ++datagrams_received;
    Received r;
    r.datagram = d;
    const bool flagged = d.payload.size() > 4 && (d.payload[4] & wire::kFlagSession);
    if (flagged) {
      if (!logged_in_ ||
          session_.open(d.payload.data(), d.payload.size()) != wire::Session::OpenResult::kOk) {
        ++open_failures;
        return;
      }
      r.sealed = true;
    }
    wire::DecodeError error = wire::DecodeError::kNone;
    auto m = wire::decode(d.payload.data(), d.payload.size(), &error);
    if (!m) {
      ++decode_failures;
      ADD_FAILURE() << "client " << address.to_string() << " got an undecodable "
                    << d.payload.size() << "-byte datagram: " << wire::to_string(error);
      return;
    }
    r.message = std::move(*m);
    received.push_back(std::move(r));
  }

  // Removes and returns the message answering `txn`, if one arrived.
  std::optional<Received> take_response(std::uint64_t txn) {
    for (auto it = received.begin(); it != received.end(); ++it) {
      if (it->message.transaction == txn) {
        Received r = std::move(*it);
        received.erase(it);
        return r;
      }
    }
    return std::nullopt;
  }
  // Removes and returns the first received message whose body is a T.
  template <typename T>
  std::optional<Received> take() {
    for (auto it = received.begin(); it != received.end(); ++it) {
      if (std::holds_alternative<T>(it->message.body)) {
        Received r = std::move(*it);
        received.erase(it);
        return r;
      }
    }
    return std::nullopt;
  }
  template <typename T>
  std::size_t count() const {
    return static_cast<std::size_t>(
        std::count_if(received.begin(), received.end(),
                      [](const Received& r) { return std::holds_alternative<T>(r.message.body); }));
  }

  std::deque<Received> received;
  std::size_t datagrams_received = 0;
  std::size_t open_failures = 0;
  std::size_t decode_failures = 0;

 private:
  Random random_;
  Identity identity_;
  wire::EphemeralKeyPair ephemeral_;
  PeerId supernode_;
  wire::Session session_;
  bool logged_in_ = false;
  std::uint64_t next_txn_;
};

class TestNetwork {
 public:
  explicit TestNetwork(SupernodeConfig config = one_ip_config(), std::uint64_t seed = 1)
      : supernode(std::move(config), supernode_identity(), Random::from_u64(seed)) {}

  Supernode supernode;
  Instant now = instant_from_us(1'000'000'000);  // 1000 s: any origin works, 0 is not special
  std::vector<Datagram> unrouted;                // transmits to addresses of no attached client
  std::vector<TestClient*> clients;

  Endpoint primary() const { return supernode.listen_endpoints().at(0); }

  TestClient& attach(TestClient& c) {
    clients.push_back(&c);
    return c;
  }

  // Hands `payload` to the supernode as arriving on `local` from `remote`, then routes.
  void deliver(const Endpoint& local, const Endpoint& remote, const Bytes& payload) {
    supernode.handle_datagram(now, local, remote, payload.data(), payload.size());
    route();
  }
  void send(TestClient& c, const Bytes& payload) { deliver(c.server, c.address, payload); }

  void route() {
    while (auto d = supernode.poll_transmit()) {
      auto it = std::find_if(clients.begin(), clients.end(),
                             [&](TestClient* c) { return c->address == d->remote; });
      if (it != clients.end())
        (*it)->receive(*d);
      else
        unrouted.push_back(std::move(*d));
    }
  }

  // Runs every timer due up to now + d (in deadline order), routing after each.
  void advance(Duration d) { advance_to(now + d); }
  void advance_to(Instant t) {
    for (int guard = 0; guard < 100000; ++guard) {
      const Instant next = supernode.poll_timeout();
      if (next > t) break;
      now = std::max(now, next);
      supernode.handle_timeout(now);
      route();
    }
    now = std::max(now, t);
  }
  // Advances by d, keeping `alive` clients logged in with a Keepalive every `interval`.
  void advance_keeping_alive(Duration d, std::vector<TestClient*> alive,
                             Duration interval = std::chrono::seconds(5)) {
    const Instant end = now + d;
    while (now < end) {
      advance_to(std::min(end, now + interval));
      for (TestClient* c : alive) request(*c, wire::Keepalive{});
    }
  }

  // --- the login exchange, step by step and whole ---

  std::optional<wire::Challenge> hello(TestClient& c) {
    const std::uint64_t txn = c.new_txn();
    send(c, c.plain(txn, wire::Hello{c.id()}));
    auto r = c.take_response(txn);
    if (!r || r->sealed || !std::holds_alternative<wire::Challenge>(r->message.body))
      return std::nullopt;
    return std::get<wire::Challenge>(r->message.body);
  }
  // Sends a Login; returns the plain answer (LoginOk or Error), if any.
  std::optional<wire::Body> send_login(TestClient& c, const wire::Login& login,
                                       Bytes* datagram = nullptr) {
    const std::uint64_t txn = c.new_txn();
    Bytes bytes = c.plain(txn, login);
    if (datagram) *datagram = bytes;
    send(c, bytes);
    auto r = c.take_response(txn);
    if (!r) return std::nullopt;
    EXPECT_FALSE(r->sealed) << "login answers are not sealed";
    return r->message.body;
  }
  // The whole handshake; fails the test (and returns false) if it does not complete.
  bool login(TestClient& c) {
    if (std::find(clients.begin(), clients.end(), &c) == clients.end()) attach(c);
    auto challenge = hello(c);
    if (!challenge) {
      ADD_FAILURE() << "no Challenge";
      return false;
    }
    auto answer = send_login(c, c.make_login(*challenge));
    if (!answer || !std::holds_alternative<wire::LoginOk>(*answer)) {
      ADD_FAILURE() << "no LoginOk (" << (answer ? wire::type_name(*answer) : "nothing") << ")";
      return false;
    }
    if (!c.accept_login_ok(std::get<wire::LoginOk>(*answer))) {
      ADD_FAILURE() << "LoginOk did not verify";
      return false;
    }
    return true;
  }

  // Sends a sealed request and returns the body of its response (nullopt if none came).
  std::optional<wire::Body> request(TestClient& c, wire::Body body,
                                    std::uint64_t* txn_out = nullptr) {
    const std::uint64_t txn = c.new_txn();
    if (txn_out) *txn_out = txn;
    send(c, c.seal(txn, std::move(body)));
    auto r = c.take_response(txn);
    if (!r) return std::nullopt;
    const auto* error = std::get_if<wire::Error>(&r->message.body);
    const bool unknown_session = error && error->code == wire::ErrorCode::kUnknownSession;
    EXPECT_TRUE(r->sealed || unknown_session)
        << "responses inside a session are sealed; only 'unknown session' comes in clear";
    return r->message.body;
  }
  // Acknowledges a push.
  void ack(TestClient& c, std::uint64_t push_txn) { send(c, c.seal(push_txn, wire::Ack{})); }
};

// The error code of a body, or 0 when it is not an Error.
inline int error_code(const std::optional<wire::Body>& body) {
  if (!body || !std::holds_alternative<wire::Error>(*body)) return 0;
  return static_cast<int>(std::get<wire::Error>(*body).code);
}

}  // namespace qp2p::test
