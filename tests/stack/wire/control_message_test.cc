// Control message codec tests: the wire type numbers, a round trip of every Body alternative,
// byte-exact golden vectors (so the layout in docs/protocol.md cannot drift silently), and one
// test per class of malformed input, each naming the DecodeError it must produce.
#include "tests/stack/hex_bytes.h"
#include "stack/wire/control_message.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace qp2p::wire {
namespace {

using test::hex;

Endpoint ep(std::string_view text) { return *Endpoint::parse(text); }

PeerId key_of(std::uint8_t fill) {
  PeerId id;
  for (std::size_t i = 0; i < id.key.size(); ++i) id.key[i] = static_cast<std::uint8_t>(fill + i);
  return id;
}

template <std::size_t N>
std::array<std::uint8_t, N> pattern(std::uint8_t start) {
  std::array<std::uint8_t, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::uint8_t>(start + 3 * i);
  return a;
}

Bytes encoded(const ControlMessage& m) {
  Bytes out;
  encode(m, out);
  return out;
}

// A datagram with a hand-written header: magic, version, type, flags 0, body length, txn.
Bytes raw(std::uint16_t type, const Bytes& body, std::uint64_t txn = 0x0102030405060708) {
  Bytes out;
  ByteWriter w(out);
  w.u8(kMagic);
  w.u8(kVersion);
  w.u16(type);
  w.u8(0);
  w.u8(0);
  w.u16(static_cast<std::uint16_t>(body.size()));
  w.u64(txn);
  w.bytes(body.data(), body.size());
  return out;
}

DecodeError decode_error(const Bytes& datagram) {
  DecodeError error = DecodeError::kNone;
  auto m = decode(datagram.data(), datagram.size(), &error);
  EXPECT_EQ(m.has_value(), error == DecodeError::kNone);
  return error;
}

SignedRecord sample_record() {
  Identity owner = Identity::from_seed(pattern<32>(9));
  return SignedRecord::make(owner, 77, {{"name", "alice"}, {"app", "chat"}, {"empty", ""}});
}

PeerInfo sample_info(bool with_record, const Endpoint& mapped) {
  PeerInfo info;
  info.id = with_record ? sample_record().owner : key_of(0x40);
  info.online = true;
  info.mapped = mapped;
  info.supernode = key_of(0x60);
  if (with_record) info.record = sample_record();
  return info;
}

// --- field-by-field comparison of decoded bodies ---

void expect_same(const SignedRecord& a, const SignedRecord& b) {
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.entries, b.entries);
  EXPECT_EQ(a.signature, b.signature);
}
void expect_same(const PeerInfo& a, const PeerInfo& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.online, b.online);
  EXPECT_EQ(a.mapped, b.mapped);
  EXPECT_EQ(a.supernode, b.supernode);
  ASSERT_EQ(a.record.has_value(), b.record.has_value());
  if (a.record) expect_same(*a.record, *b.record);
}
void expect_same(const Hello& a, const Hello& b) { EXPECT_EQ(a.peer, b.peer); }
void expect_same(const Login& a, const Login& b) {
  EXPECT_EQ(a.peer, b.peer);
  EXPECT_EQ(a.nonce, b.nonce);
  EXPECT_EQ(a.ephemeral, b.ephemeral);
  EXPECT_EQ(a.signature, b.signature);
}
void expect_same(const Keepalive&, const Keepalive&) {}
void expect_same(const Logout&, const Logout&) {}
void expect_same(const Publish& a, const Publish& b) { expect_same(a.record, b.record); }
void expect_same(const Lookup& a, const Lookup& b) { EXPECT_EQ(a.target, b.target); }
void expect_same(const Search& a, const Search& b) {
  EXPECT_EQ(a.limit, b.limit);
  ASSERT_EQ(a.terms.size(), b.terms.size());
  for (std::size_t i = 0; i < a.terms.size(); ++i) {
    EXPECT_EQ(a.terms[i].key, b.terms[i].key);
    EXPECT_EQ(a.terms[i].value, b.terms[i].value);
    EXPECT_EQ(a.terms[i].prefix, b.terms[i].prefix);
  }
}
void expect_same(const Watch& a, const Watch& b) { EXPECT_EQ(a.target, b.target); }
void expect_same(const SendMessage& a, const SendMessage& b) {
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_EQ(a.text, b.text);
}
void expect_same(const Challenge& a, const Challenge& b) {
  EXPECT_EQ(a.supernode, b.supernode);
  EXPECT_EQ(a.nonce, b.nonce);
}
void expect_same(const LoginOk& a, const LoginOk& b) {
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.ephemeral, b.ephemeral);
  EXPECT_EQ(a.signature, b.signature);
  EXPECT_EQ(a.mapped, b.mapped);
  EXPECT_EQ(a.keepalive_ms, b.keepalive_ms);
  EXPECT_EQ(a.expiry_ms, b.expiry_ms);
}
void expect_same(const KeepaliveAck& a, const KeepaliveAck& b) { EXPECT_EQ(a.mapped, b.mapped); }
void expect_same(const LogoutAck&, const LogoutAck&) {}
void expect_same(const PublishAck& a, const PublishAck& b) { EXPECT_EQ(a.version, b.version); }
void expect_same(const LookupResult& a, const LookupResult& b) { expect_same(a.info, b.info); }
void expect_same(const SearchResult& a, const SearchResult& b) {
  EXPECT_EQ(a.total, b.total);
  ASSERT_EQ(a.peers.size(), b.peers.size());
  for (std::size_t i = 0; i < a.peers.size(); ++i) expect_same(a.peers[i], b.peers[i]);
}
void expect_same(const WatchAck& a, const WatchAck& b) { EXPECT_EQ(a.online, b.online); }
void expect_same(const SendAccepted&, const SendAccepted&) {}
void expect_same(const Error& a, const Error& b) {
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.reason, b.reason);
}
void expect_same(const Deliver& a, const Deliver& b) {
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_EQ(a.text, b.text);
}
void expect_same(const DeliveryReport& a, const DeliveryReport& b) {
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.message_id, b.message_id);
}
void expect_same(const Presence& a, const Presence& b) {
  EXPECT_EQ(a.peer, b.peer);
  EXPECT_EQ(a.online, b.online);
  EXPECT_EQ(a.reason, b.reason);
}
void expect_same(const Ack&, const Ack&) {}
void expect_same(const TunnelConnect& a, const TunnelConnect& b) {
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.rtt_ms, b.rtt_ms);
}
void expect_same(const TunnelAnswer& a, const TunnelAnswer& b) {
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.accept, b.accept);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.rtt_ms, b.rtt_ms);
  EXPECT_EQ(a.reason, b.reason);
}
void expect_same(const TunnelConnectAccepted& a, const TunnelConnectAccepted& b) {
  EXPECT_EQ(a.attempt, b.attempt);
}
void expect_same(const TunnelAnswerAck& a, const TunnelAnswerAck& b) {
  EXPECT_EQ(a.attempt, b.attempt);
}
void expect_same(const TunnelOffer& a, const TunnelOffer& b) {
  expect_same(a.from, b.from);
  EXPECT_EQ(a.attempt, b.attempt);
}
void expect_same(const TunnelRefused& a, const TunnelRefused& b) {
  EXPECT_EQ(a.peer, b.peer);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.reason, b.reason);
}
void expect_same(const PunchStart& a, const PunchStart& b) {
  EXPECT_EQ(a.peer, b.peer);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.nonce, b.nonce);
  EXPECT_EQ(a.direct_feasible, b.direct_feasible);
  const PunchPlanFields& p = a.plan;
  const PunchPlanFields& q = b.plan;
  EXPECT_EQ(p.strategy, q.strategy);
  EXPECT_EQ(p.local_sockets, q.local_sockets);
  EXPECT_EQ(p.start_after_ms, q.start_after_ms);
  EXPECT_EQ(p.deadline_ms, q.deadline_ms);
  ASSERT_EQ(p.remote_candidates.size(), q.remote_candidates.size());
  for (std::size_t i = 0; i < p.remote_candidates.size(); ++i) {
    EXPECT_EQ(p.remote_candidates[i].endpoint, q.remote_candidates[i].endpoint);
    EXPECT_EQ(p.remote_candidates[i].kind, q.remote_candidates[i].kind);
  }
  EXPECT_EQ(p.prediction_base, q.prediction_base);
  EXPECT_EQ(p.prediction_delta, q.prediction_delta);
  EXPECT_EQ(p.prediction_before, q.prediction_before);
  EXPECT_EQ(p.prediction_after, q.prediction_after);
  EXPECT_EQ(p.birthday_address, q.birthday_address);
  EXPECT_EQ(p.birthday_probes, q.birthday_probes);
  EXPECT_EQ(p.birthday_port_min, q.birthday_port_min);
  EXPECT_EQ(p.birthday_port_max, q.birthday_port_max);
  EXPECT_EQ(a.relay.username, b.relay.username);
  EXPECT_EQ(a.relay.password, b.relay.password);
}

