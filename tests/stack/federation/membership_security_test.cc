// Only holders of the network secret take part: a supernode configured with another secret
// can neither join (nobody lists it, it lists nobody), nor read (its key opens nothing), nor
// inject (forged or altered datagrams are dropped and counted); a captured datagram replayed by
// anyone is dropped; and random bytes or random plaintexts sealed with the right key never
// crash a member and are counted by reason.
#include <gtest/gtest.h>

#include "stack/federation/federation_seal.h"
#include "tests/stack/federation/membership_bed.h"

namespace qp2p::federation::test {
namespace {

TEST(MembershipSecurity, WrongSecretCannotJoinReadOrInject) {
  MembershipBed bed(3, 41);
  const std::size_t intruder = bed.add("a different network's secret, long enough");
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(30)));
  EXPECT_TRUE(bed.converged({0, 1, 2}));
  EXPECT_EQ(bed.view(intruder), bed.ids_of({intruder}));
  for (std::size_t i = 0; i < 3; ++i) {
    // The intruder knocks at the seeds (0 and 1): counted as another network's datagrams.
    if (i < 2) {
      EXPECT_GT(bed.node(i).counters().dropped_wrong_network, 0u) << "member " << i;
    }
    EXPECT_EQ(bed.node(i).table().find(bed.id(intruder)), nullptr);
  }
  EXPECT_EQ(bed.node(intruder).counters().payloads_in, 0u);
  EXPECT_EQ(bed.node(intruder).counters().acks_received, 0u);

  // A forged datagram whose key id is right but the key wrong fails authentication.
  std::string error;
  auto member_key = NetworkKey::from_secret(kSecret, &error);
  auto wrong_key = NetworkKey::from_secret("a different network's secret, long enough", &error);
  ASSERT_TRUE(member_key && wrong_key);
  Message forged;
  forged.from = bed.id(intruder);
  forged.counter = static_cast<std::uint64_t>(kWallOffsetUs + to_us(bed.net().now()));
  forged.from_endpoint = node_endpoint(intruder);
  forged.body = Ping{1};
  Bytes plain;
  encode(forged, plain);
  const Bytes to_sign = signed_message(plain.data(), plain.size());
  const Signature sig = bed.identity(intruder).sign(to_sign.data(), to_sign.size());
  plain.insert(plain.end(), sig.begin(), sig.end());
  Random r = Random::from_u64(99);
  Bytes datagram;
  seal(*wrong_key, r, plain, datagram);
  const std::uint32_t id = member_key->key_id();
  datagram[4] = static_cast<std::uint8_t>(id >> 24);
  datagram[5] = static_cast<std::uint8_t>(id >> 16);
  datagram[6] = static_cast<std::uint8_t>(id >> 8);
  datagram[7] = static_cast<std::uint8_t>(id);
  const auto before = bed.node(0).counters().dropped_unauthenticated;
  bed.node(0).handle_datagram(bed.net().now(), node_endpoint(0), node_endpoint(intruder),
                              datagram.data(), datagram.size());
  EXPECT_EQ(bed.node(0).counters().dropped_unauthenticated, before + 1);
  EXPECT_EQ(bed.node(0).table().find(bed.id(intruder)), nullptr);
  // A bit flipped in a genuine datagram: dropped too.
  Bytes genuine;
  seal(*member_key, r, plain, genuine);
  genuine[40] ^= 0x01;
  bed.node(0).handle_datagram(bed.net().now(), node_endpoint(0), node_endpoint(intruder),
                              genuine.data(), genuine.size());
  EXPECT_EQ(bed.node(0).counters().dropped_unauthenticated, before + 2);
  // Reading: the intruder's key opens no member datagram, even with the key id patched in.
  Bytes member_datagram;
  seal(*member_key, r, plain, member_datagram);
  OpenError open_error = OpenError::kNone;
  EXPECT_FALSE(open(*wrong_key, member_datagram.data(), member_datagram.size(), &open_error));
  EXPECT_EQ(open_error, OpenError::kWrongNetwork);
  const std::uint32_t wrong_id = wrong_key->key_id();
  member_datagram[4] = static_cast<std::uint8_t>(wrong_id >> 24);
  member_datagram[5] = static_cast<std::uint8_t>(wrong_id >> 16);
  member_datagram[6] = static_cast<std::uint8_t>(wrong_id >> 8);
  member_datagram[7] = static_cast<std::uint8_t>(wrong_id);
  EXPECT_FALSE(open(*wrong_key, member_datagram.data(), member_datagram.size(), &open_error));
  EXPECT_EQ(open_error, OpenError::kBadTag);
}

