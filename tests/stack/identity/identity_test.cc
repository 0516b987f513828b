// Identity tests: the base32 peer id text form (RFC 4648 section 6, lowercase, unpadded) and
// its strict parser, Ed25519 signing against the RFC 8032 section 7.1 test vector, the key file
// format and its errors, and deterministic generation from a seeded Random.
#include "stack/identity/identity.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace qp2p {
namespace {

std::array<std::uint8_t, 32> hex32(std::string_view text) {
  std::array<std::uint8_t, 32> out{};
  for (std::size_t i = 0; i < 32; ++i)
    out[i] = static_cast<std::uint8_t>(std::stoi(std::string(text.substr(2 * i, 2)), nullptr, 16));
  return out;
}

const std::uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

// RFC 8032 section 7.1, TEST 1.
constexpr std::string_view kRfc8032Seed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfc8032Public =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfc8032EmptySignature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
// base64.b32encode(public key).lower() without '=' padding (computed with Python).
constexpr std::string_view kRfc8032PeerId = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkena";

Identity rfc8032_identity() { return Identity::from_seed(hex32(kRfc8032Seed)); }

TEST(PeerIdText, MatchesRfc4648Base32OfTheKnownKey) {
  const Identity id = rfc8032_identity();
  EXPECT_EQ(id.id().key, hex32(kRfc8032Public));
  EXPECT_EQ(id.id().to_string(), kRfc8032PeerId);
  EXPECT_EQ(id.id().to_string().size(), 52u);
}

TEST(PeerIdText, RoundTripsManyRandomKeys) {
  Random random = Random::from_u64(7);
  for (int i = 0; i < 200; ++i) {
    PeerId id;
    random.fill(id.key.data(), id.key.size());
    const std::string text = id.to_string();
    ASSERT_EQ(text.size(), 52u);
    for (char c : text) ASSERT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << text;
    auto back = PeerId::parse(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, id);
  }
}

TEST(PeerIdText, RoundTripsExtremeKeys) {
  PeerId zeros, ones;
  ones.key.fill(0xff);
  EXPECT_EQ(zeros.to_string(), std::string(52, 'a'));
  EXPECT_EQ(PeerId::parse(zeros.to_string()), zeros);
  EXPECT_EQ(PeerId::parse(ones.to_string()), ones);
  // 0xff...ff: 51 characters of 31 ('7'), then the last 1 bit padded with four zero bits.
  EXPECT_EQ(ones.to_string(), std::string(51, '7') + "q");
}

TEST(PeerIdParse, RejectsWrongLength) {
  const std::string good(kRfc8032PeerId);
  EXPECT_FALSE(PeerId::parse(""));
  EXPECT_FALSE(PeerId::parse(good.substr(0, 51)));
  EXPECT_FALSE(PeerId::parse(good + "a"));
  EXPECT_FALSE(PeerId::parse(good + "===="));  // RFC 4648 padding is not part of the form
}

TEST(PeerIdParse, RejectsCharactersOutsideTheAlphabet) {
  const std::string good(kRfc8032PeerId);
  for (char bad : {'0', '1', '8', '9', '=', ' ', '-', '_', '\0', '\xff'}) {
    std::string text = good;
    text[10] = bad;
    EXPECT_FALSE(PeerId::parse(text)) << "character code " << int(static_cast<unsigned char>(bad));
  }
}

TEST(PeerIdParse, RejectsNonCanonicalTrailingBits) {
  // 52 characters carry 260 bits; the last character holds 1 key bit and 4 bits that must be 0.
  // 'a' (0) is canonical for a key whose last bit is 0; 'b'..'p' (1..15) set padding bits.
  std::string text(52, 'a');
  ASSERT_TRUE(PeerId::parse(text));
  for (char last : std::string("bcdefghijklmnop")) {
    text.back() = last;
    EXPECT_FALSE(PeerId::parse(text)) << last;
  }
  text.back() = 'q';  // 16: the key bit set, padding zero
  auto id = PeerId::parse(text);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->key[31], 0x01);
}

TEST(PeerIdParse, AcceptsUppercaseAsTheSameId) {
  // The parser folds case (RFC 4648 base32 is case-insensitive); output is always lowercase.
  std::string upper(kRfc8032PeerId);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto id = PeerId::parse(upper);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->to_string(), kRfc8032PeerId);
}

