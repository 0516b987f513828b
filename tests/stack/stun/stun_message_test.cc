// STUN codec tests: the RFC 5769 test vectors byte for byte (parse, integrity, fingerprint,
// XOR-MAPPED-ADDRESS, rebuild), round trips of every attribute kind (RFC 8489 section 14,
// RFC 5780 section 7), and one test per class of malformed input.
#include "tests/stack/hex_bytes.h"
#include "stack/stun/stun_message.h"

#include <gtest/gtest.h>

#include <string>

#include "stack/stun/legacy_hash.h"

namespace qp2p::stun {
namespace {

using test::hex;

const std::uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

Endpoint ep(std::string_view text) { return *Endpoint::parse(text); }

// RFC 5769 section 2 vectors. Their SOFTWARE and USERNAME padding is 0x20 on purpose.
const Bytes kSampleRequest =
    hex("00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
        "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
        "00 24 00 04 6e 00 01 ff"
        "80 29 00 08 93 2f f9 b1 51 26 3b 36"
        "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
        "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
        "80 28 00 04 e5 7a 3b cf");
const Bytes kIpv4Response =
    hex("01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
        "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
        "00 20 00 08 00 01 a1 47 e1 12 a6 43"
        "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
        "80 28 00 04 c0 7d 4c 96");
const Bytes kIpv6Response =
    hex("01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
        "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
        "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
        "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
        "80 28 00 04 c8 fb 0b 4c");
const Bytes kLongTermRequest =
    hex("00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
        "00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00"
        "00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46"
        "            53 54 76 79 36 34 73 41"
        "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
        "00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66");

constexpr std::string_view kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";
constexpr std::uint16_t kPriority = 0x0024;       // RFC 8445
constexpr std::uint16_t kIceControlled = 0x8029;  // RFC 8445
// "matrix" in katakana (U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9) as UTF-8.
constexpr std::string_view kLongTermUsername =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
// SASLprep of "The<U+00AD>M<U+00AA>tr<U+2168>", as RFC 5769 section 2.4 gives it.
constexpr std::string_view kLongTermPassword = "TheMatrIX";
constexpr std::string_view kNonce = "f//499k954d6OL34oL9FSTvy64sA";

TransactionId tid_of(const Bytes& message) {
  TransactionId id;
  std::copy(message.begin() + 8, message.begin() + 20, id.begin());
  return id;
}

MessageView parse_ok(const Bytes& b) {
  ParseError error = ParseError::kTooShort;
  auto view = MessageView::parse(b.data(), b.size(), &error);
  EXPECT_TRUE(view) << to_string(error);
  EXPECT_EQ(error, ParseError::kNone);
  return view ? *view : MessageView();
}

ParseError parse_error(const Bytes& b) {
  ParseError error = ParseError::kNone;
  EXPECT_FALSE(MessageView::parse(b.data(), b.size(), &error));
  return error;
}

// ---- RFC 5769 vectors -----------------------------------------------------------------------

TEST(StunRfc5769, SampleRequestParsesAndVerifies) {
  MessageView m = parse_ok(kSampleRequest);
  EXPECT_EQ(m.method(), Method::kBinding);
  EXPECT_EQ(m.message_class(), Class::kRequest);
  EXPECT_EQ(m.transaction_id(), tid_of(kSampleRequest));
  ASSERT_EQ(m.attributes().size(), 6u);
  EXPECT_EQ(m.attributes()[0].type, attr::kSoftware);
  EXPECT_EQ(m.attributes()[5].type, attr::kFingerprint);
  EXPECT_EQ(m.string(attr::kSoftware), "STUN test client");
  EXPECT_EQ(m.string(attr::kUsername), "evtj:h6vY");
  EXPECT_EQ(m.u32(kPriority), 0x6e0001ffu);
  const AttributeView* controlled = m.find(kIceControlled);
  ASSERT_TRUE(controlled);
  EXPECT_EQ(Bytes(m.value(*controlled), m.value(*controlled) + controlled->length),
            hex("93 2f f9 b1 51 26 3b 36"));
  EXPECT_TRUE(m.check_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size()));
  EXPECT_FALSE(m.check_message_integrity(bytes("VOkJxbRl1RmTxUk/WvJxBu"), 22));
  EXPECT_FALSE(m.check_message_integrity_sha256(bytes(kShortTermPassword), 22));  // absent
  EXPECT_TRUE(m.has_fingerprint());
  EXPECT_TRUE(m.check_fingerprint());
  EXPECT_TRUE(
      m.unknown_comprehension_required({attr::kUsername, attr::kMessageIntegrity, kPriority})
          .empty());
  EXPECT_EQ(m.unknown_comprehension_required({attr::kUsername, attr::kMessageIntegrity}),
            std::vector<std::uint16_t>{kPriority});
}

TEST(StunRfc5769, SampleRequestRebuildsByteForByte) {
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kRequest, tid_of(kSampleRequest))
      .set_padding_byte(0x20)
      .add_string(attr::kSoftware, "STUN test client")
      .add_u32(kPriority, 0x6e0001ff)
      .add(kIceControlled, hex("93 2f f9 b1 51 26 3b 36").data(), 8)
      .add_string(attr::kUsername, "evtj:h6vY")
      .add_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size())
      .add_fingerprint();
  EXPECT_EQ(out, kSampleRequest);
}

