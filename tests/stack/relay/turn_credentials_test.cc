// TURN REST API credentials and long-term keys against values computed independently (Python's
// hmac/hashlib, and coturn's own `turnadmin -k`), the REST username parser, and the stateless
// nonces (expiry, binding to the client's address, tampering).
#include "stack/relay/turn_credentials.h"

#include <gtest/gtest.h>

#include "tests/stack/relay/turn_test_client.h"

namespace qp2p::turn_test {
namespace {

std::string hex_of(const turn::LongTermKey& k) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto b : k) {
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 15]);
  }
  return s;
}

TEST(TurnCredentials, RestPasswordIsBase64OfHmacSha1) {
  // base64(hmac.new(secret, username, sha1).digest()) in Python.
  EXPECT_EQ(turn::rest_api_password("north", "1700000000:alice"), "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
  EXPECT_EQ(turn::rest_api_password("logen", "1514764800"), "I/m4DEqQ/40cBB7qxlsK9jPtQRM=");
  EXPECT_EQ(turn::rest_api_password("s3cret", "4000000000:uclient"),
            "j588HY9azl6rjn7qspp+2qmYBfs=");
}

TEST(TurnCredentials, LongTermKeyMatchesCoturnTurnadmin) {
  // `turnadmin -k -u 1700000000:alice -r north.gov -p Cd/49soE35ICqcJF/bCTn8Z4OyE=` prints
  // 0x2a5f967a1624288241d04f234e7ffbce (coturn 4.6.1).
  auto c = turn::make_turn_credentials("north", "alice", 1699999400, 600);
  EXPECT_EQ(c.username, "1700000000:alice");
  EXPECT_EQ(c.password, "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
  EXPECT_EQ(c.expires_unix, 1700000000);
  EXPECT_EQ(hex_of(stun::long_term_key(c.username, "north.gov", c.password)),
            "2a5f967a1624288241d04f234e7ffbce");
}

TEST(TurnCredentials, EmptyUserGivesATimestampOnlyUsername) {
  auto c = turn::make_turn_credentials("logen", "", 1514764000, 800);
  EXPECT_EQ(c.username, "1514764800");
  EXPECT_EQ(c.password, "I/m4DEqQ/40cBB7qxlsK9jPtQRM=");
}

TEST(TurnCredentials, ParsesRestUsernames) {
  auto a = turn::parse_rest_username("1700000000:alice");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->expires_unix, 1700000000);
  EXPECT_EQ(a->user, "alice");
  auto b = turn::parse_rest_username("1700000000");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->user, "");
  auto c = turn::parse_rest_username("1700000000:a:b");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "a:b") << "only the first ':' separates";
  EXPECT_FALSE(turn::parse_rest_username(""));
  EXPECT_FALSE(turn::parse_rest_username(":alice"));
  EXPECT_FALSE(turn::parse_rest_username("alice:1700000000"));
  EXPECT_FALSE(turn::parse_rest_username("17x0:alice"));
  EXPECT_FALSE(turn::parse_rest_username("-5:alice"));
  EXPECT_FALSE(turn::parse_rest_username("99999999999999999999:alice")) << "20 digits";
}

TEST(TurnNonce, ValidUntilItsLifetimeThenExpired) {
  std::array<std::uint8_t, 32> key{};
  key[0] = 9;
  turn::NonceFactory nonces(key, std::chrono::seconds(600));
  const Endpoint client = ep("198.51.100.7:40000");
  const std::string n = nonces.make(at_s(10), client);
  EXPECT_EQ(n.size(), turn::NonceFactory::kLength);
  EXPECT_EQ(nonces.check(at_s(10), n, client), turn::NonceFactory::Check::kValid);
  EXPECT_EQ(nonces.check(at_s(609.9), n, client), turn::NonceFactory::Check::kValid);
  EXPECT_EQ(nonces.check(at_s(610), n, client), turn::NonceFactory::Check::kExpired);
}

TEST(TurnNonce, BoundToTheClientAndTheKey) {
  std::array<std::uint8_t, 32> key{};
  turn::NonceFactory nonces(key, std::chrono::seconds(600));
  const std::string n = nonces.make(at_s(0), ep("198.51.100.7:40000"));
  EXPECT_EQ(nonces.check(at_s(1), n, ep("198.51.100.7:40001")),
            turn::NonceFactory::Check::kInvalid);
  EXPECT_EQ(nonces.check(at_s(1), n, ep("198.51.100.8:40000")),
            turn::NonceFactory::Check::kInvalid);
  key[31] = 1;
  turn::NonceFactory other(key, std::chrono::seconds(600));
  EXPECT_EQ(other.check(at_s(1), n, ep("198.51.100.7:40000")), turn::NonceFactory::Check::kInvalid);
  // A forged later expiry does not verify.
  std::string forged = n;
  forged[0] = forged[0] == 'f' ? 'e' : 'f';
  EXPECT_EQ(nonces.check(at_s(1), forged, ep("198.51.100.7:40000")),
            turn::NonceFactory::Check::kInvalid);
  EXPECT_EQ(nonces.check(at_s(1), n.substr(1), ep("198.51.100.7:40000")),
            turn::NonceFactory::Check::kInvalid);
  EXPECT_EQ(nonces.check(at_s(1), std::string(40, 'z'), ep("198.51.100.7:40000")),
            turn::NonceFactory::Check::kInvalid);
}

}  // namespace
}  // namespace qp2p::turn_test
