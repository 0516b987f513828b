// Signed peer records and the peer information the index returns. A record is signed by its
// owner, so no supernode can forge or alter it; the version orders updates (highest wins).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stack/core/byte_io.h"
#include "stack/core/datagram.h"
#include "stack/core/endpoint.h"
#include "stack/identity/identity.h"

namespace qp2p::wire {

// Bounds on published metadata (checked on decode and before signing).
inline constexpr std::size_t kMaxEntries = 32;
inline constexpr std::size_t kMaxKeyBytes = 64;
inline constexpr std::size_t kMaxValueBytes = 256;
inline constexpr std::size_t kMaxRecordBytes = 1024;  // all keys and values together

using MetaEntries = std::vector<std::pair<std::string, std::string>>;

struct SignedRecord {
  PeerId owner;
  std::uint64_t version = 0;
  MetaEntries entries;  // sorted by key, keys unique
  Signature signature{};

  // The bytes the signature covers: a domain tag, owner, version and entries.
  Bytes signed_bytes() const;
  bool verify() const;
  static SignedRecord make(const Identity& owner, std::uint64_t version, MetaEntries entries);
  const std::string* find(std::string_view key) const;
};

// Why a set of metadata entries is not acceptable; empty when it is.
std::string validate_entries(const MetaEntries& entries);

struct PeerInfo {
  PeerId id;
  bool online = false;
  Endpoint mapped;     // server-reflexive address seen by its supernode
  PeerId supernode;    // the supernode it is logged into
  std::optional<SignedRecord> record;
};

void append(ByteWriter& w, const Endpoint& e);
Endpoint read_endpoint(ByteReader& r);
void append(ByteWriter& w, const SignedRecord& record);
SignedRecord read_record(ByteReader& r);
void append(ByteWriter& w, const PeerInfo& info);
PeerInfo read_peer_info(ByteReader& r);
void append_key(ByteWriter& w, const PeerId& id);
PeerId read_key(ByteReader& r);

}  // namespace qp2p::wire
