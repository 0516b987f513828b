// A supernode with its management API on (--api 127.0.0.1:0) and a real HTTP client (curl,
// /usr/bin/curl) to query it, for the loopback tests of the API. Every call is bounded in time.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
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

class ApiSupernode {
 public:
  explicit ApiSupernode(std::vector<std::string> config_lines = {})
      : supernode_(std::move(config_lines), args()) {}

  bool start() {
    if (!supernode_.start()) return false;
    const std::string marker = "management API on http://";
    for (const auto& line : supernode_.process().lines()) {
      auto at = line.find(marker);
      if (at == std::string::npos) continue;
      const std::string rest = line.substr(at + marker.size());
      base_ = "http://" + rest.substr(0, rest.find(' '));
      return true;
    }
    return false;
  }
  SupernodeProcess& supernode() { return supernode_; }
  const std::string& base() const { return base_; }

  // curl with the token (or `authorization` as the header; "" for none) and extra arguments.
  HttpReply get(const std::string& path, const std::string& authorization = std::string("Bearer ") +
                                                                             kApiToken,
                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--silent", "--show-error", "--max-time", "5",
                                     "--include", "--globoff"};
    if (!authorization.empty()) args.insert(args.end(), {"-H", "Authorization: " + authorization});
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(base_ + path);
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
    HttpReply r;
    const auto split = all.find("\r\n\r\n") != std::string::npos ? all.find("\r\n\r\n")
                                                                  : std::string::npos;
    if (split == std::string::npos || all.compare(0, 5, "HTTP/") != 0) return r;
    r.headers = all.substr(0, split);
    r.body = all.substr(split + 4);
    r.status = std::stoi(all.substr(all.find(' ') + 1, 3));
    return r;
  }

 private:
  std::vector<std::string> args() {
    {
      std::ofstream token(dir_.file("api.token"));
      token << kApiToken << "\n";
    }
    return {"--api", "127.0.0.1:0", "--api-token-file", dir_.file("api.token")};
  }

  TempDir dir_{"qp2p-api"};
  SupernodeProcess supernode_;
  std::string base_;
};

}  // namespace qp2p::test
