// GET /healthz over real HTTP (curl) as a readiness/liveness probe (stack/management/health.h):
// a qp2p-supernode answers 200 while serving and 503 "leaving" from its SIGTERM on, for the whole
// grace period it spends waiting for a peer's ack (the peer is SIGSTOPped, so the period lasts
// until the test ends it), while the rest of its API still serves; and an ApiService whose
// protocol thread does not run (a stalled event loop, made by not running its io_context)
// answers 503 "stalled" after the stall bound, at once thereafter, and 200 again once the loop
// runs. Every wait is bounded; every process is killed on exit.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <iostream>
#include <thread>

#include "apps/runtime/api_service.h"
#include "apps/runtime/clock.h"
#include "tests/apps/management_api_client.h"

namespace qp2p::test {
namespace {

using namespace std::chrono_literals;

TEST(ManagementApiHealth, OkWhileServingLeavingFromSigtermOn) {
  // Snapshots at most 10 ms old, so every answer shows the peer logged in just before.
  ApiSupernode api({"shutdown-grace-seconds = 30", "api-snapshot-max-age-ms = 10"});
  ASSERT_TRUE(api.start()) << api.supernode().failure();
  HttpReply health = api.get("/healthz");
  ASSERT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.json()["status"], "ok");
  EXPECT_FALSE(health.json().contains("error"));
  EXPECT_FALSE(health.json().contains("federation")) << "not federated";

  // A peer that will not ack the supernode-leaving push keeps the supernode in its grace period.
  TempDir keys("qp2p-api-health");
  PeerProcess peer("p", api.supernode().primary(), keys.file("p.key"), {"--bind", "127.0.0.1:0"});
  ASSERT_TRUE(peer.await_registered()) << peer.transcript();
  peer.process().signal(SIGSTOP);

  ChildProcess& supernode = api.supernode().process();
  supernode.signal(SIGTERM);
  ASSERT_TRUE(supernode.wait_for_line(
      [](const std::string& l) { return l.find("received, leaving") != std::string::npos; },
      kLineTimeout))
      << supernode.transcript();
  health = api.get("/healthz");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_EQ(health.json()["status"], "leaving");
  EXPECT_EQ(health.json()["error"], "unavailable");
  EXPECT_NE(health.json()["reason"].get<std::string>().find("shutting down"), std::string::npos);
  EXPECT_EQ(health.json()["peers_online"], 1);
  // The rest of the API serves the shutdown: the push waiting for the stopped peer's ack.
  HttpReply supernodes = api.get("/v1/supernodes");
  ASSERT_EQ(supernodes.status, 200) << supernodes.body;
  EXPECT_GE(supernodes.json()["supernodes"][0]["load"]["pushes_in_flight"].get<int>(), 1)
      << supernodes.body;
  EXPECT_TRUE(supernode.running());

  // A second SIGTERM ends the grace period at once.
  supernode.signal(SIGTERM);
  auto status = supernode.wait(5s);
  ASSERT_TRUE(status) << supernode.transcript();
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(api.get("/healthz").status, 0) << "the API closed with the process";
}

TEST(ManagementApiHealth, AStalledProtocolLoopIs503UntilItRunsAgain) {
  Random random = Random::from_u64(1231);
  SupernodeConfig config;
  config.primary = *Endpoint::parse("127.0.0.1:3478");  // no socket: the node is never driven
  config.alternate = *Endpoint::parse("127.0.0.1:3479");
  const Supernode node(config, Identity::generate(random), random.fork());
  boost::asio::io_context protocol_io;  // not run yet: the stalled loop
  ApiServiceOptions options;
  options.http.listen = *Endpoint::parse("127.0.0.1:0");
  options.snapshot_max_age = 100ms;  // stall bound: management::kMinStallBound (1 s)
  ApiService service(protocol_io, node, management::BearerToken(kApiToken), options, now());
  const std::string base = "http://" + service.local_endpoint().to_string();

  // The first request waits for a snapshot that does not come, then gets 503.
  const auto asked = std::chrono::steady_clock::now();
  HttpReply health = http_get(base + "/healthz");
  const auto waited = std::chrono::steady_clock::now() - asked;
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_EQ(health.json()["status"], "stalled");
  EXPECT_EQ(health.json()["error"], "unavailable");
  EXPECT_NE(health.json()["reason"].get<std::string>().find("bound 1000 ms"), std::string::npos)
      << health.body;
  std::cout << "[ stalled ] first 503 after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms\n";
  // Every later request is refused at once (none waits for the loop).
  HttpReply peers = http_get(base + "/v1/peers");
  EXPECT_EQ(peers.status, 503) << peers.body;
  EXPECT_EQ(peers.json()["status"], "stalled");

  // The loop runs again: the snapshot asked for arrives and the probe is 200.
  auto work = boost::asio::make_work_guard(protocol_io);
  std::thread loop([&] { protocol_io.run(); });
  HttpReply recovered;
  for (int i = 0; i < 50 && recovered.status != 200; ++i) {  // bounded: 50 x 100 ms
    if (i) std::this_thread::sleep_for(100ms);
    recovered = http_get(base + "/healthz");
  }
  EXPECT_EQ(recovered.status, 200) << recovered.body;
  EXPECT_EQ(recovered.json()["status"], "ok");
  work.reset();
  protocol_io.stop();
  loop.join();
  service.close();
}

}  // namespace
}  // namespace qp2p::test
