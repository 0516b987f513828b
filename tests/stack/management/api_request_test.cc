// The pure parts of reading a management API request: request-target parsing (path, query,
// percent-decoding, bounds) and the bearer token check.
#include <gtest/gtest.h>

#include "stack/management/api_request.h"

namespace qp2p::management {
namespace {

TEST(ParseTarget, SplitsAndDecodesPathAndQuery) {
  std::string error;
  auto t = parse_target("/v1/peers?meta.city=New+York&meta.x=a%2Fb&&limit=5&flag", &error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->path, "/v1/peers");
  ASSERT_EQ(t->query.size(), 4u);
  EXPECT_EQ(t->query[0], std::make_pair(std::string("meta.city"), std::string("New York")));
  EXPECT_EQ(t->query[1].second, "a/b");
  EXPECT_EQ(t->query[2].first, "limit");
  EXPECT_EQ(t->query[3], std::make_pair(std::string("flag"), std::string()));
  auto plain = parse_target("/healthz", &error);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->query.empty());
}

TEST(ParseTarget, RejectsWhatIsNotAnOriginFormTarget) {
  for (const char* bad : {"", "v1/peers", "http://192.0.2.1/v1", "/a%", "/a%4", "/a%g1", "/a%00",
                          "/a b", "/a#frag", "/x?a=%ZZ"}) {
    std::string error;
    EXPECT_FALSE(parse_target(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  std::string error;
  EXPECT_FALSE(parse_target("/" + std::string(kMaxTargetBytes, 'a'), &error));
  std::string many = "/x?";
  for (std::size_t i = 0; i <= kMaxQueryParameters; ++i) many += "a=1&";
  EXPECT_FALSE(parse_target(many, &error));
  EXPECT_NE(error.find("query parameters"), std::string::npos);
}

TEST(BearerToken, AcceptsOnlyTheExactToken) {
  BearerToken token("0123456789abcdef-secret");
  using C = BearerToken::Check;
  EXPECT_EQ(token.check("Bearer 0123456789abcdef-secret"), C::kOk);
  EXPECT_EQ(token.check("bEaReR \t0123456789abcdef-secret "), C::kOk);
  EXPECT_EQ(token.check(""), C::kMissing);
  EXPECT_EQ(token.check("Bearer"), C::kMalformed);
  EXPECT_EQ(token.check("Bearer   "), C::kMalformed);
  EXPECT_EQ(token.check("Bearerx 0123456789abcdef-secret"), C::kMalformed);
  EXPECT_EQ(token.check("Basic 0123456789abcdef-secret"), C::kMalformed);
  EXPECT_EQ(token.check("Bearer 0123456789abcdef-secreT"), C::kWrong);
  EXPECT_EQ(token.check("Bearer 0123456789abcdef-secret2"), C::kWrong);
  EXPECT_EQ(token.check("Bearer 0123456789abcdef"), C::kWrong);
}

TEST(BearerToken, RefusesWeakOrUnsendableTokens) {
  EXPECT_THROW(BearerToken("short"), std::invalid_argument);
  EXPECT_THROW(BearerToken("0123456789abcdef with blank"), std::invalid_argument);
  EXPECT_THROW(BearerToken("0123456789abcdef\n"), std::invalid_argument);
  EXPECT_NO_THROW(BearerToken("0123456789abcdef"));
}

}  // namespace
}  // namespace qp2p::management
