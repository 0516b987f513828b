// Federation over real sockets: three qp2p-supernode processes on 127.0.0.1, 127.0.0.2 and
// 127.0.0.3 sharing a network secret (the second and third given the first as --seed) all
// report the other two as members; when one is killed, the other two declare it dead; a fourth
// with another secret is never admitted. Every wait is bounded, every process killed on exit.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/apps/federated_supernode.h"

namespace qp2p::test {
namespace {

constexpr auto kMembershipTimeout = std::chrono::seconds(30);

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

}  // namespace
}  // namespace qp2p::test
