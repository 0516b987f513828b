// The qp2p binaries in the emulation test-bed (see emu_processes.h).
#include "scenarios/emulation/emu_processes.h"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "scenarios/emulation/command_runner.h"

namespace qp2p::emu {

std::string default_binary_dir() { return std::string(QP2P_BINARY_DIR) + "/apps"; }

std::string binary_path(const std::string& dir, const std::string& name) {
  return (dir.empty() ? default_binary_dir() : dir) + "/" + name;
}

RunDir::RunDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "run.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
  path_ = buffer.data();
}

RunDir::~RunDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::optional<std::string> read_line_sliced(test::ChildProcess& p,
                                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!interrupted() && !p.at_eof()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (auto line = p.read_line(std::min(left, kWaitSlice))) return line;
  }
  return std::nullopt;
}

std::string supernode_endpoint(const Topology& topology, std::size_t k) {
  return topology.supernodes().at(k).primary + ":" + std::to_string(kSupernodePort);
}

test::ChildProcess start_supernode(const Topology& topology, std::size_t k, const RunDir& dir,
                                   const std::string& binary_dir,
                                   const std::vector<std::string>& extra_args) {
  const SupernodeNode& sn = topology.supernodes().at(k);
  std::vector<std::string> args = {
      "--listen",     sn.primary + ":" + std::to_string(kSupernodePort),
      "--alt-listen", sn.alternate + ":" + std::to_string(kSupernodeAltPort),
      "--key",        dir.file("supernode" + std::to_string(k) + ".key"),
      "--log-level",  "info"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto process = topology.spawn_in(sn.netns, binary_path(binary_dir, "qp2p-supernode"), args);
  const std::string marker = "listening on udp ";
  int endpoints = 0;
  const auto deadline = std::chrono::steady_clock::now() + kSupernodeStartLimit;
  while (endpoints < 2) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto line = left.count() > 0 ? read_line_sliced(process, left) : std::nullopt;
    if (!line) {
      throw std::runtime_error("qp2p-supernode in " + sn.netns +
                               " did not report its endpoints:\n" + process.transcript());
    }
    if (line->find(marker) != std::string::npos) ++endpoints;
  }
  return process;
}

}  // namespace qp2p::emu

namespace qp2p::emu {
void drain(test::ChildProcess& p) {
  for (int i = 0; i < 1000 && !p.at_eof(); ++i) {
    if (!p.read_line(std::chrono::milliseconds(0))) break;
  }
}
}  // namespace qp2p::emu
