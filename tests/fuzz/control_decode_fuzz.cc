// Fuzz target for the qp2p control protocol (docs/protocol.md). Each input is used three ways:
//  1. wire::decode over the raw bytes, checking that a successful decode is canonical (encoding
//     the result gives back the same header and body);
//  2. the raw bytes handed to a fresh Supernode (fixed identity, Random::from_u64(1)) from a
//     stranger on both sockets and from a logged-in client's address; and, when they decode,
//     the same message sealed inside the client's session, so the session handlers see
//     arbitrary field values;
//  3. the bytes read as a short script of valid requests by two logged-in clients (publish with
//     real signatures, search, lookup, watch, send, ack, logout, re-login, time passing).
// Every datagram the supernode emits is checked: control datagrams must fit kMaxDatagram and
// decode canonically, sealed ones must open with the addressee's session. It must never crash.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "stack/supernode/supernode.h"
#include "stack/wire/control_message.h"
#include "stack/wire/session.h"

namespace {

using namespace qp2p;

void require(bool condition) {
  if (!condition) std::abort();
}

Endpoint ep(const char* text) { return *Endpoint::parse(text); }

const Identity& fixed_identity(std::uint8_t which) {
  static const Identity ids[3] = {Identity::from_seed(Identity::Seed{1}),
                                  Identity::from_seed(Identity::Seed{2}),
                                  Identity::from_seed(Identity::Seed{3})};
  return ids[which];
}

SupernodeConfig config() {
  SupernodeConfig c;
  c.primary = ep("192.0.2.1:3478");
  c.alternate = ep("192.0.2.1:3479");
  c.max_watches_per_peer = 4;
  return c;
}

// 1. Decoding, and the canonical re-encoding of whatever decodes.
std::optional<wire::ControlMessage> check_decode(const std::uint8_t* data, std::size_t size) {
  wire::DecodeError error = wire::DecodeError::kTooLarge;
  auto m = wire::decode(data, size, &error);
  require(wire::to_string(error) != nullptr);
  require(m.has_value() == (error == wire::DecodeError::kNone));
  wire::DecodeError header_error = wire::DecodeError::kNone;
  auto h = wire::decode_header(data, size, &header_error);
  if (!m) {
    require(!h || error == wire::DecodeError::kUnknownType ||
            error == wire::DecodeError::kMalformedBody);
    return std::nullopt;
  }
  require(h.has_value() && h->transaction == m->transaction);
  require(wire::type_number(m->body) == h->type && wire::type_name(m->body) != nullptr);
  Bytes again;
  wire::encode(*m, again);
  const bool flagged = (data[4] & wire::kFlagSession) != 0;
  require(again.size() + (flagged ? wire::kTrailerSize : 0) == size);
  require(std::memcmp(again.data(), data, 4) == 0);
  require(std::memcmp(again.data() + 5, data + 5, again.size() - 5) == 0);
  if (flagged) require(wire::Session::peek_session_id(data, size).has_value());
  return m;
}

struct Client {
  const Identity* identity = nullptr;
  Endpoint address;
  wire::Session session;
  bool logged_in = false;
  std::vector<std::uint64_t> pushes;  // transactions of pushes received, to acknowledge
  std::uint64_t next_txn = 1;
};

struct World {
  Supernode node{config(), fixed_identity(0), Random::from_u64(1)};
  Random random = Random::from_u64(2);
  Instant now = instant_from_us(1'000'000'000);
  Client clients[2];
  const Endpoint primary = ep("192.0.2.1:3478");

  World() {
    clients[0].identity = &fixed_identity(1);
    clients[0].address = ep("198.51.100.1:40000");
    clients[1].identity = &fixed_identity(2);
    clients[1].address = ep("[2001:db8::2]:40000");
  }

  Client* client_at(const Endpoint& remote) {
    for (Client& c : clients)
      if (c.address == remote) return &c;
    return nullptr;
  }

  // Drains every transmit, checking it, and returns the plain control answers addressed to
  // `want` (the login exchange needs them).
  std::vector<wire::ControlMessage> drain(const Client* want = nullptr) {
    std::vector<wire::ControlMessage> plain;
    for (int guard = 0; guard < 10000; ++guard) {
      auto d = node.poll_transmit();
      if (!d) return plain;
      if (!wire::looks_like_control(d->payload.data(), d->payload.size())) continue;  // STUN
      require(d->payload.size() <= wire::kMaxDatagram);
      auto m = check_decode(d->payload.data(), d->payload.size());
      require(m.has_value());
      Client* c = client_at(d->remote);
      if (!c) continue;
      if (d->payload[4] & wire::kFlagSession) {
        require(c->logged_in);
        require(c->session.open(d->payload.data(), d->payload.size()) ==
                wire::Session::OpenResult::kOk);
        const auto& b = m->body;
        if (std::holds_alternative<wire::Deliver>(b) || std::holds_alternative<wire::Presence>(b) ||
            std::holds_alternative<wire::DeliveryReport>(b))
          if (c->pushes.size() < 64) c->pushes.push_back(m->transaction);
      } else if (c == want) {
        plain.push_back(std::move(*m));
      }
    }
    std::abort();  // the supernode kept producing output
  }

  void send(const Endpoint& local, const Endpoint& remote, const Bytes& b) {
    node.handle_datagram(now, local, remote, b.data(), b.size());
  }

  void login(Client& c) {
    Bytes b;
    wire::encode({c.next_txn++, wire::Hello{c.identity->id()}}, b);
    send(primary, c.address, b);
    auto answers = drain(&c);
    require(answers.size() == 1 && std::holds_alternative<wire::Challenge>(answers[0].body));
    const auto challenge = std::get<wire::Challenge>(answers[0].body);
    auto eph = wire::EphemeralKeyPair::generate(random);
    wire::Login login{c.identity->id(), challenge.nonce, eph.public_key, {}};
    Bytes t = wire::login_transcript(login.peer, challenge.supernode, login.nonce, login.ephemeral);
    login.signature = c.identity->sign(t.data(), t.size());
    b.clear();
    wire::encode({c.next_txn++, login}, b);
    send(primary, c.address, b);
    answers = drain(&c);
    require(answers.size() == 1 && std::holds_alternative<wire::LoginOk>(answers[0].body));
    const auto ok = std::get<wire::LoginOk>(answers[0].body);
    Bytes t2 = wire::login_ok_transcript(login.peer, challenge.supernode, eph.public_key, ok);
    require(verify_signature(challenge.supernode, t2.data(), t2.size(), ok.signature));
    auto key = wire::derive_session_key(eph, ok.ephemeral, login.peer, challenge.supernode,
                                        eph.public_key, ok.ephemeral);
    require(key.has_value());
    c.session = wire::Session(ok.session_id, *key, wire::Direction::kToSupernode);
    c.logged_in = true;
  }

  void sealed(Client& c, wire::Body body, std::optional<std::uint64_t> txn = std::nullopt) {
    if (!c.logged_in) return;
    send(primary, c.address, c.session.seal({txn ? *txn : c.next_txn++, std::move(body)}));
    drain();
  }

  void run_timers(Duration d) {
    const Instant until = now + d;
    for (int i = 0; i < 200 && node.poll_timeout() <= until; ++i) {
      now = std::max(now, node.poll_timeout());
      node.handle_timeout(now);
      drain();
    }
    now = until;
  }
};

// 3. A script of valid requests read from the input.
class Script {
 public:
  Script(const std::uint8_t* data, std::size_t size) : r_(data, size) {}
  bool more() { return r_.remaining() > 0; }
  std::uint8_t u8() { return r_.remaining() ? r_.u8() : 0; }
  std::uint16_t u16() { return r_.remaining() >= 2 ? r_.u16() : 0; }
  std::uint64_t u64() { return r_.remaining() >= 8 ? r_.u64() : 0; }
  std::string text(std::size_t max) {
    std::size_t n = std::min<std::size_t>(u8() % (max + 1), r_.remaining());
    const std::uint8_t* p = r_.take(n);
    return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
  }

