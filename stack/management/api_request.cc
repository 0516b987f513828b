// Request-target parsing and bearer-token checks of the management API (api_request.h;
// RFC 3986 section 2.1 percent-encoding, RFC 6750 section 2.1 the Authorization header).
#include "stack/management/api_request.h"

#include <sodium.h>

#include <stdexcept>

namespace qp2p::management {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in`; in a query, '+' is a space (HTML form encoding, as curl --data-urlencode
// and browsers write it).
bool decode(std::string_view in, bool query, std::string* out, std::string* error) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        *error = "bad percent-escape at offset " + std::to_string(i) + " of the target";
        return false;
      }
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') {
        *error = "encoded NUL (%00) in the target";
        return false;
      }
      *out += decoded;
      i += 2;
    } else if (c == '+' && query) {
      *out += ' ';
    } else if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      *error = "control character or blank in the target";
      return false;
    } else {
      *out += c;
    }
  }
  return true;
}

std::array<std::uint8_t, 32> hash_token(std::string_view token) {
  std::array<std::uint8_t, 32> h{};
  crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return h;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::optional<Target> parse_target(std::string_view target, std::string* error) {
  if (target.size() > kMaxTargetBytes) {
    *error = "request target longer than " + std::to_string(kMaxTargetBytes) + " bytes";
    return std::nullopt;
  }
  if (target.empty() || target.front() != '/') {
    *error = "request target must start with '/'";
    return std::nullopt;
  }
  // A fragment is never sent (RFC 9110 section 4.2.5); treat '#' as an error, not as a cut.
  if (target.find('#') != std::string_view::npos) {
    *error = "'#' in the request target";
    return std::nullopt;
  }
  Target out;
  const auto question = target.find('?');
  if (!decode(target.substr(0, question), false, &out.path, error)) return std::nullopt;
  if (question == std::string_view::npos) return out;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (part.empty()) continue;  // "a=1&&b=2"
    if (out.query.size() >= kMaxQueryParameters) {
      *error = "more than " + std::to_string(kMaxQueryParameters) + " query parameters";
      return std::nullopt;
    }
    const auto eq = part.find('=');
    std::string key, value;
    if (!decode(part.substr(0, eq), true, &key, error)) return std::nullopt;
    if (eq != std::string_view::npos && !decode(part.substr(eq + 1), true, &value, error))
      return std::nullopt;
    out.query.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

BearerToken::BearerToken(std::string_view token) {
  if (token.size() < kMinBytes)
    throw std::invalid_argument("API token shorter than " + std::to_string(kMinBytes) +
                                " characters");
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F)
      throw std::invalid_argument("API token holds a blank or control character");
  }
  hash_ = hash_token(token);
}

BearerToken::Check BearerToken::check(std::string_view authorization) const {
  if (authorization.empty()) return Check::kMissing;
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || !blank(authorization[kScheme.size()]))
    return Check::kMalformed;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c | 0x20) != kScheme[i]) return Check::kMalformed;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && blank(token.front())) token.remove_prefix(1);
  while (!token.empty() && blank(token.back())) token.remove_suffix(1);
  if (token.empty()) return Check::kMalformed;
  const auto presented = hash_token(token);
  return sodium_memcmp(presented.data(), hash_.data(), hash_.size()) == 0 ? Check::kOk
                                                                            : Check::kWrong;
}

}  // namespace qp2p::management
