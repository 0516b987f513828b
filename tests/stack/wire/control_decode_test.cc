// Control message decoding of malformed input: one test per class, each naming the DecodeError
// it must produce (docs/protocol.md; every decoder is bounded).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "stack/wire/control_message.h"
#include "tests/stack/wire/control_codec_helpers.h"

namespace qp2p::wire {
namespace {

using namespace codec_test;

// --- malformed input: one test per DecodeError class ---

TEST(ControlDecode, TooShort) {
  const Bytes full = encoded({1, Keepalive{}});
  for (std::size_t n = 0; n < kHeaderSize; ++n)
    EXPECT_EQ(decode_error(Bytes(full.begin(), full.begin() + n)), DecodeError::kTooShort) << n;
  EXPECT_EQ(decode(nullptr, 0, nullptr), std::nullopt);
}

TEST(ControlDecode, WrongMagicIsNotControl) {
  Bytes b = encoded({1, Keepalive{}});
  for (std::uint8_t first : {0x00, 0x01, 0x40, 0x50, 0x52, 0x80, 0xff}) {
    b[0] = first;
    EXPECT_EQ(decode_error(b), DecodeError::kNotControl) << int(first);
    EXPECT_FALSE(looks_like_control(b.data(), b.size()));
  }
  b[0] = kMagic;
  EXPECT_TRUE(looks_like_control(b.data(), b.size()));
  EXPECT_FALSE(looks_like_control(b.data(), 0));
}

TEST(ControlDecode, BadVersion) {
  Bytes b = encoded({1, Keepalive{}});
  for (std::uint8_t version : {0, 2, 0xff}) {
    b[1] = version;
    EXPECT_EQ(decode_error(b), DecodeError::kBadVersion) << int(version);
  }
}

TEST(ControlDecode, BodyLengthMustMatchTheDatagram) {
  const Bytes hello = encoded({1, Hello{key_of(1)}});
  Bytes longer_field = hello;
  longer_field[7] += 1;  // claims 33 body bytes, 32 present
  EXPECT_EQ(decode_error(longer_field), DecodeError::kBadLength);
  Bytes shorter_field = hello;
  shorter_field[7] -= 1;  // claims 31, 32 present
  EXPECT_EQ(decode_error(shorter_field), DecodeError::kBadLength);
  Bytes extra = hello;
  extra.push_back(0);
  EXPECT_EQ(decode_error(extra), DecodeError::kBadLength);
  // The session flag promises a 32-byte trailer that is not there.
  Bytes flagged = hello;
  flagged[4] = kFlagSession;
  EXPECT_EQ(decode_error(flagged), DecodeError::kBadLength);
  // With the trailer bytes present, the header is consistent again (the trailer is the
  // session's to verify, decode ignores it).
  flagged.resize(flagged.size() + kTrailerSize, 0xee);
  EXPECT_EQ(decode_error(flagged), DecodeError::kNone);
}

TEST(ControlDecode, UnknownType) {
  for (std::uint16_t type :
       {0x0000, 0x0005, 0x0014, 0x0034, 0x0100, 0x0121, 0x0200, 0x020a, 0x03ff, 0xffff}) {
    EXPECT_EQ(decode_error(raw(type, {})), DecodeError::kUnknownType) << type;
  }
  // decode_header alone does not look at the type.
  const Bytes b = raw(0x0005, {});
  DecodeError error = DecodeError::kNone;
  auto h = decode_header(b.data(), b.size(), &error);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, 0x0005);
  EXPECT_EQ(h->transaction, 0x0102030405060708u);
}

TEST(ControlDecode, ReservedByteAndUnknownFlagsAreRejected) {
  Bytes b = encoded({1, Keepalive{}});
  b[5] = 1;
  EXPECT_EQ(decode_error(b), DecodeError::kMalformedBody);
  b[5] = 0;
  b[4] = 0x02;
  EXPECT_EQ(decode_error(b), DecodeError::kMalformedBody);
  b[4] = 0x80;
  EXPECT_EQ(decode_error(b), DecodeError::kMalformedBody);
}

TEST(ControlDecode, TruncatedBody) {
  // Each body cut by one byte, with the header's length adjusted so only the body is wrong.
  for (const Body& body : every_body()) {
    const Bytes full = encoded({1, body});
    const std::size_t body_len = full.size() - kHeaderSize;
    if (body_len == 0) continue;
    Bytes cut(full.begin() + kHeaderSize, full.end() - 1);
    EXPECT_EQ(decode_error(raw(type_number(body), cut)), DecodeError::kMalformedBody)
        << type_name(body);
  }
}

TEST(ControlDecode, TrailingBytesAfterTheBody) {
  for (const Body& body : every_body()) {
    const Bytes full = encoded({1, body});
    Bytes longer(full.begin() + kHeaderSize, full.end());
    longer.push_back(0);
    EXPECT_EQ(decode_error(raw(type_number(body), longer)), DecodeError::kMalformedBody)
        << type_name(body);
  }
}

TEST(ControlDecode, OverLongStrings) {
  EXPECT_EQ(decode_error(encoded({1, SendMessage{key_of(1), 1, std::string(kMaxTextBytes, 'a')}})),
            DecodeError::kNone);
  EXPECT_EQ(
      decode_error(encoded({1, SendMessage{key_of(1), 1, std::string(kMaxTextBytes + 1, 'a')}})),
      DecodeError::kMalformedBody);
  EXPECT_EQ(decode_error(encoded({1, Deliver{key_of(1), 1, std::string(kMaxTextBytes + 1, 'a')}})),
            DecodeError::kMalformedBody);
  EXPECT_EQ(decode_error(encoded({1, Error{ErrorCode::kBadRequest, std::string(1001, 'e')}})),
            DecodeError::kMalformedBody);
  EXPECT_EQ(decode_error(encoded({1, Search{1, {{std::string(kMaxKeyBytes, 'k'), "v", false}}, {}}})),
            DecodeError::kNone);
  EXPECT_EQ(
      decode_error(encoded({1, Search{1, {{std::string(kMaxKeyBytes + 1, 'k'), "v", false}}, {}}})),
      DecodeError::kMalformedBody);
  EXPECT_EQ(
      decode_error(encoded({1, Search{1, {{"k", std::string(kMaxValueBytes + 1, 'v'), false}}, {}}})),
      DecodeError::kMalformedBody);
  // A string whose length prefix runs past the body.
  Bytes body = {0x00, 0x05, 'a', 'b'};
  Bytes error_body = {0x01, 0x90};
  error_body.insert(error_body.end(), body.begin(), body.end());
  EXPECT_EQ(decode_error(raw(0x01ff, error_body)), DecodeError::kMalformedBody);
}

TEST(ControlDecode, TooManySearchTerms) {
  Search s;
  for (std::size_t i = 0; i < kMaxSearchTerms; ++i) s.terms.push_back({"k", "v", false});
  EXPECT_EQ(decode_error(encoded({1, s})), DecodeError::kNone);
  s.terms.push_back({"k", "v", false});
  EXPECT_EQ(decode_error(encoded({1, s})), DecodeError::kMalformedBody);
}

TEST(ControlDecode, BadBooleansAndEnums) {
  // WatchAck.online must be 0 or 1.
  EXPECT_EQ(decode_error(raw(0x0113, {1})), DecodeError::kNone);
  EXPECT_EQ(decode_error(raw(0x0113, {2})), DecodeError::kMalformedBody);
  // Search term prefix flag.
  Bytes search = encoded({1, Search{1, {{"k", "v", true}}, {}}});
  search[kHeaderSize + 35] = 2;  // after limit (2), cursor (32) and count (1)
  EXPECT_EQ(decode_error(search), DecodeError::kMalformedBody);
  // Presence: online flag and reason 1..3.
  Bytes presence = encoded({1, Presence{key_of(1), true, PresenceReason::kLogin}});
  const std::size_t online_at = kHeaderSize + 32, reason_at = online_at + 1;
  for (std::uint8_t reason : {1, 2, 3}) {
    presence[reason_at] = reason;
    EXPECT_EQ(decode_error(presence), DecodeError::kNone) << int(reason);
  }
  for (std::uint8_t reason : {0, 4, 0xff}) {
    presence[reason_at] = reason;
    EXPECT_EQ(decode_error(presence), DecodeError::kMalformedBody) << int(reason);
  }
  presence[reason_at] = 1;
  presence[online_at] = 7;
  EXPECT_EQ(decode_error(presence), DecodeError::kMalformedBody);
  // Endpoint family must be 4 or 6.
  Bytes ack = encoded({1, KeepaliveAck{ep("192.0.2.1:1")}});
  for (std::uint8_t family : {0, 5, 46}) {
    ack[kHeaderSize] = family;
    EXPECT_EQ(decode_error(ack), DecodeError::kMalformedBody) << int(family);
  }
  // PeerInfo flags: only bits 0 (online) and 1 (record follows).
  PeerInfo info = sample_info(false, ep("192.0.2.1:1"));
  Bytes lookup = encoded({1, LookupResult{info}});
  lookup[kHeaderSize + 32] = 0x04;
  EXPECT_EQ(decode_error(lookup), DecodeError::kMalformedBody);
  // A record flag without a record is a truncated body.
  lookup[kHeaderSize + 32] = 0x03;
  EXPECT_EQ(decode_error(lookup), DecodeError::kMalformedBody);
}

TEST(ControlDecode, ErrorCodesOutsideTheEnumArePassedThrough) {
  // Error codes are not validated: a newer supernode may send codes this version lacks.
  const Bytes b = raw(0x01ff, {0x02, 0x58, 0x00, 0x00});
  auto m = decode(b.data(), b.size(), nullptr);
  ASSERT_TRUE(m);
  EXPECT_EQ(static_cast<std::uint16_t>(std::get<Error>(m->body).code), 600);
}

TEST(ControlDecode, RecordWithTooManyEntriesIsMalformed) {
  Bytes body;
  ByteWriter w(body);
  append_key(w, key_of(1));
  w.u64(1);
  w.u8(static_cast<std::uint8_t>(kMaxEntries + 1));
  EXPECT_EQ(decode_error(raw(0x0010, body)), DecodeError::kMalformedBody);
}

TEST(ControlDecode, OversizedDatagram) {
  // A search whose body makes the datagram exactly kMaxDatagram bytes is accepted...
  Search s{1, {}, {}};
  std::size_t body = 35;
  while (body + 5 + kMaxKeyBytes + kMaxValueBytes <= kMaxDatagram - kHeaderSize) {
    s.terms.push_back({std::string(kMaxKeyBytes, 'k'), std::string(kMaxValueBytes, 'v'), false});
    body += 5 + kMaxKeyBytes + kMaxValueBytes;
  }
  const std::size_t rest = kMaxDatagram - kHeaderSize - body - 5;
  s.terms.push_back({"k", std::string(rest - 1, 'v'), true});
  Bytes exact = encoded({1, s});
  ASSERT_EQ(exact.size(), kMaxDatagram);
  EXPECT_EQ(decode_error(exact), DecodeError::kNone);
  // ...one byte more is refused before anything else is looked at.
  s.terms.back().value.push_back('v');
  Bytes over = encoded({1, s});
  ASSERT_EQ(over.size(), kMaxDatagram + 1);
  EXPECT_EQ(decode_error(over), DecodeError::kTooLarge);
  Bytes garbage(kMaxDatagram + 1, 0x00);
  EXPECT_EQ(decode_error(garbage), DecodeError::kTooLarge);
}

TEST(ControlDecode, ErrorNamesAreDistinct) {
  std::set<std::string> names;
  for (DecodeError e :
       {DecodeError::kNone, DecodeError::kTooShort, DecodeError::kNotControl,
        DecodeError::kBadVersion, DecodeError::kBadLength, DecodeError::kUnknownType,
        DecodeError::kMalformedBody, DecodeError::kTooLarge})
    names.insert(to_string(e));
  EXPECT_EQ(names.size(), 8u);
}

TEST(ControlDecode, HeaderDecodeReportsFields) {
  Bytes b = encoded({0xa1b2c3d4e5f60718ULL, Watch{key_of(3)}});
  DecodeError error = DecodeError::kTooShort;
  auto h = decode_header(b.data(), b.size(), &error);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->type, 0x0013);
  EXPECT_EQ(h->flags, 0);
  EXPECT_EQ(h->body_length, 32);
  EXPECT_EQ(h->transaction, 0xa1b2c3d4e5f60718ULL);
}

}  // namespace
}  // namespace qp2p::wire
