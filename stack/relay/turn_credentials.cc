// TURN REST API credentials, stateless nonces and the long-term credential check of
// RFC 8489 section 9.2.4 (see turn_credentials.h).
#include "stack/relay/turn_credentials.h"

#include <sodium.h>

#include <charconv>
#include <cstring>

#include "stack/stun/legacy_hash.h"

namespace qp2p::turn {
namespace {

constexpr char kHex[] = "0123456789abcdef";
// Expiry digits: 16 hex digits hold any 64-bit microsecond count.
constexpr std::size_t kExpiryHexDigits = 16;
constexpr std::size_t kMacBytes = 12;
// RFC 8489 sections 14.3, 14.9, 14.10: USERNAME < 513 bytes, REALM and NONCE < 128 characters
// (up to 763 bytes of UTF-8). Longer values are refused before any hashing.
constexpr std::size_t kMaxUsernameBytes = 512;
constexpr std::size_t kMaxRealmBytes = 763;
constexpr std::size_t kMaxTimestampDigits = 19;

void append_hex(std::string& out, const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0x0f]);
  }
}

const std::uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

}  // namespace

std::string rest_api_password(std::string_view secret, std::string_view username) {
  const stun::Sha1Digest mac =
      stun::hmac_sha1(bytes(secret), secret.size(), {{bytes(username), username.size()}});
  char out[sodium_base64_ENCODED_LEN(20, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof(out), mac.data(), mac.size(), sodium_base64_VARIANT_ORIGINAL);
  return std::string(out);
}

TurnCredentials make_turn_credentials(std::string_view secret, std::string_view user,
                                      std::int64_t unix_now, std::int64_t ttl_seconds) {
  TurnCredentials c;
  c.expires_unix = unix_now + ttl_seconds;
  c.username = std::to_string(c.expires_unix);
  if (!user.empty()) {
    c.username.push_back(':');
    c.username.append(user);
  }
  c.password = rest_api_password(secret, c.username);
  return c;
}

std::optional<RestUsername> parse_rest_username(std::string_view username) {
  const std::size_t colon = username.find(':');
  const std::string_view digits = username.substr(0, colon);
  if (digits.empty() || digits.size() > kMaxTimestampDigits) return std::nullopt;
  RestUsername out;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.expires_unix);
  if (ec != std::errc() || end != digits.data() + digits.size() || out.expires_unix < 0)
    return std::nullopt;
  if (colon != std::string_view::npos) out.user = username.substr(colon + 1);
  return out;
}

// --- nonces ---

NonceFactory::NonceFactory(const std::array<std::uint8_t, 32>& key, Duration lifetime)
    : key_(key), lifetime_(lifetime) {}

std::string NonceFactory::mac_hex(std::uint64_t expiry_us, const Endpoint& client) const {
  std::uint8_t input[8 + 16 + 2];
  for (int i = 0; i < 8; ++i) input[i] = static_cast<std::uint8_t>(expiry_us >> (56 - 8 * i));
  std::memset(input + 8, 0, 16);
  std::memcpy(input + 8, client.address.data(), client.address.size());
  input[24] = static_cast<std::uint8_t>(client.port >> 8);
  input[25] = static_cast<std::uint8_t>(client.port);
  const stun::Sha1Digest mac = stun::hmac_sha1(key_.data(), key_.size(), {{input, sizeof(input)}});
  std::string out;
  append_hex(out, mac.data(), kMacBytes);
  return out;
}

std::string NonceFactory::make(Instant now, const Endpoint& client) const {
  const auto expiry = static_cast<std::uint64_t>(to_us(now + lifetime_));
  std::string out;
  out.reserve(kLength);
  for (int i = 0; i < 8; ++i) {
    const auto b = static_cast<std::uint8_t>(expiry >> (56 - 8 * i));
    append_hex(out, &b, 1);
  }
  out += mac_hex(expiry, client);
  return out;
}

