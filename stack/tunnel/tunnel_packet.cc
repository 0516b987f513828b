// Tunnel packet codec (layout in tunnel_packet.h).
#include "stack/tunnel/tunnel_packet.h"

#include <algorithm>
#include <string_view>

#include "stack/core/byte_io.h"
#include "stack/wire/records.h"

namespace qp2p::tunnel {

namespace {

constexpr std::string_view kCheckDomain = "qp2p tunnel check v1";

bool all_zero(const X25519Key& k) {
  return std::all_of(k.begin(), k.end(), [](std::uint8_t b) { return b == 0; });
}

std::optional<Packet> fail(ParseError* error, ParseError e) {
  if (error) *error = e;
  return std::nullopt;
}

}  // namespace

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::kNone: return "none";
    case ParseError::kTooShort: return "too short";
    case ParseError::kTooLarge: return "too large";
    case ParseError::kBadMagic: return "bad magic";
    case ParseError::kBadVersion: return "bad version";
    case ParseError::kUnknownType: return "unknown type";
    case ParseError::kBadFlags: return "bad flags";
    case ParseError::kZeroTunnelId: return "zero tunnel id";
    case ParseError::kZeroCounter: return "zero counter";
    case ParseError::kZeroKey: return "zero key";
  }
  return "unknown";
}

std::optional<Packet> parse(const std::uint8_t* data, std::size_t size, ParseError* error) {
  if (error) *error = ParseError::kNone;
  if (size < 4) return fail(error, size >= 1 && data[0] != kMagic ? ParseError::kBadMagic
                                                                  : ParseError::kTooShort);
  if (data[0] != kMagic) return fail(error, ParseError::kBadMagic);
  if (size > kMaxPacketSize) return fail(error, ParseError::kTooLarge);
  if (data[1] != kVersion) return fail(error, ParseError::kBadVersion);
  const std::uint8_t type = data[2];
  const std::uint8_t flags = data[3];
  if (type < 1 || type > 5) return fail(error, ParseError::kUnknownType);

  ByteReader r(data + 4, size - 4);
  if (type == 1 || type == 2) {
    if (size < kCheckSize) return fail(error, ParseError::kTooShort);
    if (size > kCheckSize) return fail(error, ParseError::kTooLarge);
    const bool response = type == 2;
    const std::uint8_t allowed = response ? 0 : kFlagNominate;
    if (flags & ~allowed) return fail(error, ParseError::kBadFlags);
    CheckPacket c;
    c.response = response;
    c.nominate = (flags & kFlagNominate) != 0;
    r.bytes(c.transaction.data(), c.transaction.size());
    c.sender = wire::read_key(r);
    c.tie_breaker = r.u64();
    c.tunnel_id = r.u64();
    r.bytes(c.sender_ephemeral.data(), c.sender_ephemeral.size());
    r.bytes(c.receiver_ephemeral.data(), c.receiver_ephemeral.size());
    r.bytes(c.signature.data(), c.signature.size());
    if (!r.at_end()) return fail(error, ParseError::kTooShort);  // not reached: size checked
    if (c.tunnel_id == 0) return fail(error, ParseError::kZeroTunnelId);
    if (all_zero(c.sender_ephemeral) || (response && all_zero(c.receiver_ephemeral)))
      return fail(error, ParseError::kZeroKey);
    return Packet(c);
  }

  if (size < kSealedHeaderSize + kAeadTagSize) return fail(error, ParseError::kTooShort);
  if (flags != 0) return fail(error, ParseError::kBadFlags);
  SealedPacket s;
  s.type = static_cast<PacketType>(type);
  s.tunnel_id = r.u64();
  s.counter = r.u64();
  s.header = data;
  s.ciphertext = data + kSealedHeaderSize;
  s.ciphertext_size = size - kSealedHeaderSize;
  const std::size_t plaintext = s.ciphertext_size - kAeadTagSize;
  if (s.type == PacketType::kKeepalive && plaintext != 0)
    return fail(error, ParseError::kTooLarge);
  if (s.type == PacketType::kClose && plaintext != kClosePlaintextSize)
    return fail(error, plaintext < kClosePlaintextSize ? ParseError::kTooShort
                                                       : ParseError::kTooLarge);
  if (s.tunnel_id == 0) return fail(error, ParseError::kZeroTunnelId);
  if (s.counter == 0) return fail(error, ParseError::kZeroCounter);
  return Packet(s);
}

void append_check(const CheckPacket& c, Bytes& out) {
  ByteWriter w(out);
  w.u8(kMagic);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(c.response ? PacketType::kCheckResponse
                                            : PacketType::kCheckRequest));
  w.u8(!c.response && c.nominate ? kFlagNominate : 0);
  w.bytes(c.transaction.data(), c.transaction.size());
  wire::append_key(w, c.sender);
  w.u64(c.tie_breaker);
  w.u64(c.tunnel_id);
  w.bytes(c.sender_ephemeral.data(), c.sender_ephemeral.size());
  w.bytes(c.receiver_ephemeral.data(), c.receiver_ephemeral.size());
  w.bytes(c.signature.data(), c.signature.size());
}

void append_sealed_header(PacketType type, std::uint64_t tunnel_id, std::uint64_t counter,
                          Bytes& out) {
  ByteWriter w(out);
  w.u8(kMagic);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(type));
  w.u8(0);
  w.u64(tunnel_id);
  w.u64(counter);
}

Bytes check_transcript(const CheckPacket& c, const PeerId& receiver, const AttemptNonce& nonce) {
  Bytes out;
  out.reserve(kCheckDomain.size() + 2 + 12 + 32 + 32 + 16 + 32 + 32 + 32);
  ByteWriter w(out);
  w.bytes(reinterpret_cast<const std::uint8_t*>(kCheckDomain.data()), kCheckDomain.size());
  w.u8(static_cast<std::uint8_t>(c.response ? PacketType::kCheckResponse
                                            : PacketType::kCheckRequest));
  w.u8(!c.response && c.nominate ? kFlagNominate : 0);
  w.bytes(c.transaction.data(), c.transaction.size());
  wire::append_key(w, c.sender);
  wire::append_key(w, receiver);
  w.u64(c.tie_breaker);
  w.u64(c.tunnel_id);
  w.bytes(c.sender_ephemeral.data(), c.sender_ephemeral.size());
  w.bytes(c.receiver_ephemeral.data(), c.receiver_ephemeral.size());
  w.bytes(nonce.data(), nonce.size());
  return out;
}

void sign_check(CheckPacket& c, const Identity& sender, const PeerId& receiver,
                const AttemptNonce& nonce) {
  c.sender = sender.id();
  const Bytes t = check_transcript(c, receiver, nonce);
  c.signature = sender.sign(t.data(), t.size());
}

bool verify_check(const CheckPacket& c, const PeerId& receiver, const AttemptNonce& nonce) {
  const Bytes t = check_transcript(c, receiver, nonce);
  return verify_signature(c.sender, t.data(), t.size(), c.signature);
}

}  // namespace qp2p::tunnel
