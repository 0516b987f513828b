// Stats reports between member supernodes (see stats_report.h).
#include "stack/federation/stats_report.h"

#include <array>
#include <set>

#include "stack/core/byte_io.h"
#include "stack/core/varint.h"

namespace qp2p::federation {

namespace {

constexpr std::array<const char*, 4> kMappingNames = {"EIM", "ADM", "APDM", "?"};
constexpr std::array<const char*, 4> kFilteringNames = {"EIF", "ADF", "APDF", "?"};

std::string class_name(std::uint8_t code) {
  if (code == 0) return "unknown";
  if (code == 1) return "none";
  const std::size_t m = (code - 2) / 4, f = (code - 2) % 4;
  return std::string(kMappingNames[m]) + "/" + kFilteringNames[f];
}

void append_histogram(ByteWriter& w, const SetupHistogram& h) {
  std::uint32_t mask = 0;
  for (std::size_t i = 0; i < h.buckets.size(); ++i)
    if (h.buckets[i]) mask |= 1u << i;
  w.u32(mask);
  append_varint(w, h.sum_ms);
  for (std::uint64_t b : h.buckets)
    if (b) append_varint(w, b);
}

void append_row(ByteWriter& w, std::uint8_t a, std::uint8_t b, const NatPairCounters& c) {
  w.u8(a);
  w.u8(b);
  w.u8(static_cast<std::uint8_t>(kRowCounterCount));
  for (const std::uint64_t* v : row_counters(c)) append_varint(w, *v);
  append_histogram(w, c.direct_setup);
  append_histogram(w, c.relay_setup);
}

// The row's pair as two codes, smaller first; nullopt when a name has no code.
std::optional<std::pair<std::uint8_t, std::uint8_t>> codes_of(const HandshakeStats::Pair& p) {
  auto a = nat_class_code(p.first), b = nat_class_code(p.second);
  if (!a || !b) return std::nullopt;
  return *a <= *b ? std::make_pair(*a, *b) : std::make_pair(*b, *a);
}

void append_header(ByteWriter& w, std::uint64_t boot, std::uint32_t sequence, StatsPartKind k) {
  w.u8(kStatsReportType);
  w.u64(boot);
  w.u32(sequence);
  w.u8(static_cast<std::uint8_t>(k));
}

// Decoding: every failure names its reason once, the first one met.
struct Decoder {
  ByteReader r;
  StatsDecodeError error = StatsDecodeError::kNone;

