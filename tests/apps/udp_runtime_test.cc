// UdpRuntime (apps/runtime/udp_runtime.h) on real loopback sockets with a trivial echo core:
// datagrams reach the core with the right local and remote endpoints on IPv4 and IPv6, every
// transmit leaves from the socket it names, the timer fires at poll_timeout(), and what cannot
// be sent is counted rather than lost silently.
#include "apps/runtime/udp_runtime.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <stdexcept>

#include "apps/runtime/clock.h"
#include "apps/runtime/udp_socket.h"

namespace qp2p {
namespace {

using namespace std::chrono_literals;

// Echoes every datagram back to its sender from the socket it arrived on; one timer.
class EchoCore : public SansIoEndpoint {
 public:
  void handle_datagram(Instant, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override {
    ++received;
    last_local = local;
    out.push_back(Datagram{local, remote, Bytes(data, data + size)});
  }
  void handle_timeout(Instant now) override {
    if (now >= deadline) {
      ++fired;
      fired_at = now;
      deadline = kNever;
    }
  }
  std::optional<Datagram> poll_transmit() override {
    if (out.empty()) return std::nullopt;
    Datagram d = std::move(out.front());
    out.pop_front();
    return d;
  }
  Instant poll_timeout() const override { return deadline; }

  std::deque<Datagram> out;
  Instant deadline = kNever;
  Instant fired_at;
  int received = 0;
  int fired = 0;
  Endpoint last_local;
};

// A plain client socket, read without the runtime.
struct Client {
  explicit Client(const Endpoint& bind_to) : fd(open_udp_socket(bind_to)) {}
  ~Client() { ::close(fd); }
  void send_to(const Endpoint& to, const std::string& text) {
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(to, &ss);
    ASSERT_EQ(::sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&ss), len),
              static_cast<ssize_t>(text.size()));
  }
  // Next datagram (payload, source), or nullopt after `timeout`.
  std::optional<std::pair<std::string, Endpoint>> receive(std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[2048];
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    ssize_t n = ::recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&ss), &len);
    if (n < 0) return std::nullopt;
    return std::make_pair(std::string(buf, static_cast<std::size_t>(n)),
                          *from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len));
  }
  int fd;
};

// Runs the io_context until `done` holds or `limit` passes.
template <class Done>
bool run_until(boost::asio::io_context& io, Done done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(5ms);
  }
  return true;
}

