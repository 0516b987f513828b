// The qp2p binaries inside the emulation test-bed: a run directory for key files, a supernode
// started in its namespace on both public addresses and awaited, and the bounded waits the
// emulated scenarios share (every wait is cut in short slices that re-check the interrupt flag,
// so SIGINT ends a run within a fraction of a second and the topology is torn down).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "scenarios/emulation/emu_topology.h"

namespace qp2p::emu {

// The qp2p binaries: `dir` given on the command line, or the build tree this was built in.
std::string binary_path(const std::string& dir, const std::string& name);
std::string default_binary_dir();

// A fresh directory /tmp/<prefix>run.XXXXXX, removed with its contents on destruction.
class RunDir {
 public:
  explicit RunDir(const std::string& prefix);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The slice of every wait: short enough that an interrupt is seen at once.
inline constexpr std::chrono::milliseconds kWaitSlice{100};
// How long a supernode may take to report both endpoints (a loaded two-core machine).
inline constexpr std::chrono::seconds kSupernodeStartLimit{10};
inline constexpr std::uint16_t kSupernodePort = 3478;
inline constexpr std::uint16_t kSupernodeAltPort = 3479;

// The next line of `p` within `timeout`, read in slices; nullopt on timeout, end of output or
// interrupt.
std::optional<std::string> read_line_sliced(test::ChildProcess& p,
                                            std::chrono::milliseconds timeout);

// qp2p-supernode in supernode `k`'s namespace on primary:3478 and alternate:3479 (the two
// STUN services of RFC 5780), with its key in `dir`; returns once it logged both endpoints, or
// throws std::runtime_error with its transcript.
test::ChildProcess start_supernode(const Topology& topology, std::size_t k, const RunDir& dir,
                                   const std::string& binary_dir,
                                   const std::vector<std::string>& extra_args = {});

// "198.18.0.1:3478"
std::string supernode_endpoint(const Topology& topology, std::size_t k);

}  // namespace qp2p::emu

namespace qp2p::emu {
// Reads whatever `p` has written so far without waiting (keeps a chatty child's pipe from
// filling up and blocking it).
void drain(test::ChildProcess& p);
}  // namespace qp2p::emu
