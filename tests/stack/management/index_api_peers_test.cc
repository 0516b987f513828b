// GET /v1/peers and /v1/peers/{id} against a supernode with five peers logged in on a virtual
// network: every online peer listed once in id order with its metadata, supernode and public
// address; paging with limit and cursor covers all peers without repeats; meta.KEY=VALUE
// filters (exact and prefix) and online=; one peer by id, 404 for a stranger, 400 for a
// malformed id, limit, cursor or parameter.
#include <algorithm>
#include <set>

#include "tests/stack/management/api_scenario.h"

namespace qp2p::management {
namespace {

using scenario::endpoint;
using scenario::peer_config;
using std::chrono::seconds;

struct IndexApiPeers : ::testing::Test {
  ApiScenario s{606};
  std::vector<PeerSession*> peers;

  void SetUp() override {
    const char* names[] = {"alice", "bob", "carol", "dave", "erin"};
    const char* roles[] = {"camera-front", "camera-back", "sensor", "camera-door", "sensor"};
    for (int i = 0; i < 5; ++i) {
      peers.push_back(&s.sc.add_peer(
          names[i], peer_config("203.0.113." + std::to_string(10 + i) + ":40000",
                                {s.config.primary}, {{"name", names[i]}, {"role", roles[i]}})));
    }
    for (PeerSession* p : peers) p->start(s.sc.net.now());
    ASSERT_TRUE(s.sc.net.run_until(
        [&] {
          return std::all_of(peers.begin(), peers.end(), [&](PeerSession* p) {
            return s.sc.count<peer_event::Published>(*p) == 1;
          });
        },
        seconds(5)));
  }

  std::vector<std::string> sorted_ids() const {
    std::vector<std::string> ids;
    for (PeerSession* p : peers) ids.push_back(p->id().to_string());
    std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
      return *PeerId::parse(a) < *PeerId::parse(b);
    });
    return ids;
  }
  static std::vector<std::string> ids_of(const nlohmann::json& page) {
    std::vector<std::string> out;
    for (const auto& p : page["peers"]) out.push_back(p["id"].get<std::string>());
    return out;
  }
};

TEST_F(IndexApiPeers, ListsEveryOnlinePeerInIdOrderWithItsDetails) {
  auto page = s.get("/v1/peers");
  ASSERT_FALSE(page.is_discarded());
  EXPECT_EQ(page["total"], 5);
  EXPECT_TRUE(page["next_cursor"].is_null());
  EXPECT_EQ(ids_of(page), sorted_ids());
  for (const auto& p : page["peers"]) {
    EXPECT_EQ(p["online"], true);
    EXPECT_EQ(p["supernode"], s.node.identity().id().to_string());
    EXPECT_EQ(p["record_version"], 1);
    EXPECT_TRUE(p["nat"].is_null()) << "no nat.* metadata published";
    const PeerSession* peer = nullptr;
    for (PeerSession* q : peers)
      if (q->id().to_string() == p["id"]) peer = q;
    ASSERT_NE(peer, nullptr);
    EXPECT_EQ(p["public_address"], peer->mapped()->to_string());
    EXPECT_EQ(p["metadata"]["name"], peer->metadata().front().second);
    EXPECT_GE(p["last_seen_ms_ago"].get<std::int64_t>(), 0);
  }
}

