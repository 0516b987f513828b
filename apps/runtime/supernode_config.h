// qp2p-supernode's configuration: defaults, the `key = value` config file and the checks that
// tie the settings together (docs/configuration.md describes the format for operators).
// Parsing is pure apart from reading the file, so tests can feed it text; every error names
// where it comes from ("FILE:LINE: key 'listen': ..." or "--listen: ...").
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "stack/core/endpoint.h"
#include "stack/core/instant.h"

namespace qp2p {

struct SupernodeAppConfig {
  // STUN service 1 and the qp2p control port; STUN service 2 (RFC 5780 needs a second port or
  // address to answer CHANGE-REQUEST).
  Endpoint listen{IpAddress::v4(0x7F000001), 3478};
  Endpoint alt_listen{IpAddress::v4(0x7F000001), 3479};
  std::string key_file = "./qp2p-supernode.key";
  std::string log_level = "info";
  Duration peer_expiry = std::chrono::seconds(30);
  Duration keepalive_interval = std::chrono::seconds(10);
  // Period of the counters logged at info level; 0 turns it off.
  std::uint32_t stats_interval_seconds = 0;
  // The relay service (TURN, RFC 8656) on `listen`: off while turn_secret is empty. Clients use
  // time-limited REST API credentials derived from the secret (coturn's use-auth-secret).
  std::string turn_secret;
  std::string turn_realm = "qp2p";
  // Relay ports (coturn's min-port / max-port) on relay_address (unspecified: listen's address).
  std::uint16_t relay_min_port = 49152;
  std::uint16_t relay_max_port = 65535;
  IpAddress relay_address;
  std::uint32_t turn_max_allocations = 10000;
  std::uint32_t turn_user_quota = 10;
  // The management API (HTTP/JSON, stack/management/index_api.h): off while api_listen is
  // unset; then api_token_file must name the file holding the bearer token.
  std::optional<Endpoint> api_listen;
  std::string api_token_file;
  std::uint32_t api_max_connections = 16;
  std::uint32_t api_idle_timeout_seconds = 10;
  std::uint32_t api_max_connections_per_client = 4;
  // Answers come from a snapshot of the supernode at most this old (apps/runtime/api_service.h).
  std::uint32_t api_snapshot_max_age_ms = 1000;
  // Requests per second per client address (0: no limit), and the burst allowed after a pause.
  std::uint32_t api_rate_limit = 20;
  std::uint32_t api_rate_burst = 40;
  // Graceful shutdown (SIGTERM): the supernode-leaving push names these supernodes to peers,
  // and the process waits up to shutdown_grace_seconds for the peers' acks.
  std::vector<Endpoint> failover_supernodes;
  std::uint32_t shutdown_grace_seconds = 2;
  // Federation (docs/protocol.md section 14): on when network_secret_file is set; seeds are
  // other supernodes' listen endpoints to join through.
  std::vector<Endpoint> seeds;
  std::string network_secret_file;
  // Membership changes within this window reach the peers as one supernode-list push
  // (SupernodeConfig::supernode_list_debounce).
  Duration supernode_list_debounce = std::chrono::seconds(1);
  // Period of the stats reports sent to the other members (the network view of /v1/stats,
  // docs/protocol.md section 14.7); federation only.
  std::uint32_t federation_stats_interval_seconds = 10;
};

// A configuration error; what() is one line naming the file and line, or the flag.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sets one setting by its config-file key ("listen", "alt-listen", "key", "log-level",
// "peer-expiry-seconds", "keepalive-interval-seconds", "stats-interval-seconds", "turn-secret",
// "turn-realm", "relay-ports", "relay-address", "turn-max-allocations", "turn-user-quota",
// "api-listen", "api-token-file", "api-max-connections", "api-idle-timeout-seconds",
// "api-max-connections-per-client", "api-snapshot-max-age-ms", "api-rate-limit", "api-rate-burst",
// "failover-supernodes", "shutdown-grace-seconds", "seeds" (comma-separated IP:PORT list),
// "network-secret-file", "supernode-list-debounce-ms", "federation-stats-interval-seconds").
// Returns an
// empty string on success, otherwise what is wrong with the value (without location), or
// "unknown key" for a key not in the list.
std::string set_config_value(SupernodeAppConfig& config, std::string_view key,
                             std::string_view value);

// Applies the `key = value` lines of `text` to `config`; `origin` names the file in errors.
// Throws ConfigError "ORIGIN:LINE: ..." on the first bad line or repeated key.
void apply_config_text(SupernodeAppConfig& config, std::string_view text,
                       const std::string& origin);
// Reads `path` and applies it; throws ConfigError naming the path when it cannot be read.
void apply_config_file(SupernodeAppConfig& config, const std::string& path);

// Checks that the settings fit together (distinct listen endpoints of one address family,
// keepalive shorter than the expiry, ...). Throws ConfigError naming the settings involved;
// `origin` prefixes the message (e.g. the config file name), empty for none.
void validate_config(const SupernodeAppConfig& config, const std::string& origin = "");

// Reads the API bearer token from `path`: the file's content without trailing blanks and line
// ends. Throws ConfigError naming the file when it cannot be read or the token is unusable
// (shorter than 16 characters, blanks or control characters inside).
std::string read_api_token_file(const std::string& path);

}  // namespace qp2p
