// Issue 5 over real sockets, the failover half: three federated qp2p-supernode processes on
// 127.0.0.1, .2 and .3 (management API on), a qp2p-peer at each. SIGKILL the first: its peer
// fails over to one of the others (docs/protocol.md section 8.8) and is still found by search
// and lookup from a peer at the third, the directory places it at its new supernode (/v1/peers/
// {id}), and messages to and from it are delivered with delivery reports (section 14.6); the
// survivors' /healthz stays 200 while it reports the dead member. Then the first is restarted
// (same key, address, port and network secret, with --seed): it rejoins, catches up with the
// directory (a peer logging into it finds the others by search and lookup and messages them),
// and its /v1/peers lists the same peers as the others'. Every wait is bounded; every process is
// killed on exit. Along the way, /v1/stats at the third answers for the whole network (stats
// reports, section 14.7): the logins at the other two, the killed one's kept (stale), and its
// restart noticed.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "tests/apps/federated_supernode.h"
#include "tests/apps/management_api_client.h"

namespace qp2p::test {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// Polls of the API while the directory or the membership settles: 200 x 100 ms.
constexpr int kApiPolls = 200;
constexpr auto kApiPollInterval = 100ms;

struct ThreeSupernodes {
  TempDir dir{"qp2p-federation-failover"};
  std::string secret = dir.file("network.secret");
  std::string config = fast_failover_config(dir);
  FederatedSupernode nodes[3];
  std::string api[3];  // base URLs of their management APIs
  std::string failure;

  std::vector<std::string> args(int i) {
    std::vector<std::string> a = api_args(dir, "127.0.0." + std::to_string(i + 1));
    a.insert(a.end(), {"--config", config});
    return a;
  }
  bool start_all() {
    std::ofstream(secret) << "loopback federation failover secret 0123456789\n";
    // Stats reports every second, so the network view of /v1/stats follows within the polls.
    std::ofstream(config, std::ios::app) << "federation-stats-interval-seconds = 1\n";
    if (!start_federation(
            nodes, 3, dir, secret, &failure, [&](int i) { return args(i); }, kMembershipTimeout))
      return false;
    for (int i = 0; i < 3; ++i) api[i] = api_base(nodes[i].process->lines());
    return true;
  }
  // The killed first one again: same key (its name), address, port and secret; seeded with the
  // second. True once it reports both others up.
  bool restart_first() {
    const std::string id = nodes[0].id;
    const std::uint16_t port = nodes[0].primary.port;
    if (!start(nodes[0], dir, "a", "127.0.0.1", secret, {nodes[1].primary}, &failure, args(0),
               port))
      return false;
    if (nodes[0].id != id || nodes[0].primary.port != port)
      return failure = "restarted as " + nodes[0].id + " on " + nodes[0].primary.to_string(), false;
    api[0] = api_base(nodes[0].process->lines());
    if (!follow(
            nodes[0], [&] { return nodes[0].up[nodes[1].id] && nodes[0].up[nodes[2].id]; },
            kMembershipTimeout))
      return failure = "the restarted supernode did not see the others:\n" +
                       nodes[0].process->transcript(),
             false;
    return true;
  }
};

// The peer ids of GET /v1/peers at `base`; empty when the request failed.
std::set<std::string> listed_peers(const std::string& base) {
  std::set<std::string> ids;
  const Json page = http_get(base + "/v1/peers").json();
  if (!page.is_object()) return ids;
  for (const auto& p : page["peers"]) ids.insert(p["id"].get<std::string>());
  return ids;
}

// Polls until `done` holds (kApiPolls at most).
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < kApiPolls; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(kApiPollInterval);
  }
  return done();
}

// GET /v1/stats at `base` (with `query`), parsed; a discarded value when the request failed.
Json stats_at(const std::string& base, const std::string& query = "") {
  return http_get(base + "/v1/stats" + query).json();
}

// The entry of supernode `id` in a network /v1/stats' "supernodes"; null when not listed.
Json stats_entry(const Json& stats, const std::string& id) {
  if (stats.is_object())
    for (const Json& e : stats["supernodes"])
      if (e.value("id", "") == id) return e;
  return nullptr;
}

// The supernode /v1/peers/{id} at `base` places the peer at; "" when it does not list it.
std::string home_of(const std::string& base, const std::string& peer) {
  const Json p = http_get(base + "/v1/peers/" + peer).json();
  return p.is_object() ? p.value("supernode", "") : "";
}