TEST(MembershipSecurity, ReplayedDatagramsAreDropped) {
  MembershipBed bed(3, 43);
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(20)));
  // Send a payload and capture its datagram from node 1's transmit queue by hand.
  const Instant now = bed.net().now();
  ASSERT_TRUE(bed.node(1).send_payload(now, bed.id(0), Bytes{7, 7}));
  std::optional<Datagram> d;
  while (auto t = bed.node(1).poll_transmit())
    if (t->remote == node_endpoint(0)) d = t;
  ASSERT_TRUE(d);
  bed.node(0).handle_datagram(now, d->remote, d->local, d->payload.data(), d->payload.size());
  bed.node(0).handle_datagram(now, d->remote, d->local, d->payload.data(), d->payload.size());
  EXPECT_EQ(bed.node(0).counters().payloads_in, 1u);
  EXPECT_EQ(bed.node(0).counters().dropped_replayed, 1u);
  // Replayed to another member (the datagram names its addressee): dropped, not delivered.
  bed.node(2).handle_datagram(now, node_endpoint(2), d->local, d->payload.data(),
                              d->payload.size());
  EXPECT_EQ(bed.node(2).counters().dropped_misdirected, 1u);
  EXPECT_EQ(bed.node(2).counters().payloads_in, 0u);
  // Replayed two minutes later (past the clock-skew bound): dropped whatever the window holds.
  const Instant later = now + std::chrono::minutes(2);
  bed.node(0).handle_datagram(later, d->remote, d->local, d->payload.data(), d->payload.size());
  EXPECT_EQ(bed.node(0).counters().dropped_clock_skew, 1u);
  EXPECT_EQ(bed.node(0).counters().payloads_in, 1u);
}

TEST(MembershipSecurity, MemberCannotSpeakAsAnother) {
  MembershipBed bed(3, 47);
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(20)));
  std::string error;
  auto key = NetworkKey::from_secret(kSecret, &error);
  ASSERT_TRUE(key);
  // Member 2 (holding the secret) forges "member 1 says member 0 is dead", signed by itself.
  const Instant now = bed.net().now();
  Message m;
  m.to = bed.id(0);
  m.from = bed.id(1);
  m.counter = static_cast<std::uint64_t>(kWallOffsetUs + to_us(now));
  m.from_incarnation = 0;
  m.from_endpoint = node_endpoint(1);
  m.body = Payload{Bytes{6, 6, 6}};
  Bytes plain;
  encode(m, plain);
  const Bytes to_sign = signed_message(plain.data(), plain.size());
  const Signature sig = bed.identity(2).sign(to_sign.data(), to_sign.size());
  plain.insert(plain.end(), sig.begin(), sig.end());
  Random r = Random::from_u64(5);
  Bytes datagram;
  seal(*key, r, plain, datagram);
  bed.node(0).handle_datagram(now, node_endpoint(0), node_endpoint(2), datagram.data(),
                              datagram.size());
  EXPECT_EQ(bed.node(0).counters().dropped_bad_signature, 1u);
  EXPECT_EQ(bed.node(0).counters().payloads_in, 0u);
  // Signed by the right key, it is accepted: the check is the signature, not the address.
  plain.resize(plain.size() - kSignatureSize);
  const Signature good = bed.identity(1).sign(to_sign.data(), to_sign.size());
  plain.insert(plain.end(), good.begin(), good.end());
  datagram.clear();
  seal(*key, r, plain, datagram);
  bed.node(0).handle_datagram(now, node_endpoint(0), node_endpoint(2), datagram.data(),
                              datagram.size());
  EXPECT_EQ(bed.node(0).counters().payloads_in, 1u);
}

