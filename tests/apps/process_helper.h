// Child processes for loopback tests: start a binary (ours or a standard tool such as coturn's
// turnutils_stunclient) with posix_spawn, talk to it line by line over pipes, and never wait
// without a bound. A ChildProcess that goes out of scope kills its child (SIGKILL) and reaps it,
// so a failing assertion cannot leave a server running.
//
//   auto p = ChildProcess::spawn(binary, {"--listen", "127.0.0.1:0"});
//   auto line = p.wait_for_line([](const std::string& l) { return l.find("listening") != ...; },
//                               std::chrono::seconds(5));
//   p.stop();  // SIGTERM, bounded wait, SIGKILL if it did not go
//
// Single-threaded use. Spawning ignores SIGPIPE in the test process, so writing to a child that
// exited fails with an error instead of killing the test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qp2p::test {

// build/apps/<name> (binary_path.cc; loopback tests only).
std::string binary_path(const std::string& name);

class ChildProcess {
 public:
  enum class Stderr {
    kMerge,    // into the stdout pipe, read with read_line() (logs of our binaries go there)
    kInherit,  // to the test's stderr, visible in the test log
    kDiscard,  // /dev/null
  };
  struct Options {
    Stderr stderr_mode = Stderr::kMerge;
    std::string working_directory;               // empty: the test's own
    std::vector<std::string> extra_environment;  // "NAME=value", added to the test's environment
  };

  // Starts `program` (a path, or a name looked up in PATH) with `args` (argv[0] is added).
  // Throws std::runtime_error naming the program when it cannot be started.
  static ChildProcess spawn(const std::string& program, const std::vector<std::string>& args,
                            Options options);
  static ChildProcess spawn(const std::string& program, const std::vector<std::string>& args) {
    return spawn(program, args, Options{});
  }

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // kill() if still running

  pid_t pid() const { return pid_; }
  const std::string& program() const { return program_; }

  // Writes `line` and a newline to the child's stdin; false when the child closed it.
  bool write_line(std::string_view line);
  void close_stdin();

  // The next line of output (without the newline) within `timeout`; nullopt on timeout or at
  // end of output (see at_eof()). A last line without a newline is returned at end of output.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Reads lines until one satisfies `match` and returns it; nullopt when `timeout` passes or
  // the output ends first.
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& match,
                                           std::chrono::milliseconds timeout);
  bool at_eof() const { return eof_ && buffer_.empty(); }
  // Every line read so far, for failure messages.
  const std::vector<std::string>& lines() const { return lines_; }
  std::string transcript() const;

  // Exit status once the child ended: its exit code, or 128 + signal number when a signal
  // ended it. nullopt while it runs.
  std::optional<int> poll_exit();
  // Waits up to `timeout` for the child to end; nullopt if it is still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running() { return !poll_exit().has_value(); }
  // Sends `signal_number` (no effect once the child has been reaped).
  void signal(int signal_number);
  // SIGTERM, up to `grace` for a clean exit, then SIGKILL. Returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(3));
  // SIGKILL and reap. Returns the exit status.
  int kill();

 private:
  ChildProcess() = default;
  void release();
  bool fill(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  std::string program_;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;  // output read but not yet returned as a line
  bool eof_ = false;
  std::vector<std::string> lines_;
  std::optional<int> status_;
};

// The full path of `name` found in PATH (or `name` itself if it contains a '/' and is
// executable); nullopt when there is none. For skipping tests whose tool is not installed.
std::optional<std::string> find_program(const std::string& name);

}  // namespace qp2p::test
