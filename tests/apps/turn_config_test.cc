// qp2p-supernode's TURN settings (docs/configuration.md): the config-file keys and their
// errors, and the check that ties relay-address to listen's address family.
#include <gtest/gtest.h>

#include "apps/runtime/supernode_config.h"

namespace qp2p {
namespace {

TEST(TurnConfigKeys, DefaultsLeaveTurnOff) {
  SupernodeAppConfig c;
  EXPECT_TRUE(c.turn_secret.empty());
  EXPECT_EQ(c.turn_realm, "qp2p");
  EXPECT_EQ(c.relay_min_port, 49152);
  EXPECT_EQ(c.relay_max_port, 65535);
  EXPECT_TRUE(c.relay_address.is_unspecified());
}

TEST(TurnConfigKeys, FileSetsEveryKey) {
  SupernodeAppConfig c;
  apply_config_text(c,
                    "turn-secret = s3cret#not-a-comment\n"
                    "turn-realm = example.org\n"
                    "relay-ports = 40000-40999\n"
                    "relay-address = 127.0.0.2\n"
                    "turn-max-allocations = 50\n"
                    "turn-user-quota = 3\n",
                    "test.conf");
  EXPECT_EQ(c.turn_secret, "s3cret#not-a-comment");
  EXPECT_EQ(c.turn_realm, "example.org");
  EXPECT_EQ(c.relay_min_port, 40000);
  EXPECT_EQ(c.relay_max_port, 40999);
  EXPECT_EQ(c.relay_address.to_string(), "127.0.0.2");
  EXPECT_EQ(c.turn_max_allocations, 50u);
  EXPECT_EQ(c.turn_user_quota, 3u);
  EXPECT_NO_THROW(validate_config(c));
}

TEST(TurnConfigKeys, BadValuesNameWhatIsWrong) {
  SupernodeAppConfig c;
  EXPECT_NE(set_config_value(c, "relay-ports", "5000").find("MIN-MAX"), std::string::npos);
  EXPECT_NE(set_config_value(c, "relay-ports", "6000-5000").find("above"), std::string::npos);
  EXPECT_NE(set_config_value(c, "relay-ports", "0-5000").find("MIN-MAX"), std::string::npos);
  EXPECT_NE(set_config_value(c, "relay-ports", "1-70000").find("MIN-MAX"), std::string::npos);
  EXPECT_FALSE(set_config_value(c, "turn-secret", "").empty());
  EXPECT_FALSE(set_config_value(c, "turn-realm", std::string(128, 'r')).empty());
  EXPECT_FALSE(set_config_value(c, "relay-address", "0.0.0.0").empty());
  EXPECT_FALSE(set_config_value(c, "relay-address", "example").empty());
  EXPECT_FALSE(set_config_value(c, "turn-user-quota", "0").empty());
  EXPECT_EQ(c.relay_min_port, 49152) << "a refused value changes nothing";
  try {
    apply_config_text(c, "log-level = info\nrelay-ports = 9-1\n", "relay.conf");
    FAIL() << "accepted a reversed range";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("relay.conf:2: key 'relay-ports'"), std::string::npos)
        << e.what();
  }
}

TEST(TurnConfigKeys, RelayAddressMustMatchListenFamily) {
  SupernodeAppConfig c;
  ASSERT_EQ(set_config_value(c, "relay-address", "::1"), "");
  EXPECT_THROW(validate_config(c), ConfigError);
}

}  // namespace
}  // namespace qp2p
