// The management API of a real qp2p-supernode (--api 127.0.0.1:0) queried with curl while three
// real qp2p-peer processes are logged in: every endpoint answers with the token and 401 without
// it (or with a wrong one); /v1/peers pages with limit and cursor and filters by metadata; one
// peer by id, 404 for an unknown one, 400 for malformed ids, parameters and HTTP; 405 for POST;
// a tunnel between two of the peers shows up in /v1/stats as a direct outcome with its setup
// time; /metrics, with the outcome counters and the setup-time histogram filled, passes
// `promtool check metrics` (Debian's prometheus package) when it is installed.
#include <set>
#include <thread>

#include "tests/apps/management_api_client.h"

namespace qp2p::test {
namespace {

std::string bearer(const std::string& token) { return "Bearer " + token; }

struct ManagementApiCurl : ::testing::Test {
  ApiSupernode api;
  TempDir keys{"qp2p-api-peers"};
  std::vector<std::unique_ptr<PeerProcess>> peers;

  void SetUp() override {
    ASSERT_TRUE(api.start()) << api.supernode().failure()
                             << api.supernode().process().transcript();
    const char* roles[] = {"camera-front", "camera-back", "sensor"};
    for (int i = 0; i < 3; ++i) {
      const std::string name = "p" + std::to_string(i);
      peers.push_back(std::make_unique<PeerProcess>(
          name, api.supernode().primary(), keys.file(name + ".key"),
          std::vector<std::string>{"--bind", "127.0.0.1:0", "--meta", std::string("role=") + roles[i],
                                   "--meta", "name=" + name}));
      ASSERT_TRUE(peers.back()->await_registered()) << peers.back()->transcript();
      ASSERT_TRUE(peers.back()->expect("published")) << peers.back()->transcript();
    }
  }

