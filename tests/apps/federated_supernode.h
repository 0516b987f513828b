// A qp2p-supernode process that is a member of a federation, as a loopback test fixture: started
// on a loopback address with a network secret and seeds, its id and primary endpoint read from
// its log, and its view of the membership followed through its "federation: member ..." lines;
// a federation of several started at once; searches repeated until replication caught up.
// Every wait is bounded; the process is killed when the object goes out of scope.
#pragma once

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/apps/qp2p_processes.h"

namespace qp2p::test {

// Until every member reports the others up (joins every 2 s, a death after the suspicion
// timeout), generous against a loaded machine.
inline constexpr std::chrono::milliseconds kMembershipTimeout = std::chrono::seconds(30);
// Until a peer of a killed supernode reports its failover (fast_failover_config: noticed within
// 1 s + the peer's 4 s silence limit, then a login).
inline constexpr std::chrono::milliseconds kFailoverTimeout = std::chrono::seconds(20);

struct FederatedSupernode {
  std::optional<ChildProcess> process;
  std::string id;
  Endpoint primary;
  std::map<std::string, bool> up;  // member id -> currently up, from the log
};

// Starts a supernode on `address`:`port` (0: chosen by the kernel; the alternate STUN port
// always is) with `secret_file` and seeds; `extra_args` are added to its command line (e.g.
// "--config", FILE). Its key is `name`.key in `dir`, so starting the same name again is a
// restart with the same identity.
inline bool start(FederatedSupernode& node, const TempDir& dir, const std::string& name,
                  const std::string& address, const std::string& secret_file,
                  const std::vector<Endpoint>& seeds, std::string* failure,
                  const std::vector<std::string>& extra_args = {}, std::uint16_t port = 0) {
  std::vector<std::string> args = {"--listen",         address + ":" + std::to_string(port),
                                   "--alt-listen",     address + ":0",
                                   "--key",            dir.file(name + ".key"),
                                   "--network-secret", secret_file,
                                   "--log-level",      "info"};
  for (const Endpoint& s : seeds) args.insert(args.end(), {"--seed", s.to_string()});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  node.process.emplace(ChildProcess::spawn(binary_path("qp2p-supernode"), args));
  node.up.clear();
  const std::string listening = "listening on udp ";
  auto line = node.process->wait_for_line(
      [&](const std::string& l) { return l.find(" starting") != std::string::npos; }, kLineTimeout);
  if (!line) return *failure = name + " did not start:\n" + node.process->transcript(), false;
  // "... supernode <id> starting": the word before " starting".
  const std::string head = line->substr(0, line->rfind(" starting"));
  node.id = head.substr(head.rfind(' ') + 1);
  line = node.process->wait_for_line(
      [&](const std::string& l) { return l.find(listening) != std::string::npos; }, kLineTimeout);
  if (!line) return *failure = name + " did not listen:\n" + node.process->transcript(), false;
  auto ep = Endpoint::parse(line->substr(line->find(listening) + listening.size()));
  if (!ep) return *failure = "cannot read the endpoint in: " + *line, false;
  node.primary = *ep;
  return true;
}

// Reads `node`'s log until `done` holds for its member map, or the timeout.
inline bool follow(FederatedSupernode& node, const std::function<bool()>& done,
                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string up = "federation: member up ", member = "federation: member ";
  while (!done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto line = node.process->read_line(left);
    if (!line) return false;
    if (auto at = line->find(up); at != std::string::npos) {
      node.up[line->substr(at + up.size(), 52)] = true;
    } else if (auto at2 = line->find(member); at2 != std::string::npos &&
               (line->find(" dead at ") != std::string::npos ||
                line->find(" left at ") != std::string::npos)) {
      node.up[line->substr(at2 + member.size(), 52)] = false;
    }
  }
  return true;
}

// `count` supernodes on 127.0.0.1, .2, ... named a, b, ..., the first the seed of the others,
// each with extra_args(i) on its command line; true once each reports all others up.
inline bool start_federation(FederatedSupernode* nodes, int count, const TempDir& dir,
                             const std::string& secret_file, std::string* failure,
                             const std::function<std::vector<std::string>(int)>& extra_args,
                             std::chrono::milliseconds timeout) {
  for (int i = 0; i < count; ++i) {
    const std::vector<Endpoint> seeds =
        i == 0 ? std::vector<Endpoint>{} : std::vector<Endpoint>{nodes[0].primary};
    if (!start(nodes[i], dir, std::string(1, static_cast<char>('a' + i)),
               "127.0.0." + std::to_string(i + 1), secret_file, seeds, failure,
               extra_args ? extra_args(i) : std::vector<std::string>{}))
      return false;
  }
  for (int i = 0; i < count; ++i) {
    FederatedSupernode& n = nodes[i];
    const auto all_up = [&] {
      for (int j = 0; j < count; ++j)
        if (j != i && !n.up[nodes[j].id]) return false;
      return true;
    };
    if (!follow(n, all_up, timeout))
      return *failure = "supernode " + std::to_string(i) + " did not see all others up:\n" +
                        n.process->transcript(),
             false;
  }
  return true;
}

// The peer ids `peer`'s "search QUERY" returns, repeated (20 times, 100 ms apart) until they are
// `expected`, as records travel between supernodes. The last answer's ids; empty when a search
// got no answer.
inline std::set<std::string> search_until(PeerProcess& peer, const std::string& query,
                                          const std::set<std::string>& expected) {
  std::set<std::string> found;
  for (int attempt = 0; attempt < 20 && found != expected; ++attempt) {
    if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!peer.command("search " + query)) return {};
    auto result = peer.expect("search");
    if (!result) return {};
    found.clear();
    for (const auto& p : (*result)["peers"]) found.insert(p["peer_id"].get<std::string>());
  }
  return found;
}

// `from` sends `text` to `to`: `to` prints the message and `from` its delivery report, each
// within kLineTimeout (a message routed to the wrong or a dead supernode never arrives, so this
// fails). "" when both came, else what was missing, with the transcript.
inline std::string message_delivered(PeerProcess& from, PeerProcess& to, const std::string& text) {
  if (!from.command("send " + to.id() + " " + text)) return from.name() + " cannot be written to";
  auto received = to.expect("message", [&](const nlohmann::json& j) {
    return j.value("from", "") == from.id() && j.value("text", "") == text;
  });
  if (!received) return to.name() + " did not receive '" + text + "':\n" + to.transcript();
  auto delivered = from.expect(
      "delivered", [&](const nlohmann::json& j) { return j.value("to", "") == to.id(); });
  if (!delivered)
    return from.name() + " got no delivery report for '" + text + "':\n" + from.transcript();
  return {};
}

// A --config file in `dir` for quick failover: keepalive every second (a dead supernode is
// noticed within 1 s + the peer's 4 s silence limit), sessions expire after 5 s, 5 s of grace.
inline std::string fast_failover_config(const TempDir& dir) {
  const std::string path = dir.file("supernode.conf");
  std::ofstream(path) << "keepalive-interval-seconds = 1\npeer-expiry-seconds = 5\n"
                      << "shutdown-grace-seconds = 5\n";
  return path;
}

}  // namespace qp2p::test
