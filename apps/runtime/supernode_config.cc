// Config file parsing and validation for qp2p-supernode (see supernode_config.h and
// docs/configuration.md).
#include "apps/runtime/supernode_config.h"

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

#include "apps/runtime/logging.h"
#include "stack/management/api_request.h"

namespace qp2p {

namespace {

// Bounds that catch typos (minutes typed as seconds, a stray zero) rather than express policy.
constexpr std::uint32_t kMaxExpirySeconds = 24 * 3600;
constexpr std::uint32_t kMaxStatsIntervalSeconds = 7 * 24 * 3600;
// Stats reports between members: beyond an hour the network view is too old to be worth it.
constexpr std::uint32_t kMaxFederationStatsIntervalSeconds = 3600;
// A config file is a handful of lines; refuse to read something that clearly is not one.
constexpr std::size_t kMaxConfigFileBytes = 1 << 20;
constexpr std::size_t kMaxRealmBytes = 127;
// Each allocation holds a socket: far beyond this the process runs out of descriptors anyway.
constexpr std::uint32_t kMaxTurnAllocations = 1000000;
// Each API connection costs a descriptor and a few KiB; an operator's tools need a handful.
constexpr std::uint32_t kMaxApiConnections = 1024;
constexpr std::uint32_t kMaxApiIdleSeconds = 3600;
// Snapshots for the API: younger than 10 ms would take one per request again; older than a
// minute is no longer a view of the network.
constexpr std::uint32_t kMinApiSnapshotAgeMs = 10;
constexpr std::uint32_t kMaxApiSnapshotAgeMs = 60000;
constexpr std::uint32_t kMaxApiRate = 100000;
// A shutdown that waits longer than this for acks holds up restarts; peers fail over anyway.
constexpr std::uint32_t kMaxShutdownGraceSeconds = 60;
// Longer than a minute, peers would learn of a dead member later than they can fail over.
constexpr std::uint32_t kMaxSupernodeListDebounceMs = 60000;
// Other supernodes named in a supernode-leaving push (docs/protocol.md, 0x0208, section 8.7).
constexpr std::size_t kMaxFailoverSupernodes = 8;
constexpr std::size_t kMaxTokenFileBytes = 4096;
// A few seeds suffice to join; the rest of the federation is learnt.
constexpr std::size_t kMaxSeeds = 64;

std::string_view trim(std::string_view s) {
  const char* blanks = " \t\r\n";
  auto first = s.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(blanks);
  return s.substr(first, last - first + 1);
}

std::string parse_seconds(std::string_view value, std::uint32_t min, std::uint32_t max,
                          std::uint32_t* out) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size())
    return "expected a whole number of seconds, got '" + std::string(value) + "'";
  if (v < min || v > max) {
    return "must be between " + std::to_string(min) + " and " + std::to_string(max) +
           " seconds, got " + std::to_string(v);
  }
  *out = v;
  return {};
}

std::string parse_endpoint(std::string_view value, Endpoint* out) {
  auto ep = Endpoint::parse(value);
  if (!ep) return "expected IP:PORT or [IPv6]:PORT, got '" + std::string(value) + "'";
  if (ep->address.is_unspecified()) {
    // RESPONSE-ORIGIN and OTHER-ADDRESS (RFC 5780) carry this address to clients, so it
    // must be one they can reach, not a wildcard.
    return "needs a specific address, not " + ep->address.to_string();
  }
  *out = *ep;
  return {};
}

std::string parse_count(std::string_view value, std::uint32_t min, std::uint32_t max,
                        std::uint32_t* out) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size())
    return "expected a whole number, got '" + std::string(value) + "'";
  if (v < min || v > max)
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
  *out = v;
  return {};
}

// "MIN-MAX", two ports with MIN <= MAX.
std::string parse_port_range(std::string_view value, std::uint16_t* min, std::uint16_t* max) {
  const std::string bad = "expected MIN-MAX ports (e.g. 49152-65535), got '" + std::string(value) + "'";
  auto dash = value.find('-');
  if (dash == std::string_view::npos) return bad;
  std::uint32_t lo = 0, hi = 0;
  if (!parse_count(trim(value.substr(0, dash)), 1, 65535, &lo).empty() ||
      !parse_count(trim(value.substr(dash + 1)), 1, 65535, &hi).empty())
    return bad;
  if (lo > hi) return "the first port (" + std::to_string(lo) + ") is above the second (" +
                      std::to_string(hi) + ")";
  *min = static_cast<std::uint16_t>(lo);
  *max = static_cast<std::uint16_t>(hi);
  return {};
}

