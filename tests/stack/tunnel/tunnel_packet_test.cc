// Tunnel packet codec: byte layout vectors, round trips, signatures, and every malformed class.
#include "tests/stack/hex_bytes.h"
#include "stack/tunnel/tunnel_packet.h"

#include <gtest/gtest.h>

#include <string>

#include "stack/core/byte_io.h"

namespace qp2p::tunnel {
namespace {

using test::hex;

std::string repeat(std::string_view byte, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += byte;
  return s;
}

CheckPacket sample_check() {
  CheckPacket c;
  for (std::size_t i = 0; i < c.transaction.size(); ++i)
    c.transaction[i] = static_cast<std::uint8_t>(i + 1);
  c.sender.key.fill(0x11);
  c.tie_breaker = 0x0102030405060708ull;
  c.tunnel_id = 0xa1a2a3a4a5a6a7a8ull;
  c.sender_ephemeral.fill(0x22);
  c.receiver_ephemeral.fill(0x33);
  c.signature.fill(0x44);
  return c;
}

ParseError error_of(const Bytes& b) {
  ParseError e = ParseError::kNone;
  EXPECT_FALSE(parse(b.data(), b.size(), &e).has_value());
  return e;
}

TEST(TunnelPacket, CheckRequestByteLayout) {
  CheckPacket c = sample_check();
  c.nominate = true;
  Bytes out;
  append_check(c, out);
  const Bytes expected = hex("52 01 01 01"                      // magic, version, request, nominate
                             "0102030405060708090a0b0c"         // transaction id
                             + repeat("11", 32) +               // sender id
                             "0102030405060708"                 // tie-breaker
                             "a1a2a3a4a5a6a7a8"                 // tunnel id
                             + repeat("22", 32) +               // sender ephemeral
                             repeat("33", 32) +                 // receiver ephemeral
                             repeat("44", 64));                 // signature
  ASSERT_EQ(out.size(), kCheckSize);
  EXPECT_EQ(out, expected);
}

TEST(TunnelPacket, CheckResponseByteLayoutNeverCarriesNominate) {
  CheckPacket c = sample_check();
  c.response = true;
  c.nominate = true;  // ignored on a response
  Bytes out;
  append_check(c, out);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 4), hex("52 01 02 00"));
  auto p = parse(out.data(), out.size());
  ASSERT_TRUE(p.has_value());
  const auto& back = std::get<CheckPacket>(*p);
  EXPECT_TRUE(back.response);
  EXPECT_FALSE(back.nominate);
}

TEST(TunnelPacket, CheckRoundTrip) {
  const CheckPacket c = sample_check();
  Bytes out;
  append_check(c, out);
  auto p = parse(out.data(), out.size());
  ASSERT_TRUE(p.has_value());
  const auto& b = std::get<CheckPacket>(*p);
  EXPECT_FALSE(b.response);
  EXPECT_FALSE(b.nominate);
  EXPECT_EQ(b.transaction, c.transaction);
  EXPECT_EQ(b.sender, c.sender);
  EXPECT_EQ(b.tie_breaker, c.tie_breaker);
  EXPECT_EQ(b.tunnel_id, c.tunnel_id);
  EXPECT_EQ(b.sender_ephemeral, c.sender_ephemeral);
  EXPECT_EQ(b.receiver_ephemeral, c.receiver_ephemeral);
  EXPECT_EQ(b.signature, c.signature);
}

TEST(TunnelPacket, SealedHeaderByteLayout) {
  Bytes out;
  append_sealed_header(PacketType::kData, 0x0102030405060708ull, 42, out);
  EXPECT_EQ(out, hex("52 01 03 00  0102030405060708  000000000000002a"));
  out.clear();
  append_sealed_header(PacketType::kKeepalive, 1, 0xffffffffffffffffull, out);
  EXPECT_EQ(out, hex("52 01 04 00  0000000000000001  ffffffffffffffff"));
  out.clear();
  append_sealed_header(PacketType::kClose, 7, 3, out);
  EXPECT_EQ(out, hex("52 01 05 00  0000000000000007  0000000000000003"));
}

