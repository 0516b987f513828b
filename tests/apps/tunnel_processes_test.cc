// Tunnels between real qp2p-peer processes over loopback (issue 4, "over real sockets"): a
// request refused by hand is reported to the requester; a request accepted by --auto-accept
// gives both sides a direct tunnel that carries tsend text as tdata both ways; the tunnel keeps
// working after the supernode process is killed; close and quit are seen by the other side.
#include <gtest/gtest.h>

#include "tests/apps/qp2p_processes.h"

namespace qp2p {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using test::PeerProcess;
using test::SupernodeProcess;
using test::TempDir;

auto from(const std::string& id) {
  return [id](const Json& j) { return j.value("from", "") == id; };
}
auto about(const std::string& id) {
  return [id](const Json& j) { return j.value("peer", "") == id; };
}

TEST(TunnelProcesses, RefusedThenAcceptedTunnelCarriesDataWithoutTheSupernode) {
  SupernodeProcess supernode;
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  TempDir keys("qp2p-tunnel-keys");
  PeerProcess a("A", supernode.primary(), keys.file("a.key"), {"--meta", "name=alice"});
  PeerProcess b("B", supernode.primary(), keys.file("b.key"), {"--auto-accept"});
  PeerProcess c("C", supernode.primary(), keys.file("c.key"));
  for (PeerProcess* p : {&a, &b, &c}) ASSERT_TRUE(p->await_registered()) << p->transcript();
  ASSERT_TRUE(a.expect("published")) << a.transcript();

  // C answers by hand: a refusal, with its reason, reaches A.
  ASSERT_TRUE(a.command("connect " + c.id()));
  auto request = c.expect("tunnel-request");
  ASSERT_TRUE(request) << c.transcript();
  EXPECT_EQ((*request)["from"], a.id());
  EXPECT_EQ((*request)["meta"]["name"], "alice");
  ASSERT_TRUE(c.command("refuse " + a.id() + " not now"));
  auto refused = a.expect("tunnel-refused", about(c.id()));
  ASSERT_TRUE(refused) << a.transcript();
  EXPECT_EQ((*refused)["reason"], "not now");

  // B accepts by itself: both sides report a direct tunnel.
  ASSERT_TRUE(a.command("connect " + b.id()));
  auto up_a = a.expect("tunnel", about(b.id()), 10s);
  auto up_b = b.expect("tunnel", about(a.id()), 10s);
  ASSERT_TRUE(up_a && up_b) << a.transcript() << b.transcript();
  EXPECT_EQ((*up_a)["path"], "direct");
  EXPECT_EQ((*up_a)["remote"], b.mapped());
  EXPECT_GE((*up_a)["setup_ms"].get<double>(), 0.0);

  ASSERT_TRUE(a.command("tsend " + b.id() + " hello  through the tunnel"));
  auto data = b.expect("tdata", from(a.id()));
  ASSERT_TRUE(data) << b.transcript();
  EXPECT_EQ((*data)["text"], "hello  through the tunnel");

  // Every supernode gone: the tunnel depends only on the two peers.
  supernode.process().kill();
  ASSERT_TRUE(b.command("tsend " + a.id() + " still here"));
  auto reply = a.expect("tdata", from(b.id()));
  ASSERT_TRUE(reply) << a.transcript();
  EXPECT_EQ((*reply)["text"], "still here");

  // A tunnel to nobody is an error naming the command, not a crash.
  ASSERT_TRUE(a.command("tsend " + c.id() + " x"));
  auto error = a.expect("error");
  ASSERT_TRUE(error) << a.transcript();
  EXPECT_EQ((*error)["command"], "tsend");

  ASSERT_TRUE(a.command("close " + b.id()));
  auto closed = b.expect("tunnel-closed", about(a.id()));
  ASSERT_TRUE(closed) << b.transcript();
  EXPECT_EQ((*closed)["reason"], "closed by peer");
  EXPECT_TRUE(a.bad_lines().empty() && b.bad_lines().empty() && c.bad_lines().empty());
}

TEST(TunnelProcesses, QuitClosesTheTunnelForThePeer) {
  SupernodeProcess supernode;
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  TempDir keys("qp2p-tunnel-keys");
  PeerProcess a("A", supernode.primary(), keys.file("a.key"));
  PeerProcess b("B", supernode.primary(), keys.file("b.key"), {"--auto-accept"});
  for (PeerProcess* p : {&a, &b}) ASSERT_TRUE(p->await_registered()) << p->transcript();
  ASSERT_TRUE(b.command("connect " + a.id()));
  ASSERT_TRUE(a.expect("tunnel-request")) << a.transcript();
  ASSERT_TRUE(a.command("accept " + b.id()));
  ASSERT_TRUE(b.expect("tunnel", about(a.id()), 10s)) << b.transcript();
  ASSERT_TRUE(a.expect("tunnel", about(b.id()), 10s)) << a.transcript();
  ASSERT_TRUE(b.command("quit"));
  auto closed = a.expect("tunnel-closed", about(b.id()));
  ASSERT_TRUE(closed) << a.transcript();
  EXPECT_EQ((*closed)["reason"], "closed by peer");
}

}  // namespace
}  // namespace qp2p

