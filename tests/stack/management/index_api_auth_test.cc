// The management API's front door: every endpoint needs the bearer token (401 with a
// WWW-Authenticate challenge otherwise, RFC 6750 section 3), only GET is allowed (405 with
// Allow), unknown paths are 404, a body or a bad target is 400; every error is JSON with a
// reason, and each answer is counted by status.
#include "tests/stack/management/api_scenario.h"

namespace qp2p::management {
namespace {

std::string header(const ApiResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

TEST(IndexApiAuth, EveryEndpointNeedsTheToken) {
  ApiScenario s(1);
  for (const char* target : {"/v1/peers", "/v1/supernodes", "/v1/stats", "/metrics", "/healthz",
                             "/v1/peers/x", "/nowhere"}) {
    ApiResponse missing = s.request("GET", target, "");
    EXPECT_EQ(missing.status, 401) << target;
    EXPECT_EQ(header(missing, "WWW-Authenticate"), "Bearer realm=\"qp2p-supernode\"");
    auto body = nlohmann::json::parse(missing.body);
    EXPECT_EQ(body["error"], "unauthorized");
    EXPECT_FALSE(body["reason"].get<std::string>().empty());

    ApiResponse wrong = s.request("GET", target, "Bearer test-token-0123456789abcdeX");
    EXPECT_EQ(wrong.status, 401) << target;
    EXPECT_NE(header(wrong, "WWW-Authenticate").find("invalid_token"), std::string::npos);
    EXPECT_EQ(s.request("GET", target, "Basic dXNlcjpwYXNz").status, 401);
    EXPECT_EQ(s.request("GET", target, "Bearer").status, 401);
    EXPECT_EQ(s.request("GET", target, std::string("Bearer ") + kTestToken + "x").status, 401);
  }
  EXPECT_EQ(s.api.counters().unauthorized, 7u * 5u);
  EXPECT_EQ(s.api.counters().ok, 0u);
}

TEST(IndexApiAuth, SchemeIsCaseInsensitiveAndBlanksAreTrimmed) {
  ApiScenario s(2);
  EXPECT_EQ(s.request("GET", "/healthz", std::string("bearer ") + kTestToken).status, 200);
  EXPECT_EQ(s.request("GET", "/healthz", std::string("BEARER   ") + kTestToken + " ").status, 200);
}

TEST(IndexApiAuth, MethodsPathsAndBodies) {
  ApiScenario s(3);
  ApiResponse post = s.request("POST", "/v1/peers");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(header(post, "Allow"), "GET");
  EXPECT_EQ(nlohmann::json::parse(post.body)["error"], "method_not_allowed");
  EXPECT_EQ(s.request("DELETE", "/v1/peers/abc").status, 405);

  auto unknown = s.get("/v2/peers", 404);
  EXPECT_EQ(unknown["error"], "not_found");
  EXPECT_NE(unknown["reason"].get<std::string>().find("/v2/peers"), std::string::npos);
  s.get("/", 404);

  ApiRequest with_body;
  with_body.method = "GET";
  with_body.target = "/healthz";
  with_body.authorization = std::string("Bearer ") + kTestToken;
  with_body.has_body = true;
  const ApiContext context{s.sc.net.now(), s.started, {}, {}, {}};
  EXPECT_EQ(s.api.handle(with_body, s.node, context).status, 400);

  s.get("/v1/peers%00", 400);
  EXPECT_EQ(s.api.counters().method_not_allowed, 2u);
  EXPECT_EQ(s.api.counters().not_found, 2u);
  EXPECT_EQ(s.api.counters().bad_request, 2u);
}

TEST(IndexApiAuth, HealthzAndSupernodesAnswerFromThisSupernode) {
  ApiScenario s(4);
  ASSERT_TRUE(s.sc.run_for(std::chrono::seconds(7)));
  auto health = s.get("/healthz");
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["uptime_seconds"], 7);
  EXPECT_EQ(health["supernode"], s.node.identity().id().to_string());

  auto sn = s.get("/v1/supernodes");
  ASSERT_EQ(sn["supernodes"].size(), 1u);
  const auto& self = sn["supernodes"][0];
  EXPECT_EQ(self["id"], s.node.identity().id().to_string());
  EXPECT_EQ(self["self"], true);
  EXPECT_EQ(self["state"], "serving");
  EXPECT_EQ(self["control"], "192.0.2.1:3478");
  EXPECT_EQ(self["stun"].size(), 2u);
  EXPECT_EQ(self["relay"], false);
  EXPECT_EQ(self["load"]["peers_online"], 0);
  EXPECT_EQ(self["load"]["max_peers"], s.config.max_peers);
  EXPECT_EQ(sn["view"], "local");
}

}  // namespace
}  // namespace qp2p::management
