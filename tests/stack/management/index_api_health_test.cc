// GET /healthz as a readiness/liveness probe (stack/management/health.h): the verdict from the
// values a runtime passes in (leaving, a snapshot asked for and not come, the stall bound), the
// 503 answers with their reason, every request refused while the protocol loop is stalled, and
// federation membership reported without failing the probe, down to a lone survivor.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stack/management/health.h"
#include "tests/stack/management/api_scenario.h"
#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::management {
namespace {

using namespace std::chrono;

ApiRequest get(const std::string& target) {
  ApiRequest r;
  r.method = "GET";
  r.target = target;
  r.authorization = std::string("Bearer ") + kTestToken;
  return r;
}

TEST(IndexApiHealth, TheVerdictComesFromTheValuesPassedIn) {
  EXPECT_EQ(stall_bound(milliseconds(1000)), milliseconds(2000));
  EXPECT_EQ(stall_bound(milliseconds(100)), kMinStallBound) << "never below the floor";

  const Instant t0 = instant_from_us(5'000'000);
  HealthInputs in;
  in.stall_after = seconds(2);
  EXPECT_EQ(decide_health(in, t0).health, Health::kOk);
  EXPECT_EQ(decide_health(in, t0).status(), 200);
  EXPECT_EQ(decide_health(in, t0).reason, "");

  in.snapshot_asked = t0;  // asked, still within the bound: a slow answer is not a stall
  EXPECT_EQ(decide_health(in, t0 + seconds(2) - microseconds(1)).health, Health::kOk);
  const HealthVerdict stalled = decide_health(in, t0 + seconds(3));
  EXPECT_EQ(stalled.health, Health::kStalled);
  EXPECT_EQ(stalled.status(), 503);
  EXPECT_NE(stalled.reason.find("3000 ms ago"), std::string::npos) << stalled.reason;
  EXPECT_NE(stalled.reason.find("bound 2000 ms"), std::string::npos) << stalled.reason;

  in.leaving = true;
  EXPECT_EQ(decide_health(in, t0 + seconds(3)).health, Health::kStalled)
      << "a stalled loop outranks leaving: the shutdown will not finish by itself";
  in.snapshot_asked.reset();
  const HealthVerdict leaving = decide_health(in, t0 + seconds(3));
  EXPECT_EQ(leaving.health, Health::kLeaving);
  EXPECT_EQ(leaving.status(), 503);
  EXPECT_NE(leaving.reason.find("shutting down"), std::string::npos);
  EXPECT_STREQ(to_string(Health::kLeaving), "leaving");
}

struct IndexApiHealthAnswers : ::testing::Test {
  ApiScenario s{811};
  void SetUp() override {
    PeerSession& p =
        s.sc.add_peer("alice", scenario::peer_config("203.0.113.10:40000", {s.config.primary}, {}));
    p.start(s.sc.net.now());
    ASSERT_TRUE(s.sc.net.run_until([&] { return s.node.online_peers() == 1; }, seconds(5)));
  }
  ApiContext context(HealthInputs health) const {
    return ApiContext{s.sc.net.now(), s.started, {}, {}, std::move(health)};
  }
};

TEST_F(IndexApiHealthAnswers, LeavingIs503WithTheReasonAndTheDocument) {
  SnapshotBuilder builder;
  std::shared_ptr<ApiSnapshot> snapshot = builder.take(s.node, context({}));
  snapshot->finish();

  ApiResponse ok = s.api.answer(get("/healthz"), *snapshot, context({}));
  EXPECT_EQ(ok.status, 200);
  auto body = nlohmann::json::parse(ok.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_FALSE(body.contains("error"));
  EXPECT_FALSE(body.contains("federation")) << "not federated";

  HealthInputs leaving;
  leaving.leaving = true;
  ApiResponse refused = s.api.answer(get("/healthz"), *snapshot, context(leaving));
  EXPECT_EQ(refused.status, 503);
  body = nlohmann::json::parse(refused.body);
  EXPECT_EQ(body["status"], "leaving");
  EXPECT_EQ(body["error"], "unavailable");
  EXPECT_NE(body["reason"].get<std::string>().find("shutting down"), std::string::npos);
  EXPECT_EQ(body["supernode"], s.node.identity().id().to_string());
  EXPECT_EQ(body["peers_online"], 1);
  // Leaving fails the probe only: the rest of the API serves the shutdown.
  EXPECT_FALSE(s.api.unavailable(context(leaving)));
  EXPECT_EQ(s.api.answer(get("/v1/peers"), *snapshot, context(leaving)).status, 200);
  EXPECT_EQ(s.api.counters().unavailable, 1u);
}

TEST_F(IndexApiHealthAnswers, AStalledLoopRefusesEveryRequest) {
  HealthInputs stalled;
  stalled.stall_after = seconds(1);
  stalled.snapshot_asked = s.sc.net.now() - milliseconds(1500);
  for (const char* target : {"/healthz", "/v1/peers", "/metrics"}) {
    auto refused = s.api.unavailable(context(stalled));
    ASSERT_TRUE(refused) << target;
    EXPECT_EQ(refused->status, 503);
    auto body = nlohmann::json::parse(refused->body);
    EXPECT_EQ(body["status"], "stalled");
    EXPECT_EQ(body["error"], "unavailable");
    EXPECT_NE(body["reason"].get<std::string>().find("1500 ms ago"), std::string::npos)
        << body.dump();
    EXPECT_EQ(s.api.handle(get(target), s.node, context(stalled)).status, 503) << target;
  }
  EXPECT_EQ(s.api.counters().unavailable, 6u);

  stalled.snapshot_asked = s.sc.net.now() - milliseconds(500);  // within the bound
  EXPECT_FALSE(s.api.unavailable(context(stalled)));
  EXPECT_EQ(s.api.handle(get("/healthz"), s.node, context(stalled)).status, 200);
}

nlohmann::json healthz(IndexApi& api, const Supernode& node, Instant now) {
  ApiResponse r = api.handle(get("/healthz"), node, ApiContext{now, now, {}, {}, {}});
  EXPECT_EQ(r.status, 200) << r.body;
  return nlohmann::json::parse(r.body, nullptr, false);
}

TEST(IndexApiHealth, MembershipIsReportedAndNeverFailsTheProbe) {
  scenario::FederatedScenario f(812);
  Supernode& s1 = f.add_supernode(0);
  f.add_supernode(1);
  f.add_supernode(2);
  ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));
  IndexApi api{BearerToken(kTestToken)};
  nlohmann::json body = healthz(api, s1, f.sc.net.now());
  EXPECT_EQ(
      body["federation"],
      nlohmann::json({{"members", 3}, {"alive", 3}, {"suspect", 0}, {"dead", 0}, {"left", 0}}))
      << body.dump();

  // Both others die: S1 is a lone survivor, still serving its peers, and still healthy.
  f.sc.set_offline("S2", true);
  f.sc.set_offline("S3", true);
  ASSERT_TRUE(f.run_until(
      [&] { return healthz(api, s1, f.sc.net.now())["federation"]["dead"] == 2; }, seconds(60)));
  body = healthz(api, s1, f.sc.net.now());
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["federation"]["alive"], 1);
  EXPECT_EQ(body["federation"]["members"], 3);
}

}  // namespace
}  // namespace qp2p::management