// One instance of every alternative, with every field away from its default.
std::vector<Body> every_body() {
  std::vector<Body> all;
  all.push_back(Hello{key_of(1)});
  all.push_back(Login{key_of(2), pattern<32>(3), pattern<32>(4), pattern<64>(5)});
  all.push_back(Keepalive{});
  all.push_back(Logout{});
  all.push_back(Publish{sample_record()});
  all.push_back(Lookup{key_of(6)});
  all.push_back(Search{7, {{"app", "chat", false}, {"name", "al", true}, {"empty", "", true}}});
  all.push_back(Watch{key_of(8)});
  all.push_back(SendMessage{key_of(9), 0xfedcba9876543210ULL, "hello \xe2\x9c\x93 world"});
  all.push_back(Challenge{key_of(10), pattern<32>(11)});
  all.push_back(LoginOk{0x8877665544332211ULL, pattern<32>(12), pattern<64>(13),
                        ep("[2001:db8::7]:40000"), 10000, 30000});
  all.push_back(KeepaliveAck{ep("198.51.100.9:61000")});
  all.push_back(LogoutAck{});
  all.push_back(PublishAck{0xffffffffffffffffULL});
  all.push_back(LookupResult{sample_info(true, ep("203.0.113.5:5000"))});
  all.push_back(SearchResult{
      1234,
      {sample_info(true, ep("203.0.113.5:5000")), sample_info(false, ep("[2001:db8::1]:1"))}});
  all.push_back(WatchAck{true});
  all.push_back(SendAccepted{});
  all.push_back(Error{ErrorCode::kStaleRecord, "record version 3 is not above the stored one"});
  all.push_back(Deliver{key_of(14), 42, std::string(kMaxTextBytes, 'x')});
  all.push_back(DeliveryReport{key_of(15), 43});
  all.push_back(Presence{key_of(16), false, PresenceReason::kExpired});
  all.push_back(Ack{});
  all.push_back(TunnelConnect{key_of(17), {ep("198.51.100.7:4000"), ep("[2001:db8::3]:4001")}, 37});
  all.push_back(TunnelAnswer{key_of(18), 0x1122334455667788ULL, true, {ep("203.0.113.8:5000")}, 12,
                             ""});
  all.push_back(TunnelConnectAccepted{0xa1a2a3a4a5a6a7a8ULL});
  all.push_back(TunnelAnswerAck{0xb1b2b3b4b5b6b7b8ULL});
  all.push_back(TunnelOffer{sample_info(true, ep("203.0.113.5:5000")), 99});
  all.push_back(TunnelRefused{key_of(19), 100, "busy"});
  PunchStart start{key_of(20), 101, pattern<32>(21), true, {}};
  start.plan.strategy = PlanStrategy::kPortPrediction;
  start.plan.local_sockets = 3;
  start.plan.start_after_ms = 45;
  start.plan.deadline_ms = 9000;
  start.plan.remote_candidates = {{ep("198.51.100.20:7000"), 0}, {ep("203.0.113.20:7001"), 1}};
  start.plan.prediction_base = ep("203.0.113.20:7001");
  start.plan.prediction_delta = -2;
  start.plan.prediction_before = 4;
  start.plan.prediction_after = 16;
  start.relay = {"1700003600:peer", "c2VjcmV0cGFzc3dvcmQ="};
  all.push_back(start);
  return all;
}