bool ipv6_loopback_available() {
  try {
    ::close(open_udp_socket(*Endpoint::parse("[::1]:0")));
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

void expect_echoes(const Endpoint& server_bind) {
  boost::asio::io_context io;
  EchoCore core;
  UdpRuntime runtime(io, core);
  int activity = 0;
  runtime.on_activity = [&] { ++activity; };
  const Endpoint server = runtime.bind(server_bind);
  ASSERT_NE(server.port, 0);
  ASSERT_EQ(server.address, server_bind.address);

  Client client(Endpoint{server_bind.address, 0});
  // More than one recvmmsg batch, fewer than the socket buffer holds.
  constexpr int kCount = 300;
  for (int i = 0; i < kCount; ++i) client.send_to(server, "ping " + std::to_string(i));
  ASSERT_TRUE(run_until(io, [&] { return core.received == kCount; })) << core.received;
  EXPECT_EQ(core.last_local, server);
  EXPECT_GE(activity, 1);
  for (int i = 0; i < kCount; ++i) {
    auto got = client.receive(2s);
    ASSERT_TRUE(got) << "echo " << i << " missing";
    EXPECT_EQ(got->first, "ping " + std::to_string(i));  // one socket, one queue: in order
    EXPECT_EQ(got->second, server);
  }
  EXPECT_EQ(runtime.counters().datagrams_received, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(runtime.counters().datagrams_sent, static_cast<std::uint64_t>(kCount));
  EXPECT_LT(runtime.counters().send_calls, static_cast<std::uint64_t>(kCount));  // batched
}

TEST(UdpRuntime, EchoesOnIpv4) { expect_echoes(*Endpoint::parse("127.0.0.1:0")); }

TEST(UdpRuntime, EchoesOnIpv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback (::1) on this host";
  expect_echoes(*Endpoint::parse("[::1]:0"));
}

TEST(UdpRuntime, TransmitLeavesFromTheSocketItNames) {
  boost::asio::io_context io;
  EchoCore core;
  UdpRuntime runtime(io, core);
  const Endpoint a = runtime.bind(*Endpoint::parse("127.0.0.1:0"));
  const Endpoint b = runtime.bind(*Endpoint::parse("127.0.0.1:0"));
  Client client(*Endpoint::parse("127.0.0.1:0"));
  const Endpoint to = socket_local_endpoint(client.fd);
  // An API call on the core, then flush(): the runtime's contract with the application.
  core.out.push_back(Datagram{b, to, Bytes{'b'}});
  core.out.push_back(Datagram{a, to, Bytes{'a'}});
  runtime.flush();
  // Transmits are grouped by socket for sendmmsg, so order across sockets is not kept.
  for (int i = 0; i < 2; ++i) {
    auto got = client.receive(2s);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->second, got->first == "a" ? a : b) << got->first;
  }
}

TEST(UdpRuntime, TransmitFromUnknownLocalEndpointIsCounted) {
  boost::asio::io_context io;
  EchoCore core;
  UdpRuntime runtime(io, core);
  runtime.bind(*Endpoint::parse("127.0.0.1:0"));
  core.out.push_back(
      Datagram{*Endpoint::parse("127.0.0.1:9"), *Endpoint::parse("127.0.0.1:9"), Bytes{1}});
  runtime.flush();
  EXPECT_EQ(runtime.counters().dropped_no_socket, 1u);
  EXPECT_EQ(runtime.counters().datagrams_sent, 0u);
}

TEST(UdpRuntime, TimerFiresAtPollTimeout) {
  boost::asio::io_context io;
  EchoCore core;
  UdpRuntime runtime(io, core);
  runtime.bind(*Endpoint::parse("127.0.0.1:0"));
  const Instant start = now();
  core.deadline = start + 30ms;
  runtime.flush();  // arms the timer
  ASSERT_TRUE(run_until(io, [&] { return core.fired == 1; }));
  EXPECT_GE(core.fired_at - start, 30ms);
  // Moving the deadline earlier re-arms the timer.
  core.deadline = now() + 1h;
  runtime.flush();
  core.deadline = now() + 10ms;
  runtime.flush();
  ASSERT_TRUE(run_until(
      io, [&] { return core.fired == 2; }, 2s));
}

TEST(UdpRuntime, BindFailureNamesTheAddress) {
  boost::asio::io_context io;
  EchoCore core;
  UdpRuntime runtime(io, core);
  const Endpoint taken = runtime.bind(*Endpoint::parse("127.0.0.1:0"));
  UdpRuntime other(io, core);
  try {
    other.bind(taken);
    FAIL() << "binding " << taken.to_string() << " twice succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(taken.to_string()), std::string::npos) << e.what();
  }
}

TEST(UdpRuntime, CloseStopsReadingAndHandlersAfterDestructionAreHarmless) {
  boost::asio::io_context io;
  EchoCore core;
  Endpoint server;
  {
    UdpRuntime runtime(io, core);
    server = runtime.bind(*Endpoint::parse("127.0.0.1:0"));
    core.deadline = now() + 1ms;
    runtime.flush();
  }  // destroyed with a read wait and a timer wait queued
  io.restart();
  io.run_for(20ms);  // the aborted handlers run here and must do nothing
  EXPECT_EQ(core.fired, 0);
}

}  // namespace
}  // namespace qp2p

namespace qp2p {
namespace {

TEST(InterfaceAddresses, OnlyUsableAddressesOfTheFamilyAskedFor) {
  for (const IpAddress& like : {IpAddress(), *IpAddress::parse("::")}) {
    const auto addresses = interface_addresses(like, 3);
    EXPECT_LE(addresses.size(), 3u);
    for (const IpAddress& a : addresses) {
      EXPECT_EQ(a.is_v4(), like.is_v4()) << a.to_string();
      EXPECT_FALSE(a.is_loopback()) << a.to_string();
      EXPECT_FALSE(a.is_unspecified()) << a.to_string();
    }
  }
  EXPECT_TRUE(interface_addresses(IpAddress(), 0).empty());
}

}  // namespace
}  // namespace qp2p
