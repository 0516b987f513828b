// Login key agreement and the per-message session trailer (see session.h).
#include "stack/wire/session.h"

#include <sodium.h>

#include <cstring>

namespace qp2p::wire {

namespace {
constexpr std::string_view kLoginDomain = "qp2p login v1";
constexpr std::string_view kLoginOkDomain = "qp2p login-ok v1";
constexpr std::string_view kKeyDomain = "qp2p session key v1";

void put(ByteWriter& w, std::string_view s) {
  w.bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}
}  // namespace

EphemeralKeyPair EphemeralKeyPair::generate(Random& random) {
  EphemeralKeyPair kp;
  random.fill(kp.secret.data(), kp.secret.size());
  crypto_scalarmult_base(kp.public_key.data(), kp.secret.data());
  return kp;
}

Bytes login_transcript(const PeerId& peer, const PeerId& supernode, const Nonce& nonce,
                       const X25519Key& peer_ephemeral) {
  Bytes out;
  ByteWriter w(out);
  put(w, kLoginDomain);
  append_key(w, peer);
  append_key(w, supernode);
  w.bytes(nonce.data(), nonce.size());
  w.bytes(peer_ephemeral.data(), peer_ephemeral.size());
  return out;
}

Bytes login_ok_transcript(const PeerId& peer, const PeerId& supernode,
                          const X25519Key& peer_ephemeral, const LoginOk& ok) {
  Bytes out;
  ByteWriter w(out);
  put(w, kLoginOkDomain);
  append_key(w, peer);
  append_key(w, supernode);
  w.bytes(peer_ephemeral.data(), peer_ephemeral.size());
  w.bytes(ok.ephemeral.data(), ok.ephemeral.size());
  w.u64(ok.session_id);
  append(w, ok.mapped);
  w.u32(ok.keepalive_ms);
  w.u32(ok.expiry_ms);
  return out;
}

std::optional<SessionKey> derive_session_key(const EphemeralKeyPair& mine,
                                             const X25519Key& theirs, const PeerId& peer,
                                             const PeerId& supernode,
                                             const X25519Key& peer_ephemeral,
                                             const X25519Key& supernode_ephemeral) {
  std::uint8_t shared[crypto_scalarmult_BYTES];
  if (crypto_scalarmult(shared, mine.secret.data(), theirs.data()) != 0) return std::nullopt;
  Bytes input;
  ByteWriter w(input);
  put(w, kKeyDomain);
  w.bytes(shared, sizeof(shared));
  w.bytes(peer_ephemeral.data(), peer_ephemeral.size());
  w.bytes(supernode_ephemeral.data(), supernode_ephemeral.size());
  append_key(w, peer);
  append_key(w, supernode);
  SessionKey key;
  crypto_generichash(key.data(), key.size(), input.data(), input.size(), nullptr, 0);
  sodium_memzero(shared, sizeof(shared));
  return key;
}

Session::Session(std::uint64_t id, const SessionKey& key, Direction send_direction)
    : id_(id), key_(key), send_direction_(send_direction) {}

void Session::mac(const std::uint8_t* data, std::size_t size, Direction direction,
                  std::uint8_t out[16]) const {
  // The direction is MACed too, so a message cannot be reflected back to its sender.
  crypto_generichash_state state;
  crypto_generichash_init(&state, key_.data(), key_.size(), 16);
  const std::uint8_t dir = static_cast<std::uint8_t>(direction);
  crypto_generichash_update(&state, &dir, 1);
  crypto_generichash_update(&state, data, size);
  crypto_generichash_final(&state, out, 16);
}

Bytes Session::seal(const ControlMessage& message) {
  Bytes out;
  out.reserve(256);
  encode(message, out);
  out[4] |= kFlagSession;
  ByteWriter w(out);
  w.u64(id_);
  w.u64(++send_counter_);
  std::uint8_t tag[16];
  mac(out.data(), out.size(), send_direction_, tag);
  w.bytes(tag, sizeof(tag));
  return out;
}

std::optional<std::uint64_t> Session::peek_session_id(const std::uint8_t* data,
                                                       std::size_t size) {
  if (size < kHeaderSize + kTrailerSize || !(data[4] & kFlagSession)) return std::nullopt;
  ByteReader r(data + size - kTrailerSize, 8);
  return r.u64();
}

bool Session::accept_counter(std::uint64_t counter) {
  constexpr std::uint64_t kWindow = 64;
  if (counter == 0) return false;
  if (counter > highest_received_) {
    const std::uint64_t shift = counter - highest_received_;
    replay_window_ = shift >= kWindow ? 0 : replay_window_ << shift;
    replay_window_ |= 1;
    highest_received_ = counter;
    return true;
  }
  const std::uint64_t age = highest_received_ - counter;
  if (age >= kWindow) return false;
  const std::uint64_t bit = std::uint64_t{1} << age;
  if (replay_window_ & bit) return false;
  replay_window_ |= bit;
  return true;
}

Session::OpenResult Session::open(const std::uint8_t* data, std::size_t size) {
  if (size < kHeaderSize + kTrailerSize || !(data[4] & kFlagSession)) return OpenResult::kNotSession;
  const std::size_t mac_offset = size - 16;
  std::uint8_t expected[16];
  const Direction receive_direction =
      send_direction_ == Direction::kToSupernode ? Direction::kToPeer : Direction::kToSupernode;
  mac(data, mac_offset, receive_direction, expected);
  if (sodium_memcmp(expected, data + mac_offset, 16) != 0) return OpenResult::kBadMac;
  ByteReader r(data + size - kTrailerSize, kTrailerSize);
  if (r.u64() != id_) return OpenResult::kBadMac;
  if (!accept_counter(r.u64())) return OpenResult::kReplayed;
  return OpenResult::kOk;
}

}  // namespace qp2p::wire
