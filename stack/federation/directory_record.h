// What the replicated directory stores: per peer, a presence record (written and signed by the
// peer's supernode, presence_record.h) and a metadata record (the peer's own signed record,
// wire::SignedRecord, unchanged: no supernode can forge it). Both are versioned with a total
// order, so a replica keeps the greatest of each it has seen and every replica converges to the
// same state whatever the order of delivery (docs/protocol.md, "Federation: directory
// replication"):
//
//   presence: (hlc, supernode id, signature bytes)   greatest wins
//   metadata: (owner's version, signature bytes)      greatest wins
//
// On the wire a directory record is `kind: u8 (1 presence, 2 metadata) | body`.
#pragma once

#include <cstdint>
#include <variant>

#include "stack/core/byte_io.h"
#include "stack/federation/presence_record.h"
#include "stack/wire/records.h"

namespace qp2p::federation {

enum class RecordKind : std::uint8_t { kPresence = 1, kMetadata = 2 };

// A metadata record whose encoding is larger than this is refused, as the single supernode's
// index does (docs/protocol.md §5.2: it must fit alone in a search-result).
inline constexpr std::size_t kMaxMetadataRecordBytes = 1079;

struct DirectoryRecord {
  std::variant<PresenceRecord, wire::SignedRecord> body;

  RecordKind kind() const {
    return body.index() == 0 ? RecordKind::kPresence : RecordKind::kMetadata;
  }
  const PeerId& peer() const;
  const PresenceRecord* presence() const { return std::get_if<PresenceRecord>(&body); }
  const wire::SignedRecord* metadata() const { return std::get_if<wire::SignedRecord>(&body); }
};

// True when `a` comes after `b` in its kind's order (both of the same peer).
bool newer(const PresenceRecord& a, const PresenceRecord& b);
bool newer(const wire::SignedRecord& a, const wire::SignedRecord& b);

void append(ByteWriter& w, const DirectoryRecord& record);
// Reads one record; the reader fails on an unknown kind or a malformed body.
DirectoryRecord read_directory_record(ByteReader& r);
std::size_t encoded_size(const DirectoryRecord& record);

// 64 bits of BLAKE2b over the record's encoding: what the anti-entropy digests are made of.
std::uint64_t record_hash(const DirectoryRecord& record);

}  // namespace qp2p::federation
