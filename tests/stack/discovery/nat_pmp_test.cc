// NAT-PMP (RFC 6886): the external address codec as byte vectors, and NAT discovery asking its
// gateway to count NAT levels (one NAT, a carrier NAT beyond the home NAT, a silent gateway, a
// lossy LAN, error answers, the deadline). The discovery runs against a real qp2p::Supernode
// behind NatTables in virtual time; the gateway is the codec's own gateway side.
#include "stack/discovery/nat_pmp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nat-models/nat_table.h"
#include "stack/discovery/nat_discovery.h"
#include "stack/supernode/supernode.h"

namespace qp2p {
namespace {

using nat_pmp::ResultCode;

Endpoint ep(std::string_view text) { return Endpoint::parse(text).value(); }
IpAddress ip(std::string_view text) { return IpAddress::parse(text).value(); }

// --- codec: byte vectors ------------------------------------------------------------------------

TEST(NatPmpCodec, ExternalAddressRequestIsVersionZeroOpcodeZero) {
  Bytes out{0xff};
  nat_pmp::append_external_address_request(out);
  EXPECT_EQ(out, (Bytes{0xff, 0x00, 0x00}));
}

TEST(NatPmpCodec, ParsesASuccessResponse) {
  const Bytes wire{0x00, 0x80, 0x00, 0x00, 0x00, 0x01, 0x51, 0x80, 198, 51, 100, 7};
  auto r = nat_pmp::parse_external_address_response(wire.data(), wire.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, 0);
  EXPECT_EQ(r->epoch_seconds, 86400u);
  EXPECT_EQ(r->external, ip("198.51.100.7"));
}

TEST(NatPmpCodec, ErrorResponsesMayBeEightBytesAndTheirAddressIsIgnored) {
  const Bytes short_error{0x00, 0x80, 0x00, 0x03, 0x00, 0x00, 0x00, 0x09};
  auto r = nat_pmp::parse_external_address_response(short_error.data(), short_error.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, 3);
  EXPECT_EQ(r->epoch_seconds, 9u);
  EXPECT_TRUE(r->external.is_unspecified());

  const Bytes long_error{0x00, 0x80, 0x00, 0x02, 0x00, 0x00, 0x00, 0x09, 198, 51, 100, 7};
  r = nat_pmp::parse_external_address_response(long_error.data(), long_error.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, 2);
  EXPECT_TRUE(r->external.is_unspecified());
}

TEST(NatPmpCodec, RejectsWhatIsNotAnExternalAddressResponse) {
  const Bytes good{0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 198, 51, 100, 7};
  ASSERT_TRUE(nat_pmp::parse_external_address_response(good.data(), good.size()));
  // Every truncation but the 8-byte error form, and anything longer.
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(nat_pmp::parse_external_address_response(good.data(), n)) << n;
  }
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(nat_pmp::parse_external_address_response(longer.data(), longer.size()));
  Bytes version = good;
  version[0] = 2;  // PCP (RFC 6887) version
  EXPECT_FALSE(nat_pmp::parse_external_address_response(version.data(), version.size()));
  for (std::uint8_t op : {0x00, 0x81, 0x82, 0xff}) {
    Bytes other = good;
    other[1] = op;
    EXPECT_FALSE(nat_pmp::parse_external_address_response(other.data(), other.size())) << +op;
  }
  EXPECT_FALSE(nat_pmp::parse_external_address_response(nullptr, 0));
}

TEST(NatPmpCodec, AppendsTheGatewaysResponses) {
  Bytes ok;
  nat_pmp::append_external_address_response(ok, ResultCode::kSuccess, 0x01020304,
                                            ip("203.0.113.9"));
  EXPECT_EQ(ok, (Bytes{0x00, 0x80, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 203, 0, 113, 9}));

  Bytes failure;
  nat_pmp::append_external_address_response(failure, ResultCode::kNetworkFailure, 7,
                                            ip("203.0.113.9"));
  EXPECT_EQ(failure, (Bytes{0x00, 0x80, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0, 0, 0, 0}));

  Bytes version;
  nat_pmp::append_unsupported_version_response(version, 0x00, 7);
  EXPECT_EQ(version, (Bytes{0x00, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07}));
}

TEST(NatPmpCodec, UnsupportedOpcodeEchoesTheRequestWithResultFive) {
  // A UDP mapping request (section 3.3): internal port 5000, suggested 5000, lifetime 3600 s.
  const Bytes map{0x00, 0x01, 0x00, 0x00, 0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x0e, 0x10};
  Bytes out;
  nat_pmp::append_unsupported_opcode_response(out, map.data(), map.size());
  EXPECT_EQ(out, (Bytes{0x00, 0x81, 0x00, 0x05, 0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x0e, 0x10}));

  const Bytes bare{0x00, 0x07};
  out.clear();
  nat_pmp::append_unsupported_opcode_response(out, bare.data(), bare.size());
  EXPECT_EQ(out, (Bytes{0x00, 0x87, 0x00, 0x05}));
}

TEST(NatPmpCodec, GatewayParsesRequestsAndIgnoresResponses) {
  const Bytes request{0x00, 0x00};
  auto r = nat_pmp::parse_request(request.data(), request.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, 0);
  EXPECT_EQ(r->opcode, 0);

  const Bytes v1{0x01, 0x00};
  r = nat_pmp::parse_request(v1.data(), v1.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, 1);

  const Bytes response{0x00, 0x80, 0x00, 0x00};
  EXPECT_FALSE(nat_pmp::parse_request(response.data(), response.size()));
  EXPECT_FALSE(nat_pmp::parse_request(request.data(), 1));
  const Bytes huge(nat_pmp::kMaxRequestSize + 1, 0);
  EXPECT_FALSE(nat_pmp::parse_request(huge.data(), huge.size()));
  const Bytes largest(nat_pmp::kMaxRequestSize, 0);
  EXPECT_TRUE(nat_pmp::parse_request(largest.data(), largest.size()));
}

TEST(NatPmpCodec, RoundTripsAndDescribesResultCodes) {
  Bytes wire;
  nat_pmp::append_external_address_response(wire, ResultCode::kSuccess, 42, ip("198.18.0.1"));
  auto r = nat_pmp::parse_external_address_response(wire.data(), wire.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->external, ip("198.18.0.1"));
  EXPECT_EQ(r->epoch_seconds, 42u);
  EXPECT_STREQ(nat_pmp::describe(0), "success");
  EXPECT_STREQ(nat_pmp::describe(5), "unsupported opcode");
  EXPECT_STREQ(nat_pmp::describe(99), "unknown result code");
}

// --- discovery asks its gateway -----------------------------------------------------------------

const IpAddress kHost = ip("192.0.2.10");
const IpAddress kPublic = ip("198.18.0.1");
const IpAddress kCarrierInside = ip("100.64.0.2");
const Endpoint kGateway = ep("192.0.2.1:5351");
const Endpoint kPrimary = ep("203.0.113.1:3478");
const Endpoint kAlternate = ep("198.51.100.1:3479");
constexpr Duration kOneWay = std::chrono::milliseconds(15);
constexpr Duration kLan = std::chrono::milliseconds(1);

// The home gateway: answers NAT-PMP (or not) the way sim/model/nat-gateway does.
struct GatewaySpec {
  bool speaks = true;
  IpAddress external = kPublic;  // its own outside address
  ResultCode result = ResultCode::kSuccess;
  int drop_first = 0;                   // requests lost on the LAN before one arrives
  std::optional<Endpoint> answer_from;  // a spoofed source instead of kGateway
  bool garbage = false;                 // answers with bytes that are not a response
};

struct Outcome {
  std::optional<NatProfile> profile;
  std::optional<std::string> failure;
  NatDiscoveryCounters counters;
  std::vector<Duration> gateway_requests;  // when each NAT-PMP request left, since start
  Duration elapsed{};
  std::string transcript;
};

bool has_note(const NatProfile& p, std::string_view text) {
  return std::any_of(p.notes.begin(), p.notes.end(),
                     [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

// A host behind `nats` (innermost first; empty = no NAT) and a supernode with two addresses.
// Hairpinned datagrams are dropped (no test here depends on hairpinning).
class Lab {
 public:
  Lab(std::vector<nat::NatBehaviour> nats, GatewaySpec gateway, NatDiscoveryConfig config)
      : gateway_(gateway),
        supernode_(server_config(), identity(), Random::from_u64(7)),
        discovery_(std::move(config), Random::from_u64(11)) {
    for (std::size_t i = 0; i < nats.size(); ++i) {
      const bool outermost = i + 1 == nats.size();
      nats_.emplace_back(nats[i], outermost ? kPublic : kCarrierInside, Random::from_u64(100 + i));
    }
  }

  static NatDiscoveryConfig config() {
    NatDiscoveryConfig c;
    c.primary_local = Endpoint{kHost, 40000};
    for (std::uint16_t i = 1; i <= 3; ++i) {
      c.extra_locals.push_back(Endpoint{kHost, static_cast<std::uint16_t>(40000 + 100 * i)});
    }
    c.server = kPrimary;
    c.gateway = kGateway;
    return c;
  }

  Outcome run() {
    t0_ = now_ = instant_from_us(1'000'000);
    discovery_.start(now_);
    drain();
    while (!out_.profile && !out_.failure && now_ - t0_ < std::chrono::seconds(60)) {
      Instant next = std::min(discovery_.poll_timeout(), supernode_.poll_timeout());
      if (!queue_.empty()) next = std::min(next, queue_.begin()->first.first);
      if (next == kNever) break;
      now_ = std::max(now_, next);
      while (!queue_.empty() && queue_.begin()->first.first <= now_) {
        auto [to_host, d] = std::move(queue_.begin()->second);
        queue_.erase(queue_.begin());
        if (to_host) {
          discovery_.handle_datagram(now_, d.local, d.remote, d.payload.data(), d.payload.size());
        } else {
          supernode_.handle_datagram(now_, d.local, d.remote, d.payload.data(), d.payload.size());
        }
        drain();
      }
      if (discovery_.poll_timeout() <= now_) discovery_.handle_timeout(now_);
      if (supernode_.poll_timeout() <= now_) supernode_.handle_timeout(now_);
      drain();
    }
    out_.counters = discovery_.counters();
    out_.elapsed = now_ - t0_;
    for (const auto& line : discovery_.transcript()) out_.transcript += "  " + line + "\n";
    return out_;
  }

 private:
  static SupernodeConfig server_config() {
    SupernodeConfig c;
    c.primary = kPrimary;
    c.alternate = kAlternate;
    return c;
  }
  static Identity identity() {
    Random r = Random::from_u64(0x5e);
    return Identity::generate(r);
  }

  void deliver(Duration delay, bool to_host, Datagram d) {
    queue_.emplace(std::make_pair(now_ + delay, seq_++), std::make_pair(to_host, std::move(d)));
  }

  void drain() {
    while (auto d = discovery_.poll_transmit()) from_host(std::move(*d));
    while (auto d = supernode_.poll_transmit()) from_server(std::move(*d));
    while (auto e = discovery_.poll_event()) {
      if (auto* c = std::get_if<nat_discovery_event::Completed>(&*e)) out_.profile = c->profile;
      if (auto* f = std::get_if<nat_discovery_event::Failed>(&*e)) out_.failure = f->reason;
    }
  }

  void from_host(Datagram d) {
    if (d.remote == kGateway) return to_gateway(std::move(d));
    Endpoint src = d.local;
    for (auto& table : nats_) {
      if (table.is_public(d.remote.address)) return;  // hairpin: not modelled here
      auto out = table.translate_outbound(now_, src, d.remote);
      if (!out) return;
      src = *out;
    }
    if (d.remote == kPrimary || d.remote == kAlternate || d.remote.address == kPrimary.address ||
        d.remote.address == kAlternate.address) {
      deliver(kOneWay, false, Datagram{d.remote, src, std::move(d.payload)});
    }
  }

  void to_gateway(Datagram d) {
    out_.gateway_requests.push_back(now_ - t0_);
    if (!gateway_.speaks || gateway_.drop_first-- > 0) return;
    auto request = nat_pmp::parse_request(d.payload.data(), d.payload.size());
    ASSERT_TRUE(request);
    ASSERT_EQ(request->opcode, nat_pmp::kOpExternalAddress);
    Bytes answer;
    if (gateway_.garbage) {
      answer = {0x00, 0x80, 0x00};
    } else {
      nat_pmp::append_external_address_response(answer, gateway_.result, 1234, gateway_.external);
    }
    deliver(kLan, true, Datagram{d.local, gateway_.answer_from.value_or(kGateway), answer});
  }

  void from_server(Datagram d) {
    Endpoint to = d.remote, from = d.local;
    for (std::size_t i = nats_.size(); i-- > 0;) {
      auto v = nats_[i].translate_inbound(now_, to, from);
      if (!v.forwarded()) return;
      to = v.inner;
      from = v.source;
    }
    deliver(kOneWay, true, Datagram{to, from, std::move(d.payload)});
  }

  GatewaySpec gateway_;
  Supernode supernode_;
  NatDiscovery discovery_;
  std::vector<nat::NatTable> nats_;
  Instant t0_{}, now_{};
  std::uint64_t seq_ = 0;
  std::map<std::pair<Instant, std::uint64_t>, std::pair<bool, Datagram>> queue_;
  Outcome out_;
};

std::vector<nat::NatBehaviour> home() { return {nat::preset("port-restricted-cone").value()}; }
std::vector<nat::NatBehaviour> cgnat() {
  const auto chain = nat::chain_preset("cgnat").value();
  return {chain.home, chain.carrier};
}

Outcome run(std::vector<nat::NatBehaviour> nats, GatewaySpec gateway,
            NatDiscoveryConfig config = Lab::config()) {
  return Lab(std::move(nats), gateway, std::move(config)).run();
}

TEST(NatDiscoveryNatPmp, GatewayReportingTheMappedAddressMeansOneNat) {
  Outcome r = run(home(), GatewaySpec{});
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 1) << r.transcript;
  EXPECT_EQ(r.profile->mapped.address, kPublic);
  EXPECT_FALSE(has_note(*r.profile, "levels:")) << r.transcript;
  EXPECT_EQ(r.counters.gateway_requests_sent, 1u);
  EXPECT_EQ(r.counters.gateway_responses, 1u);
  EXPECT_TRUE(r.profile->complete);
}

TEST(NatDiscoveryNatPmp, HomeGatewayBehindACarrierNatMeansTwoLevels) {
  GatewaySpec gateway;
  gateway.external = kCarrierInside;  // the home NAT's outside, on the carrier's inside
  Outcome r = run(cgnat(), gateway);
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 2) << r.transcript;
  EXPECT_TRUE(has_note(*r.profile, "two NATs or more")) << r.transcript;
  EXPECT_TRUE(has_note(*r.profile, "RFC 6598")) << r.transcript;
  // The rest of the profile is the composite STUN sees, unchanged by the question.
  EXPECT_EQ(r.profile->mapping, NatProfile::Behaviour::kEndpointIndependent);
  EXPECT_EQ(r.profile->filtering, NatProfile::Behaviour::kAddressAndPortDependent);
}

TEST(NatDiscoveryNatPmp, SilentGatewayLeavesOneLevelWithANoteAfterFiveTries) {
  GatewaySpec gateway;
  gateway.speaks = false;
  Outcome r = run(cgnat(), gateway);
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 1);
  EXPECT_TRUE(
      has_note(*r.profile, "gateway does not speak NAT-PMP; a second NAT level would not be seen"))
      << r.transcript;
  EXPECT_EQ(r.counters.gateway_requests_sent, 5u);
  // RFC 6886 section 3.1: 250 ms, doubling, after test I (one round trip to the supernode).
  ASSERT_EQ(r.gateway_requests.size(), 5u);
  const Duration first = r.gateway_requests[0];
  const std::vector<int> expected_ms{0, 250, 750, 1750, 3750};
  for (std::size_t i = 0; i < expected_ms.size(); ++i) {
    EXPECT_EQ(to_ms(r.gateway_requests[i] - first), expected_ms[i]) << i;
  }
  // Given up 4 s after the fifth: the run ends then, not at the 20 s deadline.
  EXPECT_EQ(to_ms(r.elapsed - first), 7750) << r.transcript;
}

TEST(NatDiscoveryNatPmp, LostRequestsAreRetransmitted) {
  GatewaySpec gateway;
  gateway.external = kCarrierInside;
  gateway.drop_first = 3;
  Outcome r = run(cgnat(), gateway);
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 2) << r.transcript;
  EXPECT_EQ(r.counters.gateway_requests_sent, 4u);
}