TEST(FederationFailoverProcesses, KilledSupernodesPeersStayReachableAndARestartCatchesUp) {
  ThreeSupernodes net;
  ASSERT_TRUE(net.start_all()) << net.failure;
  FederatedSupernode* nodes = net.nodes;
  TempDir keys("qp2p-federation-failover-keys");
  const std::vector<std::string> meta = {"--meta", "fleet=failover"};
  PeerProcess p("P", nodes[0].primary, keys.file("p.key"), meta);
  PeerProcess q("Q", nodes[1].primary, keys.file("q.key"), meta);
  PeerProcess r("R", nodes[2].primary, keys.file("r.key"), meta);
  for (PeerProcess* peer : {&p, &q, &r}) {
    ASSERT_TRUE(peer->await_registered()) << peer->transcript();
    ASSERT_TRUE(peer->expect("published")) << peer->transcript();
  }
  // P must know both others to fail over to them.
  ASSERT_TRUE(p.expect("supernodes", [](const Json& j) { return j["list"].size() == 3; }))
      << p.transcript();
  const std::set<std::string> all = {p.id(), q.id(), r.id()};
  ASSERT_EQ(search_until(r, "fleet=failover", all), all) << r.transcript();

  // The third's /v1/stats counts the logins at all three; ?view=local only its own.
  Json stats;
  EXPECT_TRUE(eventually([&] {
    stats = stats_at(net.api[2]);
    return stats.is_object() && stats["logins"]["accepted"].get<int>() >= 3 &&
           stats["peers_online"] == 3;
  })) << stats.dump();
  EXPECT_EQ(stats["view"], "network");
  EXPECT_EQ(stats["supernodes"].size(), 3u);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(stats_entry(stats, nodes[i].id)["reported"], true);
  const Json local = stats_at(net.api[2], "?view=local");
  EXPECT_EQ(local["view"], "local");
  EXPECT_GE(local["logins"]["accepted"].get<int>(), 1);
  EXPECT_LT(local["logins"]["accepted"], stats["logins"]["accepted"]);
  EXPECT_EQ(http_get(net.api[2] + "/v1/stats?view=everything").status, 400);

  // SIGKILL the first: P moves to the second or the third.
  nodes[0].process->kill();
  auto moved = p.expect(
      "supernode", [](const Json& j) { return j.value("reason", "") == "failover"; },
      kFailoverTimeout);
  ASSERT_TRUE(moved) << p.transcript();
  auto again = p.expect("registered", nullptr, 0ms);
  ASSERT_TRUE(again) << p.transcript();
  ASSERT_TRUE(p.expect("published", nullptr, 5s)) << p.transcript();
  const int home = (*moved)["supernode_id"] == nodes[1].id ? 1 : 2;
  ASSERT_EQ((*moved)["supernode_id"], nodes[home].id) << p.transcript();
  // The peer at the survivor P did not move to: every question to P crosses supernodes.
  PeerProcess& other = home == 1 ? r : q;
  std::cout << "[ failover ] P moved to supernode " << home << "; asking from " << other.name()
            << "\n";

  // Both survivors' directories place P at its new supernode (not at the dead one, whose online
  // record would otherwise linger for its 120 s lease).
  for (int i : {1, 2})
    EXPECT_TRUE(eventually([&] { return home_of(net.api[i], p.id()) == nodes[home].id; }))
        << "supernode " << i << " places P at '" << home_of(net.api[i], p.id()) << "'";
  EXPECT_EQ(search_until(other, "fleet=failover", all), all) << other.transcript();
  ASSERT_TRUE(other.command("lookup " + p.id()));
  auto lookup = other.expect("lookup");
  ASSERT_TRUE(lookup) << other.transcript();
  EXPECT_EQ((*lookup)["peer"]["online"], true);
  EXPECT_EQ((*lookup)["peer"]["mapped"], (*again)["mapped"]);
  EXPECT_EQ(message_delivered(other, p, "to the moved peer"), "");
  EXPECT_EQ(message_delivered(p, other, "from the moved peer"), "");

  // The survivors declare the first dead and stay healthy: membership does not fail the probe.
  for (int i : {1, 2}) {
    EXPECT_TRUE(follow(
        nodes[i], [&] { return !nodes[i].up[nodes[0].id]; }, kMembershipTimeout))
        << nodes[i].process->transcript();
    HttpReply health;
    EXPECT_TRUE(eventually([&] {
      health = http_get(net.api[i] + "/healthz");
      return health.json().is_object() && health.json()["federation"]["dead"] == 1;
    })) << health.body;
    EXPECT_EQ(health.status, 200) << health.body;
    EXPECT_EQ(health.json()["status"], "ok");
    EXPECT_EQ(health.json()["federation"]["alive"], 2);
  }
  // The dead one's report stays in the third's sums (P's first login with it, the second at
  // its new supernode), marked stale; its peers no longer count online.
  EXPECT_TRUE(eventually([&] {
    stats = stats_at(net.api[2]);
    return stats.is_object() && stats["logins"]["accepted"].get<int>() >= 4 &&
           stats["peers_online"] == 3;
  })) << stats.dump();
  const Json dead = stats_entry(stats, nodes[0].id);
  EXPECT_EQ(dead["state"], "dead") << stats.dump();
  EXPECT_EQ(dead["reported"], true);
  EXPECT_EQ(dead["stale"], true);

  // Restart the first: it rejoins and catches up; a peer logging into it finds everyone.
  ASSERT_TRUE(net.restart_first()) << net.failure;
  for (int i : {1, 2})
    EXPECT_TRUE(follow(
        nodes[i], [&] { return nodes[i].up[nodes[0].id]; }, kMembershipTimeout))
        << "supernode " << i << " did not see the restarted one up:\n"
        << nodes[i].process->transcript();
  PeerProcess s("S", nodes[0].primary, keys.file("s.key"), meta);
  ASSERT_TRUE(s.await_registered()) << s.transcript();
  ASSERT_TRUE(s.expect("published")) << s.transcript();
  const std::set<std::string> everyone = {p.id(), q.id(), r.id(), s.id()};
  EXPECT_EQ(search_until(s, "fleet=failover", everyone), everyone) << s.transcript();
  for (PeerProcess* target : {&p, &q, &r}) {
    ASSERT_TRUE(s.command("lookup " + target->id()));
    auto found = s.expect("lookup");
    ASSERT_TRUE(found) << s.transcript();
    EXPECT_EQ((*found)["peer"]["online"], true) << target->name();
  }
  EXPECT_EQ(message_delivered(s, p, "from the restarted supernode"), "");
  EXPECT_EQ(message_delivered(q, s, "to the restarted supernode"), "");

  // The three directories agree: the same four peers, P at its new supernode everywhere.
  std::set<std::string> listed[3];
  EXPECT_TRUE(eventually([&] {
    for (int i = 0; i < 3; ++i) listed[i] = listed_peers(net.api[i]);
    return listed[0] == everyone && listed[1] == everyone && listed[2] == everyone;
  })) << "listed "
      << listed[0].size() << ", " << listed[1].size() << ", " << listed[2].size();
  EXPECT_EQ(home_of(net.api[0], p.id()), nodes[home].id);
  EXPECT_EQ(home_of(net.api[0], s.id()), nodes[0].id);
  // The third took the restarted one's new report in place of the old (its counters began
  // again), and holds it fresh.
  HttpReply metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = http_get(net.api[2] + "/metrics");
    const Json e = stats_entry(stats_at(net.api[2]), nodes[0].id);
    return metrics.body.find("qp2p_stats_reports_total{event=\"member_restarted\"} 1") !=
               std::string::npos &&
           e.is_object() && e["stale"] == false;
  })) << metrics.body;
  // A federated supernode's /metrics, report counters included, passes promtool too.
  EXPECT_NE(metrics.body.find("qp2p_stats_reports_members 2"), std::string::npos) << metrics.body;
  if (auto findings = promtool_findings(metrics.body)) {
    EXPECT_EQ(*findings, "");
  }
  // And every membership is whole again, as /healthz reports it.
  for (int i = 0; i < 3; ++i) {
    HttpReply health;
    EXPECT_TRUE(eventually([&] {
      health = http_get(net.api[i] + "/healthz");
      return health.json().is_object() && health.json()["federation"]["alive"] == 3;
    })) << "supernode " << i << ": " << health.body;
    EXPECT_EQ(health.status, 200) << health.body;
  }

  for (PeerProcess* peer : {&p, &q, &r, &s}) EXPECT_TRUE(peer->bad_lines().empty());
  for (auto& n : net.nodes) n.process->stop();
}

}  // namespace
}  // namespace qp2p::test