TEST(TunnelPacket, SealedParsesHeaderAndPointsIntoBuffer) {
  Bytes b = hex("52 01 03 00  0102030405060708  000000000000002a") ;
  for (int i = 0; i < 16 + 5; ++i) b.push_back(static_cast<std::uint8_t>(i));
  auto p = parse(b.data(), b.size());
  ASSERT_TRUE(p.has_value());
  const auto& s = std::get<SealedPacket>(*p);
  EXPECT_EQ(s.type, PacketType::kData);
  EXPECT_EQ(s.tunnel_id, 0x0102030405060708ull);
  EXPECT_EQ(s.counter, 42u);
  EXPECT_EQ(s.header, b.data());
  EXPECT_EQ(s.ciphertext, b.data() + kSealedHeaderSize);
  EXPECT_EQ(s.ciphertext_size, 21u);
}

TEST(TunnelPacket, DemultiplexesFromStunTurnAndControl) {
  const std::uint8_t stun[] = {0x00, 0x01}, turn[] = {0x40, 0x00}, control[] = {0x51, 0x01},
                     tunnel[] = {0x52, 0x01};
  EXPECT_FALSE(looks_like_tunnel(stun, 2));
  EXPECT_FALSE(looks_like_tunnel(turn, 2));
  EXPECT_FALSE(looks_like_tunnel(control, 2));
  EXPECT_TRUE(looks_like_tunnel(tunnel, 2));
  EXPECT_FALSE(looks_like_tunnel(tunnel, 0));
  EXPECT_EQ(kMagic, 0x52);
}

TEST(TunnelPacket, MalformedHeaders) {
  EXPECT_EQ(error_of({}), ParseError::kTooShort);
  EXPECT_EQ(error_of(hex("52")), ParseError::kTooShort);
  EXPECT_EQ(error_of(hex("52 01 03")), ParseError::kTooShort);
  EXPECT_EQ(error_of(hex("00")), ParseError::kBadMagic);
  EXPECT_EQ(error_of(hex("00 01 00 00")), ParseError::kBadMagic);     // STUN
  EXPECT_EQ(error_of(hex("40 00 00 04 01 02 03 04")), ParseError::kBadMagic);  // TURN channel
  EXPECT_EQ(error_of(hex("51 01 00 01")), ParseError::kBadMagic);     // qp2p control
  EXPECT_EQ(error_of(hex("52 02 03 00")), ParseError::kBadVersion);
  EXPECT_EQ(error_of(hex("52 00 03 00")), ParseError::kBadVersion);
  EXPECT_EQ(error_of(hex("52 01 00 00")), ParseError::kUnknownType);
  EXPECT_EQ(error_of(hex("52 01 06 00")), ParseError::kUnknownType);
  EXPECT_EQ(error_of(hex("52 01 ff 00")), ParseError::kUnknownType);
  EXPECT_EQ(error_of(Bytes(kMaxPacketSize + 1, 0x52)), ParseError::kTooLarge);
}

TEST(TunnelPacket, MalformedChecks) {
  Bytes good;
  append_check(sample_check(), good);
  ASSERT_TRUE(parse(good.data(), good.size()).has_value());

  Bytes b(good.begin(), good.end() - 1);
  EXPECT_EQ(error_of(b), ParseError::kTooShort);
  b = good;
  b.push_back(0);
  EXPECT_EQ(error_of(b), ParseError::kTooLarge);
  b = Bytes(good.begin(), good.begin() + 4);
  EXPECT_EQ(error_of(b), ParseError::kTooShort);

  b = good;
  b[3] = 0x02;  // reserved flag on a request
  EXPECT_EQ(error_of(b), ParseError::kBadFlags);
  b = good;
  b[3] = 0x80;
  EXPECT_EQ(error_of(b), ParseError::kBadFlags);
  b = good;
  b[2] = 0x02;  // a response...
  b[3] = 0x01;  // ...with nominate
  EXPECT_EQ(error_of(b), ParseError::kBadFlags);

  b = good;
  std::fill(b.begin() + 56, b.begin() + 64, 0);  // tunnel id
  EXPECT_EQ(error_of(b), ParseError::kZeroTunnelId);
  b = good;
  std::fill(b.begin() + 64, b.begin() + 96, 0);  // sender ephemeral
  EXPECT_EQ(error_of(b), ParseError::kZeroKey);

  // A request may not know the receiver's ephemeral key yet; a response must.
  b = good;
  std::fill(b.begin() + 96, b.begin() + 128, 0);
  EXPECT_TRUE(parse(b.data(), b.size()).has_value());
  b[2] = 0x02;
  EXPECT_EQ(error_of(b), ParseError::kZeroKey);
}