// "IP:PORT, IP:PORT, ..." (at most kMaxFailoverSupernodes, specific addresses).
std::string parse_endpoint_list(std::string_view value, std::vector<Endpoint>* out) {
  std::vector<Endpoint> list;
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
    Endpoint e;
    if (auto error = parse_endpoint(item, &e); !error.empty()) return error;
    list.push_back(e);
  }
  if (list.empty()) return "expected IP:PORT[, IP:PORT...]";
  if (list.size() > kMaxFailoverSupernodes)
    return "at most " + std::to_string(kMaxFailoverSupernodes) + " endpoints";
  *out = std::move(list);
  return {};
}

}  // namespace

std::string set_config_value(SupernodeAppConfig& config, std::string_view key,
                             std::string_view value) {
  if (key == "listen") return parse_endpoint(value, &config.listen);
  if (key == "alt-listen") return parse_endpoint(value, &config.alt_listen);
  if (key == "key") {
    if (value.empty()) return "expected a file name";
    config.key_file = std::string(value);
    return {};
  }
  if (key == "log-level") {
    if (!parse_log_level(value))
      return "expected " + std::string(kLogLevelNames) + ", got '" + std::string(value) + "'";
    config.log_level = std::string(value);
    return {};
  }
  if (key == "peer-expiry-seconds" || key == "keepalive-interval-seconds") {
    std::uint32_t seconds = 0;
    if (auto error = parse_seconds(value, 1, kMaxExpirySeconds, &seconds); !error.empty())
      return error;
    (key == "peer-expiry-seconds" ? config.peer_expiry : config.keepalive_interval) =
        std::chrono::seconds(seconds);
    return {};
  }
  if (key == "stats-interval-seconds")
    return parse_seconds(value, 0, kMaxStatsIntervalSeconds, &config.stats_interval_seconds);
  if (key == "turn-secret") {
    if (value.empty()) return "expected a secret (leave the key out to turn TURN off)";
    config.turn_secret = std::string(value);
    return {};
  }
  if (key == "turn-realm") {
    // RFC 8489 section 14.9: fewer than 128 characters.
    if (value.empty() || value.size() > kMaxRealmBytes)
      return "expected 1 to " + std::to_string(kMaxRealmBytes) + " characters";
    config.turn_realm = std::string(value);
    return {};
  }
  if (key == "relay-ports") return parse_port_range(value, &config.relay_min_port, &config.relay_max_port);
  if (key == "relay-address") {
    auto ip = IpAddress::parse(value);
    if (!ip || ip->is_unspecified())
      return "expected a specific IP address, got '" + std::string(value) + "'";
    config.relay_address = *ip;
    return {};
  }
  if (key == "turn-max-allocations")
    return parse_count(value, 1, kMaxTurnAllocations, &config.turn_max_allocations);
  if (key == "turn-user-quota")
    return parse_count(value, 1, kMaxTurnAllocations, &config.turn_user_quota);
  if (key == "api-listen") {
    // Unlike the STUN endpoints a wildcard is fine here: nothing carries it to clients.
    auto ep = Endpoint::parse(value);
    if (!ep) return "expected IP:PORT or [IPv6]:PORT, got '" + std::string(value) + "'";
    config.api_listen = *ep;
    return {};
  }
  if (key == "api-token-file") {
    if (value.empty()) return "expected a file name";
    config.api_token_file = std::string(value);
    return {};
  }
  if (key == "api-max-connections")
    return parse_count(value, 1, kMaxApiConnections, &config.api_max_connections);
  if (key == "api-idle-timeout-seconds")
    return parse_seconds(value, 1, kMaxApiIdleSeconds, &config.api_idle_timeout_seconds);
  if (key == "api-max-connections-per-client")
    return parse_count(value, 1, kMaxApiConnections, &config.api_max_connections_per_client);
  if (key == "api-snapshot-max-age-ms")
    return parse_count(value, kMinApiSnapshotAgeMs, kMaxApiSnapshotAgeMs,
                       &config.api_snapshot_max_age_ms);
  if (key == "api-rate-limit") return parse_count(value, 0, kMaxApiRate, &config.api_rate_limit);
  if (key == "api-rate-burst") return parse_count(value, 1, kMaxApiRate, &config.api_rate_burst);
  if (key == "failover-supernodes") return parse_endpoint_list(value, &config.failover_supernodes);
  if (key == "shutdown-grace-seconds")
    return parse_seconds(value, 0, kMaxShutdownGraceSeconds, &config.shutdown_grace_seconds);
  if (key == "supernode-list-debounce-ms") {
    std::uint32_t ms = 0;
    if (auto error = parse_count(value, 0, kMaxSupernodeListDebounceMs, &ms); !error.empty())
      return error;
    config.supernode_list_debounce = std::chrono::milliseconds(ms);
    return {};
  }
  if (key == "seeds") {
    config.seeds.clear();
    while (!value.empty()) {
      const auto comma = value.find(',');
      Endpoint seed;
      if (auto error = parse_endpoint(trim(value.substr(0, comma)), &seed); !error.empty())
        return "seed: " + error;
      if (config.seeds.size() == kMaxSeeds)
        return "more than " + std::to_string(kMaxSeeds) + " seeds";
      config.seeds.push_back(seed);
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
    if (config.seeds.empty()) return "expected IP:PORT[, IP:PORT...]";
    return {};
  }
  if (key == "federation-stats-interval-seconds")
    return parse_seconds(value, 1, kMaxFederationStatsIntervalSeconds,
                         &config.federation_stats_interval_seconds);
  if (key == "network-secret-file") {
    if (value.empty()) return "expected a file name";
    config.network_secret_file = std::string(value);
    return {};
  }
  return "unknown key";
}

void apply_config_text(SupernodeAppConfig& config, std::string_view text,
                       const std::string& origin) {
  std::map<std::string, std::size_t, std::less<>> seen;  // key -> line it was set on
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);

    // A comment is a whole line starting with '#', or a '#' after a blank at the end of a
    // line; a '#' inside a value (a file name) is kept.
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    for (std::size_t i = 1; i < line.size(); ++i) {
      if (line[i] == '#' && (line[i - 1] == ' ' || line[i - 1] == '\t')) {
        line = trim(line.substr(0, i));
        break;
      }
    }
    const std::string where = origin + ":" + std::to_string(line_number) + ": ";
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      throw ConfigError(where + "expected 'key = value', got '" + std::string(line) + "'");
    std::string key(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (key.empty()) throw ConfigError(where + "missing key before '='");
    if (auto it = seen.find(key); it != seen.end()) {
      throw ConfigError(where + "key '" + key + "' already set on line " +
                        std::to_string(it->second));
    }
    if (auto error = set_config_value(config, key, value); !error.empty())
      throw ConfigError(where + "key '" + key + "': " + error);
    seen.emplace(key, line_number);
  }
}

