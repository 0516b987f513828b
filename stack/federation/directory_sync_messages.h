// The directory's sync messages, carried as opaque payloads on the authenticated channel
// between member supernodes (the channel names the sender). Pure encode/decode functions; every
// count and length is bounded and checked, and a bad payload is refused with a reason.
//
//   payload         = type: u8 | body
//   1 push          = count: u16 (1..64) | count x DirectoryRecord
//   2 summary       = level: u8 (1 branches, 2 buckets) | first: u16 | count: u8 (1..64)
//                     | root: u64 | records: u32 | pace: u16 | count x hash: u64
//   3 request-bucket= bucket: u16 (< 4096) | first: key | last: key | count: u16 (0..64)
//                     | count x (peer: key | presence_hlc: u64 | presence_hash: u64
//                                | metadata_version: u64 | metadata_hash: u64)
//   4 records       = bucket: u16 (< 4096) | pace: u16 | wants: u16 (0..64) | wants x key
//                     | count: u16 (0..64) | count x DirectoryRecord
//
// pace: the bucket requests per second the sender grants the receiver's round with it (its
// share of what the sender answers; sync_round.h), 0 where it grants nothing (a level-1
// summary, which begins a round).
//
// DirectoryRecord = kind: u8 | body (directory_record.h). Semantics: docs/protocol.md,
// "Federation: directory replication".
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "stack/federation/directory_record.h"
#include "stack/federation/directory_replica.h"

namespace qp2p::federation {

inline constexpr std::size_t kMaxSyncPayloadBytes = 65535;
inline constexpr std::size_t kMaxSyncRecords = 64;
inline constexpr std::size_t kMaxSummaryHashes = 64;
inline constexpr std::size_t kMaxDigestEntries = 64;
inline constexpr std::size_t kMaxWants = 64;
inline constexpr std::size_t kEntryDigestBytes = 32 + 4 * 8;

enum class SyncType : std::uint8_t { kPush = 1, kSummary = 2, kRequestBucket = 3, kRecords = 4 };

struct Push {
  std::vector<DirectoryRecord> records;
};
// The sender's hashes of `hashes.size()` consecutive tree nodes of `level` from `first`, with
// its root and record count.
struct Summary {
  std::uint8_t level = 1;
  std::uint16_t first = 0;
  std::uint64_t root = 0;
  std::uint32_t records = 0;
  std::uint16_t pace = 0;
  std::vector<std::uint64_t> hashes;
};
// "This is everything I hold in [first, last] of `bucket`; send me what I lack."
struct RequestBucket {
  std::uint16_t bucket = 0;
  PeerId first;
  PeerId last;
  std::vector<EntryDigest> entries;  // ascending, inside [first, last] and the bucket
};
// The records the requester lacks, and the peers whose records the responder wants pushed.
struct RecordsResponse {
  std::uint16_t bucket = 0;
  std::uint16_t pace = 0;
  std::vector<PeerId> wants;
  std::vector<DirectoryRecord> records;
};

using SyncMessage = std::variant<Push, Summary, RequestBucket, RecordsResponse>;

enum class SyncDecodeError : std::uint8_t {
  kNone,
  kEmpty,
  kTooLarge,  // above kMaxSyncPayloadBytes
  kUnknownType,
  kBadCount,   // a count of zero where one is required, or above its bound
  kBadField,   // level, bucket or tree index out of range
  kBadRecord,  // a directory record did not decode
  kUnordered,  // digest entries not ascending, or outside their range or bucket
  kTruncated,
  kTrailingBytes,
  kCount
};
const char* to_string(SyncDecodeError error);

Bytes encode(const SyncMessage& message);
std::optional<SyncMessage> decode(const std::uint8_t* data, std::size_t size,
                                  SyncDecodeError* error);

}  // namespace qp2p::federation
