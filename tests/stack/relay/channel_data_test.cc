// ChannelData framing (RFC 8656 section 12.4/12.5): byte vectors for building with 4-byte
// padding, and every malformed shape rejected with its reason.
#include "stack/relay/channel_data.h"

#include <gtest/gtest.h>

#include "tests/stack/hex_bytes.h"

namespace qp2p::turn {
namespace {

TEST(ChannelData, AppendPadsToFourBytes) {
  Bytes out;
  const std::uint8_t data[] = {0xde, 0xad, 0xbe, 0xef, 0x01};
  append_channel_data(out, 0x4001, data, sizeof(data));
  EXPECT_EQ(out, test::hex("4001 0005 deadbeef 01000000"));
  Bytes aligned;
  append_channel_data(aligned, 0x4fff, data, 4);
  EXPECT_EQ(aligned, test::hex("4fff 0004 deadbeef"));
  Bytes empty;
  append_channel_data(empty, 0x4000, data, 0);
  EXPECT_EQ(empty, test::hex("4000 0000"));
}

TEST(ChannelData, ParsesWithAndWithoutPadding) {
  for (const Bytes& b :
       {test::hex("4001 0005 deadbeef 01"), test::hex("4001 0005 deadbeef 01000000")}) {
    ChannelDataError e = ChannelDataError::kTooShort;
    auto v = parse_channel_data(b.data(), b.size(), &e);
    ASSERT_TRUE(v);
    EXPECT_EQ(e, ChannelDataError::kNone);
    EXPECT_EQ(v->channel, 0x4001);
    ASSERT_EQ(v->size, 5u);
    EXPECT_EQ(v->data[0], 0xde);
    EXPECT_EQ(v->data[4], 0x01);
  }
}

TEST(ChannelData, RejectsMalformedInput) {
  struct Case {
    const char* hex;
    ChannelDataError error;
  } cases[] = {
      {"", ChannelDataError::kTooShort},
      {"4001 00", ChannelDataError::kTooShort},
      {"3fff 0000", ChannelDataError::kBadChannel},
      {"8000 0000", ChannelDataError::kBadChannel},
      {"4001 0006 deadbeef 01", ChannelDataError::kTruncated},
      {"4001 0001 de000000 00", ChannelDataError::kTooMuchPadding},
  };
  for (const auto& c : cases) {
    const Bytes b = test::hex(c.hex);
    ChannelDataError e = ChannelDataError::kNone;
    EXPECT_FALSE(parse_channel_data(b.data(), b.size(), &e)) << c.hex;
    EXPECT_EQ(e, c.error) << c.hex << ": " << to_string(e);
  }
}

}  // namespace
}  // namespace qp2p::turn
