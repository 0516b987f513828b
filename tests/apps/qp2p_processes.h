// qp2p binaries as test fixtures, over ChildProcess (process_helper.h): a supernode on free
// 127.0.0.1 ports in a temporary directory, and qp2p-peer processes spoken to in their stdin
// language and read as JSON lines. Every wait is bounded; every process is killed when its
// object goes out of scope, so a failing assertion leaves nothing running.
#pragma once

#include <unistd.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/endpoint.h"
#include "tests/apps/process_helper.h"

namespace qp2p::test {

// Generous against a loaded two-core machine running tests in parallel; a healthy run takes
// milliseconds per line.
inline constexpr std::chrono::milliseconds kLineTimeout = std::chrono::seconds(10);

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "qp2p-test") {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + ".XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = buffer.data();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// qp2p-supernode on 127.0.0.1 port 0 (primary and alternate), so parallel tests never
// collide; the ports are read from its "listening on udp" log lines. Its logs (stderr, merged
// into the pipe) are kept in lines().
class SupernodeProcess {
 public:
  // `config_lines`: "key = value" lines of a --config file (e.g. "peer-expiry-seconds = 3").
  explicit SupernodeProcess(std::vector<std::string> config_lines = {},
                            std::vector<std::string> extra_args = {})
      : config_lines_(std::move(config_lines)), extra_args_(std::move(extra_args)) {}

  // The second STUN service on another loopback address (e.g. "127.0.0.2:0"), so every
  // RFC 5780 test, change of IP included, is possible.
  void set_alternate(std::string alt_listen) { alt_listen_ = std::move(alt_listen); }

  // Starts the process and waits for both endpoints; false (see failure()) otherwise.
  bool start() {
    std::vector<std::string> args = {"--listen",    "127.0.0.1:0", "--alt-listen",
                                     alt_listen_,   "--key",       dir_.file("supernode.key"),
                                     "--log-level", "info"};
    if (!config_lines_.empty()) {
      std::ofstream config(dir_.file("supernode.conf"));
      for (const auto& line : config_lines_) config << line << "\n";
      args.insert(args.end(), {"--config", dir_.file("supernode.conf")});
    }
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    try {
      process_.emplace(ChildProcess::spawn(binary_path("qp2p-supernode"), args));
    } catch (const std::exception& e) {
      failure_ = e.what();
      return false;
    }
    const std::string marker = "listening on udp ";
    while (endpoints_.size() < 2) {
      auto line = process_->wait_for_line(
          [&](const std::string& l) { return l.find(marker) != std::string::npos; }, kLineTimeout);
      if (!line) {
        failure_ = "the supernode did not report its endpoints:\n" + process_->transcript();
        return false;
      }
      auto ep = Endpoint::parse(line->substr(line->find(marker) + marker.size()));
      if (!ep) {
        failure_ = "cannot read the endpoint in: " + *line;
        return false;
      }
      endpoints_.push_back(*ep);
    }
    return true;
  }

  const std::string& failure() const { return failure_; }
  const Endpoint& primary() const { return endpoints_.at(0); }
  const Endpoint& alternate() const { return endpoints_.at(1); }
  bool alive() { return process_ && process_->running(); }
  ChildProcess& process() { return *process_; }

  // SIGTERM (bounded), reads the rest of the log and returns the first line containing
  // `needle`, or "" when there is none.
  std::string stop_and_find_log(const std::string& needle) {
    if (!process_) return {};
    exit_code_ = process_->stop();
    while (process_->read_line(std::chrono::milliseconds(500))) {
    }
    for (const auto& line : process_->lines())
      if (line.find(needle) != std::string::npos) return line;
    return {};
  }
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  TempDir dir_{"qp2p-supernode"};
  std::vector<std::string> config_lines_;
  std::string alt_listen_ = "127.0.0.1:0";
  std::vector<std::string> extra_args_;
  std::optional<ChildProcess> process_;
  std::vector<Endpoint> endpoints_;
  std::string failure_;
  std::optional<int> exit_code_;
};

// qp2p-peer: commands in, JSON events out. Its logs go to the test's stderr.
class PeerProcess {
 public:
  using Json = nlohmann::json;

  PeerProcess(std::string name, const Endpoint& supernode, std::string key_file,
              std::vector<std::string> extra_args = {})
      : name_(std::move(name)) {
    std::vector<std::string> args = {"--supernode",       supernode.to_string(), "--key",
                                     std::move(key_file), "--log-level",         "warn"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    ChildProcess::Options options;
    options.stderr_mode = ChildProcess::Stderr::kInherit;
    process_.emplace(ChildProcess::spawn(binary_path("qp2p-peer"), args, options));
  }

  const std::string& name() const { return name_; }
  ChildProcess& process() { return *process_; }

  bool command(const std::string& line) { return process_->write_line(line); }

  // The next event named `event` for which `match` holds, within `timeout`. Events read on the
  // way that do not match are kept for later expect() calls, in order.
  std::optional<Json> expect(const std::string& event,
                             const std::function<bool(const Json&)>& match = nullptr,
                             std::chrono::milliseconds timeout = kLineTimeout) {
    auto fits = [&](const Json& j) {
      return j.value("event", "") == event && (!match || match(j));
    };
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
      if (fits(*it)) {
        Json found = *it;
        backlog_.erase(it);
        return found;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto line = process_->read_line(left);
      if (!line) return std::nullopt;
      Json j = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) {
        bad_lines_.push_back(*line);  // every stdout line must be JSON
        continue;
      }
      if (fits(j)) return j;
      backlog_.push_back(std::move(j));
    }
  }

  // Waits for "registered" and remembers the peer's id and mapped address.
  bool await_registered() {
    auto j = expect("registered");
    if (!j) return false;
    id_ = (*j)["peer_id"].get<std::string>();
    mapped_ = (*j)["mapped"].get<std::string>();
    return true;
  }
  const std::string& id() const { return id_; }
  const std::string& mapped() const { return mapped_; }

  // stdout lines that were not JSON (a test expects none).
  const std::vector<std::string>& bad_lines() const { return bad_lines_; }
  std::string transcript() const { return name_ + ":\n" + process_->transcript(); }

 private:
  std::string name_;
  std::optional<ChildProcess> process_;
  std::deque<Json> backlog_;
  std::vector<std::string> bad_lines_;
  std::string id_;
  std::string mapped_;
};

}  // namespace qp2p::test