TEST(NatDiscoveryNatPmp, ErrorResultIsNotedAndLeavesOneLevel) {
  GatewaySpec gateway;
  gateway.result = ResultCode::kNotAuthorized;
  Outcome r = run(cgnat(), gateway);
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 1);
  EXPECT_TRUE(has_note(*r.profile, "result code 2 (not authorized/refused)")) << r.transcript;
  EXPECT_EQ(r.counters.gateway_requests_sent, 1u);
}

TEST(NatDiscoveryNatPmp, AnswersFromElsewhereOrMalformedAreDropped) {
  GatewaySpec spoofed;
  spoofed.external = kCarrierInside;
  spoofed.answer_from = ep("192.0.2.99:5351");
  Outcome r = run(cgnat(), spoofed);
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 1);
  EXPECT_TRUE(has_note(*r.profile, "does not speak NAT-PMP"));
  EXPECT_GE(r.counters.dropped_malformed, 5u);  // not STUN either

  GatewaySpec garbage;
  garbage.garbage = true;
  r = run(cgnat(), garbage);
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 1);
  EXPECT_EQ(r.counters.dropped_malformed, 5u);
  EXPECT_EQ(r.counters.gateway_responses, 0u);
}

TEST(NatDiscoveryNatPmp, NoNatNoQuestion) {
  Outcome r = run({}, GatewaySpec{});
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 0);
  EXPECT_EQ(r.counters.gateway_requests_sent, 0u);
}