TEST(StunRfc5769, Ipv4ResponseParsesVerifiesAndRebuilds) {
  MessageView m = parse_ok(kIpv4Response);
  EXPECT_EQ(m.method(), Method::kBinding);
  EXPECT_EQ(m.message_class(), Class::kSuccess);
  EXPECT_EQ(m.string(attr::kSoftware), "test vector");
  EXPECT_EQ(m.xor_address(attr::kXorMappedAddress), ep("192.0.2.1:32853"));
  EXPECT_TRUE(m.check_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size()));
  EXPECT_TRUE(m.check_fingerprint());

  Bytes out;
  MessageBuilder b(out, Method::kBinding, Class::kSuccess, tid_of(kIpv4Response));
  b.set_padding_byte(0x20)
      .add_string(attr::kSoftware, "test vector")
      .add_xor_address(attr::kXorMappedAddress, ep("192.0.2.1:32853"))
      .add_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size())
      .add_fingerprint();
  EXPECT_EQ(out, kIpv4Response);
  EXPECT_EQ(b.size(), kIpv4Response.size());
}

TEST(StunRfc5769, Ipv6ResponseParsesVerifiesAndRebuilds) {
  MessageView m = parse_ok(kIpv6Response);
  EXPECT_EQ(m.message_class(), Class::kSuccess);
  auto mapped = m.xor_address(attr::kXorMappedAddress);
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*mapped, ep("[2001:db8:1234:5678:11:2233:4455:6677]:32853"));
  EXPECT_EQ(mapped->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  EXPECT_TRUE(m.check_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size()));
  EXPECT_TRUE(m.check_fingerprint());

  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kSuccess, tid_of(kIpv6Response))
      .set_padding_byte(0x20)
      .add_string(attr::kSoftware, "test vector")
      .add_xor_address(attr::kXorMappedAddress, *mapped)
      .add_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size())
      .add_fingerprint();
  EXPECT_EQ(out, kIpv6Response);
}

TEST(StunRfc5769, LongTermRequestVerifiesAndRebuilds) {
  MessageView m = parse_ok(kLongTermRequest);
  EXPECT_EQ(m.method(), Method::kBinding);
  EXPECT_EQ(m.message_class(), Class::kRequest);
  EXPECT_EQ(m.string(attr::kUsername), kLongTermUsername);
  EXPECT_EQ(m.string(attr::kNonce), kNonce);
  EXPECT_EQ(m.string(attr::kRealm), "example.org");
  auto key = long_term_key(kLongTermUsername, "example.org", kLongTermPassword);
  EXPECT_TRUE(m.check_message_integrity(key.data(), key.size()));
  auto wrong = long_term_key(kLongTermUsername, "example.org", "TheMatrix");
  EXPECT_FALSE(m.check_message_integrity(wrong.data(), wrong.size()));
  EXPECT_FALSE(m.has_fingerprint());
  EXPECT_FALSE(m.check_fingerprint());

  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kRequest, tid_of(kLongTermRequest))
      .add_string(attr::kUsername, kLongTermUsername)
      .add_string(attr::kNonce, kNonce)
      .add_string(attr::kRealm, "example.org")
      .add_message_integrity(key.data(), key.size());
  EXPECT_EQ(out, kLongTermRequest);
}