void apply_config_file(SupernodeAppConfig& config, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open config file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": read error");
  if (text.str().size() > kMaxConfigFileBytes) throw ConfigError(path + ": too large");
  apply_config_text(config, text.str(), path);
}

void validate_config(const SupernodeAppConfig& config, const std::string& origin) {
  const std::string where = origin.empty() ? "" : origin + ": ";
  if (config.listen.address.family() != config.alt_listen.address.family()) {
    throw ConfigError(where + "listen (" + config.listen.to_string() + ") and alt-listen (" +
                      config.alt_listen.to_string() + ") must be of one address family");
  }
  // Port 0 asks the kernel for a free port (tests); two such endpoints never collide.
  if (config.listen == config.alt_listen && config.listen.port != 0) {
    throw ConfigError(where + "listen and alt-listen are both " + config.listen.to_string() +
                      "; the second STUN service needs another port or address");
  }
  if (config.listen.address != config.alt_listen.address &&
      config.listen.port == config.alt_listen.port && config.listen.port != 0) {
    // With two addresses the STUN services listen on all four address/port combinations
    // (RFC 5780 section 4), which needs two different ports.
    throw ConfigError(where + "listen (" + config.listen.to_string() + ") and alt-listen (" +
                      config.alt_listen.to_string() +
                      ") use two addresses, so they need two different ports");
  }
  if (!config.relay_address.is_unspecified() &&
      config.relay_address.family() != config.listen.address.family()) {
    throw ConfigError(where + "relay-address (" + config.relay_address.to_string() +
                      ") and listen (" + config.listen.to_string() +
                      ") must be of one address family");
  }
  if (config.api_listen && config.api_token_file.empty()) {
    throw ConfigError(where + "api-listen (" + config.api_listen->to_string() +
                      ") needs api-token-file: every API request is authenticated");
  }
  for (const Endpoint& e : config.failover_supernodes) {
    if (e == config.listen)
      throw ConfigError(where + "failover-supernodes lists this supernode's own listen " +
                        e.to_string());
  }
  if (!config.seeds.empty() && config.network_secret_file.empty())
    throw ConfigError(where + "seeds need network-secret-file (supernodes of one network "
                              "authenticate each other with it)");
  if (config.keepalive_interval >= config.peer_expiry) {
    throw ConfigError(where + "keepalive-interval-seconds (" +
                      std::to_string(to_ms(config.keepalive_interval) / 1000) +
                      ") must be shorter than peer-expiry-seconds (" +
                      std::to_string(to_ms(config.peer_expiry) / 1000) + ")");
  }
}

}  // namespace qp2p

namespace qp2p {

std::string read_api_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open API token file");
  std::string token(kMaxTokenFileBytes + 1, '\0');
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  token.resize(static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw ConfigError(path + ": read error");
  if (token.size() > kMaxTokenFileBytes) throw ConfigError(path + ": too large for a token");
  token = std::string(trim(token));
  try {
    management::BearerToken check(token);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(path + ": " + e.what());
  }
  return token;
}

}  // namespace qp2p
