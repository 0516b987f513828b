// Known-answer tests for the STUN hashes: SHA-1 (RFC 3174 section 7.3), MD5 (RFC 1321 A.5),
// HMAC-SHA1 (RFC 2202), HMAC-SHA256 (RFC 4231) and the CRC-32 check value.
#include "stack/stun/legacy_hash.h"

#include <gtest/gtest.h>

#include <boost/crc.hpp>
#include <random>
#include <string>
#include <vector>

namespace qp2p::stun {
namespace {

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t b : digest) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

const std::uint8_t* bytes(const std::string& s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

std::string sha1_hex(const std::string& s) { return hex(sha1(bytes(s), s.size())); }
std::string md5_hex(const std::string& s) { return hex(md5(bytes(s), s.size())); }

// Runs a test body once with the CPU's SHA extensions (where present) and once without.
class LegacyHashSha1 : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { set_sha1_cpu_extensions(GetParam()); }
  void TearDown() override { set_sha1_cpu_extensions(true); }
};
INSTANTIATE_TEST_SUITE_P(Paths, LegacyHashSha1, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Cpu" : "Portable"; });

TEST_P(LegacyHashSha1, Rfc3174Vectors) {
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(sha1_hex(std::string(1000000, 'a')), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // TEST4: the 64-byte string repeated ten times, fed in ten updates.
  const std::string block = "0123456701234567012345670123456701234567012345670123456701234567";
  Sha1 h;
  for (int i = 0; i < 10; ++i) h.update(bytes(block), block.size());
  EXPECT_EQ(hex(h.finish()), "dea356a2cddd90c7a7ecedc5ebb563934f460452");
  EXPECT_EQ(sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(LegacyHashMd5, Rfc1321Vectors) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5_hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5_hex("1234567890123456789012345678901234567890123456789012345678901234567890"
                    "1234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_P(LegacyHashSha1, BothPathsAgreeOnRandomInputs) {
  std::mt19937 rng(7);
  for (int n = 0; n < 300; ++n) {
    std::string data(rng() % 300, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    set_sha1_cpu_extensions(false);
    Sha1Digest portable = sha1(bytes(data), data.size());
    set_sha1_cpu_extensions(GetParam());
    EXPECT_EQ(sha1(bytes(data), data.size()), portable) << data.size();
  }
}

TEST(LegacyHash, IncrementalUpdatesMatchOneShotAtEveryBoundary) {
  // Lengths around the 55/56/64-byte padding edges, fed in uneven pieces.
  std::string data;
  for (int i = 0; i < 200; ++i) data += static_cast<char>(i * 7 + 3);
  for (std::size_t len : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 200u}) {
    for (std::size_t piece : {1u, 3u, 17u, 64u}) {
      Sha1 s;
      Md5 m;
      for (std::size_t at = 0; at < len; at += piece) {
        std::size_t n = std::min(piece, len - at);
        s.update(bytes(data) + at, n);
        m.update(bytes(data) + at, n);
      }
      EXPECT_EQ(s.finish(), sha1(bytes(data), len)) << len << "/" << piece;
      EXPECT_EQ(m.finish(), md5(bytes(data), len)) << len << "/" << piece;
    }
  }
}

TEST(LegacyHashHmacSha1, Rfc2202Vectors) {
  std::string key1(20, '\x0b'), data1 = "Hi There";
  EXPECT_EQ(hex(hmac_sha1(bytes(key1), key1.size(), {{bytes(data1), data1.size()}})),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  std::string key2 = "Jefe", data2 = "what do ya want for nothing?";
  EXPECT_EQ(hex(hmac_sha1(bytes(key2), key2.size(), {{bytes(data2), data2.size()}})),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  std::string key3(20, '\xaa'), data3(50, '\xdd');
  EXPECT_EQ(hex(hmac_sha1(bytes(key3), key3.size(), {{bytes(data3), data3.size()}})),
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
  // Keys longer than a block are hashed first.
  std::string key6(80, '\xaa'), data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  EXPECT_EQ(hex(hmac_sha1(bytes(key6), key6.size(), {{bytes(data6), data6.size()}})),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
  std::string data7 = "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
  // Split into pieces: the result must not depend on how the message is cut.
  EXPECT_EQ(hex(hmac_sha1(bytes(key6), key6.size(),
                          {{bytes(data7), 10}, {bytes(data7) + 10, data7.size() - 10}})),
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91");
}

TEST(LegacyHashHmacSha256, Rfc4231Vectors) {
  std::string key1(20, '\x0b'), data1 = "Hi There";
  EXPECT_EQ(hex(hmac_sha256(bytes(key1), key1.size(), {{bytes(data1), data1.size()}})),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  std::string key2 = "Jefe", data2 = "what do ya want for nothing?";
  EXPECT_EQ(hex(hmac_sha256(bytes(key2), key2.size(), {{bytes(data2), 4}, {bytes(data2) + 4, 24}})),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::string key6(131, '\xaa'), data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  EXPECT_EQ(hex(hmac_sha256(bytes(key6), key6.size(), {{bytes(data6), data6.size()}})),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(LegacyHashCrc32, CheckValue) {
  std::string check = "123456789";
  EXPECT_EQ(crc32(bytes(check), check.size()), 0xCBF43926u);
  EXPECT_EQ(crc32(nullptr, 0), 0u);
}

TEST(LegacyHashCrc32, MatchesBoostCrc32OnEveryLengthAndAlignment) {
  std::mt19937 rng(11);
  std::vector<std::uint8_t> data(600);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t len = 0; len + offset <= data.size(); len += 1 + len / 16) {
      boost::crc_32_type reference;
      reference.process_bytes(data.data() + offset, len);
      EXPECT_EQ(crc32(data.data() + offset, len), reference.checksum()) << offset << "+" << len;
    }
  }
}

TEST(LegacyHash, ConstantTimeEquality) {
  std::uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4}, c[4] = {1, 2, 3, 5};
  EXPECT_TRUE(equal_constant_time(a, b, 4));
  EXPECT_FALSE(equal_constant_time(a, c, 4));
  EXPECT_TRUE(equal_constant_time(a, c, 3));
}

}  // namespace
}  // namespace qp2p::stun