TEST(StunRfc5769, LooksLikeStun) {
  for (const Bytes* v : {&kSampleRequest, &kIpv4Response, &kIpv6Response, &kLongTermRequest}) {
    EXPECT_TRUE(MessageView::looks_like_stun(v->data(), v->size()));
  }
  Bytes b = kIpv4Response;
  EXPECT_FALSE(MessageView::looks_like_stun(b.data(), 19));
  b[0] = 0x80;  // RTP/RTCP range (RFC 7983)
  EXPECT_FALSE(MessageView::looks_like_stun(b.data(), b.size()));
  b[0] = 0x40;
  EXPECT_FALSE(MessageView::looks_like_stun(b.data(), b.size()));
  b = kIpv4Response;
  b[7] ^= 1;
  EXPECT_FALSE(MessageView::looks_like_stun(b.data(), b.size()));
}

// ---- Header and attribute round trips -------------------------------------------------------

TransactionId test_tid() {
  return {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98};
}

TEST(StunCodec, MethodAndClassEncoding) {
  struct Case {
    Method method;
    Class cls;
    std::uint16_t type;
  };
  // RFC 8489 section 5 / RFC 8656 section 18 message type values.
  for (Case c : {Case{Method::kBinding, Class::kRequest, 0x0001},
                 Case{Method::kBinding, Class::kIndication, 0x0011},
                 Case{Method::kBinding, Class::kSuccess, 0x0101},
                 Case{Method::kBinding, Class::kError, 0x0111},
                 Case{Method::kAllocate, Class::kError, 0x0113},
                 Case{Method::kRefresh, Class::kSuccess, 0x0104},
                 Case{Method::kSend, Class::kIndication, 0x0016},
                 Case{Method::kData, Class::kIndication, 0x0017},
                 Case{Method::kCreatePermission, Class::kSuccess, 0x0108},
                 Case{Method::kChannelBind, Class::kRequest, 0x0009}}) {
    Bytes out;
    MessageBuilder(out, c.method, c.cls, test_tid());
    EXPECT_EQ((out[0] << 8) | out[1], c.type);
    MessageView m = parse_ok(out);
    EXPECT_EQ(m.method(), c.method);
    EXPECT_EQ(m.message_class(), c.cls);
    EXPECT_EQ(m.transaction_id(), test_tid());
    EXPECT_TRUE(m.attributes().empty());
  }
  for (std::uint16_t raw : {0x000, 0x0ff, 0x800, 0xabc, 0xfff}) {
    for (Class cls : {Class::kRequest, Class::kIndication, Class::kSuccess, Class::kError}) {
      Bytes out;
      MessageBuilder(out, raw, cls, test_tid());
      MessageView m = parse_ok(out);
      EXPECT_EQ(m.raw_method(), raw);
      EXPECT_EQ(m.message_class(), cls);
    }
  }
}

TEST(StunCodec, StringsAndRawValuesRoundTripWithPadding) {
  const std::string text = "abcdefgh";
  for (std::size_t len = 0; len <= text.size(); ++len) {
    Bytes out;
    MessageBuilder(out, Method::kBinding, Class::kRequest, test_tid())
        .add_string(attr::kUsername, std::string_view(text).substr(0, len))
        .add(attr::kData, bytes(text), len)
        .add_string(attr::kSoftware, "x");
    EXPECT_EQ(out.size() % 4, 0u);
    MessageView m = parse_ok(out);
    ASSERT_EQ(m.attributes().size(), 3u);
    EXPECT_EQ(m.string(attr::kUsername), std::string_view(text).substr(0, len));
    EXPECT_EQ(m.string(attr::kData), std::string_view(text).substr(0, len));
    EXPECT_EQ(m.string(attr::kSoftware), "x");
    EXPECT_EQ(m.attributes()[1].offset, 20u + 4 + ((len + 3) & ~3u) + 4);
  }
  MessageView m = parse_ok(kSampleRequest);
  EXPECT_FALSE(m.string(attr::kRealm));
}

