// The supernode-list push (0x0209, docs/protocol.md section 8.8): byte-exact layout, the bound
// of 16 endpoints, and malformed bodies (bad family, truncated endpoint, trailing bytes), each
// rejected as malformed-body.
#include <gtest/gtest.h>

#include "stack/wire/control_message.h"
#include "tests/stack/wire/control_codec_helpers.h"

namespace qp2p::wire {
namespace {

using namespace codec_test;

Bytes body_of(const Bytes& datagram) { return Bytes(datagram.begin() + kHeaderSize, datagram.end()); }

TEST(SupernodeListCodec, LayoutIsCountThenEndpoints) {
  const Bytes b = encoded({0x0102030405060708, SupernodeList{{ep("192.0.2.1:3478"),
                                                              ep("[2001:db8::20]:3479")}}});
  EXPECT_EQ((b[2] << 8 | b[3]), 0x0209);
  const Bytes expected = {
      0x02,                                                  // count
      0x04, 192, 0, 2, 1, 0x0d, 0x96,                        // family 4, address, port 3478
      0x06, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,  // family 6, 2001:db8::20
      0, 0, 0, 0x20, 0x0d, 0x97,                             // ..., port 3479
  };
  EXPECT_EQ(body_of(b), expected);
  // An empty list is one byte.
  EXPECT_EQ(body_of(encoded({1, SupernodeList{}})), Bytes{0x00});
}

TEST(SupernodeListCodec, SixteenEndpointsDecodeSeventeenAreMalformed) {
  SupernodeList full;
  for (int i = 0; i < static_cast<int>(kMaxSupernodeList); ++i)
    full.supernodes.push_back(ep("192.0.2." + std::to_string(i + 1) + ":3478"));
  const Bytes b = encoded({1, full});
  ASSERT_LE(b.size(), kMaxDatagram);
  DecodeError error = DecodeError::kTooLarge;
  auto back = decode(b.data(), b.size(), &error);
  ASSERT_TRUE(back) << to_string(error);
  EXPECT_EQ(std::get<SupernodeList>(back->body).supernodes, full.supernodes);

  // The same body claiming one more endpoint, with a seventeenth present: over the bound.
  Bytes over = body_of(b);
  over[0] = static_cast<std::uint8_t>(kMaxSupernodeList + 1);
  const Bytes extra = body_of(encoded({1, SupernodeList{{ep("192.0.2.99:3478")}}}));
  over.insert(over.end(), extra.begin() + 1, extra.end());
  EXPECT_EQ(decode_error(raw(0x0209, over)), DecodeError::kMalformedBody);
  over[0] = 0xff;
  EXPECT_EQ(decode_error(raw(0x0209, over)), DecodeError::kMalformedBody);
}

TEST(SupernodeListCodec, MalformedBodiesAreRejected) {
  const Bytes good = body_of(encoded({1, SupernodeList{{ep("192.0.2.1:3478")}}}));
  ASSERT_EQ(decode_error(raw(0x0209, good)), DecodeError::kNone);
  Bytes bad_family = good;
  bad_family[1] = 5;
  EXPECT_EQ(decode_error(raw(0x0209, bad_family)), DecodeError::kMalformedBody);
  Bytes count_too_high = good;  // claims two, carries one
  count_too_high[0] = 2;
  EXPECT_EQ(decode_error(raw(0x0209, count_too_high)), DecodeError::kMalformedBody);
  Bytes cut(good.begin(), good.end() - 1);
  EXPECT_EQ(decode_error(raw(0x0209, cut)), DecodeError::kMalformedBody);
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(decode_error(raw(0x0209, trailing)), DecodeError::kMalformedBody);
  EXPECT_EQ(decode_error(raw(0x0209, {})), DecodeError::kMalformedBody);
}

}  // namespace
}  // namespace qp2p::wire