TEST(TunnelPacket, MalformedSealed) {
  auto sealed = [](std::string_view header, std::size_t body) {
    Bytes b = hex(header);
    b.resize(b.size() + body, 0xee);
    return b;
  };
  const char* data = "52 01 03 00 0000000000000009 0000000000000001";
  EXPECT_TRUE(parse(sealed(data, 16).data(), 36).has_value());  // empty data plaintext
  EXPECT_EQ(error_of(sealed(data, 15)), ParseError::kTooShort);
  EXPECT_EQ(error_of(sealed(data, 0)), ParseError::kTooShort);
  EXPECT_EQ(error_of(sealed(data, kMaxPacketSize - kSealedHeaderSize + 1)),
            ParseError::kTooLarge);
  EXPECT_TRUE(parse(sealed(data, kMaxPacketSize - kSealedHeaderSize).data(), kMaxPacketSize)
                  .has_value());

  EXPECT_EQ(error_of(sealed("52 01 03 01 0000000000000009 0000000000000001", 16)),
            ParseError::kBadFlags);
  EXPECT_EQ(error_of(sealed("52 01 03 00 0000000000000000 0000000000000001", 16)),
            ParseError::kZeroTunnelId);
  EXPECT_EQ(error_of(sealed("52 01 03 00 0000000000000009 0000000000000000", 16)),
            ParseError::kZeroCounter);

  const char* keepalive = "52 01 04 00 0000000000000009 0000000000000001";
  EXPECT_TRUE(parse(sealed(keepalive, 16).data(), 36).has_value());
  EXPECT_EQ(error_of(sealed(keepalive, 17)), ParseError::kTooLarge);

  const char* close = "52 01 05 00 0000000000000009 0000000000000001";
  EXPECT_TRUE(parse(sealed(close, 17).data(), 37).has_value());
  EXPECT_EQ(error_of(sealed(close, 16)), ParseError::kTooShort);
  EXPECT_EQ(error_of(sealed(close, 18)), ParseError::kTooLarge);
}

TEST(TunnelPacket, ErrorNamesAreDistinct) {
  for (int i = 0; i <= static_cast<int>(ParseError::kZeroKey); ++i)
    for (int j = 0; j < i; ++j)
      EXPECT_STRNE(to_string(static_cast<ParseError>(i)), to_string(static_cast<ParseError>(j)));
}

class CheckSignature : public ::testing::Test {
 protected:
  Identity alice = Identity::from_seed(Identity::Seed{1});
  Identity bob = Identity::from_seed(Identity::Seed{2});
  Identity mallory = Identity::from_seed(Identity::Seed{3});
  AttemptNonce nonce{9, 9, 9};
};

TEST_F(CheckSignature, VerifiesOnlyForTheAddresseeAndAttempt) {
  CheckPacket c = sample_check();
  sign_check(c, alice, bob.id(), nonce);
  EXPECT_EQ(c.sender, alice.id());
  EXPECT_TRUE(verify_check(c, bob.id(), nonce));
  EXPECT_FALSE(verify_check(c, mallory.id(), nonce));  // moved to another peer
  AttemptNonce other = nonce;
  other[31] ^= 1;
  EXPECT_FALSE(verify_check(c, bob.id(), other));  // moved to another attempt
}

TEST_F(CheckSignature, EverySignedByteMatters) {
  CheckPacket c = sample_check();
  sign_check(c, alice, bob.id(), nonce);
  Bytes wire;
  append_check(c, wire);
  // Flip each byte before the signature (magic and version excepted: those do not parse).
  for (std::size_t i = 2; i < 128; ++i) {
    Bytes b = wire;
    b[i] ^= 0x01;
    auto p = parse(b.data(), b.size());
    if (!p) continue;  // flags or type became invalid
    EXPECT_FALSE(verify_check(std::get<CheckPacket>(*p), bob.id(), nonce)) << "byte " << i;
  }
}

TEST_F(CheckSignature, ForgerCannotSignAsAnother) {
  CheckPacket c = sample_check();
  sign_check(c, mallory, bob.id(), nonce);
  c.sender = alice.id();  // claims to be alice
  EXPECT_FALSE(verify_check(c, bob.id(), nonce));
}

}  // namespace
}  // namespace qp2p::tunnel
