// GET /v1/stats and /metrics after real traffic: two peers with published NAT profiles log in
// and negotiate a tunnel (accepted, planned with port prediction, reported direct by its caller),
// a third refuses one, junk is dropped; the stats count logins, handshakes by NAT pair, the
// planned path and the reported outcome with its setup time, and /metrics carries the same
// numbers (outcome counters and a setup-time histogram), drops by reason, and the runtime's own
// families.
#include <algorithm>
#include <sstream>

#include "stack/discovery/nat_profile.h"
#include "tests/stack/management/api_scenario.h"

namespace qp2p::management {
namespace {

using scenario::endpoint;
using scenario::peer_config;
using std::chrono::seconds;
namespace ev = peer_event;

NatProfile profile(NatProfile::Behaviour mapping, NatProfile::Allocation allocation) {
  NatProfile p;
  p.mapping = mapping;
  p.filtering = NatProfile::Behaviour::kAddressAndPortDependent;
  p.allocation = allocation;
  if (allocation == NatProfile::Allocation::kSequential) p.sequential_delta = 1;
  p.nat_levels = 1;
  return p;
}

struct IndexApiStats : ::testing::Test {
  ApiScenario s{707};
  NatProfile cone = profile(NatProfile::Behaviour::kEndpointIndependent,
                            NatProfile::Allocation::kPreserving);
  NatProfile symmetric = profile(NatProfile::Behaviour::kAddressAndPortDependent,
                                 NatProfile::Allocation::kSequential);
  PeerSession& alice =
      s.sc.add_peer("alice", peer_config("203.0.113.10:40000", {s.config.primary}, cone.to_meta()));
  PeerSession& bob = s.sc.add_peer(
      "bob", peer_config("203.0.113.20:41000", {s.config.primary}, symmetric.to_meta()));
  PeerSession& carol = s.sc.add_peer("carol", peer_config("198.51.100.30:42000", {s.config.primary}));

