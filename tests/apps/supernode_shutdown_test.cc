// Graceful shutdown of a real qp2p-supernode: on SIGTERM a logged-in qp2p-peer prints the
// supernode-leaving event naming the configured failover-supernodes, acks it, and the supernode
// exits 0 after logging that no acks are missing.
#include <gtest/gtest.h>

#include <csignal>

#include "tests/apps/qp2p_processes.h"

namespace qp2p::test {
namespace {

TEST(SupernodeShutdown, PeersAreToldToMoveThenTheProcessExits) {
  SupernodeProcess supernode({"failover-supernodes = 127.0.0.2:3478, 127.0.0.3:3478",
                              "shutdown-grace-seconds = 5"});
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  TempDir keys("qp2p-shutdown");
  PeerProcess peer("p", supernode.primary(), keys.file("p.key"), {"--bind", "127.0.0.1:0"});
  ASSERT_TRUE(peer.await_registered()) << peer.transcript();

  supernode.process().signal(SIGTERM);
  auto leaving = peer.expect("supernode-leaving");
  ASSERT_TRUE(leaving) << peer.transcript();
  EXPECT_EQ((*leaving)["supernode"], supernode.primary().to_string());
  EXPECT_EQ((*leaving)["alternatives"],
            nlohmann::json::array({"127.0.0.2:3478", "127.0.0.3:3478"}));

  auto status = supernode.process().wait(std::chrono::seconds(5));
  ASSERT_TRUE(status) << "still running after the grace period";
  EXPECT_EQ(*status, 0);
  EXPECT_NE(supernode.stop_and_find_log("leaving: 0 acks missing"), "")
      << supernode.process().transcript();
  EXPECT_TRUE(peer.bad_lines().empty());
}

}  // namespace
}  // namespace qp2p::test
