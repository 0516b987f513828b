// Encoding, signing and checks of presence records (see presence_record.h).
#include "stack/federation/presence_record.h"

#include "stack/wire/records.h"
#include "stack/wire/session.h"

namespace qp2p::federation {

namespace {
constexpr std::string_view kPresenceDomain = "qp2p presence v1";
constexpr int kMaxNatDelta = 65535;
constexpr int kMaxNatLevels = 8;

void append_unsigned(ByteWriter& w, const PresenceRecord& p) {
  wire::append_key(w, p.peer);
  wire::append_key(w, p.supernode);
  w.u64(p.hlc);
  w.u64(p.expires_ms);
  w.u8(static_cast<std::uint8_t>(p.state));
  w.u64(p.meta_floor);
  wire::append(w, p.mapped);
  w.u8(static_cast<std::uint8_t>(p.hosts.size()));
  for (const Endpoint& e : p.hosts) wire::append(w, e);
  w.u8(static_cast<std::uint8_t>(p.nat.mapping));
  w.u8(static_cast<std::uint8_t>(p.nat.filtering));
  w.u8(static_cast<std::uint8_t>(p.nat.allocation));
  w.u32(static_cast<std::uint32_t>(static_cast<std::int32_t>(p.nat.sequential_delta)));
  w.u16(p.nat.last_port);
  w.u8(p.nat.hairpin ? 1 : 0);
  w.u8(static_cast<std::uint8_t>(p.nat.nat_levels));
  if (p.online()) {
    w.bytes(p.proof.nonce.data(), p.proof.nonce.size());
    w.bytes(p.proof.ephemeral.data(), p.proof.ephemeral.size());
    w.bytes(p.proof.signature.data(), p.proof.signature.size());
  }
}
}  // namespace

std::string PresenceRecord::validate() const {
  if (state != PresenceState::kOnline && state != PresenceState::kLoggedOut &&
      state != PresenceState::kExpired)
    return "presence state " + std::to_string(static_cast<int>(state)) + " unknown";
  if (hosts.size() > kMaxPresenceHosts)
    return "presence lists " + std::to_string(hosts.size()) + " hosts (at most 8)";
  if (static_cast<int>(nat.mapping) > 3 || static_cast<int>(nat.filtering) > 3 ||
      static_cast<int>(nat.allocation) > 3)
    return "presence NAT behaviour out of range";
  if (nat.sequential_delta < -kMaxNatDelta || nat.sequential_delta > kMaxNatDelta)
    return "presence NAT delta out of range";
  if (nat.nat_levels < 0 || nat.nat_levels > kMaxNatLevels)
    return "presence NAT levels out of range";
  if (hlc_wall_ms(hlc) >= expires_ms) return "presence expires before it was written";
  return {};
}

Bytes PresenceRecord::signed_bytes() const {
  Bytes out;
  ByteWriter w(out);
  w.bytes(reinterpret_cast<const std::uint8_t*>(kPresenceDomain.data()), kPresenceDomain.size());
  append_unsigned(w, *this);
  return out;
}

bool PresenceRecord::verify() const {
  if (!validate().empty()) return false;
  if (online()) {
    Bytes t = wire::login_transcript(peer, supernode, proof.nonce, proof.ephemeral);
    if (!verify_signature(peer, t.data(), t.size(), proof.signature)) return false;
  }
  return verify_writer();
}

bool PresenceRecord::verify_writer() const {
  if (!validate().empty()) return false;
  Bytes b = signed_bytes();
  return verify_signature(supernode, b.data(), b.size(), signature);
}

void PresenceRecord::sign(const Identity& writer) {
  supernode = writer.id();
  Bytes b = signed_bytes();
  signature = writer.sign(b.data(), b.size());
}

void append(ByteWriter& w, const PresenceRecord& record) {
  append_unsigned(w, record);
  w.bytes(record.signature.data(), record.signature.size());
}

PresenceRecord read_presence(ByteReader& r) {
  PresenceRecord p;
  p.peer = wire::read_key(r);
  p.supernode = wire::read_key(r);
  p.hlc = r.u64();
  p.expires_ms = r.u64();
  const std::uint8_t state = r.u8();
  if (state < 1 || state > 3) r.fail();
  p.state = static_cast<PresenceState>(state);
  p.meta_floor = r.u64();
  p.mapped = wire::read_endpoint(r);
  const std::size_t hosts = r.u8();
  if (hosts > kMaxPresenceHosts) {
    r.fail();
    return p;
  }
  for (std::size_t i = 0; i < hosts && r.ok(); ++i) p.hosts.push_back(wire::read_endpoint(r));
  const std::uint8_t mapping = r.u8(), filtering = r.u8(), allocation = r.u8();
  if (mapping > 3 || filtering > 3 || allocation > 3) r.fail();
  p.nat.mapping = static_cast<NatProfile::Behaviour>(mapping & 3);
  p.nat.filtering = static_cast<NatProfile::Behaviour>(filtering & 3);
  p.nat.allocation = static_cast<NatProfile::Allocation>(allocation & 3);
  p.nat.sequential_delta = static_cast<std::int32_t>(r.u32());
  p.nat.last_port = r.u16();
  const std::uint8_t hairpin = r.u8();
  if (hairpin > 1) r.fail();
  p.nat.hairpin = hairpin == 1;
  p.nat.nat_levels = r.u8();
  p.nat.complete = p.nat.mapping != NatProfile::Behaviour::kUnknown &&
                   p.nat.filtering != NatProfile::Behaviour::kUnknown &&
                   p.nat.allocation != NatProfile::Allocation::kUnknown;
  if (p.online()) {
    r.bytes(p.proof.nonce.data(), p.proof.nonce.size());
    r.bytes(p.proof.ephemeral.data(), p.proof.ephemeral.size());
    r.bytes(p.proof.signature.data(), p.proof.signature.size());
  }
  r.bytes(p.signature.data(), p.signature.size());
  if (r.ok() && !p.validate().empty()) r.fail();
  return p;
}

}  // namespace qp2p::federation
