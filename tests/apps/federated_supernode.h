// A qp2p-supernode process that is a member of a federation, as a loopback test fixture: started
// on a loopback address with a network secret and seeds, its id and primary endpoint read from
// its log, and its view of the membership followed through its "federation: member ..." lines.
// Every wait is bounded; the process is killed when the object goes out of scope.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/apps/qp2p_processes.h"

namespace qp2p::test {

struct FederatedSupernode {
  std::optional<ChildProcess> process;
  std::string id;
  Endpoint primary;
  std::map<std::string, bool> up;  // member id -> currently up, from the log
};

// Starts a supernode on `address` (ports chosen by the kernel) with `secret_file` and seeds;
// `extra_args` are added to its command line (e.g. "--config", FILE).
inline bool start(FederatedSupernode& node, const TempDir& dir, const std::string& name,
                  const std::string& address, const std::string& secret_file,
                  const std::vector<Endpoint>& seeds, std::string* failure,
                  const std::vector<std::string>& extra_args = {}) {
  std::vector<std::string> args = {"--listen",         address + ":0",
                                   "--alt-listen",     address + ":0",
                                   "--key",            dir.file(name + ".key"),
                                   "--network-secret", secret_file,
                                   "--log-level",      "info"};
  for (const Endpoint& s : seeds) args.insert(args.end(), {"--seed", s.to_string()});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  node.process.emplace(ChildProcess::spawn(binary_path("qp2p-supernode"), args));
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

}  // namespace qp2p::test
