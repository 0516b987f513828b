// A presence record: which supernode a peer is logged into, the peer's addresses and NAT
// profile, online or offline (and why), and until when the record holds. The supernode the
// peer is logged into writes and signs it; an online record also carries the peer's own login
// signature (docs/protocol.md §6), so a supernode cannot claim a peer that never logged into
// it. Signatures are Ed25519 (RFC 8032); the NAT fields are RFC 4787's terms (nat_profile.h).
// Layout and ordering: docs/protocol.md, "Federation: directory replication".
//
//   peer: key | supernode: key | hlc: u64 | expires_ms: u64 | state: u8 | meta_floor: u64
//   | mapped: Endpoint | hosts: u8 count (<= 8) + count x Endpoint
//   | nat: mapping u8 | filtering u8 | allocation u8 | delta i32 | last_port u16 | hairpin u8
//          | levels u8
//   | state 1 only: login nonce (32) | login ephemeral (32) | login signature: sig (peer's)
//   | signature: sig (supernode's, over "qp2p presence v1" || everything above)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stack/core/byte_io.h"
#include "stack/core/endpoint.h"
#include "stack/discovery/nat_profile.h"
#include "stack/federation/hybrid_clock.h"
#include "stack/identity/identity.h"
#include "stack/wire/control_message.h"

namespace qp2p::federation {

// Numbered as wire::PresenceReason: online is a login; offline says why.
enum class PresenceState : std::uint8_t { kOnline = 1, kLoggedOut = 2, kExpired = 3 };

inline constexpr std::size_t kMaxPresenceHosts = 8;

// What the peer signed when it logged into `supernode` (wire::login_transcript).
struct LoginProof {
  wire::Nonce nonce{};
  wire::X25519Key ephemeral{};
  Signature signature{};

  friend bool operator==(const LoginProof& a, const LoginProof& b) {
    return a.nonce == b.nonce && a.ephemeral == b.ephemeral && a.signature == b.signature;
  }
};

struct PresenceRecord {
  PeerId peer;
  PeerId supernode;       // the writer: the supernode the peer is (or was) logged into
  std::uint64_t hlc = 0;  // the writer's hybrid logical clock (hybrid_clock.h)
  WallMs expires_ms = 0;  // the record (and the peer's whole entry) is dropped at this time
  PresenceState state = PresenceState::kOnline;
  // Metadata records of this peer with a version <= meta_floor are hidden (deleted): a logout
  // sets it to the version the peer had published, so the metadata disappears everywhere.
  std::uint64_t meta_floor = 0;
  Endpoint mapped;  // server-reflexive address seen by the supernode
  std::vector<Endpoint> hosts;
  NatProfile nat;    // mapping, filtering, allocation, delta, last_port, hairpin, levels
  LoginProof proof;  // online only
  Signature signature{};

  bool online() const { return state == PresenceState::kOnline; }
  Bytes signed_bytes() const;
  // Supernode signature and, when online, the peer's login signature.
  bool verify() const;
  // The supernode signature alone, for a record whose login proof is known good: a refresh
  // carries the proof of the record it replaces (same peer, writer and proof), which was
  // verified when that record was stored.
  bool verify_writer() const;
  // Same writer and login proof as `other` (a record of the same peer), both online.
  bool same_login(const PresenceRecord& other) const {
    return online() && other.online() && supernode == other.supernode && proof == other.proof;
  }
  // Why the fields are out of bounds; empty when they are fine.
  std::string validate() const;

  // Signs as `supernode` (its id becomes the writer).
  void sign(const Identity& supernode);
};

void append(ByteWriter& w, const PresenceRecord& record);
// Reads one record; the reader fails on any malformed field (bad state, too many hosts, NAT
// values out of range, truncation).
PresenceRecord read_presence(ByteReader& r);

}  // namespace qp2p::federation
