// TURN long-term credentials (RFC 8489 section 9.2) with passwords from the time-limited
// "TURN REST API" scheme (draft-uberti-behave-turn-rest-00; coturn's `use-auth-secret`):
//
//   username = "<unix expiry>:<user>"   (or just "<unix expiry>")
//   password = base64(HMAC-SHA1(shared secret, username))
//   key      = MD5(username ":" realm ":" password)          (RFC 8489 section 9.2.2)
//
// The server needs no user database: it recomputes the password from the username. A username
// whose expiry has passed is refused. Nonces (RFC 8489 section 9.2.3) are stateless: an expiry
// instant and an HMAC over it and the client's transport address, so the server keeps nothing
// per client before it authenticates and a nonce is useless from another address.
//
// Unix time never comes from a clock here: callers pass it in (see TurnConfig in
// turn_server.h for how the runtime supplies it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/core/endpoint.h"
#include "stack/core/instant.h"
#include "stack/stun/stun_message.h"

namespace qp2p::turn {

struct TurnCredentials {
  std::string username;
  std::string password;
  std::int64_t expires_unix = 0;  // seconds since 1970
};

// Credentials valid until unix_now + ttl_seconds for `user` (may be empty: the username is then
// only the expiry). What the checkpoint hands to logged-in peers, and what coturn's
// `turnutils_uclient -W SECRET` computes for itself.
TurnCredentials make_turn_credentials(std::string_view secret, std::string_view user,
                                      std::int64_t unix_now, std::int64_t ttl_seconds);

// base64(HMAC-SHA1(secret, username)), standard alphabet with padding.
std::string rest_api_password(std::string_view secret, std::string_view username);

// The parts of a REST API username: a decimal expiry, then optionally ':' and the user.
struct RestUsername {
  std::int64_t expires_unix = 0;
  std::string_view user;  // empty when the username is only a timestamp
};
// nullopt when the username does not start with 1-19 decimal digits followed by ':' or its end.
std::optional<RestUsername> parse_rest_username(std::string_view username);

using LongTermKey = std::array<std::uint8_t, 16>;

// Stateless nonces: 16 hex digits of the expiry (microseconds of Instant) followed by 24 hex
// digits of HMAC-SHA1(key, expiry || client address || port) truncated to 12 bytes. 40
// characters of the RFC 8489 nonce alphabet, well under its 128-character limit.
class NonceFactory {
 public:
  NonceFactory(const std::array<std::uint8_t, 32>& key, Duration lifetime);

  std::string make(Instant now, const Endpoint& client) const;

  enum class Check { kValid, kExpired, kInvalid };
  Check check(Instant now, std::string_view nonce, const Endpoint& client) const;

  static constexpr std::size_t kLength = 40;

 private:
  std::string mac_hex(std::uint64_t expiry_us, const Endpoint& client) const;
  std::array<std::uint8_t, 32> key_;
  Duration lifetime_;
};

// The outcome of RFC 8489 section 9.2.4 for one request.
enum class AuthOutcome {
  kOk,
  kChallenge,     // no MESSAGE-INTEGRITY: 401 with REALM and NONCE, no integrity
  kBadRequest,    // integrity without USERNAME, REALM or NONCE: 400
  kStaleNonce,    // the nonce expired or was not ours: 438 with a fresh NONCE
  kUnauthorized,  // unknown or expired username, wrong realm or wrong integrity: 401
};
const char* to_string(AuthOutcome outcome);

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::kChallenge;
  std::string username;  // set when kOk
  std::string user;      // the user part of the REST username (quotas count by it)
  LongTermKey key{};     // set when kOk: signs the response
  bool sha256 = false;   // the request used MESSAGE-INTEGRITY-SHA256: answer in kind
  std::string why;       // for the debug log when not kOk
};

// Checks one request against the shared secret and realm. `unix_now` decides whether the
// username's expiry has passed.
AuthResult authenticate(const stun::MessageView& request, std::string_view secret,
                        std::string_view realm, const NonceFactory& nonces, Instant now,
                        std::int64_t unix_now, const Endpoint& client);

}  // namespace qp2p::turn