  // p0 asks p1 for a tunnel, p1 accepts; returns once the supernode has p0's report of it
  // (docs/protocol.md section 8.9) in /v1/stats, with the stats then.
  nlohmann::json open_tunnel() {
    EXPECT_TRUE(peers[0]->command("connect " + peers[1]->id()));
    EXPECT_TRUE(peers[1]->expect("tunnel-request")) << peers[1]->transcript();
    EXPECT_TRUE(peers[1]->command("accept " + peers[0]->id()));
    auto up = peers[0]->expect("tunnel", nullptr, std::chrono::seconds(10));
    EXPECT_TRUE(up) << peers[0]->transcript();
    nlohmann::json stats;
    for (int i = 0; i < 40; ++i) {  // 2 s at most
      stats = api.get("/v1/stats").json();
      if (stats["tunnels"]["reported"]["direct"] == 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return stats;
  }
};

TEST_F(ManagementApiCurl, EveryEndpointAnswersWithTheTokenAndRefusesWithout) {
  for (const char* path : {"/v1/peers", "/v1/supernodes", "/v1/stats", "/metrics", "/healthz"}) {
    HttpReply ok = api.get(path);
    EXPECT_EQ(ok.status, 200) << path << ": " << ok.headers << ok.body;
    HttpReply none = api.get(path, "");
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_NE(none.headers.find("WWW-Authenticate: Bearer"), std::string::npos) << none.headers;
    EXPECT_EQ(none.json()["error"], "unauthorized");
    EXPECT_EQ(api.get(path, bearer("loopback-test-token-7f3a9c2X")).status, 401) << path;
  }
  auto health = api.get("/healthz").json();
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["peers_online"], 3);
  auto sn = api.get("/v1/supernodes").json();
  ASSERT_EQ(sn["supernodes"].size(), 1u);
  EXPECT_EQ(sn["supernodes"][0]["control"], api.supernode().primary().to_string());
  EXPECT_EQ(sn["supernodes"][0]["load"]["peers_online"], 3);
  auto stats = api.get("/v1/stats").json();
  EXPECT_EQ(stats["logins"]["accepted"], 3);
  EXPECT_EQ(stats["index"]["publishes"], 3);
}

TEST_F(ManagementApiCurl, PeersPageAndFilter) {
  auto all = api.get("/v1/peers").json();
  ASSERT_EQ(all["total"], 3) << all.dump();
  std::set<std::string> expected;
  for (const auto& p : peers) expected.insert(p->id());
  for (const auto& p : all["peers"]) {
    EXPECT_EQ(expected.count(p["id"].get<std::string>()), 1u);
    EXPECT_EQ(p["supernode"], api.get("/healthz").json()["supernode"]);
    EXPECT_FALSE(p["public_address"].get<std::string>().empty());
  }

  std::set<std::string> paged;
  std::string path = "/v1/peers?limit=1";
  int pages = 0;
  for (; pages < 6; ++pages) {  // three pages expected; bounded
    auto page = api.get(path).json();
    ASSERT_EQ(page["peers"].size(), 1u) << page.dump();
    paged.insert(page["peers"][0]["id"].get<std::string>());
    if (page["next_cursor"].is_null()) break;
    path = "/v1/peers?limit=1&cursor=" + page["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(paged, expected);

  EXPECT_EQ(api.get("/v1/peers?meta.role=camera*").json()["total"], 2);
  auto sensor = api.get("/v1/peers?meta.role=sensor").json();
  ASSERT_EQ(sensor["total"], 1);
  EXPECT_EQ(sensor["peers"][0]["metadata"]["name"], "p2");
  EXPECT_EQ(api.get("/v1/peers?meta.role=camera*&meta.name=p1").json()["total"], 1);
  EXPECT_EQ(api.get("/v1/peers?online=false").json()["total"], 0);
}

TEST_F(ManagementApiCurl, OnePeerUnknownPeerAndMalformedRequests) {
  auto one = api.get("/v1/peers/" + peers[1]->id());
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.json()["metadata"]["name"], "p1");
  EXPECT_EQ(api.get("/v1/peers/" + std::string(52, 'a')).status, 404);

  struct Case { std::string path; int status; };
  const Case cases[] = {{"/v1/peers/xyz", 400},         {"/v1/peers?limit=0", 400},
                        {"/v1/peers?limit=5000", 400},  {"/v1/peers?cursor=zz", 400},
                        {"/v1/peers?sort=id", 400},     {"/v1/peers?meta.role=%G0", 400},
                        {"/v1/nothing", 404},           {"/", 404}};
  for (const Case& c : cases) {
    HttpReply r = api.get(c.path);
    EXPECT_EQ(r.status, c.status) << c.path << ": " << r.body;
    EXPECT_FALSE(r.json()["reason"].get<std::string>().empty()) << c.path;
  }
  HttpReply post = api.get("/v1/peers", bearer(kApiToken), {"-X", "POST"});
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.headers.find("Allow: GET"), std::string::npos);
  // Not HTTP the API takes: a body, an oversized header, a target not starting with '/'.
  EXPECT_EQ(api.get("/healthz", bearer(kApiToken), {"--data", "x=1", "-X", "GET"}).status, 400);
  EXPECT_EQ(api.get("/healthz", bearer(kApiToken), {"-H", "X-Big: " + std::string(9000, 'b')})
                .status,
            400);
  EXPECT_EQ(api.get("/healthz", bearer(kApiToken), {"--request-target", "healthz"}).status, 400);
  // The supernode is still serving.
  EXPECT_EQ(api.get("/healthz").status, 200);
}

TEST_F(ManagementApiCurl, StatsShowTheTunnelOutcomeByNatPair) {
  auto stats = open_tunnel();
  EXPECT_EQ(stats["tunnels"]["reported"]["direct"], 1) << stats.dump();
  EXPECT_EQ(stats["tunnels"]["reported"]["failed"], 0);
  EXPECT_EQ(stats["handshakes"]["outcome_reports"]["counted"], 1);
  // Peers on loopback publish no NAT profile: the pair is ("unknown", "unknown").
  const auto& pairs = stats["traversal"]["by_nat_pair"];
  ASSERT_EQ(pairs.size(), 1u) << pairs.dump();
  EXPECT_EQ(pairs[0]["nat"], nlohmann::json::array({"unknown", "unknown"}));
  const auto& outcomes = pairs[0]["outcomes"];
  EXPECT_EQ(outcomes["direct"], 1);
  EXPECT_EQ(outcomes["relay"], 0);
  EXPECT_EQ(outcomes["setup"]["tunnels"], 1);
  // Setup on loopback (the test's own accept included) is well under a second; p95 >= p50.
  EXPECT_GT(outcomes["setup"]["setup_ms_p50"].get<double>(), 0.0) << outcomes.dump();
  EXPECT_LE(outcomes["setup"]["setup_ms_p50"].get<double>(), 1000.0) << outcomes.dump();
  EXPECT_GE(outcomes["setup"]["setup_ms_p95"].get<double>(),
            outcomes["setup"]["setup_ms_p50"].get<double>());
  HttpReply metrics = api.get("/metrics");
  EXPECT_NE(metrics.body.find("qp2p_tunnel_outcomes_total{path=\"direct\",pair=\"unknown|unknown\"} 1"),
            std::string::npos)
      << metrics.body;
}

TEST_F(ManagementApiCurl, PromtoolAcceptsTheMetrics) {
  open_tunnel();  // so the outcome counters and the setup histogram have samples
  HttpReply metrics = api.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.headers.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.body.find("qp2p_logins_total 3"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("qp2p_udp_datagrams_total{direction=\"in\"}"), std::string::npos);
  auto findings = promtool_findings(metrics.body);
  if (!findings) GTEST_SKIP() << "promtool not installed (Debian package 'prometheus'): skipped";
  EXPECT_EQ(*findings, "");
}

}  // namespace
}  // namespace qp2p::test