 private:
  ByteReader r_;
};

PeerId pick_target(Script& s, World& w) {
  switch (s.u8() % 3) {
    case 0:
      return w.clients[0].identity->id();
    case 1:
      return w.clients[1].identity->id();
    default:
      return fixed_identity(0).id();  // the supernode itself: never a peer
  }
}

std::vector<wire::SearchTerm> terms(Script& s) {
  std::vector<wire::SearchTerm> out;
  const int n = s.u8() % 4;
  for (int i = 0; i < n; ++i) out.push_back({s.text(3), s.text(4), (s.u8() & 1) != 0});
  return out;
}

void run_script(World& w, const std::uint8_t* data, std::size_t size) {
  Script s(data, size);
  for (int step = 0; step < 12 && s.more(); ++step) {
    const std::uint8_t op = s.u8();
    Client& c = w.clients[op >> 7];
    switch (op % 11) {
      case 0:
        w.sealed(c, wire::Keepalive{});
        break;
      case 1:
        w.sealed(c, wire::Logout{});
        break;
      case 2:
        w.login(c);
        break;
      case 3: {
        wire::MetaEntries entries;
        const int n = s.u8() % 5;
        for (int i = 0; i < n; ++i) entries.push_back({s.text(3), s.text(8)});
        // Keys must be unique for a valid record; duplicates make an invalid one, also useful.
        if (s.u8() & 1) entries.push_back({"zz-big", std::string(s.u8() + 1, 'b')});
        w.sealed(c, wire::Publish{wire::SignedRecord::make(*c.identity, s.u8() % 4, entries)});
        break;
      }
      case 4:
        w.sealed(c, wire::Lookup{pick_target(s, w)});
        break;
      case 5:
        w.sealed(c, wire::Search{s.u16(), terms(s), {}});
        break;
      case 6:
        w.sealed(c, wire::Watch{pick_target(s, w)});
        break;
      case 7:
        w.sealed(c, wire::SendMessage{pick_target(s, w), std::uint64_t{s.u8()} % 4, s.text(40)});
        break;
      case 8:
        if (!c.pushes.empty()) {
          const std::size_t i = s.u8() % c.pushes.size();
          w.sealed(c, wire::Ack{}, c.pushes[i]);
        }
        break;
      case 9:
        w.run_timers(std::chrono::milliseconds(s.u16() * 4));
        break;
      default:
        w.sealed(c, wire::Ack{}, s.u64());
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::warn);
    return true;
  }();
  (void)quiet;
  auto message = check_decode(data, size);

  // 2a. Raw, before anyone logged in: from a stranger on both sockets (cheap: no crypto unless
  // the bytes carry a valid nonce, which random bytes do not).
  World w;
  w.send(w.primary, ep("203.0.113.9:9"), Bytes(data, data + size));
  w.drain();
  w.send(ep("192.0.2.1:3479"), ep("[2001:db8::9]:9"), Bytes(data, data + size));
  w.drain();

  // Logging two clients in costs a dozen signatures and key exchanges (95% of the time), so the
  // session paths run for inputs that decode and for a quarter of the others.
  if (!message && (size == 0 || data[0] % 4 != 0)) return 0;
  w.login(w.clients[0]);
  w.login(w.clients[1]);

  // 2b. Raw from a logged-in peer's address; and, when the bytes decode, the same message sealed
  // inside its session so the handlers see whatever field values decoded.
  w.send(w.primary, w.clients[0].address, Bytes(data, data + size));
  w.drain();
  if (message) w.sealed(w.clients[0], message->body, message->transaction);

  // 3. The same bytes as a script, then time passing (expiry, push retransmission and timeout).
  run_script(w, data, size);
  w.run_timers(std::chrono::seconds(40));
  return 0;
}
