// Control message codec tests: the wire type numbers, a round trip of every Body alternative,
// and byte-exact golden vectors (so the layout in docs/protocol.md cannot drift silently).
// Malformed input: control_decode_test.cc.
#include "tests/stack/hex_bytes.h"
#include "stack/wire/control_message.h"
#include "tests/stack/wire/control_codec_helpers.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace qp2p::wire {
namespace {

using test::hex;
using namespace codec_test;

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
void expect_same(const SupernodeLeaving& a, const SupernodeLeaving& b) {
  EXPECT_EQ(a.supernodes, b.supernodes);
}
void expect_same(const SupernodeList& a, const SupernodeList& b) {
  EXPECT_EQ(a.supernodes, b.supernodes);
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

void expect_same(const TunnelRelay& a, const TunnelRelay& b) {
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.relayed, b.relayed);
}
void expect_same(const TunnelRelayAck& a, const TunnelRelayAck& b) {
  EXPECT_EQ(a.attempt, b.attempt);
}
void expect_same(const TunnelRelayed& a, const TunnelRelayed& b) {
  EXPECT_EQ(a.peer, b.peer);
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.relayed, b.relayed);
}

void expect_same(const TunnelOutcome& a, const TunnelOutcome& b) {
  EXPECT_EQ(a.attempt, b.attempt);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.setup_ms, b.setup_ms);
  EXPECT_EQ(a.rtt_ms, b.rtt_ms);
  EXPECT_EQ(a.reason, b.reason);
}
void expect_same(const TunnelOutcomeAck& a, const TunnelOutcomeAck& b) {
  EXPECT_EQ(a.attempt, b.attempt);
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
      {0x0206, "punch-start"},   {0x0032, "tunnel-relay"}, {0x0132, "tunnel-relay-ack"},
      {0x0207, "tunnel-relayed"},
      {0x0208, "supernode-leaving"},
      {0x0209, "supernodes"},
      {0x0033, "tunnel-outcome"}, {0x0133, "tunnel-outcome-ack"},
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

}  // namespace
}  // namespace qp2p::wire
