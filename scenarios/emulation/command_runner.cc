// Bounded commands and the interrupt flag (see command_runner.h).
#include "scenarios/emulation/command_runner.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <exception>

#include "tests/apps/process_helper.h"

namespace qp2p::emu {
namespace {

std::atomic<int> g_signal{0};

void on_signal(int signal_number) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, signal_number)) {
    _exit(128 + signal_number);  // the second interrupt: the user insists
  }
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input,
                          std::chrono::milliseconds timeout) {
  CommandResult result;
  if (argv.empty()) return result;
  try {
    auto child =
        test::ChildProcess::spawn(argv[0], std::vector<std::string>(argv.begin() + 1, argv.end()));
    if (!input.empty()) child.write_line(input);
    child.close_stdin();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!child.at_eof()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      child.read_line(left);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto status = child.wait(std::max(left, std::chrono::milliseconds(1)));
    if (!status) {
      result.timed_out = true;
      result.exit_code = child.kill();
    } else {
      result.exit_code = *status;
    }
    for (const auto& line : child.lines()) result.output += line + "\n";
  } catch (const std::exception& e) {
    result.output = e.what();
  }
  return result;
}

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR and re-check the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() { return g_signal.load() != 0; }
int interrupt_signal() { return g_signal.load(); }

}  // namespace qp2p::emu
