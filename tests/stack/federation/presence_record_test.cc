// Presence records: encoding round trip, what the signatures cover, and the decoder's bounds.
#include <gtest/gtest.h>

#include "directory_lab.h"

namespace qp2p::federation {
namespace {

using namespace lab;

Bytes encoded(const PresenceRecord& p) {
  Bytes b;
  ByteWriter w(b);
  append(w, p);
  return b;
}

TEST(PresenceRecord, RoundTripsAndVerifies) {
  const PresenceRecord p = online(peer(1), supernode(0), kT0, 3, 17);
  EXPECT_TRUE(p.verify());
  const Bytes b = encoded(p);
  // 32+32+8+8+1+8 + 7 (IPv4 mapped) + 1+7+19 (hosts) + 11 (nat) + 128 (proof) + 64.
  EXPECT_EQ(b.size(), 326u);
  ByteReader r(b.data(), b.size());
  const PresenceRecord q = read_presence(r);
  ASSERT_TRUE(r.at_end());
  EXPECT_EQ(encoded(q), b);
  EXPECT_EQ(q.peer, p.peer);
  EXPECT_EQ(q.supernode, supernode(0).id());
  EXPECT_EQ(q.hlc, p.hlc);
  EXPECT_EQ(q.meta_floor, 17u);
  EXPECT_EQ(q.hosts, p.hosts);
  EXPECT_EQ(q.nat, p.nat);
  EXPECT_TRUE(q.verify());

  const PresenceRecord t = offline(peer(1), supernode(0), kT0, 5);
  EXPECT_TRUE(t.verify());
  EXPECT_EQ(encoded(t).size(), 326u - 128u - 26u);  // no proof, no hosts
}

TEST(PresenceRecord, SignatureCoversEveryField) {
  const PresenceRecord p = online(peer(1), supernode(0), kT0);
  auto tampered = [&](auto change) {
    PresenceRecord q = p;
    change(q);
    return q.verify();
  };
  EXPECT_FALSE(tampered([](PresenceRecord& q) { q.hlc += 1; }));
  EXPECT_FALSE(tampered([](PresenceRecord& q) { q.expires_ms += 1; }));
  EXPECT_FALSE(tampered([](PresenceRecord& q) { q.meta_floor = 99; }));
  EXPECT_FALSE(tampered([](PresenceRecord& q) { q.mapped.port = 1; }));
  EXPECT_FALSE(tampered([](PresenceRecord& q) { q.hosts.pop_back(); }));
  EXPECT_FALSE(tampered([](PresenceRecord& q) { q.nat.hairpin = true; }));
  EXPECT_FALSE(tampered([](PresenceRecord& q) { q.supernode = supernode(1).id(); }));
}

TEST(PresenceRecord, LoginProofBindsPeerToTheWritingSupernode) {
  // Supernode 1 re-signs a presence carrying the peer's proof for supernode 0: refused, so a
  // member cannot claim a peer that logged in elsewhere.
  PresenceRecord p = online(peer(1), supernode(0), kT0);
  p.sign(supernode(1));
  EXPECT_FALSE(p.verify());
  // A proof signed by someone other than the peer.
  PresenceRecord q = online(peer(1), supernode(0), kT0);
  Bytes t = wire::login_transcript(q.peer, q.supernode, q.proof.nonce, q.proof.ephemeral);
  q.proof.signature = peer(2).sign(t.data(), t.size());
  q.sign(supernode(0));
  EXPECT_FALSE(q.verify());
}

TEST(PresenceRecord, DecoderRejectsBadFieldsAndEveryTruncation) {
  const Bytes good = encoded(online(peer(1), supernode(0), kT0));
  for (std::size_t n = 0; n < good.size(); ++n) {
    ByteReader r(good.data(), n);
    read_presence(r);
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
  }
  auto rejects = [&](std::size_t offset, std::uint8_t value) {
    Bytes b = good;
    b[offset] = value;
    ByteReader r(b.data(), b.size());
    read_presence(r);
    return !r.ok();
  };
  EXPECT_TRUE(rejects(80, 0));    // state 0
  EXPECT_TRUE(rejects(80, 4));    // state 4
  EXPECT_TRUE(rejects(96, 9));    // 9 hosts
  EXPECT_TRUE(rejects(123, 4));   // mapping 4
  EXPECT_TRUE(rejects(132, 2));   // hairpin 2
  EXPECT_TRUE(rejects(133, 9));   // 9 NAT levels
  EXPECT_FALSE(rejects(133, 2));  // 2 levels: fine (the signature is checked elsewhere)
}

TEST(HybridClock, IssuesAboveWallTimeAndEverythingSeen) {
  HybridClock c;
  const std::uint64_t a = c.issue(kT0);
  EXPECT_EQ(a, kT0 << kHlcCounterBits);
  EXPECT_EQ(c.issue(kT0), a + 1);             // same millisecond: the counter moves
  EXPECT_EQ(c.issue(kT0 - 5), a + 2);         // the wall clock stepped back: still increasing
  EXPECT_EQ(c.issue(kT0, a + 100), a + 101);  // above a value written by another supernode
  c.observe((kT0 + 7) << kHlcCounterBits);
  EXPECT_EQ(hlc_wall_ms(c.issue(kT0)), kT0 + 7);
}

}  // namespace
}  // namespace qp2p::federation