TEST_F(IndexApiPeers, PagesWithLimitAndCursorCoverAllPeersOnce) {
  std::vector<std::string> seen;
  std::string target = "/v1/peers?limit=2";
  std::size_t pages = 0;
  for (; pages < 10; ++pages) {  // 3 pages expected; bounded
    auto page = s.get(target);
    ASSERT_FALSE(page.is_discarded());
    EXPECT_EQ(page["total"], 5) << "total counts all pages";
    EXPECT_LE(page["peers"].size(), 2u);
    for (const auto& id : ids_of(page)) seen.push_back(id);
    if (page["next_cursor"].is_null()) break;
    target = "/v1/peers?limit=2&cursor=" + page["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(pages, 2u) << "three pages: 2 + 2 + 1";
  EXPECT_EQ(seen, sorted_ids());
}

TEST_F(IndexApiPeers, FiltersByMetadataExactAndPrefixAndByOnlineState) {
  auto sensors = s.get("/v1/peers?meta.role=sensor");
  EXPECT_EQ(sensors["total"], 2);
  for (const auto& p : sensors["peers"]) EXPECT_EQ(p["metadata"]["role"], "sensor");

  auto cameras = s.get("/v1/peers?meta.role=camera*");
  EXPECT_EQ(cameras["total"], 3);
  auto one = s.get("/v1/peers?meta.role=camera*&meta.name=dave");
  ASSERT_EQ(one["peers"].size(), 1u);
  EXPECT_EQ(one["peers"][0]["metadata"]["name"], "dave");
  // Percent-encoded value: "camera-door".
  EXPECT_EQ(s.get("/v1/peers?meta.role=camera%2Ddoor")["total"], 1);
  EXPECT_EQ(s.get("/v1/peers?meta.nosuchkey=x")["total"], 0);

  EXPECT_EQ(s.get("/v1/peers?online=true")["total"], 5);
  auto offline = s.get("/v1/peers?online=false");
  EXPECT_EQ(offline["total"], 0) << "a supernode forgets peers when they leave";
  EXPECT_TRUE(offline["peers"].empty());
}

TEST_F(IndexApiPeers, OnePeerByIdAndNotFoundAndMalformed) {
  const std::string bob = peers[1]->id().to_string();
  auto p = s.get("/v1/peers/" + bob);
  EXPECT_EQ(p["id"], bob);
  EXPECT_EQ(p["metadata"]["name"], "bob");

  auto missing = s.get("/v1/peers/" + s.sc.stranger("nobody").to_string(), 404);
  EXPECT_EQ(missing["error"], "not_found");
  auto bad = s.get("/v1/peers/not-a-peer-id", 400);
  EXPECT_EQ(bad["error"], "bad_request");
  EXPECT_NE(bad["reason"].get<std::string>().find("malformed peer id"), std::string::npos);

  // A peer that logs out is gone at once.
  peers[1]->logout(s.sc.net.now());
  ASSERT_TRUE(s.sc.run_for(seconds(2)));
  s.get("/v1/peers/" + bob, 404);
  EXPECT_EQ(s.get("/v1/peers")["total"], 4);
}

TEST_F(IndexApiPeers, BadParametersAreRejectedWithTheirName) {
  struct Case { const char* target; const char* reason_part; };
  const Case cases[] = {
      {"/v1/peers?limit=0", "limit"},
      {"/v1/peers?limit=1001", "limit"},
      {"/v1/peers?limit=ten", "limit"},
      {"/v1/peers?limit=5&limit=6", "twice"},
      {"/v1/peers?cursor=garbage", "cursor"},
      {"/v1/peers?online=maybe", "online"},
      {"/v1/peers?colour=red", "colour"},
      {"/v1/peers?meta.=x", "filter"},
      {"/v1/peers?meta.role=%zz", "percent"},
      {"/v1/peers/" , "missing peer id"},
      {"/v1/stats?x=1", "'x'"},
  };
  for (const Case& c : cases) {
    auto body = s.get(c.target, 400);
    EXPECT_EQ(body["error"], "bad_request") << c.target;
    EXPECT_NE(body["reason"].get<std::string>().find(c.reason_part), std::string::npos)
        << c.target << ": " << body["reason"];
  }
  EXPECT_EQ(s.api.counters().bad_request, std::size(cases));
}

TEST_F(IndexApiPeers, LimitIsHonouredUpToTheMaximum) {
  EXPECT_EQ(s.get("/v1/peers?limit=1")["peers"].size(), 1u);
  EXPECT_EQ(s.get("/v1/peers?limit=1000")["peers"].size(), 5u);
}

}  // namespace
}  // namespace qp2p::management
