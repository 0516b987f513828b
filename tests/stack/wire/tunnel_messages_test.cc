// Tunnel negotiation messages (docs/protocol.md section 8.5): byte-exact layouts of
// tunnel-connect and punch-start, every bound the decoder enforces (each rejected as a malformed
// body), and the PunchPlan <-> PunchPlanFields conversion the supernode and peer use.
#include <gtest/gtest.h>

#include <algorithm>

#include "stack/wire/control_message.h"
#include "stack/wire/punch_plan_fields.h"
#include "tests/stack/hex_bytes.h"
#include "tests/stack/wire/control_codec_helpers.h"

namespace qp2p::wire {
namespace {

using test::hex;
using codec_test::decode_error;
using codec_test::ep;
using codec_test::key_of;

using codec_test::encoded;
using codec_test::with_body;

Bytes body_of(const Bytes& datagram) {
  return Bytes(datagram.begin() + kHeaderSize, datagram.end());
}

PunchStart birthday_start() {
  PunchStart s{key_of(0x20), 5, {}, true, {}, {}};
  for (std::size_t i = 0; i < s.nonce.size(); ++i) s.nonce[i] = static_cast<std::uint8_t>(i);
  s.plan.strategy = PlanStrategy::kBirthday;
  s.plan.local_sockets = 1;
  s.plan.start_after_ms = 35;
  s.plan.deadline_ms = 10000;
  s.plan.remote_candidates = {{ep("203.0.113.9:4000"), 1}};
  s.plan.birthday_address = IpAddress::parse("203.0.113.9").value();
  s.plan.birthday_probes = 2048;
  s.plan.birthday_port_min = 1024;
  s.plan.birthday_port_max = 65535;
  return s;
}

TEST(TunnelMessages, TunnelConnectIsByteExact) {
  const Bytes b = encoded(TunnelConnect{key_of(0x80), {ep("198.51.100.7:4000")}, 40});
  EXPECT_EQ(b, hex("51 01 0030 00 00 002c 0000000000000007"
                   "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                   "01 04 c6336407 0fa0"
                   "00000028"));
}

TEST(TunnelMessages, PunchStartCarriesOnlyTheChosenStrategysFields) {
  const Bytes b = encoded(birthday_start());
  EXPECT_EQ(body_of(b),
            hex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"  // peer
                "0000000000000005"                                                  // attempt
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"  // nonce
                "01"                          // direct feasible
                "02 0001 00000023 00002710"   // birthday, 1 socket, 35 ms, 10 s
                "01 01 04 cb007109 0fa0"      // 1 candidate: server-reflexive
                "04 cb007109 0800 0400 ffff"  // address, 2048 probes, 1024-65535
                "0000 0000"));                // no relay credentials
  // Simultaneous open has neither prediction nor birthday fields.
  PunchStart open = birthday_start();
  open.plan.strategy = PlanStrategy::kSimultaneousOpen;
  EXPECT_EQ(encoded(open).size(), b.size() - 11);
}

TEST(TunnelMessages, ConvertedPlansAlwaysFitOneSealedDatagram) {
  for (const char* address : {"198.51.100.1:1", "[2001:db8::1]:1"}) {
    SCOPED_TRACE(address);
    tunnel::PunchPlan plan;
    plan.strategy = tunnel::PunchStrategy::kPortPrediction;
    plan.prediction.base = ep("[2001:db8::2]:2");
    plan.remote_candidates.assign(tunnel::kMaxRemoteCandidates + 5,
                                  {ep(address), tunnel::CandidateKind::kHost});
    // The longest relay credentials the decoder takes.
    PunchStart s{
        key_of(1),
        1,
        {},
        true,
        to_fields(plan),
        {std::string(kMaxRelayUsernameBytes, 'u'), std::string(kMaxRelayPasswordBytes, 'p')}};
    const Bytes b = encoded(s);
    EXPECT_LE(b.size() + kTrailerSize, kMaxDatagram);
    EXPECT_EQ(decode_error(b), DecodeError::kNone);
    // Every IPv4 candidate the tunnel layer allows fits; IPv6 ones are cut where the datagram ends.
    EXPECT_EQ(s.plan.remote_candidates.size(),
              std::string_view(address)[0] == '[' ? 43u : tunnel::kMaxRemoteCandidates);
  }
}

TEST(TunnelMessages, PunchStartCarriesBoundedRelayCredentials) {
  PunchStart s = birthday_start();
  s.relay = {"1700003600:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE="};
  const Bytes b = encoded(s);
  auto decoded = decode(b.data(), b.size(), nullptr);
  ASSERT_TRUE(decoded);
  const auto& back = std::get<PunchStart>(decoded->body).relay;
  EXPECT_EQ(back.username, "1700003600:alice");
  EXPECT_EQ(back.password, "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
  const Bytes tail = hex("0010 313730303030333630303a616c696365 001c");
  EXPECT_TRUE(std::search(b.begin(), b.end(), tail.begin(), tail.end()) != b.end());

  // A username without a password (or the reverse) is malformed.
  for (auto edit : {+[](PunchStart& p) { p.relay.password.clear(); },
                    +[](PunchStart& p) { p.relay.username.clear(); }}) {
    PunchStart half = s;
    edit(half);
    EXPECT_EQ(decode_error(encoded(half)), DecodeError::kMalformedBody);
  }
  // One byte over the username bound (written by hand: the encoder cuts it).
  PunchStart longest = birthday_start();
  longest.relay = {std::string(kMaxRelayUsernameBytes, 'u'), "p"};
  const Bytes good = encoded(longest);
  EXPECT_EQ(decode_error(good), DecodeError::kNone);
  Bytes body = body_of(good);
  const std::size_t length_at = body.size() - 3 - 2 - kMaxRelayUsernameBytes;
  ASSERT_EQ(body[length_at + 1], kMaxRelayUsernameBytes);
  body[length_at + 1] = kMaxRelayUsernameBytes + 1;
  body.insert(body.begin() + static_cast<std::ptrdiff_t>(length_at + 2), 'u');
  EXPECT_EQ(decode_error(with_body(good, body)), DecodeError::kMalformedBody);
}

TEST(TunnelMessages, HostListsAreBounded) {
  TunnelConnect c{key_of(1), {}, 0};
  c.host.assign(kMaxHostCandidates, ep("198.51.100.1:1"));
  Bytes b = encoded(c);
  EXPECT_EQ(decode_error(b), DecodeError::kNone);
  // One more host than allowed (written by hand: the encoder cuts the list).
  Bytes body = body_of(b);
  body[32] = static_cast<std::uint8_t>(kMaxHostCandidates + 1);
  const Bytes extra = hex("04 c6336401 0001");
  body.insert(body.end() - 4, extra.begin(), extra.end());
  EXPECT_EQ(decode_error(with_body(b, body)), DecodeError::kMalformedBody);
}

TEST(TunnelMessages, ImplausibleRttIsRejected) {
  Bytes ok = encoded(TunnelConnect{key_of(1), {}, kMaxRttMs});
  EXPECT_EQ(decode_error(ok), DecodeError::kNone);
  Bytes b = encoded(TunnelConnect{key_of(1), {}, kMaxRttMs + 1});
  EXPECT_EQ(decode_error(b), DecodeError::kMalformedBody);
}

TEST(TunnelMessages, AnswerBooleanAndReasonAreChecked) {
  const Bytes b = encoded(TunnelAnswer{key_of(1), 9, false, {}, 0, "busy"});
  Bytes body = body_of(b);
  body[40] = 2;  // accept: not a boolean
  EXPECT_EQ(decode_error(with_body(b, body)), DecodeError::kMalformedBody);
  // A reason longer than kMaxTunnelReasonBytes (written by hand: the encoder cuts it).
  Bytes long_reason = body_of(encoded(TunnelAnswer{key_of(1), 9, false, {}, 0, ""}));
  long_reason.resize(long_reason.size() - 2);
  long_reason.push_back(0);
  long_reason.push_back(static_cast<std::uint8_t>(kMaxTunnelReasonBytes + 1));
  long_reason.insert(long_reason.end(), kMaxTunnelReasonBytes + 1, 'x');
  EXPECT_EQ(decode_error(with_body(b, long_reason)), DecodeError::kMalformedBody);
  // The encoder never writes one.
  TunnelRefused r{key_of(2), 3, std::string(500, 'y')};
  auto decoded = decode(encoded(r).data(), encoded(r).size(), nullptr);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(std::get<TunnelRefused>(decoded->body).reason.size(), kMaxTunnelReasonBytes);
}

TEST(TunnelMessages, EveryPlanBoundIsEnforced) {
  struct Case {
    const char* what;
    void (*edit)(PunchStart&);
  };
  const Case cases[] = {
      {"no local socket", [](PunchStart& s) { s.plan.local_sockets = 0; }},
      {"too many local sockets",
       [](PunchStart& s) { s.plan.local_sockets = tunnel::kMaxLocalEndpoints + 1; }},
      {"start too late", [](PunchStart& s) { s.plan.start_after_ms = kMaxStartAfterMs + 1; }},
      {"zero deadline", [](PunchStart& s) { s.plan.deadline_ms = 0; }},
      {"deadline too long",
       [](PunchStart& s) {
         s.plan.deadline_ms = static_cast<std::uint32_t>(to_ms(tunnel::kMaxPunchDeadline)) + 1;
       }},
      {"bad candidate kind", [](PunchStart& s) { s.plan.remote_candidates[0].kind = 5; }},
      {"too many probes",
       [](PunchStart& s) { s.plan.birthday_probes = tunnel::kMaxBirthdayProbes + 1; }},
      {"port 0", [](PunchStart& s) { s.plan.birthday_port_min = 0; }},
      {"inverted port range",
       [](PunchStart& s) {
         s.plan.birthday_port_min = 5000;
         s.plan.birthday_port_max = 4999;
       }},
      {"more probes than ports",
       [](PunchStart& s) {
         s.plan.birthday_port_min = 5000;
         s.plan.birthday_port_max = 5009;
         s.plan.birthday_probes = 11;
       }},
      {"zero delta",
       [](PunchStart& s) {
         s.plan.strategy = PlanStrategy::kPortPrediction;
         s.plan.prediction_delta = 0;
       }},
      {"delta too large",
       [](PunchStart& s) {
         s.plan.strategy = PlanStrategy::kPortPrediction;
         s.plan.prediction_delta = -65536;
       }},
      {"prediction range too wide",
       [](PunchStart& s) {
         s.plan.strategy = PlanStrategy::kPortPrediction;
         s.plan.prediction_before = 1;
         s.plan.prediction_after = tunnel::kMaxPredictedPorts;
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    PunchStart s = birthday_start();
    c.edit(s);
    EXPECT_EQ(decode_error(encoded(s)), DecodeError::kMalformedBody);
  }
  // Byte-level: strategy 3, direct-feasible 2, candidate count over the bound, address family 5.
  const Bytes good = encoded(birthday_start());
  const std::size_t flags_at = 32 + 8 + 32;
  for (auto [offset, value] : {std::pair<std::size_t, std::uint8_t>{flags_at, 2},
                               {flags_at + 1, 3},
                               {flags_at + 12, tunnel::kMaxRemoteCandidates + 1},
                               {flags_at + 21, 5}}) {
    Bytes body = body_of(good);
    body[offset] = value;
    EXPECT_EQ(decode_error(with_body(good, body)), DecodeError::kMalformedBody) << offset;
  }
}

TEST(TunnelMessages, EveryTruncationIsRejected) {
  for (const Body& body :
       {Body(birthday_start()), Body(TunnelConnect{key_of(1), {ep("198.51.100.1:1")}, 5}),
        Body(TunnelAnswer{key_of(1), 2, true, {ep("198.51.100.1:1")}, 5, ""}),
        Body(TunnelOffer{{key_of(3), true, ep("203.0.113.1:2"), key_of(4), {}}, 6}),
        Body(TunnelRefused{key_of(1), 2, "no"})}) {
    const Bytes full = encoded(body);
    const Bytes whole = body_of(full);
    for (std::size_t n = 0; n < whole.size(); ++n) {
      const Bytes cut(whole.begin(), whole.begin() + n);
      EXPECT_EQ(decode_error(with_body(full, cut)), DecodeError::kMalformedBody)
          << type_name(body) << " cut at " << n;
    }
  }
}

TEST(PunchPlanFields, ConversionKeepsEveryField) {
  tunnel::PunchPlan plan;
  plan.remote = key_of(9);
  plan.strategy = tunnel::PunchStrategy::kPortPrediction;
  plan.local_sockets = 4;
  plan.remote_candidates = {{ep("198.51.100.3:3000"), tunnel::CandidateKind::kHost},
                            {ep("203.0.113.3:3001"), tunnel::CandidateKind::kServerReflexive}};
  plan.prediction = {ep("203.0.113.3:3001"), -3, 2, 20};
  plan.start_after = std::chrono::microseconds(30'400);
  plan.deadline = std::chrono::seconds(8);
  const PunchPlanFields f = to_fields(plan);
  EXPECT_EQ(f.start_after_ms, 30u);  // rounded to the nearest millisecond
  EXPECT_EQ(f.deadline_ms, 8000u);
  const tunnel::PunchPlan back = from_fields(f, key_of(9));
  EXPECT_EQ(back.remote, plan.remote);
  EXPECT_EQ(back.strategy, plan.strategy);
  EXPECT_EQ(back.local_sockets, plan.local_sockets);
  ASSERT_EQ(back.remote_candidates.size(), 2u);
  EXPECT_EQ(back.remote_candidates[1].endpoint, plan.remote_candidates[1].endpoint);
  EXPECT_EQ(back.remote_candidates[1].kind, tunnel::CandidateKind::kServerReflexive);
  EXPECT_EQ(back.prediction.base, plan.prediction.base);
  EXPECT_EQ(back.prediction.delta, -3);
  EXPECT_EQ(back.prediction.before, 2);
  EXPECT_EQ(back.prediction.after, 20);
  EXPECT_EQ(back.start_after, std::chrono::milliseconds(30));
  EXPECT_EQ(back.deadline, std::chrono::seconds(8));
}

TEST(PunchPlanFields, OutOfBoundPlansAreClampedIntoWhatDecodes) {
  tunnel::PunchPlan plan;
  plan.strategy = tunnel::PunchStrategy::kBirthday;
  plan.local_sockets = 100000;
  plan.birthday = {IpAddress::parse("203.0.113.4").value(), 100000, 0, 0};
  plan.start_after = std::chrono::minutes(5);
  plan.deadline = std::chrono::minutes(10);
  plan.remote_candidates.assign(tunnel::kMaxRemoteCandidates + 10,
                                {ep("198.51.100.4:4"), tunnel::CandidateKind::kHost});
  PunchStart s{key_of(1), 1, {}, true, to_fields(plan), {}};
  EXPECT_EQ(s.plan.local_sockets, tunnel::kMaxLocalEndpoints);
  EXPECT_EQ(s.plan.remote_candidates.size(), tunnel::kMaxRemoteCandidates);
  EXPECT_EQ(s.plan.start_after_ms, kMaxStartAfterMs);
  EXPECT_EQ(s.plan.birthday_port_min, 1);
  EXPECT_EQ(s.plan.birthday_probes, 1);  // the range is one port
  EXPECT_EQ(decode_error(encoded(s)), DecodeError::kNone);
}

}  // namespace
}  // namespace qp2p::wire
