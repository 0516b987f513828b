// Bounded commands for the emulation test-bed: `ip`, `nft` and `sysctl` run to completion with
// a time limit (killed and reaped when it passes), and SIGINT/SIGTERM turned into a flag that
// every wait of the scenarios checks, so an interrupted run still tears its namespaces down.
// Child processes are tests/apps/process_helper.h's ChildProcess (posix_spawn, bounded reads,
// killed and reaped when the object goes out of scope).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace qp2p::emu {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when a signal ended it; -1 when it could not start
  std::string output;  // stdout and stderr, merged
  bool timed_out = false;
  bool ok() const { return exit_code == 0 && !timed_out; }
};

// Generous for `ip`/`nft` on a loaded two-core machine; a healthy command takes milliseconds.
inline constexpr std::chrono::milliseconds kCommandTimeout = std::chrono::seconds(10);

// Runs argv[0] (a path or a name in PATH) with `input` on its stdin, within `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = {},
                          std::chrono::milliseconds timeout = kCommandTimeout);

// "ip -n ns link set ..." in one string, for error messages.
std::string join(const std::vector<std::string>& argv);

// SIGINT and SIGTERM set a flag instead of ending the process (installed once, no SA_RESTART);
// interrupted() reads it. A second signal of either kind ends the process at once.
void install_interrupt_handlers();
bool interrupted();
// The signal that set the flag (0 when none), to exit with 128 + it after cleaning up.
int interrupt_signal();

}  // namespace qp2p::emu
