// `qp2p-peer netcheck` against a real supernode whose two STUN services sit on two loopback
// addresses: a host with no NAT must be reported as such, in RFC 4787 words, as one JSON
// object; --human prints the summary; a dead supernode is a clear failure, not a hang.
#include <gtest/gtest.h>

#include "tests/apps/qp2p_processes.h"

namespace qp2p {
namespace {

using test::ChildProcess;

std::optional<int> run(std::vector<std::string> args, std::string* output) {
  auto child = ChildProcess::spawn(test::binary_path("qp2p-peer"), args);
  auto status = child.wait(std::chrono::seconds(40));
  while (auto line = child.read_line(std::chrono::milliseconds(0))) *output += *line + "\n";
  return status;
}

TEST(Netcheck, ReportsNoNatInRfc4787Words) {
  test::SupernodeProcess supernode;
  supernode.set_alternate("127.0.0.2:0");
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  std::string out;
  auto status = run({"netcheck", "--supernode", supernode.primary().to_string()}, &out);
  ASSERT_TRUE(status) << "netcheck did not finish:\n" << out;
  EXPECT_EQ(*status, 0) << out;
  auto json = nlohmann::json::parse(out.substr(0, out.find('\n')), nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << out;
  EXPECT_EQ(json["mapping"], "endpoint-independent");
  EXPECT_EQ(json["filtering"], "endpoint-independent");
  EXPECT_EQ(json["nat_levels"], 0);
  EXPECT_EQ(json["complete"], true);
  EXPECT_EQ(json["mapped"], json["local"]) << "no NAT: the mapped address is our own";
}

TEST(Netcheck, HumanSummaryAndUnreachableSupernode) {
  test::SupernodeProcess supernode;
  supernode.set_alternate("127.0.0.2:0");
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  std::string out;
  auto status = run({"netcheck", "--human", "--supernode", supernode.primary().to_string()}, &out);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << out;
  EXPECT_NE(out.find("mapping=endpoint-independent"), std::string::npos) << out;

  // Nothing listens there: a failure within the timeout, exit code 1, the reason printed.
  out.clear();
  status = run({"netcheck", "--timeout", "3", "--supernode", "127.0.0.1:9"}, &out);
  ASSERT_TRUE(status) << "netcheck hung against a dead supernode";
  EXPECT_EQ(*status, 1) << out;
  EXPECT_NE(out.find("error"), std::string::npos) << out;
}

TEST(Netcheck, BadCommandLineIsExitTwo) {
  std::string out;
  auto status = run({"netcheck", "--supernode", "not-an-endpoint"}, &out);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 2);
  EXPECT_NE(out.find("--supernode"), std::string::npos) << out;
}

}  // namespace
}  // namespace qp2p
