// GET /v1/stats for the whole network (docs/protocol.md section 14.7): three federated
// supernodes; alice logs into S1, carol into S2, and alice's tunnel to carol is negotiated and
// reported at S1. S3, which saw none of it, answers /v1/stats with the network's figures: both
// logins, the handshake and its outcome by NAT pair (setup percentiles from the merged
// histogram), and the supernodes its sums are made of; ?view=local is its own figures. When S2
// goes silent its report stays in the sums, marked stale, without its online peers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stack/management/index_api.h"
#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::scenario {
namespace {

namespace ev = peer_event;
using management::ApiContext;
using management::ApiRequest;
using management::BearerToken;
using management::IndexApi;
using nlohmann::json;

constexpr char kToken[] = "federated-stats-token-0123456789";

struct FederatedStats : ::testing::Test {
  FederatedScenario f{1414};
  Supernode* s1 = &f.add_supernode(0);
  Supernode* s2 = &f.add_supernode(1);
  Supernode* s3 = &f.add_supernode(2);
  PeerSession& alice = f.add_peer("alice", 0, 0);
  PeerSession& carol = f.add_peer("carol", 1, 2);
  IndexApi api{BearerToken(kToken)};
  Instant started = f.sc.net.now();

  void SetUp() override {
    ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));
    alice.start(now());
    carol.start(now());
    ASSERT_TRUE(f.run_until(
        [&] { return s1->home_supernode_of(carol.id()) && s2->home_supernode_of(alice.id()); },
        seconds(5)));
  }

  Instant now() const { return f.sc.net.now(); }

  json get(Supernode& s, const std::string& target, int status = 200) {
    ApiRequest r;
    r.method = "GET";
    r.target = target;
    r.authorization = std::string("Bearer ") + kToken;
    auto response = api.handle(r, s, ApiContext{now(), started, {}, {}, {}});
    EXPECT_EQ(response.status, status) << target << ": " << response.body;
    return json::parse(response.body, nullptr, false);
  }

  static const json* pair_row(const json& stats, const char* a, const char* b) {
    for (const json& row : stats["traversal"]["by_nat_pair"])
      if (row["nat"] == json::array({a, b})) return &row;
    return nullptr;
  }
  static const json* supernode_entry(const json& stats, const Supernode& s) {
    for (const json& e : stats["supernodes"])
      if (e["id"] == s.identity().id().to_string()) return &e;
    return nullptr;
  }
};

TEST_F(FederatedStats, AHandshakeOutcomeAtS1AppearsInS3sNetworkView) {
  alice.connect(now(), carol.id());
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelRequested>(carol, seconds(5)));
  carol.accept(now(), alice.id());
  ASSERT_TRUE(f.sc.wait_for<ev::TunnelEstablished>(alice, seconds(10)));
  ASSERT_TRUE(f.run_until([&] { return s1->handshake_counters().outcomes > 0; }, seconds(2)));

  // Within a report round (10 s) and a hop, S3's view has it.
  ASSERT_TRUE(f.run_until(
      [&] {
        const json stats = get(*s3, "/v1/stats");
        return stats["tunnels"]["reported"]["direct"] == 1;
      },
      seconds(15)));
  const json stats = get(*s3, "/v1/stats");
  EXPECT_EQ(stats["view"], "network");
  EXPECT_EQ(stats["supernode"], s3->identity().id().to_string());
  EXPECT_EQ(stats["logins"]["accepted"], 2);
  EXPECT_EQ(stats["peers_online"], 2);
  EXPECT_EQ(stats["handshakes"]["offers"], 1);
  EXPECT_EQ(stats["handshakes"]["accepted"], 1);
  EXPECT_EQ(stats["handshakes"]["routed"]["offers_sent"], 1);      // at S1
  EXPECT_EQ(stats["handshakes"]["routed"]["offers_received"], 1);  // at S2
  const json* row = pair_row(stats, "unknown", "unknown");
  ASSERT_TRUE(row);
  EXPECT_EQ((*row)["outcomes"]["direct"], 1);
  EXPECT_EQ((*row)["outcomes"]["setup_direct"]["tunnels"], 1);
  EXPECT_TRUE((*row)["outcomes"]["setup_direct"]["setup_ms_p50"].is_number());
  ASSERT_EQ(stats["supernodes"].size(), 3u);
  for (const Supernode* s : {s1, s2, s3}) {
    const json* e = supernode_entry(stats, *s);
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["reported"], true);
    EXPECT_EQ((*e)["stale"], false);
    EXPECT_EQ((*e)["self"], s == s3);
  }
  // S3's own figures: nothing happened there.
  const json local = get(*s3, "/v1/stats?view=local");
  EXPECT_EQ(local["view"], "local");
  EXPECT_EQ(local["logins"]["accepted"], 0);
  EXPECT_EQ(local["tunnels"]["reported"]["direct"], 0);
  // S1's network view agrees on the totals.
  EXPECT_EQ(get(*s1, "/v1/stats")["logins"]["accepted"], 2);
  get(*s3, "/v1/stats?view=all", 400);

  const NetworkStats* reports = s3->network_stats();
  ASSERT_TRUE(reports);
  EXPECT_GT(reports->counters().received, 0u);
  EXPECT_EQ(reports->counters().dropped_malformed, 0u);
}

TEST_F(FederatedStats, ASilentMembersReportStaysInTheSumsMarkedStale) {
  ASSERT_TRUE(
      f.run_until([&] { return get(*s3, "/v1/stats")["logins"]["accepted"] == 2; }, seconds(15)));
  f.sc.set_offline("S2", true);
  f.sc.set_offline("carol", true);
  ASSERT_TRUE(f.run_until(
      [&] {
        const json stats = get(*s3, "/v1/stats");
        const json* e = supernode_entry(stats, *s2);
        return e && e->value("state", "") == "dead";
      },
      seconds(60)));
  const json stats = get(*s3, "/v1/stats");
  const json* e = supernode_entry(stats, *s2);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["reported"], true);
  EXPECT_EQ((*e)["stale"], true);
  EXPECT_GT((*e)["report_age_seconds"].get<int>(), 0);
  EXPECT_EQ(stats["logins"]["accepted"], 2);  // carol's login at S2 is history
  EXPECT_EQ(stats["peers_online"], 1);        // but she is not counted online
}

}  // namespace
}  // namespace qp2p::scenario
