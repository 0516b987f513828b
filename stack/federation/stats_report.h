// Stats reports between member supernodes (docs/protocol.md section 14.7): each supernode sends
// its own /v1/stats figures (stack/supernode/stats_figures.h) to every live member, on the
// membership's authenticated channel (which names the sender), so any member can answer
// /v1/stats for the whole network. Pure encode/decode; type 0x20 of the "operations" range
// 0x20-0x2F (0x21-0x2F reserved).
//
//   payload   = type: u8 (0x20) | boot: u64 | sequence: u32 | kind: u8 | body        (14 + body)
//   kind 0 totals  count: u8 (1..64) | count x varint        StatField order (stats_figures.h)
//   kind 1 rows    count: u8 (1..171) | count x row
//   row       = a: u8 | b: u8 (NAT class codes, a <= b) | n: u8 (1..32) | n x varint
//               (NatPairCounters in row_counters order) | direct: histogram | relay: histogram
//   histogram = mask: u32 (bit i set: bucket i holds samples; i < 20) | sum_ms: varint
//               | popcount(mask) x varint (each >= 1; the count is their sum)
//   varint    = unsigned LEB128 (stack/core/varint.h), at most 10 bytes
//   NAT class = 0 "unknown", 1 "none", 2 + 4 x mapping + filtering with mapping EIM, ADM, APDM,
//               ? (0-3) and filtering EIF, ADF, APDF, ? (0-3): "EIM/EIF" = 2 ... "?/?" = 17
//
// `boot` names the sender's run (the wall-clock ms when it first reported): a larger boot is a
// restarted supernode whose counters began again. `sequence` grows with every report the run
// sends; each part is self-contained, so a receiver keeps, per (sender, part or row), the copy of
// the newest sequence. Counts a sender has more fields of than this decoder knows (a newer
// version appended some) are read and ignored; fewer are zero. Every other deviation is a
// StatsDecodeError.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/federation/federation_wire.h"
#include "stack/supernode/stats_figures.h"

namespace qp2p::federation {

inline constexpr std::uint8_t kStatsReportType = 0x20;
// 0x20-0x2F: operations payloads (stats reports; the rest reserved).
inline bool is_operations_payload(const Bytes& payload) {
  return !payload.empty() && payload[0] >= 0x20 && payload[0] <= 0x2F;
}

enum class StatsPartKind : std::uint8_t { kTotals = 0, kRows = 1 };

inline constexpr std::size_t kStatsHeaderBytes = 14;
inline constexpr std::size_t kMaxTotalsFields = 64;
inline constexpr std::size_t kMaxRowFields = 32;
inline constexpr std::size_t kNatClassCount = 18;
inline constexpr std::size_t kMaxStatsRows = kNatClassCount * (kNatClassCount + 1) / 2;  // 171
inline constexpr std::size_t kHistogramBuckets = SetupHistogram::kBoundsMs.size() + 1;   // 20
// The largest row this encoder writes: 3 + 13 varints + 2 x (mask, sum, 20 varints).
inline constexpr std::size_t kMaxRowBytes =
    3 + kRowCounterCount * 10 + 2 * (4 + 10 + kHistogramBuckets * 10);
static_assert(kStatsHeaderBytes + 1 + kStatFieldCount * 10 <= kMaxPayload,
              "the totals part must fit one federation payload");
static_assert(kStatsHeaderBytes + 1 + kMaxRowBytes <= kMaxPayload,
              "a rows part must hold at least one row");
static_assert(kStatFieldCount <= kMaxTotalsFields && kRowCounterCount <= kMaxRowFields, "");

struct StatsRow {
  HandshakeStats::Pair pair;  // class names, sorted (HandshakeStats::pair_of)
  NatPairCounters counters;
};

struct StatsReportPart {
  std::uint64_t boot = 0;
  std::uint32_t sequence = 0;
  StatsPartKind kind = StatsPartKind::kTotals;
  StatTotals totals{};         // kTotals
  std::vector<StatsRow> rows;  // kRows: 1..171, distinct pairs
};

enum class StatsDecodeError : std::uint8_t {
  kNone,
  kUnknownType,  // 0x21-0x2F (reserved) or not an operations payload
  kUnknownKind,  // kind other than 0 and 1
  kTruncated,
  kTrailing,
  kBadVarint,        // a value beyond 64 bits
  kBadCount,         // 0 fields or rows, or more than the bounds above
  kUnknownNatClass,  // a class code above 17
  kUnorderedPair,    // a > b
  kDuplicateRow,     // one pair twice in a part
  kBadHistogram,     // a bucket bit >= 20, an empty bucket marked, or counts overflowing
  kCount
};
const char* to_string(StatsDecodeError error);

// The wire code of a NAT class name (nat_class()), nullopt for a name outside the 18.
std::optional<std::uint8_t> nat_class_code(const std::string& name);
const char* nat_class_name(std::uint8_t code);  // "?" above 17

// One part; rows beyond what fits kMaxPayload are the caller's to split (encode_report does).
Bytes encode(const StatsReportPart& part);
// A report as payloads of at most kMaxPayload bytes: the totals part when `totals` is given,
// then `rows` (those whose pair has class codes) packed into as few rows parts as fit.
std::vector<Bytes> encode_report(std::uint64_t boot, std::uint32_t sequence,
                                 const StatTotals* totals, const std::vector<StatsRow>& rows);
std::optional<StatsReportPart> decode_stats_report(const Bytes& payload, StatsDecodeError* error);

}  // namespace qp2p::federation
