// Interoperability of the relay service with a standard TURN client: coturn's
// turnutils_uclient (Debian package coturn) allocates on a real qp2p-supernode process with
// TURN REST API credentials (-W SECRET), relays its data through the allocations and must
// report every packet received (0 lost); the supernode's counters must show the traffic went
// through its relay. Skipped when the tool is not installed.
//
//   client-to-client (-y): two clients, each relaying to the other's relayed address, over
//     ChannelData, with coturn's RTP/RTCP pairs (EVEN-PORT with reservation, RESERVATION-TOKEN);
//   Send/Data indications (-s) to turnutils_peer, an echo peer on 127.0.0.1;
//   a wrong secret: every Allocate refused, the client gives up.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tests/apps/process_helper.h"
#include "tests/apps/qp2p_processes.h"

namespace qp2p {
namespace {

using namespace std::chrono_literals;
using test::ChildProcess;

constexpr char kSecret[] = "loopback-turn-secret";
// uclient sends a message every 20 ms per session; 20 messages take under a second. The bound
// is generous for a loaded two-core machine.
constexpr auto kClientTimeout = 30s;

// A UDP port on 127.0.0.1 that was free a moment ago (for turnutils_peer, which needs a number).
int free_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// The number after `key=` in the supernode's "counters at exit" line; -1 when absent.
long counter(const std::string& line, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("[ |]" + key + "=([0-9]+)"))) return -1;
  return std::stol(m[1].str());
}

struct ClientResult {
  int exit_code = -1;
  long sent = -1;
  long received = -1;
  long lost = -1;
  std::string transcript;
};

class TurnUclientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto client = test::find_program("turnutils_uclient");
    if (!client) {
      GTEST_SKIP() << "turnutils_uclient is not installed (Debian package coturn); skipping the "
                      "standard TURN client interoperability test";
    }
    client_ = *client;
  }

  // Runs turnutils_uclient to completion (bounded) and reads its summary lines:
  //   "start_mclient: tot_send_msgs=40, tot_recv_msgs=40"
  //   "Total lost packets 0 (0.000000%), total send dropped 0 (0.000000%)"
  ClientResult run_client(const Endpoint& server, std::vector<std::string> args) {
    args.insert(args.end(), {"-p", std::to_string(server.port), server.address.to_string()});
    auto client = ChildProcess::spawn(client_, args);
    ClientResult r;
    auto status =
        client.wait(std::chrono::duration_cast<std::chrono::milliseconds>(kClientTimeout));
    while (client.read_line(200ms)) {
    }
    if (!status) status = client.kill();
    r.exit_code = *status;
    std::smatch m;
    for (const auto& line : client.lines()) {
      if (std::regex_search(line, m,
                            std::regex(R"(tot_send_msgs=([0-9]+), tot_recv_msgs=([0-9]+))"))) {
        r.sent = std::stol(m[1].str());
        r.received = std::stol(m[2].str());
      }
      if (std::regex_search(line, m, std::regex(R"(Total lost packets ([0-9]+))")))
        r.lost = std::stol(m[1].str());
    }
    r.transcript = client.transcript();
    return r;
  }

  std::string client_;
};

TEST_F(TurnUclientTest, ClientToClientOverChannelsLosesNothing) {
  test::SupernodeProcess supernode({"turn-secret = " + std::string(kSecret)});
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  // -y: client to client through two allocations; RTP and RTCP allocations (EVEN-PORT with
  // the R bit, then RESERVATION-TOKEN); channels picked at random from 0x4000-0x7FFF.
  auto r = run_client(supernode.primary(), {"-y", "-n", "20", "-W", kSecret, "-u", "qp2p"});
  EXPECT_EQ(r.exit_code, 0) << r.transcript;
  EXPECT_GT(r.sent, 0) << r.transcript;
  EXPECT_EQ(r.received, r.sent) << r.transcript;
  EXPECT_EQ(r.lost, 0) << r.transcript;

  const std::string counters = supernode.stop_and_find_log("counters at exit");
  ASSERT_FALSE(counters.empty()) << supernode.process().transcript();
  EXPECT_GE(counter(counters, "channel_in"), r.sent) << counters;
  EXPECT_GE(counter(counters, "channel_out"), r.received) << counters;
  EXPECT_GE(counter(counters, "created"), 4) << counters;
  EXPECT_EQ(counter(counters, "no_permission"), 0) << counters;
  EXPECT_EQ(counter(counters, "channel_unbound"), 0) << counters;
  EXPECT_EQ(supernode.exit_code(), 0);
}

TEST_F(TurnUclientTest, SendIndicationsToAnEchoPeerLoseNothing) {
  auto peer_tool = test::find_program("turnutils_peer");
  if (!peer_tool) GTEST_SKIP() << "turnutils_peer is not installed (Debian package coturn)";
  const int peer_port = free_udp_port();
  ASSERT_GT(peer_port, 0);
  ChildProcess::Options quiet;
  quiet.stderr_mode = ChildProcess::Stderr::kDiscard;
  auto peer =
      ChildProcess::spawn(*peer_tool, {"-L", "127.0.0.1", "-p", std::to_string(peer_port)}, quiet);

  test::SupernodeProcess supernode({}, {"--turn-secret", kSecret, "--relay-ports", "49152-65535"});
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  // -s: Send and Data indications instead of channels; -c: one allocation per client.
  auto r =
      run_client(supernode.primary(), {"-s", "-c", "-n", "20", "-e", "127.0.0.1", "-r",
                                       std::to_string(peer_port), "-W", kSecret, "-u", "qp2p"});
  EXPECT_EQ(r.exit_code, 0) << r.transcript;
  EXPECT_GT(r.sent, 0) << r.transcript;
  EXPECT_EQ(r.received, r.sent) << r.transcript;
  EXPECT_EQ(r.lost, 0) << r.transcript;
  peer.kill();

  const std::string counters = supernode.stop_and_find_log("counters at exit");
  ASSERT_FALSE(counters.empty()) << supernode.process().transcript();
  EXPECT_GE(counter(counters, "send"), r.sent) << counters;
  EXPECT_GE(counter(counters, "data"), r.received) << counters;
}

TEST_F(TurnUclientTest, WrongSecretIsRefused) {
  test::SupernodeProcess supernode({"turn-secret = " + std::string(kSecret)});
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  auto r = run_client(supernode.primary(), {"-y", "-c", "-n", "5", "-W", "not-the-secret"});
  EXPECT_NE(r.exit_code, 0) << "the client must give up\n" << r.transcript;
  EXPECT_LE(r.received, 0) << r.transcript;
  const std::string counters = supernode.stop_and_find_log("counters at exit");
  EXPECT_EQ(counter(counters, "created"), 0) << counters;
  EXPECT_GE(counter(counters, "401"), 2) << counters;
}

}  // namespace
}  // namespace qp2p
