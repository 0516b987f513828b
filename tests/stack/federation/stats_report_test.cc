// Stats reports between member supernodes (stack/federation/stats_report.h, docs/protocol.md
// section 14.7): byte vectors of both part kinds, round trips, fields of a newer or older
// version, a full report split into parts that each fit a payload, and every malformed form
// refused with its reason, never a crash.
#include "stack/federation/stats_report.h"

#include <gtest/gtest.h>

#include "tests/stack/federation/payload_bytes.h"

namespace qp2p::federation {
namespace {

using test::hex;
using test::repeat;

StatsDecodeError reason(const Bytes& b) {
  StatsDecodeError e = StatsDecodeError::kNone;
  EXPECT_FALSE(decode_stats_report(b, &e));
  return e;
}

StatsRow sample_row() {
  StatsRow row{{"EIM/APDF", "unknown"}, {}};
  row.counters.offers = 1;
  row.counters.outcome_direct = 1;
  row.counters.tunnel_rtt_ms_sum = 40;
  row.counters.direct_setup.add(120);  // bucket 2 (100 < 120 <= 200)
  return row;
}

const std::string kRowsHeader =
    "20"
    "0000000000000001"
    "00000002"
    "01";
const std::string kSampleRow =
    "0004"
    "0d"
    "01000000000000000001000028"
    "00000004"
    "78"
    "01"
    "00000000"
    "00";

TEST(StatsReport, TotalsBytesAreAsDocumented) {
  StatsReportPart part;
  part.boot = 0x0102030405060708;
  part.sequence = 9;
  part.totals[static_cast<std::size_t>(StatField::kLoginsAccepted)] = 300;  // varint ac 02
  const Bytes expected =
      hex("20"
          "0102030405060708"
          "00000009"
          "00"
          "2c"
          "ac02" +
          repeat("00", 43));
  EXPECT_EQ(encode(part), expected);
  StatsDecodeError error = StatsDecodeError::kCount;
  auto back = decode_stats_report(expected, &error);
  ASSERT_TRUE(back);
  EXPECT_EQ(error, StatsDecodeError::kNone);
  EXPECT_EQ(back->boot, 0x0102030405060708u);
  EXPECT_EQ(back->sequence, 9u);
  EXPECT_EQ(back->kind, StatsPartKind::kTotals);
  EXPECT_EQ(back->totals, part.totals);
}

TEST(StatsReport, RowBytesAreAsDocumented) {
  StatsReportPart part;
  part.boot = 1;
  part.sequence = 2;
  part.kind = StatsPartKind::kRows;
  part.rows = {sample_row()};
  const Bytes expected = hex(kRowsHeader + "01" + kSampleRow);
  EXPECT_EQ(encode(part), expected);
  auto back = decode_stats_report(expected, nullptr);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->rows.size(), 1u);
  EXPECT_EQ(back->rows[0].pair, (HandshakeStats::Pair{"EIM/APDF", "unknown"}));
  EXPECT_TRUE(same_row(back->rows[0].counters, sample_row().counters));
  EXPECT_EQ(back->rows[0].counters.direct_setup.count, 1u);
}

TEST(StatsReport, EveryNatClassHasACodeAndBack) {
  const auto code = [](const std::string& name) {
    auto c = nat_class_code(name);
    return c ? int{*c} : -1;
  };
  EXPECT_EQ(code(nat_class(std::nullopt)), 0);  // "unknown"
  NatProfile open;
  open.nat_levels = 0;
  EXPECT_EQ(code(nat_class(open)), 1);  // "none"
  EXPECT_EQ(code("EIM/EIF"), 2);
  EXPECT_EQ(code("EIM/APDF"), 4);
  EXPECT_EQ(code("?/?"), 17);
  EXPECT_EQ(code("EIM/XYZ"), -1);
  for (std::uint8_t c = 0; c < kNatClassCount; ++c) EXPECT_EQ(code(nat_class_name(c)), c);
}

TEST(StatsReport, FieldsOfANewerVersionAreIgnoredAndMissingOnesAreZero) {
  // A newer sender appended two totals fields and one row counter.
  const Bytes newer =
      hex("20"
          "0000000000000001"
          "00000001"
          "00"
          "2b"
          "05" +
          repeat("00", 40) + "0707");
  auto back = decode_stats_report(newer, nullptr);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->totals[0], 5u);
  const Bytes newer_row = hex(kRowsHeader +
                              "01"
                              "0004"
                              "0e"
                              "01000000000000000001000028"
                              "63" +
                              "00000004"
                              "78"
                              "01"
                              "00000000"
                              "00");
  auto row = decode_stats_report(newer_row, nullptr);
  ASSERT_TRUE(row);
  EXPECT_TRUE(same_row(row->rows[0].counters, sample_row().counters));
  // An older one knew only the first field.
  auto older = decode_stats_report(hex("20"
                                       "0000000000000001"
                                       "00000001"
                                       "00"
                                       "01"
                                       "07"),
                                   nullptr);
  ASSERT_TRUE(older);
  EXPECT_EQ(older->totals[0], 7u);
  for (std::size_t i = 1; i < kStatFieldCount; ++i) EXPECT_EQ(older->totals[i], 0u);
}

