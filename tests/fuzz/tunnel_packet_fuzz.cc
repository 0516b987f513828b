// Fuzz target for tunnel packets (stack/tunnel/tunnel_packet.h). Each input is used three ways:
//  1. tunnel::parse over the raw bytes: a successful parse must be canonical (re-encoding a check
//     gives back the same bytes; a sealed packet's header and pointers match the input);
//  2. the raw bytes, a copy with the tunnel magic and version forced on, and a copy shaped as a
//     check (192 bytes, often claiming the expected peer's id), handed to a HolePunch and to a
//     Tunnel (fixed identities), which must drop them without crashing: never Established, never
//     Data, at most a few answers;
//  3. the input's bytes spliced into the ciphertext of a genuine sealed packet, which must then
//     fail authentication unless unchanged.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "stack/tunnel/hole_punch.h"
#include "stack/tunnel/tunnel.h"
#include "stack/tunnel/tunnel_keys.h"
#include "stack/tunnel/tunnel_packet.h"

namespace {

using namespace qp2p;
using namespace qp2p::tunnel;

void require(bool condition) {
  if (!condition) std::abort();
}

Endpoint ep(const char* text) { return *Endpoint::parse(text); }

struct World {
  Identity alice = Identity::from_seed(Identity::Seed{1});
  Identity bob = Identity::from_seed(Identity::Seed{2});
  AttemptNonce nonce{7};
  Instant now = instant_from_us(1'000'000);
  Endpoint local = ep("192.0.2.10:40000");
  Endpoint remote = ep("203.0.113.2:50000");

  HolePunchConfig config() const {
    HolePunchConfig c;
    c.identity = alice;
    c.remote = bob.id();
    c.attempt_nonce = nonce;
    c.locals = {local};
    c.remote_candidates = {{remote, CandidateKind::kServerReflexive}};
    c.start = now;
    return c;
  }

  // A tunnel between alice and bob with fixed keys.
  Tunnel tunnel() const {
    Random r = Random::from_u64(3);
    auto ea = wire::EphemeralKeyPair::generate(r);
    auto eb = wire::EphemeralKeyPair::generate(r);
    TunnelParams p;
    p.side.identity = alice;
    p.side.remote = bob.id();
    p.side.nonce = nonce;
    p.side.tie_breaker = 1;
    p.side.tunnel_id = 0x1111;
    p.side.ephemeral = ea.public_key;
    p.local = local;
    p.remote = remote;
    p.remote_tunnel_id = 0x2222;
    p.remote_ephemeral = eb.public_key;
    p.keys = *derive_tunnel_keys(ea, eb.public_key, alice.id(), bob.id(), nonce);
    return Tunnel(p, TunnelConfig{}, now);
  }
};

const World& world() {
  static const World w;
  return w;
}

void check_parse(const std::uint8_t* data, std::size_t size) {
  ParseError error = ParseError::kTooLarge;
  auto p = parse(data, size, &error);
  require(to_string(error) != nullptr);
  require(p.has_value() == (error == ParseError::kNone));
  if (!p) return;
  require(size <= kMaxPacketSize && looks_like_tunnel(data, size));
  if (auto* c = std::get_if<CheckPacket>(&*p)) {
    Bytes again;
    append_check(*c, again);
    require(again.size() == size && std::memcmp(again.data(), data, size) == 0);
  } else {
    const auto& s = std::get<SealedPacket>(*p);
    require(s.header == data && s.ciphertext == data + kSealedHeaderSize);
    require(s.ciphertext_size + kSealedHeaderSize == size && s.ciphertext_size >= kAeadTagSize);
    require(s.counter != 0 && s.tunnel_id != 0);
    Bytes header;
    append_sealed_header(s.type, s.tunnel_id, s.counter, header);
    require(std::memcmp(header.data(), data, kSealedHeaderSize) == 0);
  }
}

void feed(SansIoEndpoint& e, const World& w, const std::uint8_t* data, std::size_t size) {
  e.handle_datagram(w.now, w.local, w.remote, data, size);
  for (int guard = 0; auto d = e.poll_transmit(); ++guard) {
    require(guard < 16);
    require(d->payload.size() <= kMaxPacketSize);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_parse(data, size);
  const World& w = world();

  Bytes forced(data, data + size);
  if (forced.size() >= 2) {
    forced[0] = kMagic;
    forced[1] = kVersion;
    if (forced.size() >= 4) {
      forced[2] = static_cast<std::uint8_t>(1 + forced[2] % 5);
      forced[3] = forced[3] & 1;
    }
    check_parse(forced.data(), forced.size());
  }
  // Cut or padded to a check's size with a check's header: reaches the signature checks.
  Bytes check(forced.begin(), forced.begin() + std::min(forced.size(), kCheckSize));
  check.resize(kCheckSize, 0x5a);
  check[0] = kMagic;
  check[1] = kVersion;
  check[2] = static_cast<std::uint8_t>(1 + (check[2] & 1));
  check[3] = check[2] == 1 ? (check[3] & 1) : 0;
  if (check[4] & 1) std::memcpy(check.data() + 16, w.bob.id().key.data(), 32);  // claims bob
  check_parse(check.data(), check.size());

  HolePunch punch(w.config(), Random::from_u64(1));
  punch.handle_timeout(w.now);
  while (punch.poll_transmit()) {
  }
  feed(punch, w, data, size);
  feed(punch, w, forced.data(), forced.size());
  feed(punch, w, check.data(), check.size());
  // Random bytes never establish a punch (they cannot carry bob's signature).
  while (auto e = punch.poll_event()) require(!std::holds_alternative<hole_punch_event::Established>(*e));

  Tunnel t = w.tunnel();
  while (t.poll_transmit()) {
  }
  feed(t, w, data, size);
  feed(t, w, forced.data(), forced.size());
  feed(t, w, check.data(), check.size());
  while (auto e = t.poll_event()) require(!std::holds_alternative<tunnel_event::Data>(*e));

  // 3. Spliced into a genuine packet's ciphertext: opens only when nothing changed.
  Random r = Random::from_u64(3);
  auto ea = wire::EphemeralKeyPair::generate(r);
  auto eb = wire::EphemeralKeyPair::generate(r);
  const TunnelKeys ka = *derive_tunnel_keys(ea, eb.public_key, w.alice.id(), w.bob.id(), w.nonce);
  const TunnelKeys kb = *derive_tunnel_keys(eb, ea.public_key, w.bob.id(), w.alice.id(), w.nonce);
  const std::uint8_t plain[24] = {1, 2, 3};
  Bytes sealed = seal(ka, PacketType::kData, 0x2222, 5, plain, sizeof(plain));
  const Bytes original = sealed;
  const std::size_t n = std::min(size, sealed.size() - kSealedHeaderSize);
  std::memcpy(sealed.data() + kSealedHeaderSize, data, n);
  auto p = parse(sealed.data(), sealed.size());
  require(p.has_value());
  const bool opened = open(kb, std::get<SealedPacket>(*p)).has_value();
  require(opened == (sealed == original));
  return 0;
}
