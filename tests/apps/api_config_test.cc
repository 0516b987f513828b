// qp2p-supernode's configuration of the management API and graceful shutdown: the keys parse and
// validate (api-listen needs api-token-file; failover-supernodes is a bounded list of specific
// endpoints), the token file is read and checked, and `qp2p-supernode --check-config` names an
// unknown key and its line, exits 1 on errors and 0 on a valid file, without starting.
#include <gtest/gtest.h>

#include <fstream>

#include "apps/runtime/supernode_config.h"
#include "tests/apps/process_helper.h"
#include "tests/apps/qp2p_processes.h"

namespace qp2p::test {
namespace {

TEST(ApiConfigKeys, FileSetsEveryKeyAndApiNeedsAToken) {
  SupernodeAppConfig c;
  EXPECT_FALSE(c.api_listen);
  apply_config_text(c,
                    "api-listen = 127.0.0.1:8080\n"
                    "api-token-file = /etc/qp2p/api.token\n"
                    "api-max-connections = 4\n"
                    "api-idle-timeout-seconds = 30\n"
                    "api-max-connections-per-client = 2\n"
                    "api-snapshot-max-age-ms = 250\n"
                    "api-rate-limit = 0\n"
                    "api-rate-burst = 7\n"
                    "failover-supernodes = 192.0.2.20:3478, 198.51.100.7:3478\n"
                    "shutdown-grace-seconds = 5\n",
                    "api.conf");
  ASSERT_TRUE(c.api_listen);
  EXPECT_EQ(c.api_listen->to_string(), "127.0.0.1:8080");
  EXPECT_EQ(c.api_token_file, "/etc/qp2p/api.token");
  EXPECT_EQ(c.api_max_connections, 4u);
  EXPECT_EQ(c.api_idle_timeout_seconds, 30u);
  EXPECT_EQ(c.api_max_connections_per_client, 2u);
  EXPECT_EQ(c.api_snapshot_max_age_ms, 250u);
  EXPECT_EQ(c.api_rate_limit, 0u);
  EXPECT_EQ(c.api_rate_burst, 7u);
  ASSERT_EQ(c.failover_supernodes.size(), 2u);
  EXPECT_EQ(c.failover_supernodes[1].to_string(), "198.51.100.7:3478");
  EXPECT_EQ(c.shutdown_grace_seconds, 5u);
  EXPECT_NO_THROW(validate_config(c));

  SupernodeAppConfig no_token;
  apply_config_text(no_token, "api-listen = 127.0.0.1:8080\n", "x.conf");
  try {
    validate_config(no_token, "x.conf");
    ADD_FAILURE() << "api-listen without api-token-file accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("api-token-file"), std::string::npos) << e.what();
  }
}

TEST(ApiConfigKeys, BadValuesNameKeyAndLine) {
  struct Case { const char* text; const char* expect; };
  const Case cases[] = {
      {"api-listen = 127.0.0.1\n", "a.conf:1: key 'api-listen'"},
      {"api-max-connections = 0\n", "a.conf:1: key 'api-max-connections'"},
      {"\napi-idle-timeout-seconds = 9999\n", "a.conf:2: key 'api-idle-timeout-seconds'"},
      {"failover-supernodes = 192.0.2.1:1, nope\n", "a.conf:1: key 'failover-supernodes'"},
      {"failover-supernodes = 0.0.0.0:3478\n", "a.conf:1: key 'failover-supernodes'"},
      {"shutdown-grace-seconds = 61\n", "a.conf:1: key 'shutdown-grace-seconds'"},
      {"api-snapshot-max-age-ms = 5\n", "a.conf:1: key 'api-snapshot-max-age-ms'"},
      {"api-rate-burst = 0\n", "a.conf:1: key 'api-rate-burst'"},
      {"# comment\n\napi-port = 80\n", "a.conf:3: key 'api-port': unknown key"},
  };
  for (const Case& c : cases) {
    SupernodeAppConfig config;
    try {
      apply_config_text(config, c.text, "a.conf");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(c.expect, 0), 0u) << e.what();
    }
  }
}

TEST(ApiConfigKeys, TokenFileIsTrimmedAndChecked) {
  TempDir dir("qp2p-token");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.file(name)) << text;
    return dir.file(name);
  };
  EXPECT_EQ(read_api_token_file(write("good", "0123456789abcdefXYZ\n\n")), "0123456789abcdefXYZ");
  EXPECT_THROW(read_api_token_file(write("short", "abc\n")), ConfigError);
  EXPECT_THROW(read_api_token_file(write("blank", "0123456789 abcdefXYZ\n")), ConfigError);
  EXPECT_THROW(read_api_token_file(dir.file("missing")), ConfigError);
}

// Runs qp2p-supernode --check-config on `text`; the exit code and its output.
std::pair<int, std::string> check_config(const TempDir& dir, const std::string& text) {
  std::ofstream(dir.file("check.conf")) << text;
  auto p = ChildProcess::spawn(binary_path("qp2p-supernode"),
                               {"--check-config", dir.file("check.conf")});
  auto status = p.wait(std::chrono::seconds(10));
  while (p.read_line(std::chrono::milliseconds(200))) {
  }
  return {status.value_or(-1), p.transcript()};
}

TEST(CheckConfig, NamesUnknownKeyAndLineAndValidatesWithoutStarting) {
  TempDir dir("qp2p-check");
  std::ofstream(dir.file("api.token")) << "check-config-token-0123456789\n";
  auto [ok, ok_out] = check_config(dir, "listen = 127.0.0.1:3478\napi-listen = 127.0.0.1:0\n"
                                        "api-token-file = " + dir.file("api.token") + "\n");
  EXPECT_EQ(ok, 0) << ok_out;
  EXPECT_NE(ok_out.find(": ok"), std::string::npos) << ok_out;
  EXPECT_EQ(ok_out.find("listening"), std::string::npos) << "must not start: " << ok_out;

  auto [bad, bad_out] = check_config(dir, "listen = 127.0.0.1:3478\n\nlisten-port = 1\n");
  EXPECT_EQ(bad, 1);
  EXPECT_NE(bad_out.find("check.conf:3: key 'listen-port': unknown key"), std::string::npos)
      << bad_out;

  auto [no_token, no_token_out] =
      check_config(dir, "api-listen = 127.0.0.1:0\napi-token-file = " + dir.file("none") + "\n");
  EXPECT_EQ(no_token, 1);
  EXPECT_NE(no_token_out.find("cannot open API token file"), std::string::npos) << no_token_out;
}

}  // namespace
}  // namespace qp2p::test