TEST(StatsReport, AFullReportSplitsIntoPartsThatEachFitAPayload) {
  // Every one of the 171 pairs, with counters and buckets that need 9-10 byte varints.
  std::vector<StatsRow> rows;
  for (std::uint8_t a = 0; a < kNatClassCount; ++a) {
    for (std::uint8_t b = a; b < kNatClassCount; ++b) {
      StatsRow row{{nat_class_name(a), nat_class_name(b)}, {}};
      if (row.pair.second < row.pair.first) std::swap(row.pair.first, row.pair.second);
      for (std::uint64_t* v : row_counters(row.counters)) *v = ~0ull - a;
      for (auto& bucket : row.counters.direct_setup.buckets) bucket = 1ull << 58;  // 9 bytes
      row.counters.relay_setup.add(60000);
      rows.push_back(row);
    }
  }
  ASSERT_EQ(rows.size(), kMaxStatsRows);
  StatTotals totals{};
  totals.fill(~0ull);
  const std::vector<Bytes> parts = encode_report(7, 3, &totals, rows);
  ASSERT_GE(parts.size(), 3u);
  std::size_t decoded_rows = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    EXPECT_LE(parts[i].size(), kMaxPayload);
    StatsDecodeError error = StatsDecodeError::kNone;
    auto part = decode_stats_report(parts[i], &error);
    ASSERT_TRUE(part) << "part " << i << ": " << to_string(error);
    EXPECT_EQ(part->boot, 7u);
    EXPECT_EQ(part->sequence, 3u);
    EXPECT_EQ(part->kind, i == 0 ? StatsPartKind::kTotals : StatsPartKind::kRows);
    if (i == 0) {
      EXPECT_EQ(part->totals, totals);
    }
    for (const StatsRow& r : part->rows) {
      EXPECT_EQ(r.counters.offers, rows[decoded_rows].counters.offers);
      EXPECT_EQ(r.counters.relay_setup.count, 1u);
      EXPECT_EQ(r.counters.direct_setup.count, 20 * (1ull << 58));
      ++decoded_rows;
    }
  }
  EXPECT_EQ(decoded_rows, rows.size());
  // No totals, no rows: nothing to send.
  EXPECT_TRUE(encode_report(7, 4, nullptr, {}).empty());
}

TEST(StatsReport, MalformedPayloadsAreRefusedWithTheirReason) {
  const Bytes good = hex(kRowsHeader + "01" + kSampleRow);
  ASSERT_TRUE(decode_stats_report(good, nullptr));
  // Every proper prefix is truncated.
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_EQ(reason(Bytes(good.begin(), good.begin() + static_cast<long>(n))),
              StatsDecodeError::kTruncated)
        << n;
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(reason(trailing), StatsDecodeError::kTrailing);
  Bytes reserved = good;
  reserved[0] = 0x21;
  EXPECT_EQ(reason(reserved), StatsDecodeError::kUnknownType);
  Bytes kind = good;
  kind[13] = 2;
  EXPECT_EQ(reason(kind), StatsDecodeError::kUnknownKind);
  const std::string totals_header =
      "20"
      "0000000000000001"
      "00000001"
      "00";
  EXPECT_EQ(reason(hex(totals_header + "00")), StatsDecodeError::kBadCount);
  EXPECT_EQ(reason(hex(totals_header + "41" + repeat("00", 65))), StatsDecodeError::kBadCount);
  auto largest = decode_stats_report(hex(totals_header + "01" + repeat("ff", 9) + "01"), nullptr);
  ASSERT_TRUE(largest);  // 2^64 - 1 in ten bytes
  EXPECT_EQ(largest->totals[0], ~0ull);
  EXPECT_EQ(reason(hex(totals_header + "01" + repeat("ff", 9) + "02")),
            StatsDecodeError::kBadVarint);  // bit 64
  EXPECT_EQ(reason(hex(totals_header + "01" + repeat("80", 10) + "00")),
            StatsDecodeError::kBadVarint);  // an eleventh byte
  EXPECT_EQ(reason(hex(kRowsHeader + "00")), StatsDecodeError::kBadCount);
  EXPECT_EQ(reason(hex(kRowsHeader + "ac" + kSampleRow)), StatsDecodeError::kBadCount);
  const std::string row_tail = kSampleRow.substr(4);
  EXPECT_EQ(reason(hex(kRowsHeader +
                       "01"
                       "0012" +
                       row_tail)),
            StatsDecodeError::kUnknownNatClass);
  EXPECT_EQ(reason(hex(kRowsHeader +
                       "01"
                       "0400" +
                       row_tail)),
            StatsDecodeError::kUnorderedPair);
  EXPECT_EQ(reason(hex(kRowsHeader + "02" + kSampleRow + kSampleRow)),
            StatsDecodeError::kDuplicateRow);
  EXPECT_EQ(reason(hex(kRowsHeader +
                       "01"
                       "0004"
                       "00" +
                       kSampleRow.substr(6))),
            StatsDecodeError::kBadCount);  // a row of no counters
  const std::string counters =
      "0004"
      "0d"
      "01000000000000000001000028";
  EXPECT_EQ(reason(hex(kRowsHeader + "01" + counters +
                       "00100000"
                       "78" +
                       "00000000"
                       "00")),
            StatsDecodeError::kBadHistogram);  // bucket 20 does not exist
  EXPECT_EQ(reason(hex(kRowsHeader + "01" + counters +
                       "00000004"
                       "78"
                       "00"
                       "00000000"
                       "00")),
            StatsDecodeError::kBadHistogram);                 // bucket 2 marked but empty
  const std::string largest_varint = repeat("ff", 9) + "01";  // 2^64 - 1
  EXPECT_EQ(reason(hex(kRowsHeader + "01" + counters +
                       "00000003"
                       "00" +
                       largest_varint + "01" +
                       "00000000"
                       "00")),
            StatsDecodeError::kBadHistogram);  // the count overflows
}

}  // namespace
}  // namespace qp2p::federation