TEST(ControlTypes, WireNumbersAndNamesAreFixed) {
  const std::vector<std::pair<std::uint16_t, std::string>> expected = {
      {0x0001, "hello"},         {0x0002, "login"},       {0x0003, "keepalive"},
      {0x0004, "logout"},        {0x0010, "publish"},     {0x0011, "lookup"},
      {0x0012, "search"},        {0x0013, "watch"},       {0x0020, "send"},
      {0x0101, "challenge"},     {0x0102, "login-ok"},    {0x0103, "keepalive-ack"},
      {0x0104, "logout-ack"},    {0x0110, "publish-ack"}, {0x0111, "lookup-result"},
      {0x0112, "search-result"}, {0x0113, "watch-ack"},   {0x0120, "send-accepted"},
      {0x01ff, "error"},         {0x0201, "deliver"},     {0x0202, "delivery-report"},
      {0x0203, "presence"},      {0x02ff, "ack"},         {0x0030, "tunnel-connect"},
      {0x0031, "tunnel-answer"}, {0x0130, "tunnel-connect-accepted"},
      {0x0131, "tunnel-answer-ack"}, {0x0204, "tunnel-offer"}, {0x0205, "tunnel-refused"},
      {0x0206, "punch-start"},
  };
  const auto all = every_body();
  ASSERT_EQ(all.size(), std::variant_size_v<Body>);
  ASSERT_EQ(expected.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].index(), i);
    EXPECT_EQ(type_number(all[i]), expected[i].first) << i;
    EXPECT_EQ(type_name(all[i]), expected[i].second) << i;
  }
}

