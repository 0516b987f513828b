// GET /v1/supernodes of a federated supernode (index_api.h): every member of the network with
// its SWIM state and the online peers the replicated directory places at it ("view":
// "network"); a member that dies stays listed as suspect, then dead.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stack/management/index_api.h"
#include "tests/stack/supernode/federated_scenario.h"

namespace qp2p::management {
namespace {

using namespace std::chrono;
using scenario::FederatedScenario;

nlohmann::json supernodes(IndexApi& api, const Supernode& node, Instant now) {
  ApiRequest r;
  r.method = "GET";
  r.target = "/v1/supernodes";
  r.authorization = "Bearer supernodes-test-token-0123456789";
  ApiResponse answer = api.handle(r, node, ApiContext{now, now, {}, {}, {}});
  EXPECT_EQ(answer.status, 200) << answer.body;
  return nlohmann::json::parse(answer.body, nullptr, false);
}

const nlohmann::json* entry_of(const nlohmann::json& body, const Supernode& s) {
  for (const auto& e : body["supernodes"])
    if (e["id"] == s.identity().id().to_string()) return &e;
  return nullptr;
}

TEST(IndexApiSupernodes, AFederatedSupernodeListsEveryMemberWithItsPeers) {
  FederatedScenario f(733);
  Supernode& s1 = f.add_supernode(0);
  Supernode& s2 = f.add_supernode(1);
  Supernode& s3 = f.add_supernode(2);
  ASSERT_TRUE(f.run_until([&] { return f.members_converged(f.supernodes); }, seconds(20)));
  PeerSession& alice = f.add_peer("alice", 1, 0, {{"name", "alice"}});
  PeerSession& bob = f.add_peer("bob", 1, 1, {{"name", "bob"}});
  alice.start(f.sc.net.now());
  bob.start(f.sc.net.now());
  ASSERT_TRUE(f.run_until(
      [&] { return s1.home_supernode_of(alice.id()) && s1.home_supernode_of(bob.id()); },
      seconds(5)))
      << f.sc.transcript();

  IndexApi api{BearerToken("supernodes-test-token-0123456789")};
  nlohmann::json body = supernodes(api, s1, f.sc.net.now());
  EXPECT_EQ(body["view"], "network");
  ASSERT_EQ(body["supernodes"].size(), 3u) << body.dump();
  const nlohmann::json* self = entry_of(body, s1);
  const nlohmann::json* other = entry_of(body, s2);
  const nlohmann::json* third = entry_of(body, s3);
  ASSERT_TRUE(self && other && third) << body.dump();
  EXPECT_EQ((*self)["self"], true);
  EXPECT_EQ((*other)["self"], false);
  EXPECT_EQ((*other)["state"], "alive");
  EXPECT_EQ((*other)["control"], "192.0.2.2:3478");
  EXPECT_EQ((*other)["load"]["peers_online"], 2);
  EXPECT_EQ((*third)["load"]["peers_online"], 0);

  // S3 stops answering: S1 lists it as suspect, then dead, and still lists it.
  f.sc.set_offline("S3", true);
  ASSERT_TRUE(f.run_until(
      [&] {
        const nlohmann::json b = supernodes(api, s1, f.sc.net.now());
        const nlohmann::json* e = entry_of(b, s3);
        return e && (*e)["state"] == "dead";
      },
      seconds(60)));
}

TEST(IndexApiSupernodes, WithoutFederationOnlyItselfInTheLocalView) {
  scenario::PeerScenario sc(734);
  Supernode& s = sc.add_supernode("S1", scenario::supernode_config("192.0.2.1:3478",
                                                                   "192.0.2.1:3479"));
  IndexApi api{BearerToken("supernodes-test-token-0123456789")};
  nlohmann::json body = supernodes(api, s, sc.net.now());
  EXPECT_EQ(body["view"], "local");
  ASSERT_EQ(body["supernodes"].size(), 1u);
  EXPECT_EQ(body["supernodes"][0]["self"], true);
}

}  // namespace
}  // namespace qp2p::management
