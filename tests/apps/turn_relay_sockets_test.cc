// UdpRuntime::close_socket, which the supernode uses for TURN relay sockets: a relay port is
// opened while the runtime runs, serves datagrams, and once closed is gone from the runtime
// (its port free for anyone to bind again) while the other sockets keep working.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <deque>

#include "apps/runtime/udp_runtime.h"
#include "apps/runtime/udp_socket.h"

namespace qp2p {
namespace {

// Counts datagrams by the local endpoint they arrived on; sends nothing.
class CountingCore : public SansIoEndpoint {
 public:
  void handle_datagram(Instant, const Endpoint& local, const Endpoint&, const std::uint8_t*,
                       std::size_t) override {
    arrivals.push_back(local);
  }
  void handle_timeout(Instant) override {}
  std::optional<Datagram> poll_transmit() override { return std::nullopt; }
  Instant poll_timeout() const override { return kNever; }
  std::deque<Endpoint> arrivals;
};

void send_to(int fd, const Endpoint& to) {
  sockaddr_storage addr;
  const socklen_t len = to_sockaddr(to, &addr);
  const char byte = 'x';
  ASSERT_EQ(::sendto(fd, &byte, 1, 0, reinterpret_cast<sockaddr*>(&addr), len), 1);
}

TEST(TurnRelaySockets, CloseSocketFreesThePortAndKeepsTheOthers) {
  boost::asio::io_context io;
  CountingCore core;
  UdpRuntime runtime(io, core);
  const Endpoint primary = runtime.bind(*Endpoint::parse("127.0.0.1:0"));
  const Endpoint relay = runtime.bind(*Endpoint::parse("127.0.0.1:0"));
  ASSERT_EQ(runtime.local_endpoints().size(), 2u);

  const int client = open_udp_socket(*Endpoint::parse("127.0.0.1:0"));
  send_to(client, relay);
  // Bounded: one datagram on loopback arrives within the first few polls.
  for (int i = 0; i < 200 && core.arrivals.empty(); ++i) io.run_for(std::chrono::milliseconds(5));
  ASSERT_EQ(core.arrivals.size(), 1u);
  EXPECT_EQ(core.arrivals.front(), relay);

  EXPECT_TRUE(runtime.close_socket(relay));
  EXPECT_FALSE(runtime.close_socket(relay)) << "already closed";
  EXPECT_EQ(runtime.local_endpoints(), std::vector<Endpoint>{primary});
  // The port is free again: another socket can take it.
  const int again = open_udp_socket(relay);
  EXPECT_GE(again, 0);
  ::close(again);

  send_to(client, primary);
  for (int i = 0; i < 200 && core.arrivals.size() < 2; ++i)
    io.run_for(std::chrono::milliseconds(5));
  ASSERT_EQ(core.arrivals.size(), 2u);
  EXPECT_EQ(core.arrivals.back(), primary);
  ::close(client);
}

}  // namespace
}  // namespace qp2p