TEST(ControlRoundTrip, EveryBodyAlternativeDecodesToEqualFields) {
  std::uint64_t txn = 0x1000;
  for (const Body& body : every_body()) {
    SCOPED_TRACE(type_name(body));
    const ControlMessage original{++txn, body};
    const Bytes bytes = encoded(original);
    ASSERT_LE(bytes.size(), kMaxDatagram);
    EXPECT_EQ(bytes[0], kMagic);
    EXPECT_EQ(bytes[1], kVersion);
    EXPECT_EQ((bytes[2] << 8 | bytes[3]), type_number(body));
    EXPECT_EQ(bytes[4], 0) << "encode never sets the session flag";
    EXPECT_EQ(std::size_t(bytes[6] << 8 | bytes[7]), bytes.size() - kHeaderSize);

    DecodeError error = DecodeError::kTooLarge;
    auto decoded = decode(bytes.data(), bytes.size(), &error);
    ASSERT_TRUE(decoded) << to_string(error);
    EXPECT_EQ(error, DecodeError::kNone);
    EXPECT_EQ(decoded->transaction, txn);
    ASSERT_EQ(decoded->body.index(), body.index());
    std::visit(
        [&](const auto& a) {
          using T = std::decay_t<decltype(a)>;
          expect_same(a, std::get<T>(decoded->body));
        },
        body);
    // Decoding is canonical: re-encoding the result gives the same bytes.
    EXPECT_EQ(encoded(*decoded), bytes);
  }
}

