// Routing payloads between supernodes (stack/federation/route_messages.h, docs/protocol.md
// section 14.6): a byte vector of each type, round trips, and every malformed form refused with
// its reason, never a crash.
#include "stack/federation/route_messages.h"

#include <gtest/gtest.h>

#include "tests/stack/federation/payload_bytes.h"

namespace qp2p::federation {
namespace {

using test::hex;
using test::key_of;
using test::repeat;

TEST(RouteMessages, DeliverBytesAreAsDocumented) {
  const RouteMessage m{RouteType::kDeliver, key_of(0xaa), key_of(0xbb), 0x0102030405060708, "hi"};
  const Bytes expected =
      hex("10" + repeat("aa", 32) + repeat("bb", 32) + "0102030405060708" + "0002" + "6869");
  EXPECT_EQ(encode(m), expected);
  RouteDecodeError error = RouteDecodeError::kCount;
  auto back = decode_route(expected, &error);
  ASSERT_TRUE(back);
  EXPECT_EQ(error, RouteDecodeError::kNone);
  EXPECT_EQ(back->type, RouteType::kDeliver);
  EXPECT_EQ(back->sender, key_of(0xaa));
  EXPECT_EQ(back->target, key_of(0xbb));
  EXPECT_EQ(back->message_id, 0x0102030405060708u);
  EXPECT_EQ(back->text, "hi");
}

TEST(RouteMessages, OutcomesHaveNoBody) {
  for (RouteType t : {RouteType::kDelivered, RouteType::kUndeliverable}) {
    const Bytes b = encode({t, key_of(1), key_of(2), 7, "ignored"});
    EXPECT_EQ(b.size(), 1u + 32 + 32 + 8);
    auto back = decode_route(b, nullptr);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->type, t);
    EXPECT_EQ(back->message_id, 7u);
    EXPECT_TRUE(back->text.empty());
  }
}

TEST(RouteMessages, LongestTextFitsAPayload) {
  const Bytes b = encode({RouteType::kDeliver, key_of(1), key_of(2), 1,
                          std::string(kMaxRoutedText, 'x')});
  EXPECT_EQ(b.size(), 1000u);  // federation_wire.h kMaxPayload
  EXPECT_TRUE(decode_route(b, nullptr));
}

TEST(RouteMessages, MalformedPayloadsAreRefusedWithTheirReason) {
  const Bytes good = encode({RouteType::kDeliver, key_of(1), key_of(2), 1, "text"});
  const auto reason = [](const Bytes& b) {
    RouteDecodeError e = RouteDecodeError::kNone;
    EXPECT_FALSE(decode_route(b, &e));
    return e;
  };
  EXPECT_EQ(reason({}), RouteDecodeError::kTruncated);
  Bytes unknown = good;
  unknown[0] = 0x13;
  EXPECT_EQ(reason(unknown), RouteDecodeError::kUnknownType);
  unknown[0] = 0x01;  // a directory payload is not routing
  EXPECT_EQ(reason(unknown), RouteDecodeError::kUnknownType);
  for (std::size_t n = 1; n < good.size(); ++n)
    EXPECT_EQ(reason(Bytes(good.begin(), good.begin() + n)), RouteDecodeError::kTruncated) << n;
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(reason(trailing), RouteDecodeError::kTrailing);
  Bytes too_long = encode({RouteType::kDeliver, key_of(1), key_of(2), 1, std::string(kMaxRoutedText + 1, 'x')});
  EXPECT_EQ(reason(too_long), RouteDecodeError::kTooLong);
  Bytes outcome_with_body = encode({RouteType::kDelivered, key_of(1), key_of(2), 1, {}});
  outcome_with_body.push_back(1);
  EXPECT_EQ(reason(outcome_with_body), RouteDecodeError::kTrailing);
}

}  // namespace
}  // namespace qp2p::federation