NonceFactory::Check NonceFactory::check(Instant now, std::string_view nonce,
                                        const Endpoint& client) const {
  if (nonce.size() != kLength) return Check::kInvalid;
  std::uint64_t expiry = 0;
  auto [end, ec] = std::from_chars(nonce.data(), nonce.data() + kExpiryHexDigits, expiry, 16);
  if (ec != std::errc() || end != nonce.data() + kExpiryHexDigits) return Check::kInvalid;
  const std::string expected = mac_hex(expiry, client);
  if (!stun::equal_constant_time(bytes(expected), bytes(nonce.substr(kExpiryHexDigits)),
                                 expected.size()))
    return Check::kInvalid;
  if (static_cast<std::int64_t>(expiry) <= to_us(now)) return Check::kExpired;
  return Check::kValid;
}

// --- RFC 8489 section 9.2.4 ---

const char* to_string(AuthOutcome outcome) {
  switch (outcome) {
    case AuthOutcome::kOk:
      return "ok";
    case AuthOutcome::kChallenge:
      return "no integrity (challenge)";
    case AuthOutcome::kBadRequest:
      return "integrity without USERNAME, REALM or NONCE";
    case AuthOutcome::kStaleNonce:
      return "stale nonce";
    case AuthOutcome::kUnauthorized:
      return "wrong credentials";
  }
  return "?";
}

AuthResult authenticate(const stun::MessageView& request, std::string_view secret,
                        std::string_view realm, const NonceFactory& nonces, Instant now,
                        std::int64_t unix_now, const Endpoint& client) {
  AuthResult r;
  const bool has_mi = request.find(stun::attr::kMessageIntegrity) != nullptr;
  const bool has_mi256 = request.find(stun::attr::kMessageIntegritySha256) != nullptr;
  if (!has_mi && !has_mi256) {
    r.outcome = AuthOutcome::kChallenge;
    r.why = "no MESSAGE-INTEGRITY";
    return r;
  }
  auto username = request.string(stun::attr::kUsername);
  auto req_realm = request.string(stun::attr::kRealm);
  auto nonce = request.string(stun::attr::kNonce);
  if (!username || !req_realm || !nonce) {
    r.outcome = AuthOutcome::kBadRequest;
    r.why = !username ? "USERNAME missing" : !req_realm ? "REALM missing" : "NONCE missing";
    return r;
  }
  if (username->size() > kMaxUsernameBytes || req_realm->size() > kMaxRealmBytes) {
    r.outcome = AuthOutcome::kBadRequest;
    r.why = "USERNAME or REALM too long";
    return r;
  }
  // RFC 8489 9.2.4 orders the nonce check before the username check.
  switch (nonces.check(now, *nonce, client)) {
    case NonceFactory::Check::kValid:
      break;
    case NonceFactory::Check::kExpired:
      r.outcome = AuthOutcome::kStaleNonce;
      r.why = "nonce expired";
      return r;
    case NonceFactory::Check::kInvalid:
      r.outcome = AuthOutcome::kStaleNonce;
      r.why = "nonce not issued to this address";
      return r;
  }
  r.outcome = AuthOutcome::kUnauthorized;
  if (*req_realm != realm) {
    r.why = "REALM '" + std::string(*req_realm) + "' is not ours";
    return r;
  }
  auto rest = parse_rest_username(*username);
  if (!rest) {
    r.why = "USERNAME '" + std::string(*username) + "' is not '<unix expiry>[:user]'";
    return r;
  }
  if (rest->expires_unix <= unix_now) {
    r.why = "USERNAME '" + std::string(*username) + "' expired " +
            std::to_string(unix_now - rest->expires_unix) + " s ago";
    return r;
  }
  const std::string password = rest_api_password(secret, *username);
  r.key = stun::long_term_key(*username, realm, password);
  const bool ok = has_mi ? request.check_message_integrity(r.key.data(), r.key.size())
                         : request.check_message_integrity_sha256(r.key.data(), r.key.size());
  if (!ok) {
    r.why = "MESSAGE-INTEGRITY does not match for USERNAME '" + std::string(*username) + "'";
    return r;
  }
  r.outcome = AuthOutcome::kOk;
  r.sha256 = !has_mi;
  r.username = std::string(*username);
  r.user = std::string(rest->user);
  return r;
}

}  // namespace qp2p::turn