  void SetUp() override {
    for (PeerSession* p : {&alice, &bob, &carol}) p->start(s.sc.net.now());
    ASSERT_TRUE(s.sc.net.run_until(
        [&] {
          return s.sc.count<ev::Published>(alice) == 1 && s.sc.count<ev::Published>(bob) == 1 &&
                 carol.registered();
        },
        seconds(5)));
    alice.connect(s.sc.net.now(), bob.id());
    ASSERT_TRUE(s.sc.wait_for<ev::TunnelRequested>(bob, seconds(2)));
    bob.accept(s.sc.net.now(), alice.id());
    ASSERT_TRUE(s.sc.wait_for<ev::PunchStarted>(alice, seconds(2)));
    carol.connect(s.sc.net.now(), alice.id());
    ASSERT_TRUE(s.sc.wait_for<ev::TunnelRequested>(alice, seconds(2)));
    alice.refuse(s.sc.net.now(), carol.id(), "busy");
    ASSERT_TRUE(s.sc.wait_for<ev::TunnelRefused>(carol, seconds(2)));
    // Junk from a stranger: an unknown protocol and a malformed control message.
    const std::uint8_t junk[] = {0xEE, 1, 2, 3};
    const std::uint8_t bad_control[] = {0x51, 9, 9};
    s.node.handle_datagram(s.sc.net.now(), s.config.primary, endpoint("198.51.100.99:5000"),
                           junk, sizeof junk);
    s.node.handle_datagram(s.sc.net.now(), s.config.primary, endpoint("198.51.100.99:5000"),
                           bad_control, sizeof bad_control);
  }
};

TEST_F(IndexApiStats, CountsLoginsHandshakesAndPlansByNatPair) {
  // Alice's tunnel to Bob comes up and she reports it (docs/protocol.md section 8.9).
  auto up = s.sc.wait_for<ev::TunnelEstablished>(alice, seconds(5));
  ASSERT_TRUE(up);
  ASSERT_TRUE(s.sc.net.run_until([&] { return s.node.handshake_counters().outcomes > 0; },
                                 seconds(2)));
  auto stats = s.get("/v1/stats");
  ASSERT_FALSE(stats.is_discarded());
  EXPECT_EQ(stats["peers_online"], 3);
  EXPECT_EQ(stats["logins"]["accepted"], 3);
  EXPECT_EQ(stats["index"]["publishes"], 2);
  EXPECT_EQ(stats["handshakes"]["offers"], 2);
  EXPECT_EQ(stats["handshakes"]["accepted"], 1);
  EXPECT_EQ(stats["handshakes"]["refused"], 1);
  EXPECT_EQ(stats["tunnels"]["planned_direct"], 1);
  EXPECT_EQ(stats["tunnels"]["planned_relay"], 0);
  EXPECT_EQ(stats["tunnels"]["reported"]["direct"], 1);
  EXPECT_EQ(stats["tunnels"]["reported"]["relay"], 0);
  EXPECT_EQ(stats["handshakes"]["outcome_reports"]["counted"], 1);

  const auto& pairs = stats["traversal"]["by_nat_pair"];
  ASSERT_EQ(pairs.size(), 2u) << pairs.dump();
  // Sorted pairs: ("APDM/APDF", "EIM/APDF") for alice-bob, ("EIM/APDF", "unknown") for carol.
  EXPECT_EQ(pairs[0]["nat"], nlohmann::json::array({"APDM/APDF", "EIM/APDF"}));
  EXPECT_EQ(pairs[0]["offers"], 1);
  EXPECT_EQ(pairs[0]["accepted"], 1);
  EXPECT_EQ(pairs[0]["planned"]["port_prediction"], 1);
  EXPECT_EQ(pairs[0]["planned"]["simultaneous_open"], 0);
  const auto& outcome = pairs[0]["outcomes"];
  EXPECT_EQ(outcome["reported"], 1);
  EXPECT_EQ(outcome["direct"], 1);
  EXPECT_EQ(outcome["failed"], 0);
  EXPECT_EQ(outcome["setup"]["tunnels"], 1);
  // One sample: its percentiles lie in the bucket holding its setup time.
  const auto setup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(up->setup).count();
  const auto* bound = std::lower_bound(SetupHistogram::kBoundsMs.begin(),
                                       SetupHistogram::kBoundsMs.end(),
                                       static_cast<std::uint32_t>(setup_ms));
  EXPECT_LE(outcome["setup"]["setup_ms_p50"].get<std::int64_t>(), *bound);
  EXPECT_GE(outcome["setup"]["setup_ms_p95"].get<std::int64_t>(),
            outcome["setup"]["setup_ms_p50"].get<std::int64_t>());
  EXPECT_TRUE(outcome["setup_relay"]["setup_ms_p50"].is_null()) << "no relayed tunnel";
  EXPECT_TRUE(pairs[1]["outcomes"]["setup"]["setup_ms_p50"].is_null());
  EXPECT_EQ(pairs[1]["outcomes"]["reported"], 0);
  EXPECT_EQ(pairs[1]["nat"], nlohmann::json::array({"EIM/APDF", "unknown"}));
  EXPECT_EQ(pairs[1]["offers"], 1);
  EXPECT_EQ(pairs[1]["refused"], 1);
  EXPECT_EQ(pairs[1]["accepted"], 0);

  auto alice_json = s.get("/v1/peers/" + alice.id().to_string());
  EXPECT_EQ(alice_json["nat"]["class"], "EIM/APDF");
  EXPECT_EQ(alice_json["nat"]["allocation"], "preserving");
  EXPECT_EQ(s.get("/v1/peers/" + bob.id().to_string())["nat"]["delta"], 1);
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

TEST_F(IndexApiStats, WithoutFederationEveryViewIsTheLocalOneAndUnknownViewsAre400) {
  auto plain = s.get("/v1/stats");
  auto local = s.get("/v1/stats?view=local");
  auto network = s.get("/v1/stats?view=network");  // a lone supernode is the whole network
  for (auto* body : {&plain, &local, &network}) {
    EXPECT_EQ((*body)["view"], "local");
    EXPECT_FALSE(body->contains("supernodes"));
    body->erase("snapshot_age_ms");
  }
  EXPECT_EQ(local, plain);
  EXPECT_EQ(network, plain);
  auto bad = s.get("/v1/stats?view=global", 400);
  EXPECT_EQ(bad["error"], "bad_request");
  EXPECT_EQ(bad["reason"], "view must be 'local' or 'network', got 'global'");
  EXPECT_EQ(s.get("/v1/stats?verbose=1", 400)["reason"], "unknown query parameter 'verbose'");
  // No stats-report families without federation.
  EXPECT_EQ(s.request("GET", "/metrics").body.find("qp2p_stats_reports"), std::string::npos);
}

TEST_F(IndexApiStats, MetricsCarryTheCountersDropsByReasonAndRuntimeFamilies) {
  ApiRequest r;
  r.method = "GET";
  r.target = "/metrics";
  r.authorization = std::string("Bearer ") + kTestToken;
  ApiContext context{s.sc.net.now(), s.started, [](MetricsText& m) {
                       m.family("qp2p_udp_datagrams_total", MetricsText::Type::kCounter, "x");
                       m.sample(42, {{"direction", "in"}});
                     }, {}, {}};
  ApiResponse metrics = s.api.handle(r, s.node, context);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = metrics.body;
  EXPECT_TRUE(has_line(t, "# TYPE qp2p_logins_total counter")) << t;
  EXPECT_TRUE(has_line(t, "qp2p_logins_total 3"));
  EXPECT_TRUE(has_line(t, "qp2p_peers_online 3"));
  EXPECT_TRUE(has_line(t, "qp2p_dropped_total{reason=\"unknown_protocol\"} 1"));
  EXPECT_TRUE(has_line(t, "qp2p_dropped_total{reason=\"control_malformed\"} 1"));
  EXPECT_TRUE(has_line(t, "qp2p_handshakes_total{event=\"accepted\"} 1"));
  EXPECT_TRUE(has_line(
      t, "qp2p_handshake_nat_pair_total{nat_a=\"APDM/APDF\",nat_b=\"EIM/APDF\",event="
         "\"planned_port_prediction\"} 1"));
  EXPECT_TRUE(has_line(t, "qp2p_turn_errors_total{code=\"508\"} 0"));
  // Tunnel outcomes by path and NAT pair, and the setup-time histogram (section 8.9).
  ASSERT_TRUE(s.sc.wait_for<ev::TunnelEstablished>(alice, seconds(5)));
  ASSERT_TRUE(s.sc.net.run_until([&] { return s.node.handshake_counters().outcomes > 0; },
                                 seconds(2)));
  const std::string after = s.api.handle(r, s.node, context).body;
  const std::string pair = "pair=\"APDM/APDF|EIM/APDF\"";
  EXPECT_TRUE(has_line(after, "# TYPE qp2p_tunnel_outcomes_total counter"));
  EXPECT_TRUE(has_line(after, "qp2p_tunnel_outcomes_total{path=\"direct\"," + pair + "} 1"))
      << after;
  EXPECT_TRUE(has_line(after, "qp2p_tunnel_outcomes_total{path=\"failed\"," + pair + "} 0"));
  EXPECT_TRUE(has_line(after, "# TYPE qp2p_tunnel_setup_seconds histogram"));
  EXPECT_TRUE(has_line(after, "qp2p_tunnel_setup_seconds_bucket{path=\"direct\"," + pair +
                                  ",le=\"+Inf\"} 1"));
  EXPECT_TRUE(has_line(after, "qp2p_tunnel_setup_seconds_count{path=\"direct\"," + pair + "} 1"));
  EXPECT_TRUE(has_line(after, "qp2p_tunnel_setup_seconds_bucket{path=\"relay\"," + pair +
                                  ",le=\"120\"} 0"));
  EXPECT_TRUE(has_line(t, "qp2p_udp_datagrams_total{direction=\"in\"} 42"));
  // Every sample line belongs to a family announced just before.
  std::istringstream in(t);
  std::string family;
  std::size_t samples = 0;
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("# TYPE ", 0) == 0) family = l.substr(7, l.find(' ', 7) - 7);
    if (l.empty() || l[0] == '#') continue;
    ++samples;
    EXPECT_EQ(l.compare(0, family.size(), family), 0) << l;
  }
  EXPECT_GT(samples, 50u);
}

}  // namespace
}  // namespace qp2p::management
