// Federation over real sockets: three qp2p-supernode processes on 127.0.0.1, 127.0.0.2 and
// 127.0.0.3 sharing a network secret (the second and third given the first as --seed) all
// report the other two as members; when one is killed, the other two declare it dead; a fourth
// with another secret is never admitted. Then peers logged into different supernodes find each
// other by lookup and search (the replicated directory) and message each other with delivery
// reports (routing between supernodes), and open tunnels to each other, direct and through the
// callee's supernode's relay (tunnel negotiation routed between supernodes). Every wait is
// bounded, every process killed on exit.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "tests/apps/federated_supernode.h"

namespace qp2p::test {
namespace {

TEST(FederationProcesses, ThreeSupernodesOnThreeLoopbackAddressesSeeEachOther) {
  TempDir dir("qp2p-federation");
  const std::string secret = dir.file("network.secret"), other = dir.file("other.secret");
  std::ofstream(secret) << "loopback federation test secret 0123456789\n";
  std::ofstream(other) << "some other network entirely 9876543210\n";

  FederatedSupernode nodes[3];
  std::string failure;
  ASSERT_TRUE(start(nodes[0], dir, "a", "127.0.0.1", secret, {}, &failure)) << failure;
  ASSERT_TRUE(start(nodes[1], dir, "b", "127.0.0.2", secret, {nodes[0].primary}, &failure))
      << failure;
  ASSERT_TRUE(start(nodes[2], dir, "c", "127.0.0.3", secret, {nodes[0].primary}, &failure))
      << failure;
  FederatedSupernode stranger;
  ASSERT_TRUE(start(stranger, dir, "x", "127.0.0.4", other, {nodes[0].primary}, &failure))
      << failure;

  const auto sees = [&](FederatedSupernode& n, const std::vector<int>& which) {
    for (int j : which)
      if (!n.up[nodes[j].id]) return false;
    return true;
  };
  for (int i = 0; i < 3; ++i) {
    std::vector<int> others;
    for (int j = 0; j < 3; ++j)
      if (j != i) others.push_back(j);
    EXPECT_TRUE(follow(nodes[i], [&] { return sees(nodes[i], others); }, kMembershipTimeout))
        << "supernode " << i << " did not see both others:\n" << nodes[i].process->transcript();
  }
  // The stranger was never admitted by anyone (nor admitted anyone).
  for (auto& n : nodes) EXPECT_EQ(n.up.count(stranger.id), 0u);
  EXPECT_TRUE(stranger.up.empty());

  // Kill the third: the other two declare it dead within the suspicion timeout and some.
  nodes[2].process->kill();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(follow(nodes[i], [&] { return !nodes[i].up[nodes[2].id]; }, kMembershipTimeout))
        << "supernode " << i << " did not declare the killed one dead:\n"
        << nodes[i].process->transcript();
    EXPECT_TRUE(nodes[i].up[nodes[1 - i].id]);
  }
  for (int i = 0; i < 2; ++i) nodes[i].process->stop();
  stranger.process->stop();
  // The seed counted the stranger's knocks as another network's datagrams (counters at exit).
  while (nodes[0].process->read_line(std::chrono::milliseconds(500))) {
  }
  std::uint64_t wrong_network = 0;
  const std::string field = "wrong_network=";
  for (const auto& line : nodes[0].process->lines())
    if (line.find("counters at exit") != std::string::npos && line.find(field) != std::string::npos)
      wrong_network = std::stoull(line.substr(line.find(field) + field.size()));
  EXPECT_GT(wrong_network, 0u) << nodes[0].process->transcript();
}

TEST(FederationProcesses, PeersOnDifferentSupernodesFindAndMessageEachOther) {
  TempDir dir("qp2p-federation-peers");
  const std::string secret = dir.file("network.secret");
  std::ofstream(secret) << "loopback federation test secret 0123456789\n";
  FederatedSupernode nodes[3];
  std::string failure;
  ASSERT_TRUE(start_federation(nodes, 3, dir, secret, &failure, nullptr, kMembershipTimeout))
      << failure;

  // One peer at each supernode, all publishing a shared key.
  PeerProcess a("A", nodes[0].primary, dir.file("pa.key"), {"--meta", "fleet=loopback", "--meta", "name=a"});
  PeerProcess b("B", nodes[1].primary, dir.file("pb.key"), {"--meta", "fleet=loopback", "--meta", "name=b"});
  PeerProcess c("C", nodes[2].primary, dir.file("pc.key"), {"--meta", "fleet=loopback", "--meta", "name=c"});
  for (PeerProcess* p : {&a, &b, &c}) {
    ASSERT_TRUE(p->await_registered()) << p->transcript();
    ASSERT_TRUE(p->expect("published")) << p->transcript();
  }
  // Pushed at once; a search from C sees all three (bounded retries while pushes travel).
  EXPECT_EQ(search_until(c, "fleet=loopback", {a.id(), b.id(), c.id()}),
            std::set<std::string>({a.id(), b.id(), c.id()}))
      << c.transcript();
  ASSERT_TRUE(c.command("lookup " + a.id()));
  auto lookup = c.expect("lookup");
  ASSERT_TRUE(lookup) << c.transcript();
  EXPECT_EQ((*lookup)["peer"]["online"], true);
  EXPECT_EQ((*lookup)["peer"]["mapped"], a.mapped());

  // A message from A (at 127.0.0.1) to C (at 127.0.0.3) with its delivery report.
  EXPECT_EQ(message_delivered(a, c, "across the federation"), "");
  for (auto& n : nodes) n.process->stop();
}

// Tunnels between peers logged into different supernode processes (docs/protocol.md section
// 14.6): A (at 127.0.0.1) connects to B (at 127.0.0.2, auto-accepting) and gets a direct tunnel
// that carries tsend text both ways; relay-only C (at the first) connects to relay-only D (at
// the second), whose relayed address is on its own supernode, 127.0.0.2.
TEST(FederationProcesses, PeersOnDifferentSupernodesOpenTunnels) {
  TempDir dir("qp2p-federation-tunnels");
  const std::string secret = dir.file("network.secret");
  std::ofstream(secret) << "loopback federation test secret 0123456789\n";
  const std::vector<std::string> turn = {"--turn-secret", "loopback-relay-secret",
                                         "--relay-ports", "50000-50999"};
  FederatedSupernode nodes[2];
  std::string failure;
  ASSERT_TRUE(start(nodes[0], dir, "a", "127.0.0.1", secret, {}, &failure, turn)) << failure;
  ASSERT_TRUE(start(nodes[1], dir, "b", "127.0.0.2", secret, {nodes[0].primary}, &failure, turn))
      << failure;
  for (auto& n : nodes)
    ASSERT_TRUE(follow(n, [&] { return n.up.size() == 1; }, kMembershipTimeout))
        << n.process->transcript();

  PeerProcess a("A", nodes[0].primary, dir.file("pa.key"));
  PeerProcess b("B", nodes[1].primary, dir.file("pb.key"), {"--auto-accept"});
  PeerProcess c("C", nodes[0].primary, dir.file("pc.key"), {"--relay-only"});
  PeerProcess d("D", nodes[1].primary, dir.file("pd.key"), {"--relay-only", "--auto-accept"});
  for (PeerProcess* p : {&a, &b, &c, &d}) ASSERT_TRUE(p->await_registered()) << p->transcript();
  // The caller's supernode must know where the callee is (bounded retries while the presence
  // record travels).
  const auto knows = [](PeerProcess& from, const PeerProcess& to) {
    for (int attempt = 0; attempt < 10; ++attempt) {  // an unknown peer is an "error" event
      if (!from.command("lookup " + to.id())) return false;
      auto result = from.expect("lookup", nullptr, std::chrono::milliseconds(500));
      if (result && (*result)["peer"]["online"] == true) return true;
    }
    return false;
  };
  const auto about = [](const std::string& id) {
    return [id](const nlohmann::json& j) { return j.value("peer", "") == id; };
  };
  const auto from = [](const std::string& id) {
    return [id](const nlohmann::json& j) { return j.value("from", "") == id; };
  };
  const auto tunnel = std::chrono::seconds(10);

  ASSERT_TRUE(knows(a, b)) << a.transcript();
  ASSERT_TRUE(a.command("connect " + b.id()));
  auto up_a = a.expect("tunnel", about(b.id()), tunnel);
  auto up_b = b.expect("tunnel", about(a.id()), tunnel);
  ASSERT_TRUE(up_a && up_b) << a.transcript() << b.transcript() << nodes[0].process->transcript();
  EXPECT_EQ((*up_a)["path"], "direct");
  EXPECT_EQ((*up_a)["remote"], b.mapped());
  ASSERT_TRUE(a.command("tsend " + b.id() + " across two supernodes"));
  auto data = b.expect("tdata", from(a.id()));
  ASSERT_TRUE(data) << b.transcript();
  EXPECT_EQ((*data)["text"], "across two supernodes");
  ASSERT_TRUE(b.command("tsend " + a.id() + " and back"));
  auto reply = a.expect("tdata", from(b.id()));
  ASSERT_TRUE(reply) << a.transcript();
  EXPECT_EQ((*reply)["text"], "and back");

  ASSERT_TRUE(knows(c, d)) << c.transcript();
  ASSERT_TRUE(c.command("connect " + d.id()));
  auto up_c = c.expect("tunnel", about(d.id()), tunnel);
  auto up_d = d.expect("tunnel", about(c.id()), tunnel);
  ASSERT_TRUE(up_c && up_d) << c.transcript() << d.transcript();
  EXPECT_EQ((*up_c)["path"], "relay");
  const std::string relayed = (*up_c)["remote"];
  EXPECT_EQ(relayed.rfind("127.0.0.2:50", 0), 0u) << "D's relay is on D's supernode: " << relayed;
  ASSERT_TRUE(c.command("tsend " + d.id() + " via the callee's relay"));
  auto relayed_data = d.expect("tdata", from(c.id()));
  ASSERT_TRUE(relayed_data) << d.transcript();
  EXPECT_EQ((*relayed_data)["text"], "via the callee's relay");
  for (PeerProcess* p : {&a, &b, &c, &d}) EXPECT_TRUE(p->bad_lines().empty()) << p->transcript();
  for (auto& n : nodes) n.process->stop();
}

}  // namespace
}  // namespace qp2p::test