  bool failed(StatsDecodeError e) {
    if (error == StatsDecodeError::kNone) error = e;
    r.fail();
    return false;
  }
  std::uint64_t varint() {
    bool overflow = false;
    const std::uint64_t v = read_varint(r, &overflow);
    if (overflow) failed(StatsDecodeError::kBadVarint);
    return v;
  }
  // `count` values into `out` (extra ones read and ignored, missing ones left 0).
  template <typename Store>
  void values(std::size_t count, std::size_t known, Store store) {
    for (std::size_t i = 0; i < count && r.ok(); ++i) {
      const std::uint64_t v = varint();
      if (i < known) store(i, v);
    }
  }
  bool histogram(SetupHistogram& h) {
    const std::uint32_t mask = r.u32();
    h.sum_ms = varint();
    if (!r.ok()) return false;
    if (mask >> kHistogramBuckets) return failed(StatsDecodeError::kBadHistogram);
    for (std::size_t i = 0; i < kHistogramBuckets && r.ok(); ++i) {
      if (!(mask & (1u << i))) continue;
      const std::uint64_t b = varint();
      if (!r.ok()) return false;
      if (b == 0 || h.count + b < h.count) return failed(StatsDecodeError::kBadHistogram);
      h.buckets[i] = b;
      h.count += b;
    }
    return r.ok();
  }
  bool row(StatsRow& out) {
    const std::uint8_t a = r.u8(), b = r.u8(), n = r.u8();
    if (!r.ok()) return false;
    if (a >= kNatClassCount || b >= kNatClassCount)
      return failed(StatsDecodeError::kUnknownNatClass);
    if (a > b) return failed(StatsDecodeError::kUnorderedPair);
    if (n == 0 || n > kMaxRowFields) return failed(StatsDecodeError::kBadCount);
    auto fields = row_counters(out.counters);
    values(n, kRowCounterCount, [&](std::size_t i, std::uint64_t v) { *fields[i] = v; });
    if (!r.ok() || !histogram(out.counters.direct_setup) || !histogram(out.counters.relay_setup))
      return false;
    out.pair = {class_name(a), class_name(b)};
    if (out.pair.second < out.pair.first) std::swap(out.pair.first, out.pair.second);
    return true;
  }
};

}  // namespace

const char* to_string(StatsDecodeError error) {
  switch (error) {
    case StatsDecodeError::kNone:
      return "none";
    case StatsDecodeError::kUnknownType:
      return "unknown type";
    case StatsDecodeError::kUnknownKind:
      return "unknown part kind";
    case StatsDecodeError::kTruncated:
      return "truncated";
    case StatsDecodeError::kTrailing:
      return "trailing bytes";
    case StatsDecodeError::kBadVarint:
      return "varint beyond 64 bits";
    case StatsDecodeError::kBadCount:
      return "field or row count out of bounds";
    case StatsDecodeError::kUnknownNatClass:
      return "unknown NAT class code";
    case StatsDecodeError::kUnorderedPair:
      return "NAT pair not in order";
    case StatsDecodeError::kDuplicateRow:
      return "NAT pair twice in one part";
    case StatsDecodeError::kBadHistogram:
      return "bad histogram";
    case StatsDecodeError::kCount:
      break;
  }
  return "?";
}

std::optional<std::uint8_t> nat_class_code(const std::string& name) {
  for (std::uint8_t code = 0; code < kNatClassCount; ++code)
    if (class_name(code) == name) return code;
  return std::nullopt;
}

const char* nat_class_name(std::uint8_t code) {
  static const std::array<std::string, kNatClassCount> names = [] {
    std::array<std::string, kNatClassCount> n;
    for (std::uint8_t c = 0; c < kNatClassCount; ++c) n[c] = class_name(c);
    return n;
  }();
  return code < kNatClassCount ? names[code].c_str() : "?";
}

Bytes encode(const StatsReportPart& part) {
  Bytes out;
  ByteWriter w(out);
  append_header(w, part.boot, part.sequence, part.kind);
  if (part.kind == StatsPartKind::kTotals) {
    w.u8(static_cast<std::uint8_t>(kStatFieldCount));
    for (std::uint64_t v : part.totals) append_varint(w, v);
    return out;
  }
  const std::size_t count_at = w.size();
  w.u8(0);
  std::uint8_t count = 0;
  for (const StatsRow& row : part.rows) {
    auto codes = codes_of(row.pair);
    if (!codes || count == kMaxStatsRows) continue;
    append_row(w, codes->first, codes->second, row.counters);
    ++count;
  }
  out[count_at] = count;
  return out;
}

std::vector<Bytes> encode_report(std::uint64_t boot, std::uint32_t sequence,
                                 const StatTotals* totals, const std::vector<StatsRow>& rows) {
  std::vector<Bytes> parts;
  if (totals) {
    StatsReportPart part;
    part.boot = boot;
    part.sequence = sequence;
    part.totals = *totals;
    parts.push_back(encode(part));
  }
  Bytes current, row_bytes;
  std::uint8_t count = 0;
  auto close = [&] {
    if (count == 0) return;
    current[kStatsHeaderBytes] = count;
    parts.push_back(std::move(current));
    current.clear();
    count = 0;
  };
  for (const StatsRow& row : rows) {
    auto codes = codes_of(row.pair);
    if (!codes) continue;
    row_bytes.clear();
    ByteWriter rw(row_bytes);
    append_row(rw, codes->first, codes->second, row.counters);
    if (count > 0 && current.size() + row_bytes.size() > kMaxPayload) close();
    if (count == 0) {
      ByteWriter w(current);
      append_header(w, boot, sequence, StatsPartKind::kRows);
      w.u8(0);  // the count, set by close()
    }
    current.insert(current.end(), row_bytes.begin(), row_bytes.end());
    ++count;
  }
  close();
  return parts;
}

std::optional<StatsReportPart> decode_stats_report(const Bytes& payload, StatsDecodeError* error) {
  Decoder d{ByteReader(payload.data(), payload.size())};
  StatsReportPart part;
  auto result = [&]() -> std::optional<StatsReportPart> {
    if (d.error == StatsDecodeError::kNone && !d.r.ok()) d.error = StatsDecodeError::kTruncated;
    if (d.error == StatsDecodeError::kNone && !d.r.at_end()) d.error = StatsDecodeError::kTrailing;
    if (error) *error = d.error;
    if (d.error != StatsDecodeError::kNone) return std::nullopt;
    return part;
  };
  const std::uint8_t type = d.r.u8();
  if (!d.r.ok()) return result();
  if (type != kStatsReportType) {
    d.failed(StatsDecodeError::kUnknownType);
    return result();
  }
  part.boot = d.r.u64();
  part.sequence = d.r.u32();
  const std::uint8_t kind = d.r.u8();
  const std::uint8_t count = d.r.u8();
  if (!d.r.ok()) return result();
  if (kind > static_cast<std::uint8_t>(StatsPartKind::kRows)) {
    d.failed(StatsDecodeError::kUnknownKind);
    return result();
  }
  part.kind = static_cast<StatsPartKind>(kind);
  if (part.kind == StatsPartKind::kTotals) {
    if (count == 0 || count > kMaxTotalsFields) {
      d.failed(StatsDecodeError::kBadCount);
      return result();
    }
    d.values(count, kStatFieldCount, [&](std::size_t i, std::uint64_t v) { part.totals[i] = v; });
    return result();
  }
  if (count == 0 || count > kMaxStatsRows) {
    d.failed(StatsDecodeError::kBadCount);
    return result();
  }
  std::set<HandshakeStats::Pair> seen;
  part.rows.reserve(count);
  for (std::size_t i = 0; i < count && d.r.ok(); ++i) {
    StatsRow& row = part.rows.emplace_back();
    if (!d.row(row)) break;
    if (!seen.insert(row.pair).second) d.failed(StatsDecodeError::kDuplicateRow);
  }
  return result();
}

}  // namespace qp2p::federation
