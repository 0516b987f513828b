// The management API answers from snapshots (api_snapshot.h): an answer shows the supernode as it
// was when its snapshot was taken, never later changes, and says how old that is (header and
// "snapshot_age_ms"); a new snapshot shows a peer that logged in since and a record republished
// since, sharing unchanged records rather than copying them; screen() settles what needs no
// data; a client over its rate limit gets 429 with Retry-After, counted in /metrics.
#include "tests/stack/management/api_scenario.h"

namespace qp2p::management {
namespace {

using scenario::peer_config;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string header(const ApiResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

struct IndexApiSnapshot : ::testing::Test {
  ApiScenario s{707};

  PeerSession& log_in(const std::string& name, const std::string& address) {
    PeerSession& p = s.sc.add_peer(
        name, peer_config(address, {s.config.primary}, {{"name", name}, {"role", "sensor"}}));
    p.start(s.sc.net.now());
    EXPECT_TRUE(s.sc.net.run_until(
        [&] { return s.sc.count<peer_event::Published>(p) >= 1; }, seconds(5)));
    return p;
  }
  ApiRequest get(const std::string& target, const std::string& client = "") const {
    ApiRequest r;
    r.method = "GET";
    r.target = target;
    r.authorization = std::string("Bearer ") + kTestToken;
    r.client = client;
    return r;
  }
  ApiContext context() const { return ApiContext{s.sc.net.now(), s.started, {}, {}, {}}; }
  std::shared_ptr<ApiSnapshot> take(SnapshotBuilder& builder) const {
    std::shared_ptr<ApiSnapshot> snap = builder.take(s.node, context());
    snap->finish();
    return snap;
  }
};

TEST_F(IndexApiSnapshot, AnswersShowTheSnapshotAndItsAge) {
  PeerSession& alice = log_in("alice", "203.0.113.10:40000");
  SnapshotBuilder builder;
  auto old = take(builder);
  PeerSession& bob = log_in("bob", "203.0.113.11:40000");
  s.sc.run_for(milliseconds(250));

  ApiResponse from_old = s.api.answer(get("/v1/peers"), *old, context());
  ASSERT_EQ(from_old.status, 200);
  auto page = nlohmann::json::parse(from_old.body);
  EXPECT_EQ(page["total"], 1);
  EXPECT_EQ(page["peers"][0]["id"], alice.id().to_string());
  const std::int64_t age = to_ms(s.sc.net.now() - old->taken);
  EXPECT_GE(age, 250);
  EXPECT_EQ(page["snapshot_age_ms"], age);
  EXPECT_EQ(header(from_old, "Qp2p-Snapshot-Age-Ms"), std::to_string(age));
  EXPECT_EQ(s.api.answer(get("/v1/peers/" + bob.id().to_string()), *old, context()).status, 404);
  auto health = nlohmann::json::parse(s.api.answer(get("/healthz"), *old, context()).body);
  EXPECT_EQ(health["peers_online"], 1);
  EXPECT_EQ(health["snapshot_age_ms"], age);

  auto fresh = take(builder);
  auto now_page = nlohmann::json::parse(s.api.answer(get("/v1/peers"), *fresh, context()).body);
  EXPECT_EQ(now_page["total"], 2);
  EXPECT_EQ(now_page["snapshot_age_ms"], 0);
  EXPECT_EQ(s.api.answer(get("/v1/peers/" + bob.id().to_string()), *fresh, context()).status, 200);
  auto metrics = s.api.answer(get("/metrics"), *fresh, context()).body;
  EXPECT_NE(metrics.find("qp2p_peers_online 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("qp2p_api_snapshot_age_seconds 0.000000\n"), std::string::npos);
}

TEST_F(IndexApiSnapshot, RecordsAreSharedAndARepublishedOneShows) {
  PeerSession& alice = log_in("alice", "203.0.113.10:40000");
  log_in("bob", "203.0.113.11:40000");
  SnapshotBuilder builder;
  auto first = take(builder);
  auto second = take(builder);
  ASSERT_EQ(first->peers.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(first->peers[i].record);
    EXPECT_EQ(first->peers[i].record.get(), second->peers[i].record.get()) << "shared, not copied";
  }
  EXPECT_EQ(builder.stats().records_copied, 0u);

  alice.publish(s.sc.net.now(), {{"role", "camera"}});
  s.sc.run_for(seconds(1));
  auto third = take(builder);
  const SnapshotPeer* a = third->find(alice.id());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a->record->find("role"), "camera");
  EXPECT_EQ(*second->find(alice.id())->record->find("role"), "sensor") << "old snapshot unchanged";
  auto cameras = nlohmann::json::parse(
      s.api.answer(get("/v1/peers?meta.role=camera"), *third, context()).body);
  EXPECT_EQ(cameras["total"], 1);
  EXPECT_EQ(cameras["peers"][0]["record_version"], 2);
}

TEST_F(IndexApiSnapshot, ScreenSettlesWhatNeedsNoData) {
  const Instant now = s.sc.net.now();
  ApiRequest no_token = get("/v1/peers");
  no_token.authorization.clear();
  EXPECT_EQ(s.api.screen(no_token, now)->status, 401);
  EXPECT_EQ(s.api.screen(get("/nowhere"), now)->status, 404);
  EXPECT_EQ(s.api.screen(get("/v1/peers?limit=0"), now)->status, 400);
  EXPECT_EQ(s.api.screen(get("/healthz?x=1"), now)->status, 400);
  ApiRequest post = get("/healthz");
  post.method = "POST";
  EXPECT_EQ(s.api.screen(post, now)->status, 405);
  EXPECT_FALSE(s.api.screen(get("/v1/peers?limit=5&meta.role=sensor"), now));
  EXPECT_FALSE(s.api.screen(get("/v1/peers/abc"), now)) << "a malformed id is answered with data";
  EXPECT_FALSE(s.api.screen(get("/metrics"), now));
}

TEST_F(IndexApiSnapshot, AClientOverItsRateGets429WithRetryAfter) {
  IndexApi api(BearerToken(kTestToken), RateLimitConfig{/*requests_per_second=*/2, /*burst=*/3,
                                                        /*max_clients=*/16});
  const Instant now = s.sc.net.now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(api.screen(get("/healthz", "198.51.100.7"), now)) << i;
  auto refused = api.screen(get("/healthz", "198.51.100.7"), now);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(header(*refused, "Retry-After"), "1");
  EXPECT_EQ(nlohmann::json::parse(refused->body)["error"], "too_many_requests");
  // Wrong tokens cost tokens too: guessing is limited.
  ApiRequest guess = get("/healthz", "198.51.100.7");
  guess.authorization = "Bearer guess-guess-guess-guess";
  EXPECT_EQ(api.screen(guess, now)->status, 429);
  // Another client is not held back, and half a second later one more request passes.
  EXPECT_FALSE(api.screen(get("/healthz", "198.51.100.8"), now));
  EXPECT_FALSE(api.screen(get("/healthz", "198.51.100.7"), now + milliseconds(500)));
  EXPECT_EQ(api.counters().too_many_requests, 2u);

  SnapshotBuilder builder;
  auto snap = take(builder);
  const std::string metrics = api.answer(get("/metrics"), *snap, context()).body;
  EXPECT_NE(metrics.find("qp2p_api_requests_total{code=\"429\"} 2\n"), std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace qp2p::management
