// Child processes for loopback tests (see process_helper.h): posix_spawn with pipes set up by
// file actions, poll() for reads with a deadline, waitpid(WNOHANG) for bounded waits.
#include "tests/apps/process_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace qp2p::test {

namespace {

using Clock = std::chrono::steady_clock;

// How often a bounded wait for exit looks at the child.
constexpr auto kExitPollInterval = std::chrono::milliseconds(5);

[[noreturn]] void fail(const std::string& program, const std::string& what, int error) {
  throw std::runtime_error("spawn " + program + ": " + what + ": " + std::strerror(error));
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

ChildProcess ChildProcess::spawn(const std::string& program, const std::vector<std::string>& args,
                                 Options options) {
  // A child that exits while we write to it must not take the test down with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  auto resolved = find_program(program);
  if (!resolved) throw std::runtime_error("spawn " + program + ": not found or not executable");

  // Close-on-exec everywhere: only the dup2'd copies reach the child, and no other child
  // spawned meanwhile inherits these pipes (which would hide end-of-output).
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) fail(program, "pipe", errno);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(in[0]);
    ::close(in[1]);
    fail(program, "pipe", e);
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  switch (options.stderr_mode) {
    case Stderr::kMerge:
      posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
      break;
    case Stderr::kDiscard:
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
      break;
    case Stderr::kInherit:
      break;
  }
  if (!options.working_directory.empty())
    posix_spawn_file_actions_addchdir_np(&actions, options.working_directory.c_str());

  // The child gets default signal dispositions (the test runner may ignore some).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv_storage;
  argv_storage.push_back(program);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), options.extra_environment.begin(),
                     options.extra_environment.end());
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, resolved->c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    fail(program, "posix_spawn", rc);
  }
  ChildProcess child;
  child.pid_ = pid;
  child.program_ = program;
  child.stdin_fd_ = in[1];
  child.stdout_fd_ = out[0];
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = std::exchange(other.pid_, -1);
    program_ = std::move(other.program_);
    stdin_fd_ = std::exchange(other.stdin_fd_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    buffer_ = std::move(other.buffer_);
    eof_ = other.eof_;
    lines_ = std::move(other.lines_);
    status_ = other.status_;
  }
  return *this;
}

ChildProcess::~ChildProcess() { release(); }

void ChildProcess::release() {
  if (pid_ > 0 && !status_) kill();
  close_fd(stdin_fd_);
  close_fd(stdout_fd_);
  pid_ = -1;
}

bool ChildProcess::write_line(std::string_view line) {
  if (stdin_fd_ < 0) return false;
  std::string data(line);
  data.push_back('\n');
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(stdin_fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // EPIPE: the child closed its stdin or exited
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void ChildProcess::close_stdin() { close_fd(stdin_fd_); }

bool ChildProcess::fill(Clock::time_point deadline) {
  if (eof_ || stdout_fd_ < 0) return false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{stdout_fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;  // timed out
    char chunk[4096];
    ssize_t n = ::read(stdout_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      lines_.push_back(line);
      return line;
    }
    if (!fill(deadline)) {
      if (eof_ && !buffer_.empty()) {  // last line without a newline
        std::string line = std::move(buffer_);
        buffer_.clear();
        lines_.push_back(line);
        return line;
      }
      return std::nullopt;
    }
  }
}

std::optional<std::string> ChildProcess::wait_for_line(
    const std::function<bool(const std::string&)>& match, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return std::nullopt;
    auto line = read_line(left);
    if (!line) return std::nullopt;
    if (match(*line)) return line;
  }
}

std::string ChildProcess::transcript() const {
  std::string out;
  for (const auto& l : lines_) out += "  | " + l + "\n";
  return out;
}

std::optional<int> ChildProcess::poll_exit() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_)
    status_ = decode_status(status);
  else if (r < 0 && errno == ECHILD)
    status_ = -1;  // reaped elsewhere: nothing left to wait for
  return status_;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto s = poll_exit()) return s;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kExitPollInterval);
  }
}

void ChildProcess::signal(int signal_number) {
  if (pid_ > 0 && !poll_exit()) ::kill(pid_, signal_number);
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  if (auto s = wait(grace)) return *s;
  return kill();
}

int ChildProcess::kill() {
  if (pid_ <= 0) return -1;
  if (!poll_exit()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    // SIGKILL cannot be caught: the blocking wait ends as soon as the kernel has reaped it.
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = decode_status(status);
  }
  return *status_;
}

}  // namespace qp2p::test
