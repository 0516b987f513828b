// The authenticated session between a logged-in peer and its supernode.
//
// Login (docs/protocol.md, "Login"): the supernode's Challenge carries a stateless nonce; the
// peer answers with an ephemeral X25519 key and an Ed25519 signature over the transcript; the
// supernode answers with its own ephemeral key, signed. Both derive one session key
// (BLAKE2b over the X25519 secret, both ephemeral keys and both identities). From then on every
// control message carries a trailer: session id, a per-direction counter and a 128-bit keyed
// BLAKE2b MAC over the whole message; the receiver rejects bad MACs and replayed counters
// (a 64-message sliding window, as IPsec's anti-replay window, RFC 4303 section 3.4.3).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "stack/core/datagram.h"
#include "stack/core/random.h"
#include "stack/identity/identity.h"
#include "stack/wire/control_message.h"

namespace qp2p::wire {

using SessionKey = std::array<std::uint8_t, 32>;

struct EphemeralKeyPair {
  X25519Key public_key{};
  std::array<std::uint8_t, 32> secret{};
  static EphemeralKeyPair generate(Random& random);
};

// Transcripts the two login signatures cover.
Bytes login_transcript(const PeerId& peer, const PeerId& supernode, const Nonce& nonce,
                       const X25519Key& peer_ephemeral);
// Covers every field of the LoginOk (but the signature), so no one on the path can alter the
// mapped address or the timers the supernode announces.
Bytes login_ok_transcript(const PeerId& peer, const PeerId& supernode,
                          const X25519Key& peer_ephemeral, const LoginOk& ok);

// Derives the session key; nullopt when the peer's public key is a low-order point.
std::optional<SessionKey> derive_session_key(const EphemeralKeyPair& mine,
                                             const X25519Key& theirs, const PeerId& peer,
                                             const PeerId& supernode,
                                             const X25519Key& peer_ephemeral,
                                             const X25519Key& supernode_ephemeral);

enum class Direction : std::uint8_t { kToSupernode = 1, kToPeer = 2 };

class Session {
 public:
  Session() = default;
  Session(std::uint64_t id, const SessionKey& key, Direction send_direction);

  std::uint64_t id() const { return id_; }

  // Encodes `message`, sets the session flag and appends the trailer.
  Bytes seal(const ControlMessage& message);

  enum class OpenResult { kOk, kNotSession, kBadMac, kReplayed };
  // Verifies a received datagram's trailer (MAC and replay window). Does not decode the body.
  OpenResult open(const std::uint8_t* data, std::size_t size);

  // The session id in a flagged datagram's trailer (for the supernode's session lookup).
  static std::optional<std::uint64_t> peek_session_id(const std::uint8_t* data, std::size_t size);

 private:
  void mac(const std::uint8_t* data, std::size_t size, Direction direction,
           std::uint8_t out[16]) const;
  bool accept_counter(std::uint64_t counter);

  std::uint64_t id_ = 0;
  SessionKey key_{};
  Direction send_direction_ = Direction::kToSupernode;
  std::uint64_t send_counter_ = 0;
  std::uint64_t highest_received_ = 0;
  std::uint64_t replay_window_ = 0;  // bit i set: highest_received_ - i was seen
};

}  // namespace qp2p::wire
