// A supernode with its management API on (--api 127.0.0.1:0) and a real HTTP client (curl,
// /usr/bin/curl) to query it, for the loopback tests of the API. Every call is bounded in time.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/apps/process_helper.h"
#include "tests/apps/qp2p_processes.h"

namespace qp2p::test {

inline constexpr const char* kApiToken = "loopback-test-token-7f3a9c2e";

struct HttpReply {
  int status = 0;  // 0: curl failed
  std::string headers;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// An HTTP/1.1 response as received (status line, headers, blank line, body); status 0 when it is
// not one.
inline HttpReply parse_http_reply(const std::string& all) {
  HttpReply r;
  const auto split = all.find("\r\n\r\n");
  if (split == std::string::npos || all.compare(0, 5, "HTTP/") != 0) return r;
  r.headers = all.substr(0, split);
  r.body = all.substr(split + 4);
  r.status = std::stoi(all.substr(all.find(' ') + 1, 3));
  return r;
}

// "--api ADDRESS:0 --api-token-file FILE" for a supernode's command line, with kApiToken
// written to FILE in `dir`.
inline std::vector<std::string> api_args(const TempDir& dir,
                                         const std::string& address = "127.0.0.1") {
  std::ofstream(dir.file("api.token")) << kApiToken << "\n";
  return {"--api", address + ":0", "--api-token-file", dir.file("api.token")};
}

// "http://IP:PORT" from a supernode's "management API on http://..." log line; "" when none.
inline std::string api_base(const std::vector<std::string>& log_lines) {
  const std::string marker = "management API on http://";
  for (const auto& line : log_lines) {
    auto at = line.find(marker);
    if (at == std::string::npos) continue;
    const std::string rest = line.substr(at + marker.size());
    return "http://" + rest.substr(0, rest.find(' '));
  }
  return {};
}

// GET `url` with curl, with the token (or `authorization` as the header; "" for none) and extra
// arguments. Bounded: curl gives up after 5 s.
inline HttpReply http_get(const std::string& url,
                          const std::string& authorization = std::string("Bearer ") + kApiToken,
                          const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"--silent", "--show-error", "--max-time", "5",
                                   "--include", "--globoff"};
  if (!authorization.empty()) args.insert(args.end(), {"-H", "Authorization: " + authorization});
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  ChildProcess::Options options;
  options.stderr_mode = ChildProcess::Stderr::kInherit;
  auto curl = ChildProcess::spawn("/usr/bin/curl", args, options);
  std::string all;
  for (int i = 0; i < 100000; ++i) {  // bounded; ends at end of output
    auto line = curl.read_line(std::chrono::seconds(10));
    if (!line) break;
    all += *line + "\n";
  }
  curl.wait(std::chrono::seconds(5));
  return parse_http_reply(all);
}

class ApiSupernode {
 public:
  explicit ApiSupernode(std::vector<std::string> config_lines = {})
      : supernode_(std::move(config_lines), args()) {}

  bool start() {
    if (!supernode_.start()) return false;
    base_ = api_base(supernode_.process().lines());
    return !base_.empty();
  }
  SupernodeProcess& supernode() { return supernode_; }
  const std::string& base() const { return base_; }

  // curl with the token (or `authorization` as the header; "" for none) and extra arguments.
  HttpReply get(const std::string& path,
                const std::string& authorization = std::string("Bearer ") + kApiToken,
                const std::vector<std::string>& extra = {}) {
    return http_get(base_ + path, authorization, extra);
  }

 private:
  std::vector<std::string> args() { return api_args(dir_); }

  TempDir dir_{"qp2p-api"};
  SupernodeProcess supernode_;
  std::string base_;
};

// `promtool check metrics` (Debian's prometheus package) over a /metrics body: nullopt when
// promtool is not installed; otherwise "" when it accepts the text without lint findings, else
// what it said (or that it did not finish within 20 s).
inline std::optional<std::string> promtool_findings(const std::string& metrics) {
  auto promtool = find_program("promtool");
  if (!promtool) return std::nullopt;
  auto check = ChildProcess::spawn(*promtool, {"check", "metrics"});
  check.write_line(metrics);
  check.close_stdin();
  auto status = check.wait(std::chrono::seconds(20));
  while (check.read_line(std::chrono::milliseconds(200))) {
  }
  if (!status) return std::string("promtool did not finish");
  if (*status != 0 || !check.lines().empty())
    return "promtool exit " + std::to_string(*status) + ":\n" + check.transcript();
  return std::string();
}

}  // namespace qp2p::test
