// Failover of real qp2p-peer processes between two federated qp2p-supernode processes on
// 127.0.0.1 and 127.0.0.2 (docs/protocol.md sections 8.7 and 8.8). The peers are configured with
// the first supernode alone and learn the second from its supernode-list push. SIGKILL the
// first: both report a "supernode" event (reason "failover") naming the second, are logged in
// there, and their tunnel carries data throughout with no tunnel event. SIGTERM instead: the
// peer is told ("supernode-leaving") and moves at once (reason "leaving"). Every wait is
// bounded; every process is killed on exit.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "tests/apps/federated_supernode.h"

namespace qp2p::test {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

struct TwoFederatedSupernodes {
  TempDir dir{"qp2p-peer-failover"};
  FederatedSupernode a, b;
  std::string failure;

  bool start_both() {
    const std::string secret = dir.file("network.secret");
    std::ofstream(secret) << "loopback failover test secret 0123456789\n";
    const std::vector<std::string> args = {"--config", fast_failover_config(dir)};
    if (!start(a, dir, "a", "127.0.0.1", secret, {}, &failure, args)) return false;
    if (!start(b, dir, "b", "127.0.0.2", secret, {a.primary}, &failure, args)) return false;
    if (!follow(a, [&] { return a.up[b.id]; }, kMembershipTimeout) ||
        !follow(b, [&] { return b.up[a.id]; }, kMembershipTimeout))
      return failure = "no federation:\n" + a.process->transcript() + b.process->transcript(),
             false;
    return true;
  }
};

auto reason_is(const std::string& reason) {
  return [reason](const Json& j) { return j.value("reason", "") == reason; };
}
auto about(const std::string& id) {
  return [id](const Json& j) { return j.value("peer", "") == id; };
}

// Logged in at the first supernode and told the list of both.
void expect_logged_in_with_list(PeerProcess& p, const TwoFederatedSupernodes& net) {
  ASSERT_TRUE(p.await_registered()) << p.transcript();
  auto list = p.expect("supernodes", [](const Json& j) { return j["list"].size() == 2; });
  ASSERT_TRUE(list) << p.transcript();
  EXPECT_EQ((*list)["list"][0], net.a.primary.to_string()) << "the sender first";
  EXPECT_EQ((*list)["list"][1], net.b.primary.to_string());
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

TEST(PeerFailoverProcesses, SupernodeKilledPeersMoveToTheOtherTunnelKeepsRunning) {
  TwoFederatedSupernodes net;
  ASSERT_TRUE(net.start_both()) << net.failure;
  TempDir keys("qp2p-failover-keys");
  PeerProcess p("P", net.a.primary, keys.file("p.key"), {"--meta", "name=p"});
  PeerProcess q("Q", net.a.primary, keys.file("q.key"), {"--auto-accept"});
  expect_logged_in_with_list(p, net);
  expect_logged_in_with_list(q, net);
  ASSERT_TRUE(p.command("connect " + q.id()));
  ASSERT_TRUE(p.expect("tunnel", about(q.id()), 10s)) << p.transcript();
  ASSERT_TRUE(q.expect("tunnel", about(p.id()), 10s)) << q.transcript();

  const auto killed = std::chrono::steady_clock::now();
  net.a.process->kill();
  for (PeerProcess* peer : {&p, &q}) {
    auto moved = peer->expect("supernode", reason_is("failover"), kFailoverTimeout);
    ASSERT_TRUE(moved) << peer->transcript();
    const double took = ms_since(killed);
    std::cout << "[ failover ] " << peer->name() << ": SIGKILL -> supernode event after "
              << took << " ms\n";
    EXPECT_LT(took, 10000.0);
    EXPECT_EQ((*moved)["address"], net.b.primary.to_string());
    EXPECT_EQ((*moved)["supernode_id"], net.b.id);
    auto down = peer->expect("disconnected", nullptr, 0ms);  // read before "supernode"
    ASSERT_TRUE(down) << peer->transcript();
    EXPECT_EQ((*down)["supernode"], net.a.primary.to_string());
    auto again = peer->expect("registered", nullptr, 0ms);
    ASSERT_TRUE(again) << peer->transcript();
    EXPECT_EQ((*again)["supernode"], net.b.primary.to_string());
  }
  // The record was published again at the second supernode.
  EXPECT_TRUE(p.expect("published", nullptr, 5s)) << p.transcript();

  ASSERT_TRUE(p.command("tsend " + q.id() + " after the failover"));
  auto data = q.expect("tdata", [&](const Json& j) { return j.value("from", "") == p.id(); });
  ASSERT_TRUE(data) << q.transcript();
  EXPECT_EQ((*data)["text"], "after the failover");
  for (PeerProcess* peer : {&p, &q}) {
    EXPECT_FALSE(peer->expect("tunnel-closed", nullptr, 0ms)) << peer->transcript();
    EXPECT_FALSE(peer->expect("tunnel", nullptr, 0ms)) << "no second tunnel";
    EXPECT_TRUE(peer->bad_lines().empty());
  }
}

TEST(PeerFailoverProcesses, SupernodeTerminatedPeerMovesOnLeaving) {
  TwoFederatedSupernodes net;
  ASSERT_TRUE(net.start_both()) << net.failure;
  TempDir keys("qp2p-failover-keys");
  PeerProcess p("P", net.a.primary, keys.file("p.key"));
  expect_logged_in_with_list(p, net);

  const auto terminated = std::chrono::steady_clock::now();
  net.a.process->signal(SIGTERM);
  auto leaving = p.expect("supernode-leaving", nullptr, kFailoverTimeout);
  ASSERT_TRUE(leaving) << p.transcript();
  EXPECT_EQ((*leaving)["alternatives"], Json::array({net.b.primary.to_string()}));
  auto moved = p.expect("supernode", reason_is("leaving"), kFailoverTimeout);
  ASSERT_TRUE(moved) << p.transcript();
  const double took = ms_since(terminated);
  std::cout << "[ failover ] SIGTERM -> supernode event after " << took << " ms\n";
  EXPECT_LT(took, 3000.0);
  EXPECT_EQ((*moved)["address"], net.b.primary.to_string());
  // Every peer acked the push: the first supernode exits at once, with status 0.
  auto status = net.a.process->wait(5s);
  ASSERT_TRUE(status) << net.a.process->transcript();
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(p.bad_lines().empty());
}

}  // namespace
}  // namespace qp2p::test
