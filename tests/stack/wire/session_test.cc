// Login key agreement and the session trailer: transcript layouts, the session key derived
// with RFC 7748 keys against a value computed independently (Python: X25519 + BLAKE2b), a
// byte-exact sealed message, MAC failures for every altered byte, the 64-message replay window
// (RFC 4303 section 3.4.3 style) and reflection of a message back to its sender.
#include "tests/stack/hex_bytes.h"
#include "stack/wire/session.h"

#include <gtest/gtest.h>

#include <string>

namespace qp2p::wire {
namespace {

using test::hex;

std::array<std::uint8_t, 32> hex32(std::string_view text) {
  Bytes b = hex(text);
  std::array<std::uint8_t, 32> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

void put(Bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }
template <typename A>
void put(Bytes& out, const A& a) {
  out.insert(out.end(), a.begin(), a.end());
}

// RFC 7748 section 6.1 key pairs: the peer is Alice, the supernode Bob.
EphemeralKeyPair alice() {
  return {hex32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
          hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")};
}
EphemeralKeyPair bob() {
  return {hex32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
          hex32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")};
}
PeerId rfc8032_peer() {
  return PeerId{hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")};
}
PeerId supernode_aa() {
  PeerId id;
  id.key.fill(0xaa);
  return id;
}

SessionKey test_key() {
  SessionKey k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
  return k;
}

// A matched pair of sessions: the peer's end and the supernode's end.
struct Pair {
  Session peer{0x1122334455667788ULL, test_key(), Direction::kToSupernode};
  Session supernode{0x1122334455667788ULL, test_key(), Direction::kToPeer};
};

ControlMessage keepalive(std::uint64_t txn) { return {txn, Keepalive{}}; }

TEST(LoginTranscripts, HaveTheDocumentedLayout) {
  const PeerId peer = rfc8032_peer(), sn = supernode_aa();
  Nonce nonce;
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(0xc0 + i);
  Bytes expected;
  put(expected, std::string_view("qp2p login v1"));
  put(expected, peer.key);
  put(expected, sn.key);
  put(expected, nonce);
  put(expected, alice().public_key);
  EXPECT_EQ(login_transcript(peer, sn, nonce, alice().public_key), expected);

  expected.clear();
  put(expected, std::string_view("qp2p login-ok v1"));
  put(expected, peer.key);
  put(expected, sn.key);
  put(expected, alice().public_key);
  put(expected, bob().public_key);
  put(expected, hex("0102030405060708"));
  put(expected, hex("04c0000201d431"));  // mapped 192.0.2.1:54321
  put(expected, hex("000003e8"));        // keepalive 1000 ms
  put(expected, hex("00007530"));        // expiry 30000 ms
  LoginOk ok;
  ok.ephemeral = bob().public_key;
  ok.session_id = 0x0102030405060708ULL;
  ok.mapped = *Endpoint::parse("192.0.2.1:54321");
  ok.keepalive_ms = 1000;
  ok.expiry_ms = 30000;
  EXPECT_EQ(login_ok_transcript(peer, sn, alice().public_key, ok), expected);
}

TEST(SessionKey, MatchesAnIndependentComputationAndAgreesOnBothSides) {
  // BLAKE2b-256("qp2p session key v1" || X25519(a, B) || A || B || peer || supernode),
  // computed with Python's cryptography and hashlib.
  const SessionKey expected =
      hex32("b352bf94d3ca1ce44552a7ecf89b33e21baf664d7af217907ea2ca061b6e3cdd");
  const PeerId peer = rfc8032_peer(), sn = supernode_aa();
  auto at_peer =
      derive_session_key(alice(), bob().public_key, peer, sn, alice().public_key, bob().public_key);
  auto at_supernode =
      derive_session_key(bob(), alice().public_key, peer, sn, alice().public_key, bob().public_key);
  ASSERT_TRUE(at_peer && at_supernode);
  EXPECT_EQ(*at_peer, expected);
  EXPECT_EQ(*at_supernode, expected);
}

TEST(SessionKey, DependsOnBothIdentities) {
  const PeerId peer = rfc8032_peer(), sn = supernode_aa();
  PeerId other = sn;
  other.key[0] ^= 1;
  auto k1 =
      derive_session_key(alice(), bob().public_key, peer, sn, alice().public_key, bob().public_key);
  auto k2 = derive_session_key(alice(), bob().public_key, peer, other, alice().public_key,
                               bob().public_key);
  ASSERT_TRUE(k1 && k2);
  EXPECT_NE(*k1, *k2);
}

TEST(SessionKey, FullLoginWithGeneratedKeysAgreesAndSignaturesVerify) {
  Random random = Random::from_u64(99);
  const Identity peer = Identity::generate(random), sn = Identity::generate(random);
  const EphemeralKeyPair pe = EphemeralKeyPair::generate(random);
  const EphemeralKeyPair se = EphemeralKeyPair::generate(random);
  EXPECT_NE(pe.public_key, se.public_key);
  Nonce nonce{};
  random.fill(nonce.data(), nonce.size());

  const Bytes t1 = login_transcript(peer.id(), sn.id(), nonce, pe.public_key);
  const Signature s1 = peer.sign(t1.data(), t1.size());
  EXPECT_TRUE(verify_signature(peer.id(), t1.data(), t1.size(), s1));
  const Bytes t2 = login_ok_transcript(peer.id(), sn.id(), pe.public_key, LoginOk{77, se.public_key, {}, {}, 0, 0});
  const Signature s2 = sn.sign(t2.data(), t2.size());
  EXPECT_TRUE(verify_signature(sn.id(), t2.data(), t2.size(), s2));
  // The login signature does not verify as a login-ok signature (distinct domains).
  EXPECT_FALSE(verify_signature(peer.id(), t2.data(), t2.size(), s1));

  auto kp = derive_session_key(pe, se.public_key, peer.id(), sn.id(), pe.public_key, se.public_key);
  auto ks = derive_session_key(se, pe.public_key, peer.id(), sn.id(), pe.public_key, se.public_key);
  ASSERT_TRUE(kp && ks);
  EXPECT_EQ(*kp, *ks);

  Session at_peer(77, *kp, Direction::kToSupernode), at_sn(77, *ks, Direction::kToPeer);
  Bytes m = at_peer.seal(keepalive(1));
  EXPECT_EQ(at_sn.open(m.data(), m.size()), Session::OpenResult::kOk);
  Bytes r = at_sn.seal({1, KeepaliveAck{}});
  EXPECT_EQ(at_peer.open(r.data(), r.size()), Session::OpenResult::kOk);
}

TEST(SessionKey, LowOrderPeerKeyIsRefused) {
  const X25519Key zero{};
  EXPECT_FALSE(
      derive_session_key(bob(), zero, rfc8032_peer(), supernode_aa(), zero, bob().public_key));
}

TEST(SessionSeal, IsByteExact) {
  // header (flag 0x01 set) || session id || counter 1 || BLAKE2b-128 keyed MAC over
  // (direction byte 0x01 || everything before the MAC); computed with Python's hashlib.
  Pair pair;
  EXPECT_EQ(pair.peer.seal(keepalive(0x0102030405060708ULL)),
            hex("51 01 0003 01 00 0000 0102030405060708"
                "1122334455667788 0000000000000001"
                "93b95d1365fd6dcf51a0dbfec6330bcd"));
}

TEST(SessionSeal, SealedMessageOpensAndDecodes) {
  Pair pair;
  const ControlMessage m{42, SendMessage{supernode_aa(), 7, "hi"}};
  Bytes sealed = pair.peer.seal(m);
  EXPECT_EQ(sealed.size(), 16 + 32 + 8 + 2 + 2 + kTrailerSize);
  EXPECT_EQ(sealed[4], kFlagSession);
  EXPECT_EQ(Session::peek_session_id(sealed.data(), sealed.size()), 0x1122334455667788ULL);
  ASSERT_EQ(pair.supernode.open(sealed.data(), sealed.size()), Session::OpenResult::kOk);
  auto decoded = decode(sealed.data(), sealed.size(), nullptr);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->transaction, 42u);
  EXPECT_EQ(std::get<SendMessage>(decoded->body).text, "hi");
}

TEST(SessionSeal, CountersIncreaseFromOne) {
  Pair pair;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    Bytes b = pair.peer.seal(keepalive(5));
    ByteReader r(b.data() + b.size() - 24, 8);
    EXPECT_EQ(r.u64(), i);
  }
}

TEST(SessionOpen, EveryTamperedByteIsABadMac) {
  Pair pair;
  const Bytes sealed = pair.peer.seal({9, Lookup{supernode_aa()}});
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes tampered = sealed;
    tampered[i] ^= 0x20;
    EXPECT_EQ(pair.supernode.open(tampered.data(), tampered.size()), Session::OpenResult::kBadMac)
        << "byte " << i;
  }
  Bytes flag_cleared = sealed;
  flag_cleared[4] = 0;
  EXPECT_EQ(pair.supernode.open(flag_cleared.data(), flag_cleared.size()),
            Session::OpenResult::kNotSession);
  // The untouched original still opens: failed attempts did not consume its counter.
  EXPECT_EQ(pair.supernode.open(sealed.data(), sealed.size()), Session::OpenResult::kOk);
}

TEST(SessionOpen, WrongKeyOrWrongSessionIdIsABadMac) {
  Pair pair;
  Bytes sealed = pair.peer.seal(keepalive(1));
  SessionKey other_key = test_key();
  other_key[31] ^= 1;
  Session wrong_key(0x1122334455667788ULL, other_key, Direction::kToPeer);
  EXPECT_EQ(wrong_key.open(sealed.data(), sealed.size()), Session::OpenResult::kBadMac);
  // Same key, different session id: the MAC verifies but the id does not match.
  Session wrong_id(0x99, test_key(), Direction::kToPeer);
  EXPECT_EQ(wrong_id.open(sealed.data(), sealed.size()), Session::OpenResult::kBadMac);
}

TEST(SessionOpen, UnsealedOrShortDatagramsAreNotSession) {
  Pair pair;
  Bytes plain;
  encode(keepalive(1), plain);
  EXPECT_EQ(pair.supernode.open(plain.data(), plain.size()), Session::OpenResult::kNotSession);
  EXPECT_EQ(Session::peek_session_id(plain.data(), plain.size()), std::nullopt);
  Bytes sealed = pair.peer.seal(keepalive(1));
  EXPECT_EQ(pair.supernode.open(sealed.data(), kHeaderSize + kTrailerSize - 1),
            Session::OpenResult::kNotSession);
  EXPECT_EQ(pair.supernode.open(sealed.data(), 0), Session::OpenResult::kNotSession);
}

TEST(SessionOpen, ReplayedMessageIsRejected) {
  Pair pair;
  Bytes sealed = pair.peer.seal(keepalive(1));
  EXPECT_EQ(pair.supernode.open(sealed.data(), sealed.size()), Session::OpenResult::kOk);
  EXPECT_EQ(pair.supernode.open(sealed.data(), sealed.size()), Session::OpenResult::kReplayed);
  EXPECT_EQ(pair.supernode.open(sealed.data(), sealed.size()), Session::OpenResult::kReplayed);
}

TEST(SessionOpen, OutOfOrderWithinTheWindowIsAcceptedOnce) {
  Pair pair;
  std::vector<Bytes> sealed;
  for (int i = 0; i < 10; ++i) sealed.push_back(pair.peer.seal(keepalive(i)));
  auto open = [&](int counter) {
    const Bytes& b = sealed[counter - 1];
    return pair.supernode.open(b.data(), b.size());
  };
  EXPECT_EQ(open(10), Session::OpenResult::kOk);
  EXPECT_EQ(open(5), Session::OpenResult::kOk);
  EXPECT_EQ(open(5), Session::OpenResult::kReplayed);
  EXPECT_EQ(open(1), Session::OpenResult::kOk);
  EXPECT_EQ(open(9), Session::OpenResult::kOk);
  EXPECT_EQ(open(10), Session::OpenResult::kReplayed);
  EXPECT_EQ(open(9), Session::OpenResult::kReplayed);
  for (int c : {2, 3, 4, 6, 7, 8}) EXPECT_EQ(open(c), Session::OpenResult::kOk) << c;
  for (int c = 1; c <= 10; ++c) EXPECT_EQ(open(c), Session::OpenResult::kReplayed) << c;
}

TEST(SessionOpen, TooOldForTheWindowIsRejected) {
  Pair pair;
  std::vector<Bytes> sealed;
  for (int i = 0; i < 100; ++i) sealed.push_back(pair.peer.seal(keepalive(i)));
  auto open = [&](int counter) {
    const Bytes& b = sealed[counter - 1];
    return pair.supernode.open(b.data(), b.size());
  };
  EXPECT_EQ(open(70), Session::OpenResult::kOk);
  // Highest 70: counters 7..69 are within the 64-message window, 1..6 are not.
  for (int c = 1; c <= 6; ++c) EXPECT_EQ(open(c), Session::OpenResult::kReplayed) << c;
  EXPECT_EQ(open(7), Session::OpenResult::kOk);
  EXPECT_EQ(open(69), Session::OpenResult::kOk);
  // A jump of more than the window clears it: everything older than 100 - 63 is now too old.
  EXPECT_EQ(open(100), Session::OpenResult::kOk);
  EXPECT_EQ(open(36), Session::OpenResult::kReplayed);
  EXPECT_EQ(open(37), Session::OpenResult::kOk);
  EXPECT_EQ(open(71), Session::OpenResult::kOk);
  EXPECT_EQ(open(70), Session::OpenResult::kReplayed);  // remembered across the shift
}

TEST(SessionOpen, JumpBeyondTheWindowForgetsOlderCounters) {
  Pair pair;
  std::vector<Bytes> sealed;
  for (int i = 0; i < 200; ++i) sealed.push_back(pair.peer.seal(keepalive(i)));
  auto open = [&](int counter) {
    const Bytes& b = sealed[counter - 1];
    return pair.supernode.open(b.data(), b.size());
  };
  EXPECT_EQ(open(1), Session::OpenResult::kOk);
  EXPECT_EQ(open(200), Session::OpenResult::kOk);
  EXPECT_EQ(open(137), Session::OpenResult::kOk);        // age 63
  EXPECT_EQ(open(136), Session::OpenResult::kReplayed);  // age 64
  EXPECT_EQ(open(199), Session::OpenResult::kOk);
}

TEST(SessionOpen, ReflectionToTheSenderIsRejected) {
  Pair pair;
  Bytes from_peer = pair.peer.seal(keepalive(1));
  EXPECT_EQ(pair.peer.open(from_peer.data(), from_peer.size()), Session::OpenResult::kBadMac);
  Bytes from_supernode = pair.supernode.seal(keepalive(2));
  EXPECT_EQ(pair.supernode.open(from_supernode.data(), from_supernode.size()),
            Session::OpenResult::kBadMac);
  // Each direction still works the right way round.
  EXPECT_EQ(pair.supernode.open(from_peer.data(), from_peer.size()), Session::OpenResult::kOk);
  EXPECT_EQ(pair.peer.open(from_supernode.data(), from_supernode.size()), Session::OpenResult::kOk);
}

TEST(SessionOpen, DirectionsHaveIndependentCounters) {
  Pair pair;
  // Counter 1 in each direction: neither blocks the other.
  Bytes up = pair.peer.seal(keepalive(1));
  Bytes down = pair.supernode.seal(keepalive(1));
  EXPECT_EQ(pair.supernode.open(up.data(), up.size()), Session::OpenResult::kOk);
  EXPECT_EQ(pair.peer.open(down.data(), down.size()), Session::OpenResult::kOk);
}

}  // namespace
}  // namespace qp2p::wire