TEST(NatDiscoveryNatPmp, AKnownExternalAddressReplacesTheQuestion) {
  NatDiscoveryConfig config = Lab::config();
  config.gateway_external = kCarrierInside;
  Outcome r = run(cgnat(), GatewaySpec{}, config);
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(r.profile->nat_levels, 2);
  EXPECT_EQ(r.counters.gateway_requests_sent, 0u);
}

TEST(NatDiscoveryNatPmp, TheDeadlineBoundsTheQuestion) {
  NatDiscoveryConfig config = Lab::config();
  config.deadline = std::chrono::seconds(2);
  GatewaySpec gateway;
  gateway.speaks = false;
  Outcome r = run(cgnat(), gateway, config);
  ASSERT_TRUE(r.profile) << r.transcript;
  EXPECT_EQ(to_ms(r.elapsed), 2000);
  EXPECT_EQ(r.counters.gateway_requests_sent, 4u);  // at +0, 0.25, 0.75 and 1.75 s
  EXPECT_EQ(r.profile->nat_levels, 1);
  EXPECT_TRUE(has_note(*r.profile, "does not speak NAT-PMP")) << r.transcript;
}

TEST(NatDiscoveryNatPmp, AGatewayThatIsNotAnIpv4EndpointIsAConfigError) {
  NatDiscoveryConfig config = Lab::config();
  config.gateway = ep("192.0.2.1:0");
  Outcome r = run(home(), GatewaySpec{}, config);
  ASSERT_TRUE(r.failure);
  EXPECT_NE(r.failure->find("gateway"), std::string::npos);
}

}  // namespace
}  // namespace qp2p
