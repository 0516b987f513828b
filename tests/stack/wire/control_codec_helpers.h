// Shared helpers of the control message codec tests (control_message_test.cc,
// control_decode_test.cc, tunnel_messages_test.cc): sample values, hand-written datagrams and
// the decode outcome. Header-only (the unit-test target globs *_test.cc files only).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "stack/core/byte_io.h"
#include "stack/wire/control_message.h"

namespace qp2p::wire::codec_test {

inline Endpoint ep(std::string_view text) { return *Endpoint::parse(text); }

inline PeerId key_of(std::uint8_t fill) {
  PeerId id;
  for (std::size_t i = 0; i < id.key.size(); ++i) id.key[i] = static_cast<std::uint8_t>(fill + i);
  return id;
}

template <std::size_t N>
inline std::array<std::uint8_t, N> pattern(std::uint8_t start) {
  std::array<std::uint8_t, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::uint8_t>(start + 3 * i);
  return a;
}

inline Bytes encoded(const ControlMessage& m) {
  Bytes out;
  encode(m, out);
  return out;
}
// `body` in a message of transaction 7.
inline Bytes encoded(const Body& body) { return encoded(ControlMessage{7, body}); }

// The header of `datagram` with `body` in place of its own (body length rewritten).
inline Bytes with_body(Bytes datagram, const Bytes& body) {
  datagram.resize(kHeaderSize);
  datagram.insert(datagram.end(), body.begin(), body.end());
  datagram[6] = static_cast<std::uint8_t>(body.size() >> 8);
  datagram[7] = static_cast<std::uint8_t>(body.size());
  return datagram;
}

// A datagram with a hand-written header: magic, version, type, flags 0, body length, txn.
inline Bytes raw(std::uint16_t type, const Bytes& body, std::uint64_t txn = 0x0102030405060708) {
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

inline DecodeError decode_error(const Bytes& datagram) {
  DecodeError error = DecodeError::kNone;
  auto m = decode(datagram.data(), datagram.size(), &error);
  EXPECT_EQ(m.has_value(), error == DecodeError::kNone);
  return error;
}

inline SignedRecord sample_record() {
  Identity owner = Identity::from_seed(pattern<32>(9));
  return SignedRecord::make(owner, 77, {{"name", "alice"}, {"app", "chat"}, {"empty", ""}});
}

inline PeerInfo sample_info(bool with_record, const Endpoint& mapped) {
  PeerInfo info;
  info.id = with_record ? sample_record().owner : key_of(0x40);
  info.online = true;
  info.mapped = mapped;
  info.supernode = key_of(0x60);
  if (with_record) info.record = sample_record();
  return info;
}

// One instance of every alternative, with every field away from its default.
inline std::vector<Body> every_body() {
  std::vector<Body> all;
  all.push_back(Hello{key_of(1)});
  all.push_back(Login{key_of(2), pattern<32>(3), pattern<32>(4), pattern<64>(5)});
  all.push_back(Keepalive{});
  all.push_back(Logout{});
  all.push_back(Publish{sample_record()});
  all.push_back(Lookup{key_of(6)});
  all.push_back(Search{7, {{"app", "chat", false}, {"name", "al", true}, {"empty", "", true}}, {}});
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
  PunchStart start{key_of(20), 101, pattern<32>(21), true, {}, {}};
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
  all.push_back(TunnelRelay{key_of(22), 102, ep("192.0.2.1:50001")});
  all.push_back(TunnelRelayAck{0xc1c2c3c4c5c6c7c8ULL});
  all.push_back(TunnelRelayed{key_of(23), 103, ep("[2001:db8::7]:50002")});
  all.push_back(SupernodeLeaving{{ep("198.51.100.20:3478"), ep("[2001:db8::20]:3478")}});
  all.push_back(SupernodeList{{ep("192.0.2.1:3478"), ep("198.51.100.20:3478"),
                               ep("[2001:db8::20]:3478")}});
  all.push_back(TunnelOutcome{0xd1d2d3d4d5d6d7d8ULL, OutcomePath::kFailed, 41000, 0,
                              "relay fallback failed"});
  all.push_back(TunnelOutcomeAck{0xe1e2e3e4e5e6e7e8ULL});
  return all;
}

}  // namespace qp2p::wire::codec_test