TEST(StunCodec, U32AttributesRoundTrip) {
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kRequest, test_tid())
      .add_u32(attr::kChangeRequest, kChangeIp | kChangePort)
      .add_u32(attr::kLifetime, 600)
      .add_u32(attr::kRequestedTransport, 17u << 24)
      .add_u32(attr::kResponsePort, 0xBEEF0000u);
  MessageView m = parse_ok(out);
  EXPECT_EQ(m.u32(attr::kChangeRequest), kChangeIp | kChangePort);
  EXPECT_EQ(m.u32(attr::kLifetime), 600u);
  EXPECT_EQ(m.u32(attr::kRequestedTransport), 17u << 24);
  EXPECT_EQ(m.u32(attr::kResponsePort), 0xBEEF0000u);
  EXPECT_FALSE(m.u32(attr::kEvenPort));
}

TEST(StunCodec, AddressesRoundTripPlainAndXor) {
  const Endpoint v4 = ep("203.0.113.7:3478"), v6 = ep("[2001:db8::42]:65535");
  for (const Endpoint& e : {v4, v6}) {
    Bytes out;
    MessageBuilder(out, Method::kAllocate, Class::kSuccess, test_tid())
        .add_address(attr::kMappedAddress, e)
        .add_address(attr::kOtherAddress, e)
        .add_address(attr::kResponseOrigin, e)
        .add_address(attr::kAlternateServer, e)
        .add_xor_address(attr::kXorMappedAddress, e)
        .add_xor_address(attr::kXorPeerAddress, e)
        .add_xor_address(attr::kXorRelayedAddress, e);
    MessageView m = parse_ok(out);
    for (std::uint16_t t : {attr::kMappedAddress, attr::kOtherAddress, attr::kResponseOrigin,
                            attr::kAlternateServer}) {
      EXPECT_EQ(m.address(t), e) << t;
    }
    for (std::uint16_t t :
         {attr::kXorMappedAddress, attr::kXorPeerAddress, attr::kXorRelayedAddress}) {
      EXPECT_EQ(m.xor_address(t), e) << t;
    }
    // The XOR form is not the plain form, and reading it plainly gives something else.
    const AttributeView* plain = m.find(attr::kMappedAddress);
    const AttributeView* xored = m.find(attr::kXorMappedAddress);
    EXPECT_NE(Bytes(m.value(*plain), m.value(*plain) + plain->length),
              Bytes(m.value(*xored), m.value(*xored) + xored->length));
    EXPECT_NE(m.address(attr::kXorMappedAddress), e);
  }
}

TEST(StunCodec, Ipv6XorUsesTheTransactionId) {
  const Endpoint e = ep("[2001:db8::1]:5000");
  TransactionId other = test_tid();
  other[11] ^= 0xff;
  Bytes a, b;
  MessageBuilder(a, Method::kBinding, Class::kSuccess, test_tid())
      .add_xor_address(attr::kXorMappedAddress, e);
  MessageBuilder(b, Method::kBinding, Class::kSuccess, other)
      .add_xor_address(attr::kXorMappedAddress, e);
  EXPECT_NE(a[a.size() - 1], b[b.size() - 1]);
  EXPECT_EQ(parse_ok(a).xor_address(attr::kXorMappedAddress), e);
  EXPECT_EQ(parse_ok(b).xor_address(attr::kXorMappedAddress), e);
}

