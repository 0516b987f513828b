// qp2p-supernode's federation settings (docs/configuration.md): `seeds`,
// `network-secret-file`, `supernode-list-debounce-ms` and `federation-stats-interval-seconds`,
// their errors, and the rule that seeds need a secret.
#include <gtest/gtest.h>

#include "apps/runtime/supernode_config.h"

namespace qp2p {
namespace {

TEST(FederationConfigKeys, DefaultsLeaveFederationOff) {
  SupernodeAppConfig c;
  EXPECT_TRUE(c.seeds.empty());
  EXPECT_TRUE(c.network_secret_file.empty());
  EXPECT_EQ(c.federation_stats_interval_seconds, 10u);
  EXPECT_NO_THROW(validate_config(c));
}

TEST(FederationConfigKeys, StatsReportIntervalIsBounded) {
  SupernodeAppConfig c;
  EXPECT_EQ(set_config_value(c, "federation-stats-interval-seconds", "2"), "");
  EXPECT_EQ(c.federation_stats_interval_seconds, 2u);
  EXPECT_NE(set_config_value(c, "federation-stats-interval-seconds", "0").find("between 1 and 3600"),
            std::string::npos);
  EXPECT_NE(set_config_value(c, "federation-stats-interval-seconds", "3601").find("3600"),
            std::string::npos);
  EXPECT_NE(set_config_value(c, "federation-stats-interval-seconds", "ten").find("whole number"),
            std::string::npos);
  EXPECT_EQ(c.federation_stats_interval_seconds, 2u);
}

TEST(FederationConfigKeys, FileSetsSeedsAndSecret) {
  SupernodeAppConfig c;
  apply_config_text(c,
                    "seeds = 127.0.0.2:3478, 127.0.0.3:3478\n"
                    "network-secret-file = /etc/qp2p/network.secret\n"
                    "supernode-list-debounce-ms = 250\n",
                    "test.conf");
  ASSERT_EQ(c.seeds.size(), 2u);
  EXPECT_EQ(c.seeds[0].to_string(), "127.0.0.2:3478");
  EXPECT_EQ(c.seeds[1].to_string(), "127.0.0.3:3478");
  EXPECT_EQ(c.network_secret_file, "/etc/qp2p/network.secret");
  EXPECT_EQ(c.supernode_list_debounce, std::chrono::milliseconds(250));
  EXPECT_NO_THROW(validate_config(c));
}

TEST(FederationConfigKeys, BadValuesNameWhatIsWrong) {
  SupernodeAppConfig c;
  EXPECT_NE(set_config_value(c, "seeds", "127.0.0.2").find("seed: expected IP:PORT"),
            std::string::npos);
  EXPECT_NE(set_config_value(c, "seeds", "0.0.0.0:1").find("specific address"),
            std::string::npos);
  EXPECT_FALSE(set_config_value(c, "network-secret-file", "").empty());
  EXPECT_FALSE(set_config_value(c, "supernode-list-debounce-ms", "60001").empty());
  EXPECT_FALSE(set_config_value(c, "supernode-list-debounce-ms", "-1").empty());
  EXPECT_EQ(set_config_value(c, "supernode-list-debounce-ms", "0"), "");
  EXPECT_EQ(c.supernode_list_debounce, Duration::zero());
  SupernodeAppConfig seeded;
  ASSERT_EQ(set_config_value(seeded, "seeds", "127.0.0.2:3478"), "");
  try {
    validate_config(seeded, "x.conf");
    ADD_FAILURE() << "seeds without a secret accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("seeds need network-secret-file"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qp2p
