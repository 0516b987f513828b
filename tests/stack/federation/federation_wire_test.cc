// Federation wire format: the plaintext codec round-trips every message type, pins its byte
// layout on a vector, rejects bad input by reason; the envelope opens only with the right key;
// the network key is derived deterministically and refuses short secrets; the replay guard and
// the member table's merge rule behave as SWIM requires.
#include <gtest/gtest.h>

#include "stack/federation/federation_seal.h"
#include "stack/federation/federation_wire.h"
#include "stack/federation/member_table.h"
#include "stack/federation/replay_guard.h"
#include "tests/stack/hex_bytes.h"

namespace qp2p::federation {
namespace {

PeerId key_of(std::uint8_t b) {
  PeerId id;
  id.key.fill(b);
  return id;
}
Endpoint ep(const char* text) { return *Endpoint::parse(text); }

Message sample(Body body) {
  Message m;
  m.to = key_of(0xaa);
  m.from = key_of(0xbb);
  m.counter = 0x0102030405060708ull;
  m.from_incarnation = 7;
  m.from_endpoint = ep("192.0.2.1:7000");
  m.body = std::move(body);
  m.gossip = {{key_of(0xcc), 3, MemberState::kSuspect, ep("198.51.100.2:7001")},
              {key_of(0xdd), 9, MemberState::kLeft, ep("[2001:db8::1]:7002")}};
  return m;
}

void expect_round_trip(const Message& m) {
  Bytes out;
  EXPECT_EQ(encode(m, out), m.gossip.size());
  DecodeError error = DecodeError::kNone;
  auto back = decode(out.data(), out.size(), &error);
  ASSERT_TRUE(back) << to_string(error);
  EXPECT_EQ(back->to, m.to);
  EXPECT_EQ(back->from, m.from);
  EXPECT_EQ(back->counter, m.counter);
  EXPECT_EQ(back->from_incarnation, m.from_incarnation);
  EXPECT_EQ(back->from_endpoint, m.from_endpoint);
  EXPECT_EQ(back->body.index(), m.body.index());
  EXPECT_EQ(back->gossip, m.gossip);
  Bytes again;
  encode(*back, again);
  EXPECT_EQ(again, out);
}

TEST(FederationWire, EveryTypeRoundTrips) {
  expect_round_trip(sample(Ping{42}));
  expect_round_trip(sample(Ack{43, key_of(0x11)}));
  expect_round_trip(sample(PingReq{44, key_of(0x12), ep("203.0.113.9:7003")}));
  expect_round_trip(sample(Sync{true}));
  expect_round_trip(sample(Payload{Bytes(800, 0x5a)}));
}

TEST(FederationWire, PingLayoutIsPinned) {
  Message m;
  m.to = key_of(0xaa);
  m.from = key_of(0xbb);
  m.counter = 0x0102030405060708ull;
  m.from_incarnation = 7;
  m.from_endpoint = ep("192.0.2.1:7000");
  m.body = Ping{0x2a};
  m.gossip = {{key_of(0xcc), 3, MemberState::kSuspect, ep("198.51.100.2:7001")}};
  Bytes out;
  encode(m, out);
  const std::string aa(64, 'a'), bb(64, 'b'), cc(64, 'c');
  EXPECT_EQ(out, test::hex(aa + bb + "0102030405060708 00000007 04 c0000201 1b58" +
                           "01 0000002a" + "01" + cc + "00000003 02 04 c6336402 1b59"));
}

TEST(FederationWire, BadInputIsRejectedByReason) {
  Bytes good;
  encode(sample(Ping{1}), good);
  const auto reason = [](Bytes b) {
    DecodeError e = DecodeError::kNone;
    EXPECT_FALSE(decode(b.data(), b.size(), &e));
    return e;
  };
  EXPECT_EQ(reason(Bytes(good.begin(), good.end() - 1)), DecodeError::kTruncated);
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(reason(trailing), DecodeError::kTrailingBytes);
  Bytes bad_type = good;
  bad_type[83] = 9;  // 32 + 32 + 8 + 4 + 7: the type byte
  EXPECT_EQ(reason(bad_type), DecodeError::kBadType);
  Bytes bad_family = good;
  bad_family[76] = 5;
  EXPECT_EQ(reason(bad_family), DecodeError::kBadEndpoint);
  Bytes too_many = good;
  too_many[88] = kMaxEntries + 1;  // after type (83) and seq (84-87): the gossip count
  EXPECT_EQ(reason(too_many), DecodeError::kTooManyEntries);
  Bytes bad_state = good;
  bad_state[89 + 36] = 0;
  EXPECT_EQ(reason(bad_state), DecodeError::kBadState);
  EXPECT_EQ(reason(Bytes(kMaxMessage + 1, 0)), DecodeError::kTooLong);
  Message big = sample(Payload{});
  Bytes payload;
  encode(big, payload);
  static_assert(kMaxPayload + 1 == 0x04b1);
  payload[84] = 0x04;  // payload length 0x04b1 > kMaxPayload (1200)
  payload[85] = 0xb1;
  EXPECT_EQ(reason(payload), DecodeError::kPayloadTooLong);
}

TEST(FederationWire, EncoderKeepsWithinTheDatagram) {
  Message m = sample(Payload{Bytes(kMaxPayload, 1)});
  m.gossip.assign(kMaxEntries, {key_of(1), 1, MemberState::kAlive, ep("[2001:db8::2]:1")});
  Bytes out;
  const std::size_t n = encode(m, out);
  EXPECT_LT(n, kMaxEntries);
  EXPECT_LE(out.size(), kMaxMessage);
  EXPECT_TRUE(decode(out.data(), out.size(), nullptr));
}

TEST(FederationSeal, OpensOnlyWithTheRightKey) {
  std::string error;
  auto key = NetworkKey::from_secret("0123456789abcdef-network-one\n", &error);
  auto same = NetworkKey::from_secret("  0123456789abcdef-network-one", &error);
  auto other = NetworkKey::from_secret("0123456789abcdef-network-two", &error);
  ASSERT_TRUE(key && same && other);
  EXPECT_EQ(key->key(), same->key());  // surrounding whitespace ignored
  EXPECT_NE(key->key(), other->key());
  EXPECT_NE(key->key_id(), other->key_id());
  EXPECT_FALSE(NetworkKey::from_secret("short", &error));
  EXPECT_NE(error.find("5 bytes"), std::string::npos) << error;

  Random r = Random::from_u64(1);
  const Bytes plain{1, 2, 3, 4};
  Bytes sealed;
  seal(*key, r, plain, sealed);
  ASSERT_EQ(sealed.size(), plain.size() + kEnvelopeOverhead);
  EXPECT_EQ(sealed[0], kMagic);
  EXPECT_EQ(sealed[1], kVersion);
  OpenError e = OpenError::kNone;
  auto opened = open(*key, sealed.data(), sealed.size(), &e);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, plain);
  EXPECT_FALSE(open(*other, sealed.data(), sealed.size(), &e));
  EXPECT_EQ(e, OpenError::kWrongNetwork);
  for (std::size_t i = 8; i < sealed.size(); ++i) {  // nonce, ciphertext and tag all covered
    Bytes altered = sealed;
    altered[i] ^= 0x80;
    EXPECT_FALSE(open(*key, altered.data(), altered.size(), &e)) << "byte " << i;
    EXPECT_EQ(e, OpenError::kBadTag);
  }
  Bytes bad_version = sealed;
  bad_version[1] = 2;
  EXPECT_FALSE(open(*key, bad_version.data(), bad_version.size(), &e));
  EXPECT_EQ(e, OpenError::kBadVersion);
  EXPECT_FALSE(open(*key, sealed.data(), kEnvelopeOverhead - 1, &e));
  EXPECT_EQ(e, OpenError::kTruncated);
}

TEST(ReplayGuard, AcceptsEachCounterOnceWithinTheClockBound) {
  ReplayGuard guard(2, 4, std::chrono::seconds(60));
  const std::int64_t wall = 1'780'000'000'000'000;
  const Instant now{};
  const PeerId a = key_of(1);
  EXPECT_EQ(guard.check(a, wall + 10, wall, now), ReplayGuard::Verdict::kFresh);
  EXPECT_EQ(guard.check(a, wall + 10, wall, now), ReplayGuard::Verdict::kReplayed);
  EXPECT_EQ(guard.check(a, wall + 5, wall, now), ReplayGuard::Verdict::kFresh);  // reordered
  for (int i = 11; i <= 14; ++i)
    EXPECT_EQ(guard.check(a, wall + i, wall, now), ReplayGuard::Verdict::kFresh);
  EXPECT_EQ(guard.check(a, wall + 6, wall, now), ReplayGuard::Verdict::kTooOld);
  EXPECT_EQ(guard.check(a, wall - 61'000'000, wall, now), ReplayGuard::Verdict::kClockSkew);
  EXPECT_EQ(guard.check(a, wall + 61'000'000, wall, now), ReplayGuard::Verdict::kClockSkew);
  EXPECT_EQ(guard.check(key_of(2), wall, wall, now), ReplayGuard::Verdict::kFresh);
  EXPECT_EQ(guard.check(key_of(3), wall, wall, now), ReplayGuard::Verdict::kFresh);
  EXPECT_EQ(guard.senders(), 2u);  // bounded
  CounterClock clock;
  EXPECT_EQ(clock.next(100), 100u);
  EXPECT_EQ(clock.next(100), 101u);
  EXPECT_EQ(clock.next(50), 102u);  // never goes back with the wall clock
}

TEST(MemberTable, SwimMergeRule) {
  const Endpoint e1 = ep("192.0.2.5:7000"), e2 = ep("192.0.2.6:7000");
  MemberTable t({key_of(1), 0, MemberState::kAlive, ep("192.0.2.1:7000")}, 3);
  const Instant now{};
  using O = MemberTable::Outcome;
  EXPECT_EQ(t.apply({key_of(2), 0, MemberState::kSuspect, e1}, now).outcome, O::kUnknown);
  auto r = t.apply({key_of(2), 1, MemberState::kAlive, e1}, now);
  EXPECT_EQ(r.outcome, O::kApplied);
  EXPECT_TRUE(r.is_up && !r.was_up);
  EXPECT_EQ(t.apply({key_of(2), 1, MemberState::kAlive, e1}, now).outcome, O::kIgnored);
  // Suspicion overrides alive at the same incarnation; alive at the same one does not refute.
  EXPECT_EQ(t.apply({key_of(2), 1, MemberState::kSuspect, e1}, now).outcome, O::kApplied);
  EXPECT_EQ(t.apply({key_of(2), 1, MemberState::kAlive, e1}, now).outcome, O::kIgnored);
  EXPECT_EQ(t.find(key_of(2))->entry.state, MemberState::kSuspect);
  // Refutation: a higher incarnation, possibly from a new address.
  r = t.apply({key_of(2), 2, MemberState::kAlive, e2}, now);
  EXPECT_EQ(r.outcome, O::kApplied);
  EXPECT_TRUE(r.moved);
  // Death wins at the same incarnation and keeps the known address.
  r = t.apply({key_of(2), 2, MemberState::kDead, Endpoint{}}, now);
  EXPECT_TRUE(r.was_up && !r.is_up);
  EXPECT_EQ(t.find(key_of(2))->entry.endpoint, e2);
  EXPECT_EQ(t.apply({key_of(1), 5, MemberState::kDead, e1}, now).outcome, O::kAboutSelf);
  EXPECT_EQ(t.refute(5, now).incarnation, 6u);
  // Bounded: a third live member does not fit (self + 2), unless a dead one makes room.
  EXPECT_EQ(t.apply({key_of(3), 0, MemberState::kAlive, e1}, now).outcome, O::kApplied);
  EXPECT_EQ(t.apply({key_of(4), 0, MemberState::kAlive, e1}, now).outcome, O::kApplied);
  EXPECT_EQ(t.find(key_of(2)), nullptr);  // the dead one was forgotten for it
  EXPECT_EQ(t.apply({key_of(5), 0, MemberState::kAlive, e1}, now).outcome, O::kFull);
}

}  // namespace
}  // namespace qp2p::federation