namespace qp2p {
namespace {

// The relay path over real sockets: both peers relay-only (ICE's relay policy), the supernode
// serves TURN; the tunnel reports path "relay", runs through the supernode's relay port and
// carries text both ways; killing the supernode takes the relay (and so the tunnel) with it.
TEST(TunnelProcesses, RelayOnlyPeersTunnelThroughTheSupernodeRelay) {
  SupernodeProcess supernode({}, {"--turn-secret", "loopback-relay-secret", "--relay-ports",
                                  "50000-50999"});
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  TempDir keys("qp2p-relay-keys");
  PeerProcess a("A", supernode.primary(), keys.file("a.key"), {"--relay-only"});
  PeerProcess b("B", supernode.primary(), keys.file("b.key"), {"--relay-only", "--auto-accept"});
  for (PeerProcess* p : {&a, &b}) ASSERT_TRUE(p->await_registered()) << p->transcript();

  ASSERT_TRUE(a.command("connect " + b.id()));
  auto up_a = a.expect("tunnel", about(b.id()), 10s);
  auto up_b = b.expect("tunnel", about(a.id()), 10s);
  ASSERT_TRUE(up_a && up_b) << a.transcript() << b.transcript();
  EXPECT_EQ((*up_a)["path"], "relay");
  EXPECT_EQ((*up_b)["path"], "relay");
  // A sends to B's relayed address: the supernode's address, a relay port.
  const std::string remote = (*up_a)["remote"];
  EXPECT_EQ(remote.rfind("127.0.0.1:50", 0), 0u) << remote;
  EXPECT_LT((*up_a)["setup_ms"].get<double>(), 2000.0);

  ASSERT_TRUE(a.command("tsend " + b.id() + " via the relay"));
  auto data = b.expect("tdata", from(a.id()));
  ASSERT_TRUE(data) << b.transcript();
  EXPECT_EQ((*data)["text"], "via the relay");
  ASSERT_TRUE(b.command("tsend " + a.id() + " and back"));
  auto reply = a.expect("tdata", from(b.id()));
  ASSERT_TRUE(reply) << a.transcript();
  EXPECT_EQ((*reply)["text"], "and back");

  ASSERT_TRUE(a.command("close " + b.id()));
  auto closed = b.expect("tunnel-closed", about(a.id()));
  ASSERT_TRUE(closed) << b.transcript();
  EXPECT_EQ((*closed)["reason"], "closed by peer");
  EXPECT_TRUE(a.bad_lines().empty() && b.bad_lines().empty());
}

}  // namespace
}  // namespace qp2p