TEST(ControlRoundTrip, EncodeAppendsAfterExistingBytes) {
  Bytes out = {0xde, 0xad};
  const std::size_t offset = encode({9, Keepalive{}}, out);
  EXPECT_EQ(offset, 2u);
  ASSERT_EQ(out.size(), 2 + kHeaderSize);
  auto decoded = decode(out.data() + offset, out.size() - offset, nullptr);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->transaction, 9u);
}

TEST(ControlRoundTrip, RecordsSurviveWithValidSignature) {
  const Bytes bytes = encoded({1, Publish{sample_record()}});
  auto decoded = decode(bytes.data(), bytes.size(), nullptr);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(std::get<Publish>(decoded->body).record.verify());
}

// --- golden vectors (docs/protocol.md) ---

TEST(ControlGolden, HelloIsByteExact) {
  // The key is the RFC 8032 TEST 1 public key.
  const Bytes key = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  Hello hello;
  std::copy(key.begin(), key.end(), hello.peer.key.begin());
  EXPECT_EQ(encoded({0x0102030405060708ULL, hello}),
            hex("51 01 0001 00 00 0020 0102030405060708"
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
}

TEST(ControlGolden, KeepaliveIsByteExact) {
  EXPECT_EQ(encoded({0x0102030405060708ULL, Keepalive{}}),
            hex("51 01 0003 00 00 0000 0102030405060708"));
}

TEST(ControlGolden, ErrorIsByteExact) {
  EXPECT_EQ(encoded({0xffULL, Error{ErrorCode::kNotFound, "gone"}}),
            hex("51 01 01ff 00 00 0008 00000000000000ff"
                "0194 0004 676f6e65"));
}

TEST(ControlGolden, PresenceIsByteExact) {
  Presence p{key_of(0), true, PresenceReason::kLogout};
  EXPECT_EQ(encoded({2, p}), hex("51 01 0203 00 00 0022 0000000000000002"
                                 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                                 "01 02"));
}

TEST(ControlGolden, SendMessageIsByteExact) {
  SendMessage m{key_of(0x20), 0x0a0b0c0d0e0f1011ULL, "hi"};
  EXPECT_EQ(encoded({3, m}), hex("51 01 0020 00 00 002c 0000000000000003"
                                 "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                                 "0a0b0c0d0e0f1011 0002 6869"));
}

TEST(ControlGolden, KeepaliveAckEncodesV4AndV6Endpoints) {
  EXPECT_EQ(encoded({1, KeepaliveAck{ep("192.0.2.1:3478")}}),
            hex("51 01 0103 00 00 0007 0000000000000001 04 c0000201 0d96"));
  EXPECT_EQ(encoded({1, KeepaliveAck{ep("[2001:db8::1]:443")}}),
            hex("51 01 0103 00 00 0013 0000000000000001 06"
                "20010db8000000000000000000000001 01bb"));
}

TEST(ControlGolden, LookupResultEncodesPeerInfoFlags) {
  PeerInfo info;
  info.id = key_of(0x80);
  info.online = true;
  info.mapped = ep("203.0.113.7:9");
  info.supernode = key_of(0xa0);
  EXPECT_EQ(encoded({4, LookupResult{info}}),
            hex("51 01 0111 00 00 0048 0000000000000004"
                "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                "01 04 cb007107 0009"
                "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"));
}

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
       {0x0000, 0x0005, 0x0014, 0x0032, 0x0100, 0x0121, 0x0200, 0x0207, 0x03ff, 0xffff}) {
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
  EXPECT_EQ(decode_error(encoded({1, Search{1, {{std::string(kMaxKeyBytes, 'k'), "v", false}}}})),
            DecodeError::kNone);
  EXPECT_EQ(
      decode_error(encoded({1, Search{1, {{std::string(kMaxKeyBytes + 1, 'k'), "v", false}}}})),
      DecodeError::kMalformedBody);
  EXPECT_EQ(
      decode_error(encoded({1, Search{1, {{"k", std::string(kMaxValueBytes + 1, 'v'), false}}}})),
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
  Bytes search = encoded({1, Search{1, {{"k", "v", true}}}});
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