TEST(StunCodec, ErrorCodeRoundTrip) {
  for (auto [code, reason] : {std::pair<int, std::string_view>{300, "Try Alternate"},
                              {401, "Unauthorized"},
                              {420, ""},
                              {438, "Stale Nonce"},
                              {699, "x"}}) {
    Bytes out;
    MessageBuilder(out, Method::kBinding, Class::kError, test_tid()).add_error_code(code, reason);
    MessageView m = parse_ok(out);
    auto ec = m.error_code();
    ASSERT_TRUE(ec) << code;
    EXPECT_EQ(ec->code, code);
    EXPECT_EQ(ec->reason, reason);
  }
}

TEST(StunCodec, UnknownAttributesRoundTrip) {
  const std::vector<std::uint16_t> types = {kPriority, 0x7fff, attr::kMappedAddress};
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kError, test_tid())
      .add_error_code(420, "Unknown Attribute")
      .add_unknown_attributes(types);
  MessageView m = parse_ok(out);
  const AttributeView* a = m.find(attr::kUnknownAttributes);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->length, 6u);
  std::vector<std::uint16_t> decoded;
  for (std::size_t i = 0; i < a->length; i += 2) {
    decoded.push_back(static_cast<std::uint16_t>(m.value(*a)[i] << 8 | m.value(*a)[i + 1]));
  }
  EXPECT_EQ(decoded, types);
}

TEST(StunCodec, IntegritySha256AndFingerprintTogether) {
  const std::string key = "a short-term password";
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kRequest, test_tid())
      .add_string(attr::kUsername, "alice:bob")
      .add_message_integrity(bytes(key), key.size())
      .add_message_integrity_sha256(bytes(key), key.size())
      .add_fingerprint();
  MessageView m = parse_ok(out);
  EXPECT_TRUE(m.check_message_integrity(bytes(key), key.size()));
  EXPECT_TRUE(m.check_message_integrity_sha256(bytes(key), key.size()));
  EXPECT_FALSE(m.check_message_integrity_sha256(bytes("another"), 7));
  EXPECT_TRUE(m.check_fingerprint());
}

TEST(StunCodec, TruncatedSha256IntegrityIsAccepted) {
  // RFC 8489 14.6: the MAC may be cut to 16..32 bytes (multiples of 4); we never send that but
  // must verify it. Build the message by hand with a 16-byte MAC.
  const std::string key = "k";
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kRequest, test_tid())
      .add_string(attr::kUsername, "u");
  const std::size_t attr_at = out.size();
  out[2] = 0;
  out[3] = static_cast<std::uint8_t>(attr_at - 20 + 4 + 16);
  Sha256Digest mac = hmac_sha256(bytes(key), key.size(), {{out.data(), out.size()}});
  Bytes tail = {0x00, 0x1C, 0x00, 0x10};
  tail.insert(tail.end(), mac.begin(), mac.begin() + 16);
  out.insert(out.end(), tail.begin(), tail.end());
  MessageView m = parse_ok(out);
  EXPECT_TRUE(m.check_message_integrity_sha256(bytes(key), key.size()));
}

TEST(StunCodec, AttributesAfterIntegrityAreIgnored) {
  const std::string key = "pw";
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kRequest, test_tid())
      .add_string(attr::kUsername, "u")
      .add_message_integrity(bytes(key), key.size())
      .add_string(attr::kSoftware, "smuggled")
      .add_message_integrity(bytes("other"), 5)
      .add_fingerprint();
  MessageView m = parse_ok(out);
  EXPECT_FALSE(m.find(attr::kSoftware));
  EXPECT_EQ(m.attributes().size(), 3u);  // USERNAME, MESSAGE-INTEGRITY, FINGERPRINT
  EXPECT_TRUE(m.check_message_integrity(bytes(key), key.size()));
  EXPECT_TRUE(m.check_fingerprint());
}

TEST(StunCodec, BuilderAppendsAfterExistingBytes) {
  Bytes out = {0xde, 0xad, 0xbe};
  MessageBuilder b(out, Method::kBinding, Class::kSuccess, tid_of(kIpv4Response));
  b.set_padding_byte(0x20)
      .add_string(attr::kSoftware, "test vector")
      .add_xor_address(attr::kXorMappedAddress, ep("192.0.2.1:32853"))
      .add_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size())
      .add_fingerprint();
  EXPECT_EQ(b.size(), kIpv4Response.size());
  EXPECT_EQ(Bytes(out.begin() + 3, out.end()), kIpv4Response);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 3), (Bytes{0xde, 0xad, 0xbe}));
}

