// Tunnel key schedule, AEAD sealing (nonce layout pinned against libsodium directly) and the
// replay window.
#include "stack/tunnel/tunnel_keys.h"

#include <gtest/gtest.h>
#include <sodium.h>

namespace qp2p::tunnel {
namespace {

class TunnelKeysTest : public ::testing::Test {
 protected:
  Random random = Random::from_u64(42);
  Identity alice = Identity::from_seed(Identity::Seed{1});
  Identity bob = Identity::from_seed(Identity::Seed{2});
  Identity carol = Identity::from_seed(Identity::Seed{3});
  wire::EphemeralKeyPair ea = wire::EphemeralKeyPair::generate(random);
  wire::EphemeralKeyPair eb = wire::EphemeralKeyPair::generate(random);
  AttemptNonce nonce{1, 2, 3};

  TunnelKeys keys_a() {
    return derive_tunnel_keys(ea, eb.public_key, alice.id(), bob.id(), nonce).value();
  }
  TunnelKeys keys_b() {
    return derive_tunnel_keys(eb, ea.public_key, bob.id(), alice.id(), nonce).value();
  }
};

TEST_F(TunnelKeysTest, BothSidesDeriveMatchingDirectionalKeys) {
  const TunnelKeys a = keys_a(), b = keys_b();
  EXPECT_EQ(a.send, b.receive);
  EXPECT_EQ(a.receive, b.send);
  EXPECT_NE(a.send, a.receive);
  EXPECT_NE(a.send_direction, b.send_direction);
  const bool alice_low = alice.id() < bob.id();
  EXPECT_EQ(a.send_direction, alice_low ? KeyDirection::kLowToHigh : KeyDirection::kHighToLow);
}

TEST_F(TunnelKeysTest, KeysAreBoundToIdentitiesAndAttempt) {
  const TunnelKeys a = keys_a();
  AttemptNonce other = nonce;
  other[0] ^= 0x80;
  EXPECT_NE(derive_tunnel_keys(ea, eb.public_key, alice.id(), bob.id(), other)->send, a.send);
  // Same ephemeral keys, but the peer is said to be carol: different keys.
  const auto c = derive_tunnel_keys(ea, eb.public_key, alice.id(), carol.id(), nonce);
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->send, a.send);
  EXPECT_NE(c->receive, a.receive);
}

TEST_F(TunnelKeysTest, RejectsLowOrderPointsAndSelf) {
  EXPECT_FALSE(derive_tunnel_keys(ea, X25519Key{}, alice.id(), bob.id(), nonce).has_value());
  X25519Key one{};
  one[0] = 1;  // the point of order 1... also low order
  EXPECT_FALSE(derive_tunnel_keys(ea, one, alice.id(), bob.id(), nonce).has_value());
  EXPECT_FALSE(derive_tunnel_keys(ea, eb.public_key, alice.id(), alice.id(), nonce).has_value());
}

TEST_F(TunnelKeysTest, SealMatchesTheDocumentedNonceLayout) {
  const TunnelKeys a = keys_a();
  const Bytes plain = {'h', 'i'};
  const Bytes sealed = seal(a, PacketType::kData, 0x1234, 0x0102030405060708ull, plain.data(),
                            plain.size());
  ASSERT_EQ(sealed.size(), kSealedHeaderSize + plain.size() + kAeadTagSize);
  // Independently: nonce = direction (32-bit BE) || counter (64-bit BE), AD = the header.
  std::uint8_t n[12] = {0, 0, 0, static_cast<std::uint8_t>(a.send_direction), 1, 2, 3, 4, 5, 6, 7,
                        8};
  std::uint8_t expected[2 + 16];
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(expected, &len, plain.data(), plain.size(),
                                            sealed.data(), kSealedHeaderSize, nullptr, n,
                                            a.send.data());
  EXPECT_EQ(Bytes(sealed.begin() + kSealedHeaderSize, sealed.end()),
            Bytes(expected, expected + len));
}

TEST_F(TunnelKeysTest, OpenAcceptsThePeersPacketsOnly) {
  const TunnelKeys a = keys_a(), b = keys_b();
  const Bytes plain = {1, 2, 3, 4, 5};
  const Bytes sealed = seal(a, PacketType::kData, 77, 5, plain.data(), plain.size());
  auto p = parse(sealed.data(), sealed.size());
  ASSERT_TRUE(p.has_value());
  const auto s = std::get<SealedPacket>(*p);
  EXPECT_EQ(open(b, s), plain);
  EXPECT_FALSE(open(a, s).has_value());  // reflected back to its sender
  EXPECT_FALSE(open(keys_a(), s).has_value());

  // Any altered byte, header included, fails the tag.
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes t = sealed;
    t[i] ^= 0x20;
    auto q = parse(t.data(), t.size());
    if (!q) continue;
    EXPECT_FALSE(open(b, std::get<SealedPacket>(*q)).has_value()) << "byte " << i;
  }
}

TEST(ReplayWindow, InOrderOutOfOrderDuplicatesAndAge) {
  ReplayWindow w;
  EXPECT_FALSE(w.check(0));
  for (std::uint64_t c : {1, 2, 3}) {
    ASSERT_TRUE(w.check(c));
    w.accept(c);
  }
  EXPECT_FALSE(w.check(2));
  EXPECT_TRUE(w.check(10));
  w.accept(10);
  EXPECT_TRUE(w.check(5));  // late but inside the window
  w.accept(5);
  EXPECT_FALSE(w.check(5));
  EXPECT_EQ(w.highest(), 10u);

  w.accept(2000);
  EXPECT_TRUE(w.check(2000 - ReplayWindow::kReplayWindow + 1));
  EXPECT_FALSE(w.check(2000 - ReplayWindow::kReplayWindow));
  EXPECT_FALSE(w.check(10));
  EXPECT_FALSE(w.check(2000));
}

TEST(ReplayWindow, BlocksAreClearedWhenTheWindowMoves) {
  ReplayWindow w;
  // Accept every counter up to 3000, then check that fresh counters far ahead are all accepted
  // once (no stale bits survive the ring wrapping around) and never twice.
  for (std::uint64_t c = 1; c <= 3000; ++c) {
    ASSERT_TRUE(w.check(c)) << c;
    w.accept(c);
  }
  for (std::uint64_t c = 3000 - ReplayWindow::kReplayWindow + 1; c <= 3000; ++c)
    ASSERT_FALSE(w.check(c)) << c;
  for (std::uint64_t c = 3001; c <= 3000 + 2 * ReplayWindow::kReplayWindow; c += 3) {
    ASSERT_TRUE(w.check(c)) << c;
    w.accept(c);
    ASSERT_FALSE(w.check(c)) << c;
  }
  // Counters skipped above, still inside the window, are accepted exactly once.
  const std::uint64_t h = w.highest();
  ASSERT_TRUE(w.check(h - 1));
  w.accept(h - 1);
  EXPECT_FALSE(w.check(h - 1));
  // A jump larger than the ring clears everything.
  w.accept(h + 100'000);
  EXPECT_TRUE(w.check(h + 100'000 - 1));
  EXPECT_FALSE(w.check(h));
}

TEST(ReplayWindow, AtLeastSixtyFourCounters) { EXPECT_GE(ReplayWindow::kReplayWindow, 64u); }

}  // namespace
}  // namespace qp2p::tunnel
