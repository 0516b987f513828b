// The virtual network itself: latency, ordering, seeded loss, offline nodes, rewriters (the NAT
// hook), idleness and the step bound, with two toy sans-IO endpoints.
#include "tests/stack/harness/virtual_network.h"

#include <gtest/gtest.h>

#include <deque>

namespace qp2p::harness {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Endpoint at(const char* text) { return *Endpoint::parse(text); }

// Answers every datagram with the same bytes, from the endpoint it arrived on.
struct Echo : SansIoEndpoint {
  std::deque<Datagram> out;
  std::vector<std::pair<Instant, Endpoint>> heard;  // time, source
  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override {
    heard.emplace_back(now, remote);
    out.push_back(Datagram{local, remote, Bytes(data, data + size)});
  }
  void handle_timeout(Instant) override {}
  std::optional<Datagram> poll_transmit() override {
    if (out.empty()) return std::nullopt;
    Datagram d = std::move(out.front());
    out.pop_front();
    return d;
  }
  Instant poll_timeout() const override { return kNever; }
};

// Sends `count` numbered datagrams to `to`, one every `interval`, and records the replies.
struct Pinger : SansIoEndpoint {
  Endpoint local, to;
  Duration interval;
  int count;
  int sent = 0;
  Instant next;
  std::deque<Datagram> out;
  std::vector<std::pair<Instant, int>> replies;
  Pinger(Endpoint local, Endpoint to, Duration interval, int count, Instant start)
      : local(local), to(to), interval(interval), count(count), next(start) {}
  void handle_datagram(Instant now, const Endpoint&, const Endpoint&, const std::uint8_t* data,
                       std::size_t size) override {
    if (size == 1) replies.emplace_back(now, data[0]);
  }
  void handle_timeout(Instant now) override {
    if (sent < count && now >= next) {
      out.push_back(Datagram{local, to, Bytes{static_cast<std::uint8_t>(sent++)}});
      next = now + interval;
    }
  }
  std::optional<Datagram> poll_transmit() override {
    if (out.empty()) return std::nullopt;
    Datagram d = std::move(out.front());
    out.pop_front();
    return d;
  }
  Instant poll_timeout() const override { return sent < count ? next : kNever; }
};

// A node whose deadline never moves: the run must stop at its step bound, not hang.
struct Stuck : SansIoEndpoint {
  void handle_datagram(Instant, const Endpoint&, const Endpoint&, const std::uint8_t*,
                       std::size_t) override {}
  void handle_timeout(Instant) override {}
  std::optional<Datagram> poll_transmit() override { return std::nullopt; }
  Instant poll_timeout() const override { return instant_from_us(0); }
};

TEST(VirtualNetwork, DeliversAfterOneWayLatencyInOrder) {
  VirtualNetwork net;
  Echo echo;
  Pinger ping(at("203.0.113.1:1000"), at("192.0.2.1:7"), milliseconds(1), 5, net.now());
  net.add_node("echo", echo, {at("192.0.2.1:7")});
  net.add_node("ping", ping, {ping.local});
  ASSERT_TRUE(net.run_until_idle(seconds(1))) << net.error();
  ASSERT_EQ(ping.replies.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ping.replies[i].second, i);
    // Sent at i ms, back after two 5 ms hops.
    EXPECT_EQ(ping.replies[i].first, instant_from_us(i * 1000 + 10'000));
  }
  EXPECT_EQ(echo.heard[0].second, ping.local);
  EXPECT_EQ(net.counters().delivered, 10u);
}

TEST(VirtualNetwork, PerLinkLatencyOverridesTheDefault) {
  VirtualNetwork net;
  Echo echo;
  Pinger ping(at("203.0.113.1:1000"), at("192.0.2.1:7"), milliseconds(1), 1, net.now());
  const auto e = net.add_node("echo", echo, {at("192.0.2.1:7")});
  const auto p = net.add_node("ping", ping, {ping.local});
  net.set_link(p, e, LinkConditions{milliseconds(40), 0.0});
  ASSERT_TRUE(net.run_for(seconds(1)));
  ASSERT_EQ(ping.replies.size(), 1u);
  EXPECT_EQ(ping.replies[0].first, instant_from_us(80'000));
  EXPECT_EQ(net.now(), instant_from_us(1'000'000)) << "run_for ends at its deadline";
}

TEST(VirtualNetwork, SeededLossIsDeterministic) {
  auto run = [](std::uint64_t seed) {
    VirtualNetwork net(seed);
    Echo echo;
    Pinger ping(at("203.0.113.1:1000"), at("192.0.2.1:7"), milliseconds(1), 200, net.now());
    net.add_node("echo", echo, {at("192.0.2.1:7")});
    net.add_node("ping", ping, {ping.local});
    net.set_default_link(LinkConditions{milliseconds(5), 0.3});
    EXPECT_TRUE(net.run_until_idle(seconds(5)));
    std::vector<int> got;
    for (auto& r : ping.replies) got.push_back(r.second);
    return std::make_pair(got, net.counters().dropped_loss);
  };
  const auto a = run(7), b = run(7), c = run(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.first, c.first);
  // 400 transmissions (200 echoed at most) at 30 %: about 0.51 of the pings come back.
  EXPECT_GT(a.first.size(), 70u);
  EXPECT_LT(a.first.size(), 140u);
}

TEST(VirtualNetwork, OfflineNodeNeitherSendsNorReceives) {
  VirtualNetwork net;
  Echo echo;
  Pinger ping(at("203.0.113.1:1000"), at("192.0.2.1:7"), milliseconds(100), 10, net.now());
  const auto e = net.add_node("echo", echo, {at("192.0.2.1:7")});
  net.add_node("ping", ping, {ping.local});
  ASSERT_TRUE(net.run_for(milliseconds(250)));  // pings 0, 1, 2 answered
  net.set_offline(e, true);
  ASSERT_TRUE(net.run_for(milliseconds(300)));  // 3, 4, 5 lost
  net.set_offline(e, false);
  ASSERT_TRUE(net.run_until_idle(seconds(2)));
  std::vector<int> got;
  for (auto& r : ping.replies) got.push_back(r.second);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 6, 7, 8, 9}));
  EXPECT_EQ(net.counters().dropped_offline, 3u);
}

TEST(VirtualNetwork, RewriterChangesSourceAndDestination) {
  // A one-mapping NAT: 203.0.113.1:1000 inside appears as 198.51.100.9:5555 outside.
  VirtualNetwork net;
  Echo echo;
  Pinger ping(at("203.0.113.1:1000"), at("192.0.2.1:7"), milliseconds(1), 3, net.now());
  net.add_node("echo", echo, {at("192.0.2.1:7")});
  const auto p = net.add_node("ping", ping, {ping.local});
  const Endpoint inside = ping.local, outside = at("198.51.100.9:5555");
  net.add_rewriter([&](Instant, VirtualNetwork::NodeId from, Endpoint& src, Endpoint& dst) {
    if (from == p && src == inside)
      src = outside;
    else if (dst == outside)
      dst = inside;
    return true;
  });
  ASSERT_TRUE(net.run_until_idle(seconds(1)));
  EXPECT_EQ(ping.replies.size(), 3u);
  ASSERT_FALSE(echo.heard.empty());
  EXPECT_EQ(echo.heard[0].second, outside);
  // And a rewriter can drop (a filtering NAT).
  net.add_rewriter([](Instant, VirtualNetwork::NodeId, Endpoint&, Endpoint&) { return false; });
  Pinger more(at("203.0.113.2:1000"), at("192.0.2.1:7"), milliseconds(1), 2, net.now());
  net.add_node("more", more, {more.local});
  ASSERT_TRUE(net.run_until_idle(seconds(1)));
  EXPECT_TRUE(more.replies.empty());
  EXPECT_EQ(net.counters().dropped_rewriter, 2u);
}

TEST(VirtualNetwork, UnroutableAndForeignSourcesAreCountedDrops) {
  VirtualNetwork net;
  Pinger ping(at("203.0.113.1:1000"), at("192.0.2.200:7"), milliseconds(1), 2, net.now());
  Pinger liar(at("203.0.113.99:1000"), at("192.0.2.200:7"), milliseconds(1), 1, net.now());
  net.add_node("ping", ping, {ping.local});
  net.add_node("liar", liar, {at("203.0.113.2:1000")});  // sends from an endpoint it lacks
  ASSERT_TRUE(net.run_until_idle(seconds(1)));
  EXPECT_EQ(net.counters().dropped_unroutable, 2u);
  EXPECT_EQ(net.counters().dropped_bad_source, 1u);
}

TEST(VirtualNetwork, RejectsAddressesOutsideTheDocumentationRanges) {
  VirtualNetwork net;
  Echo a, b;
  EXPECT_THROW(net.add_node("a", a, {at("100.64.0.1:7")}), std::invalid_argument);
  net.add_node("b", b, {at("198.51.100.1:7")});
  EXPECT_THROW(net.add_node("a", a, {at("198.51.100.1:7")}), std::invalid_argument);
}

TEST(VirtualNetwork, StuckDeadlineHitsTheStepBound) {
  VirtualNetwork net;
  Stuck stuck;
  net.add_node("stuck", stuck, {at("192.0.2.5:1")});
  net.set_max_steps(1000);
  EXPECT_FALSE(net.run_for(seconds(1)));
  EXPECT_NE(net.error().find("more than 1000 steps"), std::string::npos) << net.error();
}

// A node that always has another datagram: the drain must stop, not hang.
struct Babbler : SansIoEndpoint {
  Endpoint local;
  explicit Babbler(Endpoint local) : local(local) {}
  void handle_datagram(Instant, const Endpoint&, const Endpoint&, const std::uint8_t*,
                       std::size_t) override {}
  void handle_timeout(Instant) override {}
  std::optional<Datagram> poll_transmit() override {
    return Datagram{local, at("192.0.2.250:9"), Bytes{1}};
  }
  Instant poll_timeout() const override { return kNever; }
};

TEST(VirtualNetwork, EndlessTransmitterHitsTheDrainBound) {
  VirtualNetwork net;
  Babbler babbler(at("192.0.2.5:1"));
  net.add_node("babbler", babbler, {babbler.local});
  EXPECT_FALSE(net.run_for(seconds(1)));
  EXPECT_NE(net.error().find("babbler sent more than"), std::string::npos) << net.error();
}

TEST(VirtualNetwork, StepHookRunsAfterEveryStep) {
  VirtualNetwork net;
  Pinger ping(at("203.0.113.1:1000"), at("192.0.2.1:7"), milliseconds(10), 3, net.now());
  net.add_node("ping", ping, {ping.local});
  std::vector<Instant> steps;
  net.on_step([&](Instant now) { steps.push_back(now); });
  ASSERT_TRUE(net.run_until_idle(seconds(1)));
  EXPECT_EQ(steps, (std::vector<Instant>{instant_from_us(0), instant_from_us(10'000),
                                         instant_from_us(20'000)}));
}

}  // namespace
}  // namespace qp2p::harness