// The inbound bucket (§14.4): one second deep, the base rate plus a share per known member,
// checked before any decryption; a flood beyond it is counted, and the member keeps working.
TEST(MembershipSecurity, InboundFloodIsCutAtTheRateSizedByMembers) {
  MembershipConfig base;
  base.max_inbound_per_second = 200;
  base.inbound_per_member_per_second = 50;
  MembershipBed bed(5, 43, base);
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(20)));
  ASSERT_TRUE(bed.converged(bed.all()));
  // 200 + 50 x 4 others: 400 a second. A flood of 3000 in one second from a stranger, after a
  // quiet second that filled the bucket (the members' own traffic uses a little of it).
  Membership& target = bed.node(0);
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(1)));
  const std::uint64_t limited_before = target.counters().dropped_rate_limited;
  const std::uint64_t unauth_before = target.counters().dropped_unauthenticated +
                                      target.counters().dropped_wrong_network;
  Instant now = bed.net().now();
  Bytes junk(200, 0);
  junk[0] = kMagic;
  junk[1] = 1;
  for (int i = 0; i < 3000; ++i) {
    now += std::chrono::microseconds(333);
    target.handle_datagram(now, node_endpoint(0), node_endpoint(9), junk.data(), junk.size());
  }
  const std::uint64_t limited = target.counters().dropped_rate_limited - limited_before;
  const std::uint64_t opened = target.counters().dropped_unauthenticated +
                               target.counters().dropped_wrong_network - unauth_before;
  EXPECT_EQ(limited + opened, 3000u);
  // Admitted: at most a full bucket (400) plus one second's refill (400).
  EXPECT_LE(opened, 800u);
  EXPECT_GE(opened, 700u);
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(10)));
  EXPECT_TRUE(bed.converged(bed.all()));
}

TEST(MembershipSecurity, FuzzedInputNeverCrashesAndIsCounted) {
  MembershipBed bed(3, 45);
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); },
                                  std::chrono::seconds(20)));
  std::string error;
  auto key = NetworkKey::from_secret(kSecret, &error);
  ASSERT_TRUE(key);
  Random r = Random::from_u64(4242);
  Membership& target = bed.node(0);
  Instant now = bed.net().now();
  const std::uint64_t in_before = target.counters().datagrams_in;
  std::uint64_t sealed_garbage = 0;
  constexpr int kRounds = 20000;
  for (int round = 0; round < kRounds; ++round) {
    now += std::chrono::milliseconds(1);  // stay under the inbound rate limit
    Bytes bytes(r.uniform(kMaxDatagram + 64));
    r.fill(bytes.data(), bytes.size());
    if (round % 2 == 0) {
      if (!bytes.empty()) bytes[0] = kMagic;  // reach the envelope checks
    } else {
      // Random plaintext, correctly sealed: exercises the decoder behind authentication.
      Bytes plain(r.uniform(kMaxPlaintext + 1));  // message and "signature" both random
      r.fill(plain.data(), plain.size());
      if (plain.size() > 100 && round % 4 == 1) {
        // Often a valid prefix (to, from...) so deeper fields get random values.
        std::fill(plain.begin(), plain.begin() + 32, 0);
        plain[76] = 4;  // endpoint family of from_endpoint
        plain[83] = static_cast<std::uint8_t>(1 + r.uniform(5));
      }
      bytes.clear();
      seal(*key, r, plain, bytes);
      ++sealed_garbage;
    }
    target.handle_datagram(now, node_endpoint(0), node_endpoint(2), bytes.data(), bytes.size());
    while (target.poll_transmit()) {
    }
    while (target.poll_event()) {
    }
  }
  const MembershipCounters& c = target.counters();
  EXPECT_EQ(c.datagrams_in - in_before, static_cast<std::uint64_t>(kRounds));
  const std::uint64_t before_auth = c.dropped_truncated + c.dropped_bad_version +
                                    c.dropped_wrong_network + c.dropped_unauthenticated +
                                    c.dropped_rate_limited;
  EXPECT_GE(before_auth, static_cast<std::uint64_t>(kRounds / 2) - 1);
  EXPECT_GT(c.dropped_malformed, sealed_garbage / 2);
  // And the member still works.
  ASSERT_TRUE(bed.net().run_for(std::chrono::seconds(10)));
  EXPECT_TRUE(bed.converged(bed.all()));
}

}  // namespace
}  // namespace qp2p::federation::test