TEST(StunCodec, BuilderNeverExceedsTheLengthField) {
  Bytes big(70000, 'x');
  Bytes out;
  MessageBuilder b(out, Method::kSend, Class::kIndication, test_tid());
  b.add(attr::kData, big.data(), big.size()).add_fingerprint().add_u32(attr::kLifetime, 1);
  EXPECT_EQ(out.size(), 20u + 0xFFFC);
  MessageView m = parse_ok(out);
  EXPECT_EQ(m.find(attr::kData)->length, 0xFFFC - 4);
  EXPECT_FALSE(m.has_fingerprint());  // no room left for it
}

// ---- Malformed input, one class per test ----------------------------------------------------

TEST(StunMalformed, TooShort) {
  EXPECT_EQ(parse_error(Bytes(kIpv4Response.begin(), kIpv4Response.begin() + 19)),
            ParseError::kTooShort);
  EXPECT_EQ(parse_error(Bytes()), ParseError::kTooShort);
}

TEST(StunMalformed, NotStun) {
  Bytes b = kIpv4Response;
  b[0] |= 0x40;
  EXPECT_EQ(parse_error(b), ParseError::kNotStun);
  b = kIpv4Response;
  b[4] = 0x00;
  EXPECT_EQ(parse_error(b), ParseError::kNotStun);
}

TEST(StunMalformed, BadLength) {
  Bytes b = kIpv4Response;
  b[3] = 0x3d;  // not a multiple of 4
  EXPECT_EQ(parse_error(b), ParseError::kBadLength);
  b = kIpv4Response;
  b[3] = 0x38;  // shorter than the buffer
  EXPECT_EQ(parse_error(b), ParseError::kBadLength);
  b = kIpv4Response;
  b.push_back(0);  // trailing bytes
  EXPECT_EQ(parse_error(b), ParseError::kBadLength);
  b = kIpv4Response;
  b.resize(b.size() - 4);  // header claims more than arrived
  EXPECT_EQ(parse_error(b), ParseError::kBadLength);
}

TEST(StunMalformed, TruncatedAttribute) {
  // One attribute claiming 5 value bytes (8 with padding) in a 8-byte body.
  Bytes b =
      hex("00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00"
          "80 22 00 05 61 62 63 64");
  EXPECT_EQ(parse_error(b), ParseError::kTruncatedAttribute);
  b = hex("00 01 00 04 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 80 22 ff ff");
  EXPECT_EQ(parse_error(b), ParseError::kTruncatedAttribute);
}

TEST(StunMalformed, TooManyAttributes) {
  Bytes out;
  MessageBuilder b(out, Method::kBinding, Class::kRequest, test_tid());
  for (std::size_t i = 0; i < kMaxAttributes; ++i) b.add(0x8000 + i, nullptr, 0);
  EXPECT_EQ(parse_ok(out).attributes().size(), kMaxAttributes);
  b.add(0x9000, nullptr, 0);
  EXPECT_EQ(parse_error(out), ParseError::kTooManyAttributes);
}

TEST(StunMalformed, AttributeAfterFingerprint) {
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kRequest, test_tid())
      .add_fingerprint()
      .add_string(attr::kSoftware, "late");
  EXPECT_EQ(parse_error(out), ParseError::kAttributeAfterFingerprint);
}

TEST(StunMalformed, BadAddressFamily) {
  Bytes b = kIpv4Response;
  b[41] = 0x03;  // XOR-MAPPED-ADDRESS family byte
  MessageView m = parse_ok(b);
  EXPECT_FALSE(m.xor_address(attr::kXorMappedAddress));
  b[41] = 0x02;  // IPv6 family with an IPv4-sized value
  EXPECT_FALSE(parse_ok(b).xor_address(attr::kXorMappedAddress));
  b = kIpv6Response;
  b[41] = 0x01;  // IPv4 family with an IPv6-sized value
  EXPECT_FALSE(parse_ok(b).xor_address(attr::kXorMappedAddress));
}

