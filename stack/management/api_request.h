// The management API's requests and responses, independent of HTTP libraries: the adapter
// (apps/runtime/http_api_server.h) fills an ApiRequest from an HTTP/1.1 request and writes the
// ApiResponse back. Also the pure parts of reading a request: the request-target (RFC 3986
// path and query, percent-decoded, RFC 9110 section 7.1) and the bearer token (RFC 6750
// section 2.1), compared in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qp2p::management {

// Longest request-target accepted; the HTTP adapter also bounds the whole header block.
inline constexpr std::size_t kMaxTargetBytes = 2048;
inline constexpr std::size_t kMaxQueryParameters = 32;

struct ApiRequest {
  std::string method;         // "GET"
  std::string target;         // as sent: "/v1/peers?limit=10"
  std::string authorization;  // the Authorization header's value, empty when absent
  bool has_body = false;      // a body (or a Content-Length/Transfer-Encoding) came with it
  std::string client;         // who asks, for the rate limit (the peer's IP address)
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, ...)
};

struct Target {
  std::string path;                                         // decoded
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
};

// Splits and percent-decodes a request-target in origin-form ("/path?a=b&c=d"; '+' in the query
// is a space). nullopt with `error` naming the problem for anything else: not starting with '/',
// a bad %XX escape, an encoded NUL, too long, too many parameters.
std::optional<Target> parse_target(std::string_view target, std::string* error);

// The API token: only its BLAKE2b hash is kept, and a presented token is hashed the same way and
// compared with sodium_memcmp, so the comparison takes the same time wherever the two differ and
// whatever their lengths.
class BearerToken {
 public:
  // Minimum token length: a shorter one is guessable.
  static constexpr std::size_t kMinBytes = 16;
  // Throws std::invalid_argument when the token is shorter than kMinBytes or holds blanks or
  // control characters (they cannot travel in an Authorization header).
  explicit BearerToken(std::string_view token);

  enum class Check { kOk, kMissing, kMalformed, kWrong };
  // Checks an Authorization header value: scheme "Bearer" (any case), blanks, the token.
  Check check(std::string_view authorization) const;

 private:
  std::array<std::uint8_t, 32> hash_{};
};

}  // namespace qp2p::management