TEST(Signatures, MatchTheRfc8032Vector) {
  const Identity id = rfc8032_identity();
  const Signature sig = id.sign(nullptr, 0);
  std::array<std::uint8_t, 64> expected{};
  const auto lo = hex32(kRfc8032EmptySignature.substr(0, 64));
  const auto hi = hex32(kRfc8032EmptySignature.substr(64));
  std::copy(lo.begin(), lo.end(), expected.begin());
  std::copy(hi.begin(), hi.end(), expected.begin() + 32);
  EXPECT_EQ(sig, expected);
  EXPECT_TRUE(verify_signature(id.id(), nullptr, 0, sig));
}

TEST(Signatures, VerifyOnlyTheSignedMessageUnderTheSignersKey) {
  Random random = Random::from_u64(3);
  const Identity alice = Identity::generate(random);
  const Identity bob = Identity::generate(random);
  const std::string message = "qp2p signed message";
  const Signature sig = alice.sign(bytes(message), message.size());

  EXPECT_TRUE(verify_signature(alice.id(), bytes(message), message.size(), sig));
  EXPECT_FALSE(verify_signature(bob.id(), bytes(message), message.size(), sig));
  const std::string altered = "qp2p signed messagE";
  EXPECT_FALSE(verify_signature(alice.id(), bytes(altered), altered.size(), sig));
  EXPECT_FALSE(verify_signature(alice.id(), bytes(message), message.size() - 1, sig));
  for (std::size_t bit : {0u, 100u, 511u}) {
    Signature bad = sig;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(verify_signature(alice.id(), bytes(message), message.size(), bad)) << bit;
  }
}

TEST(IdentityGenerate, IsDeterministicForASeedAndDistinctAcrossSeeds) {
  Random r1 = Random::from_u64(42), r2 = Random::from_u64(42), r3 = Random::from_u64(43);
  const Identity a = Identity::generate(r1);
  const Identity b = Identity::generate(r2);
  const Identity c = Identity::generate(r3);
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(a.seed(), b.seed());
  EXPECT_NE(a.id(), c.id());
  // Successive identities from one generator differ too.
  const Identity a2 = Identity::generate(r1);
  EXPECT_NE(a.id(), a2.id());
  EXPECT_EQ(Identity::from_seed(a.seed()).id(), a.id());
}

TEST(KeyFile, EncodesTheSeedAsOneHexLine) {
  const Identity id = rfc8032_identity();
  EXPECT_EQ(encode_key_file(id), "qp2p-ed25519-seed " + std::string(kRfc8032Seed) + "\n");
}

TEST(KeyFile, RoundTripsAndToleratesTrailingWhitespaceAndUppercaseHex) {
  Random random = Random::from_u64(11);
  const Identity id = Identity::generate(random);
  std::string error;
  auto back = decode_key_file(encode_key_file(id), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->id(), id.id());
  EXPECT_EQ(back->seed(), id.seed());

  std::string text = encode_key_file(id);
  text.pop_back();
  for (std::size_t i = 18; i < text.size(); ++i)
    text[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
  back = decode_key_file(text + " \r\n\n", &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->id(), id.id());
}

TEST(KeyFile, ReportsEachKindOfError) {
  const std::string seed(kRfc8032Seed);
  struct Case {
    std::string text;
    std::string error_mentions;
  };
  const Case cases[] = {
      {"", "expected 'qp2p-ed25519-seed"},
      {"qp2p-ed25519-key " + seed, "expected 'qp2p-ed25519-seed"},
      {" qp2p-ed25519-seed " + seed, "expected 'qp2p-ed25519-seed"},
      {"qp2p-ed25519-seed " + seed.substr(0, 62), "exactly 64 hex digits"},
      {"qp2p-ed25519-seed " + seed + "00", "exactly 64 hex digits"},
      {"qp2p-ed25519-seed " + seed + "\nsecond line", "exactly 64 hex digits"},
      {"qp2p-ed25519-seed " + seed.substr(0, 63) + "g", "not hex"},
      {"qp2p-ed25519-seed " + std::string("z") + seed.substr(1), "not hex"},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_FALSE(decode_key_file(c.text, &error)) << c.text;
    EXPECT_NE(error.find(c.error_mentions), std::string::npos) << c.text << " -> " << error;
  }
  // A null error pointer is allowed.
  EXPECT_FALSE(decode_key_file("garbage", nullptr));
}

TEST(PeerIdHashing, EqualIdsHashEqualAndIdsWorkAsSetKeys) {
  Random random = Random::from_u64(5);
  std::set<PeerId> ids;
  for (int i = 0; i < 50; ++i) ids.insert(Identity::generate(random).id());
  EXPECT_EQ(ids.size(), 50u);
  const PeerId a = *ids.begin();
  PeerId copy = a;
  EXPECT_EQ(PeerIdHash{}(a), PeerIdHash{}(copy));
}

}  // namespace
}  // namespace qp2p