TEST(StunMalformed, ShortAddressAttribute) {
  for (std::size_t len : {0u, 2u, 4u, 7u}) {
    Bytes value = {0x00, 0x01, 0x12, 0x34, 0xc0, 0x00, 0x02};
    Bytes out;
    MessageBuilder(out, Method::kBinding, Class::kSuccess, test_tid())
        .add(attr::kXorMappedAddress, value.data(), len)
        .add(attr::kMappedAddress, value.data(), len);
    MessageView m = parse_ok(out);
    EXPECT_FALSE(m.xor_address(attr::kXorMappedAddress)) << len;
    EXPECT_FALSE(m.address(attr::kMappedAddress)) << len;
  }
}

TEST(StunMalformed, BadFixedSizeValues) {
  Bytes out;
  MessageBuilder(out, Method::kBinding, Class::kError, test_tid())
      .add(attr::kLifetime, bytes("abc"), 3)
      .add(attr::kErrorCode, bytes("\0\0\x07\x01"), 4);  // class 7 does not exist
  MessageView m = parse_ok(out);
  EXPECT_FALSE(m.u32(attr::kLifetime));
  EXPECT_FALSE(m.error_code());
  Bytes out2;
  MessageBuilder(out2, Method::kBinding, Class::kError, test_tid())
      .add(attr::kErrorCode, bytes("\0\0\x04\x64"), 4);  // number 100
  EXPECT_FALSE(parse_ok(out2).error_code());
  Bytes out3;
  MessageBuilder(out3, Method::kBinding, Class::kError, test_tid())
      .add(attr::kErrorCode, bytes("ab"), 2);
  EXPECT_FALSE(parse_ok(out3).error_code());
}

TEST(StunMalformed, IntegrityMismatchAfterOneFlippedBit) {
  // Every bit of the covered bytes except the length field (which parse() checks).
  const std::size_t mi_end = kSampleRequest.size() - 8;  // MESSAGE-INTEGRITY ends there
  for (std::size_t i = 0; i < mi_end; ++i) {
    if (i == 2 || i == 3) continue;
    for (int bit = 0; bit < 8; ++bit) {
      Bytes b = kSampleRequest;
      b[i] ^= static_cast<std::uint8_t>(1 << bit);
      auto m = MessageView::parse(b.data(), b.size());
      if (!m) continue;  // the flip broke the framing (type, cookie, an attribute length)
      EXPECT_FALSE(m->check_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size()))
          << i << ":" << bit;
      EXPECT_FALSE(m->check_fingerprint()) << i << ":" << bit;
    }
  }
}

TEST(StunMalformed, IntegrityOfWrongSizeFails) {
  Bytes b = kSampleRequest;
  b[79] = 0x10;  // MESSAGE-INTEGRITY length 16: still framed, but not a SHA-1 MAC
  b[3] -= 4;
  b.erase(b.begin() + 80 + 16, b.begin() + 80 + 20);
  MessageView m = parse_ok(b);
  EXPECT_FALSE(m.check_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size()));
}

TEST(StunMalformed, FingerprintMismatch) {
  Bytes b = kSampleRequest;
  b.back() ^= 0x01;
  MessageView m = parse_ok(b);
  EXPECT_FALSE(m.check_fingerprint());
  EXPECT_TRUE(m.check_message_integrity(bytes(kShortTermPassword), kShortTermPassword.size()));
}

TEST(StunMalformed, ParseErrorNames) {
  for (ParseError e : {ParseError::kNone, ParseError::kTooShort, ParseError::kNotStun,
                       ParseError::kBadLength, ParseError::kTruncatedAttribute,
                       ParseError::kTooManyAttributes, ParseError::kAttributeAfterFingerprint}) {
    EXPECT_NE(std::string(to_string(e)), "unknown");
  }
}

}  // namespace
}  // namespace qp2p::stun
