// End to end on loopback: a qp2p-supernode process (short peer expiry) and qp2p-peer processes
// scripted through stdin, checked through their JSON lines: publish, lookup, search (AND and
// prefix), a message with its delivery report, presence watches ending by logout and by silent
// expiry (a SIGSTOPped peer). Then the AsioPeer library API in-process against the same binary.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <set>

#include "tests/apps/asio_peer_driver.h"
#include "tests/apps/qp2p_processes.h"

namespace qp2p {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using test::PeerProcess;
using test::SupernodeProcess;
using test::TempDir;

// A silent peer is expired after 3 s (the supernode scans once a second), keepalives every 1 s.
const std::vector<std::string> kShortExpiry = {"peer-expiry-seconds = 3",
                                               "keepalive-interval-seconds = 1"};

std::set<std::string> ids_of(const Json& search) {
  std::set<std::string> out;
  for (const auto& p : search["peers"]) out.insert(p["peer_id"].get<std::string>());
  return out;
}

TEST(LoopbackIntegration, PeersPublishLookupSearchMessageAndWatchPresence) {
  SupernodeProcess supernode(kShortExpiry);
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  TempDir keys("qp2p-peer-keys");

  PeerProcess a("A", supernode.primary(), keys.file("a.key"),
                {"--meta", "role=camera", "--meta", "site=lab-1"});
  PeerProcess b("B", supernode.primary(), keys.file("b.key"),
                {"--meta", "role=camera", "--meta", "site=office"});
  PeerProcess c("C", supernode.primary(), keys.file("c.key"));
  for (PeerProcess* p : {&a, &b, &c}) ASSERT_TRUE(p->await_registered()) << p->transcript();
  // --meta is published right after login.
  ASSERT_TRUE(a.expect("published")) << a.transcript();
  ASSERT_TRUE(b.expect("published")) << b.transcript();
  EXPECT_EQ(a.expect("published", nullptr, 0ms), std::nullopt);  // only once

  // Key files: created with mode 0600, one identity each.
  struct stat st;
  ASSERT_EQ(::stat(keys.file("a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::set<std::string>({a.id(), b.id(), c.id()}).size(), 3u);

  // publish: C adds a record of its own; a later publish merges keys and raises the version.
  ASSERT_TRUE(c.command("publish role=viewer floor=2"));
  auto first = c.expect("published");
  ASSERT_TRUE(first) << c.transcript();
  ASSERT_TRUE(c.command("publish floor=3"));
  auto second = c.expect("published");
  ASSERT_TRUE(second) << c.transcript();
  EXPECT_GT((*second)["version"].get<std::uint64_t>(), (*first)["version"].get<std::uint64_t>());

  // lookup: A's record, presence and mapped address as A itself was told at login.
  ASSERT_TRUE(b.command("lookup " + a.id()));
  auto lookup = b.expect("lookup");
  ASSERT_TRUE(lookup) << b.transcript();
  const Json& peer = (*lookup)["peer"];
  EXPECT_EQ(peer["peer_id"], a.id());
  EXPECT_EQ(peer["online"], true);
  EXPECT_EQ(peer["mapped"], a.mapped());
  EXPECT_EQ(peer["meta"], Json({{"role", "camera"}, {"site", "lab-1"}}));
  ASSERT_TRUE(a.command("lookup " + c.id()));
  auto lookup_c = a.expect("lookup");
  ASSERT_TRUE(lookup_c) << a.transcript();
  EXPECT_EQ((*lookup_c)["peer"]["meta"], Json({{"floor", "3"}, {"role", "viewer"}}));

  // search: one term, two terms (AND), a prefix term, and nothing found.
  ASSERT_TRUE(c.command("search role=camera"));
  auto cameras = c.expect("search");
  ASSERT_TRUE(cameras) << c.transcript();
  EXPECT_EQ((*cameras)["total"], 2);
  EXPECT_EQ(ids_of(*cameras), std::set<std::string>({a.id(), b.id()}));
  ASSERT_TRUE(c.command("search role=camera site=office"));
  auto office = c.expect("search");
  ASSERT_TRUE(office) << c.transcript();
  EXPECT_EQ(ids_of(*office), std::set<std::string>({b.id()}));
  ASSERT_TRUE(c.command("search site=lab* role=camera"));
  auto lab = c.expect("search");
  ASSERT_TRUE(lab) << c.transcript();
  EXPECT_EQ((*lab)["total"], 1);
  EXPECT_EQ(ids_of(*lab), std::set<std::string>({a.id()}));
  EXPECT_EQ((*lab)["peers"][0]["meta"]["site"], "lab-1");
  EXPECT_EQ((*lab)["peers"][0]["mapped"], a.mapped());
  ASSERT_TRUE(c.command("search role=camera site=la"));  // not a prefix term: exact match
  auto none = c.expect("search");
  ASSERT_TRUE(none) << c.transcript();
  EXPECT_EQ((*none)["total"], 0);
  EXPECT_TRUE((*none)["peers"].empty());

  // A message with its acceptance, its arrival and its delivery report.
  ASSERT_TRUE(c.command("send " + a.id() + " hello A, from C"));
  auto sent = c.expect("sent");
  ASSERT_TRUE(sent) << c.transcript();
  EXPECT_EQ((*sent)["to"], a.id());
  auto received = a.expect("message");
  ASSERT_TRUE(received) << a.transcript();
  EXPECT_EQ((*received)["from"], c.id());
  EXPECT_EQ((*received)["text"], "hello A, from C");
  auto delivered = c.expect("delivered");
  ASSERT_TRUE(delivered) << c.transcript();
  EXPECT_EQ((*delivered)["to"], a.id());

  // Bad input is answered with an error line and the peer carries on.
  const std::vector<std::string> bad_lines = {"frobnicate", "lookup not-a-peer-id",
                                              "publish novalue", "send " + a.id(), "watch"};
  for (const std::string& line : bad_lines) {
    ASSERT_TRUE(c.command(line));
    auto error = c.expect("error");
    ASSERT_TRUE(error) << line << "\n" << c.transcript();
    EXPECT_FALSE((*error)["reason"].get<std::string>().empty()) << line;
  }
  EXPECT_FALSE(c.expect("error", nullptr, 0ms)) << "more errors than bad lines";

  // Watches: C watches A and B, both online.
  ASSERT_TRUE(c.command("watch " + a.id()));
  ASSERT_TRUE(c.command("watch " + b.id()));
  for (PeerProcess* p : {&a, &b}) {
    auto watching = c.expect("watching", [&](const Json& j) { return j["peer_id"] == p->id(); });
    ASSERT_TRUE(watching) << c.transcript();
    EXPECT_EQ((*watching)["online"], true);
  }

  // A quits: it logs out and exits 0; C is told "offline, logout".
  ASSERT_TRUE(a.command("quit"));
  auto gone = c.expect("presence", [&](const Json& j) { return j["peer_id"] == a.id(); });
  ASSERT_TRUE(gone) << c.transcript();
  EXPECT_EQ((*gone)["online"], false);
  EXPECT_EQ((*gone)["reason"], "logout");
  EXPECT_TRUE(a.expect("logged_out")) << a.transcript();
  EXPECT_EQ(a.process().wait(5s), 0);

  // B falls silent (SIGSTOP): past the expiry C is told "offline, expired".
  b.process().signal(SIGSTOP);
  auto expired = c.expect("presence", [&](const Json& j) { return j["peer_id"] == b.id(); });
  ASSERT_TRUE(expired) << c.transcript();
  EXPECT_EQ((*expired)["online"], false);
  EXPECT_EQ((*expired)["reason"], "expired");

  // The offline peers are out of the directory's results (B still stopped).
  ASSERT_TRUE(c.command("search role=camera"));
  auto after = c.expect("search");
  ASSERT_TRUE(after) << c.transcript();
  EXPECT_EQ((*after)["total"], 0) << after->dump();

  // B wakes up: the supernode answers its keepalive with "unknown session" and B logs in
  // again at once, so C sees it come back.
  b.process().signal(SIGCONT);
  auto back = c.expect("presence", [&](const Json& j) { return j["peer_id"] == b.id(); });
  ASSERT_TRUE(back) << c.transcript();
  EXPECT_EQ((*back)["online"], true);
  EXPECT_EQ((*back)["reason"], "login");

  // A restarted with its key file is the same peer.
  PeerProcess a2("A2", supernode.primary(), keys.file("a.key"));
  ASSERT_TRUE(a2.await_registered()) << a2.transcript();
  EXPECT_EQ(a2.id(), a.id());

  // End of stdin logs out and exits 0, like quit.
  c.process().close_stdin();
  EXPECT_TRUE(c.expect("logged_out")) << c.transcript();
  EXPECT_EQ(c.process().wait(5s), 0);

  for (PeerProcess* p : {&a, &b, &c, &a2})
    EXPECT_TRUE(p->bad_lines().empty()) << p->name() << " printed non-JSON: " << p->bad_lines()[0];
  ASSERT_TRUE(supernode.alive());
  EXPECT_EQ(supernode.stop_and_find_log("counters at exit").empty(), false);
  EXPECT_EQ(supernode.exit_code(), 0);
}

// --nat-discovery: on loopback there is no NAT, and the profile lands in the peer's record.
TEST(LoopbackIntegration, PeerClassifiesItsNatAndPublishesTheProfile) {
  SupernodeProcess supernode;
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  TempDir keys("qp2p-peer-keys");
  PeerProcess p("P", supernode.primary(), keys.file("p.key"), {"--nat-discovery"});
  ASSERT_TRUE(p.await_registered()) << p.transcript();
  auto nat = p.expect("nat");
  ASSERT_TRUE(nat) << p.transcript();
  EXPECT_EQ((*nat)["mapping"], "endpoint-independent") << nat->dump();
  EXPECT_EQ((*nat)["nat_levels"], 0) << nat->dump();
  EXPECT_EQ((*nat)["mapped"], p.mapped()) << nat->dump();
  ASSERT_TRUE(p.expect("published")) << p.transcript();
  ASSERT_TRUE(p.command("lookup " + p.id()));
  auto self = p.expect("lookup");
  ASSERT_TRUE(self) << p.transcript();
  EXPECT_EQ((*self)["peer"]["meta"]["nat.mapping"], "endpoint-independent") << self->dump();
}

TEST(LoopbackIntegration, PeerRefusesBadCommandLineWithExitCode2) {
  TempDir dir("qp2p-peer-args");
  const std::vector<std::vector<std::string>> cases = {
      {"--supernode", "not-an-endpoint"},
      {"--meta", "novalue"},
      {"--log-level", "chatty"},
      {"--no-such-flag"},
  };
  for (const auto& args : cases) {
    auto with_key = args;
    with_key.insert(with_key.end(), {"--key", dir.file("k.key")});
    auto p = test::ChildProcess::spawn(test::binary_path("qp2p-peer"), with_key);
    auto status = p.wait(5s);
    ASSERT_TRUE(status) << args[0];
    EXPECT_EQ(*status, 2) << args[0];
    auto line = p.read_line(1s);
    ASSERT_TRUE(line) << args[0];
    EXPECT_EQ(line->rfind("qp2p-peer: ", 0), 0u) << *line;
    EXPECT_FALSE(p.read_line(200ms)) << "more than one line for " << args[0];
  }
}

// The library API: two AsioPeers in this process, on one io_context.
TEST(LoopbackIntegration, AsioPeerLibraryAgainstSupernodeBinary) {
  SupernodeProcess supernode(kShortExpiry);
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  boost::asio::io_context io;
  test::RecordingPeer a(io, supernode.primary(), 11, {{"app", "library"}});
  test::RecordingPeer b(io, supernode.primary(), 12);
  EXPECT_EQ(a.peer->local_endpoint().address, *IpAddress::parse("127.0.0.1"));
  EXPECT_NE(a.peer->local_endpoint().port, 0);

  // A answers every message from inside its event callback (a call back into AsioPeer).
  a.hook = [&](const PeerEvent& e) {
    if (auto* m = std::get_if<peer_event::MessageReceived>(&e))
      a.peer->send_message(m->from, "re: " + m->text);
  };
  a.peer->start();
  b.peer->start();
  ASSERT_TRUE(test::run_until(
      io, [&] { return a.find<peer_event::Published>() && b.find<peer_event::Registered>(); }));
  EXPECT_TRUE(a.peer->session().registered());
  EXPECT_EQ(a.peer->session().mapped(), a.peer->local_endpoint());

  const std::uint64_t lookup = b.peer->lookup(a.id());
  const std::uint64_t search = b.peer->search({{"app", "lib", true}});
  ASSERT_TRUE(test::run_until(
      io, [&] { return b.find<peer_event::LookupDone>() && b.find<peer_event::SearchDone>(); }));
  EXPECT_EQ(b.find<peer_event::LookupDone>()->request, lookup);
  EXPECT_EQ(b.find<peer_event::LookupDone>()->info.mapped, a.peer->local_endpoint());
  const auto* found = b.find<peer_event::SearchDone>();
  EXPECT_EQ(found->request, search);
  ASSERT_EQ(found->peers.size(), 1u);
  EXPECT_EQ(found->peers[0].id, a.id());

  b.peer->watch(a.id());
  b.peer->send_message(a.id(), "ping");
  ASSERT_TRUE(test::run_until(io, [&] {
    return b.find<peer_event::Delivered>() && b.find<peer_event::MessageReceived>() &&
           b.find<peer_event::Watching>();
  }));
  EXPECT_EQ(b.find<peer_event::MessageReceived>()->text, "re: ping");
  EXPECT_EQ(b.find<peer_event::MessageReceived>()->from, a.id());
  EXPECT_TRUE(b.find<peer_event::Watching>()->online);

  // A refused request is reported as an event, not an exception.
  const std::uint64_t refused = b.peer->search({});
  ASSERT_TRUE(test::run_until(io, b.has<peer_event::RequestFailed>()));
  EXPECT_EQ(b.find<peer_event::RequestFailed>()->request, refused);

  a.peer->logout();
  ASSERT_TRUE(test::run_until(
      io, [&] { return a.find<peer_event::LoggedOut>() && b.find<peer_event::Presence>(); }));
  const auto* presence = b.find<peer_event::Presence>();
  EXPECT_EQ(presence->peer, a.id());
  EXPECT_FALSE(presence->online);
  EXPECT_EQ(presence->reason, wire::PresenceReason::kLogout);
}

}  // namespace
}  // namespace qp2p
