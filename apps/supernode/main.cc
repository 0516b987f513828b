// qp2p-supernode: a Supernode (stack/supernode) on real UDP sockets through the Asio runtime.
// Runs on defaults with no arguments; settings come from defaults, then --config FILE, then
// the command line (docs/configuration.md). Exit codes: 0 clean stop (SIGINT/SIGTERM),
// 1 run-time failure (key file, sockets), 2 bad command line or configuration.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "apps/runtime/clock.h"
#include "apps/runtime/key_file.h"
#include "apps/runtime/logging.h"
#include "apps/runtime/supernode_config.h"
#include "apps/runtime/udp_runtime.h"
#include "apps/runtime/udp_socket.h"
#include "apps/supernode/management_api.h"
#include "stack/supernode/supernode.h"

namespace qp2p {
namespace {

constexpr const char* kProgram = "qp2p-supernode";
// Counters are logged at debug level this often, so a debug log shows the load over time.
constexpr auto kDebugStatsInterval = std::chrono::seconds(60);
// While leaving, how often the acks of supernode-leaving are counted.
constexpr auto kLeavePollInterval = std::chrono::milliseconds(20);

struct FlagSetting {
  std::string flag;  // as typed, for errors: "--stats-interval"
  std::string key;   // the config-file key it sets: "stats-interval-seconds"
  std::string value;
};

struct CommandLine {
  std::vector<FlagSetting> settings;  // only the flags actually given
  std::string config_file;
  std::string check_config_file;
};

std::string format_turn_counters(const Supernode& node) {
  const turn::TurnCounters& t = node.turn_counters();
  return fmt::format(
      " | turn: allocations={} created={} deleted={} expired={} retransmits={} refreshes={} "
      "permissions={} channels={} challenges={} errors: 400={} 401={} 420={} 437={} 438={} "
      "440={} 441={} 442={} 443={} 486={} 508={} bind_failures={} | relayed: send={} "
      "channel_in={} data={} channel_out={} | turn drops: bad_fingerprint={} not_turn={} "
      "channel_malformed={} no_allocation={} channel_unbound={} send_malformed={} "
      "no_permission={} relay_unknown={} unexpected_indication={} too_large={} forbidden_peer={}",
      node.relay_allocations(), t.allocations_created, t.allocations_deleted,
      t.allocations_expired, t.allocate_retransmits, t.refreshes, t.permissions_created,
      t.channels_bound, t.challenges, t.error_400, t.error_401, t.error_420, t.error_437,
      t.error_438, t.error_440, t.error_441, t.error_442, t.error_443, t.error_486, t.error_508,
      t.relay_bind_failures, t.send_indications, t.channel_data_in, t.data_indications,
      t.channel_data_out, t.dropped_bad_fingerprint, t.dropped_not_turn,
      t.dropped_channel_data_malformed, t.dropped_no_allocation, t.dropped_channel_unbound,
      t.dropped_send_malformed, t.dropped_no_permission, t.dropped_relay_unknown,
      t.dropped_unexpected_indication, t.dropped_too_large, t.dropped_forbidden_peer);
}

// The replicated directory (docs/protocol.md section 14.5); part of the federation's line.
std::string format_directory_counters(const Supernode& node) {
  const federation::DirectoryNode* d = node.directory();
  const federation::SyncCounters& s = d->sync_counters();
  const SupernodeCounters& c = node.counters();
  return fmt::format(
      " | directory: peers={} records={} parked={} accepted={} stale={} rejected={} "
      "sync_in_bytes={} sync_out_bytes={} rounds={} round_timeouts={} pushed={} "
      "push_payloads={} queue_full={} payloads_unsent={} unknown_payloads={}",
      d->replica().size(), d->replica().record_count(), d->replica().parked(), s.records_accepted,
      s.records_stale, s.records_rejected, s.received_bytes, s.sent_bytes,
      d->counters().rounds_started, s.round.requests_timed_out, d->counters().pushes,
      d->counters().push_batches, s.dropped_queue_full, c.federation_payloads_unsent,
      c.dropped_federation_payload);
}

// Empty when federation is off.
std::string format_federation_counters(const Supernode& node) {
  const federation::Membership* f = node.federation();
  if (!f) return {};
  const federation::MembershipCounters& c = f->counters();
  return fmt::format(
             " | federation: members={} in={} out={} pings={} ping_reqs={} acks={} suspicions={} "
             "refutations={} deaths={} syncs={} gossips={} payloads_in={} payloads_out={} | "
             "federation drops: rate_limited={} truncated={} bad_version={} wrong_network={} "
             "unauthenticated={} malformed={} bad_signature={} replayed={} too_old={} "
             "clock_skew={} misdirected={} "
             "from_self={} table_full={} payload_not_member={}",
             f->members().size(), c.datagrams_in, c.datagrams_out, c.pings_sent, c.ping_reqs_sent,
             c.acks_received, c.suspicions, c.refutations, c.deaths, c.syncs_sent, c.gossips_sent,
             c.payloads_in, c.payloads_out, c.dropped_rate_limited, c.dropped_truncated,
             c.dropped_bad_version, c.dropped_wrong_network, c.dropped_unauthenticated,
             c.dropped_malformed, c.dropped_bad_signature, c.dropped_replayed, c.dropped_too_old,
             c.dropped_clock_skew, c.dropped_misdirected, c.dropped_from_self, c.dropped_table_full,
             c.dropped_payload_not_member) +
         format_directory_counters(node);
}

std::string format_counters(const Supernode& node, const UdpRuntimeCounters& io) {
  const SupernodeCounters& c = node.counters();
  const StunCounters& s = node.stun_counters();
  return fmt::format(
      "online={} in={} out={} | stun: binding={} responses={} change={} not_request={} "
      "unknown_attr={} bad_fingerprint={} | drops: unknown_protocol={} stun_malformed={} "
      "control_malformed={} unauthenticated={} replayed={} unexpected={} | checkpoint: "
      "logins={} rejected={} logouts={} expiries={} | index: publishes={} rejected={} "
      "lookups={} searches={} | messages: routed={} undeliverable={} | udp: rx={} tx={} "
      "rx_calls={} tx_calls={} would_block={} truncated={} no_socket={} queue_full={} "
      "send_error={} rx_error={}",
      node.online_peers(), c.datagrams_in, c.datagrams_out, s.binding_requests, s.responses,
      s.change_requests, s.dropped_not_request, s.rejected_unknown_attributes,
      s.rejected_bad_fingerprint, c.dropped_unknown_protocol, c.dropped_stun_malformed,
      c.dropped_control_malformed, c.dropped_control_unauthenticated, c.dropped_control_replayed,
      c.dropped_control_unexpected, c.logins, c.rejected_login, c.logouts, c.expiries, c.publishes,
      c.rejected_record, c.lookups, c.searches, c.messages_routed, c.messages_undeliverable,
      io.datagrams_received, io.datagrams_sent, io.receive_calls, io.send_calls,
      io.send_would_block, io.dropped_truncated, io.dropped_no_socket, io.dropped_queue_full,
      io.dropped_send_error, io.receive_errors) +
         format_turn_counters(node) + format_federation_counters(node);
}

// Wall-clock microseconds minus the runtime's steady clock: how the core learns Unix time
// (TURN REST API expiries) without reading a clock. Read once at start; the two clocks drift
// apart by at most seconds over months, well inside credential lifetimes.
std::int64_t unix_offset_us() {
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return wall.count() - to_us(now());
}

// Opens and closes the relay sockets the core asks for (TURN allocations), answering every open
// so the core can reply to the client or try another port. The core's queue is finite: each
// answer adds at most one more request, and only up to TurnServer::kMaxBindAttempts per
// allocation.
void apply_socket_changes(Supernode& node, UdpRuntime& runtime) {
  while (auto change = node.poll_socket_change()) {
    if (change->kind == turn::SocketChange::Kind::kClose) {
      runtime.close_socket(change->local);
      continue;
    }
    bool opened = true;
    try {
      runtime.bind(change->local);
    } catch (const std::exception& e) {
      opened = false;
      spdlog::debug("relay socket: {}", e.what());
    }
    node.handle_socket_result(now(), change->local, opened);
  }
}

// Defaults, then the file, then the flags: the later source wins per key.
SupernodeAppConfig resolve_config(const CommandLine& cli, const std::string& file) {
  SupernodeAppConfig config;
  if (!file.empty()) apply_config_file(config, file);
  for (const FlagSetting& s : cli.settings) {
    if (auto error = set_config_value(config, s.key, s.value); !error.empty())
      throw ConfigError(s.flag + ": " + error);
  }
  validate_config(config, file);
  return config;
}

// --seed A --seed B as the config file's "seeds = A,B".
std::string join_seeds(const std::vector<std::string>& seeds) {
  std::string out;
  for (const std::string& s : seeds) out += (out.empty() ? "" : ",") + s;
  return out;
}

// The federation's network secret (docs/protocol.md section 14.2): the file's bytes.
std::string read_network_secret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open network secret file");
  std::string secret(federation::kMaxSecretBytes + 1, '\0');
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  secret.resize(static_cast<std::size_t>(in.gcount()));
  std::string error;
  if (!federation::NetworkKey::from_secret(secret, &error)) throw std::runtime_error(path + ": " + error);
  return secret;
}

// Re-arms itself every `period`, calling `tick` each time, until the io_context stops.
void every(boost::asio::steady_timer& timer, std::chrono::seconds period,
           std::function<void()> tick) {
  timer.expires_after(period);
  timer.async_wait([&timer, period, tick = std::move(tick)](const boost::system::error_code& ec) {
    if (ec) return;
    tick();
    every(timer, period, tick);
  });
}

int run(const SupernodeAppConfig& config) {
  Random random = Random::from_os();
  bool created = false;
  Identity identity = load_or_create_key_file(config.key_file, random, &created);
  if (created) spdlog::info("created key file {}", config.key_file);

  // The STUN service puts its own addresses in RESPONSE-ORIGIN and OTHER-ADDRESS, so the
  // sockets are bound first: with port 0 only the kernel knows the real port.
  UdpSocketOptions socket_options;
  int primary_fd = open_udp_socket(config.listen, socket_options);
  int alternate_fd = -1;
  try {
    alternate_fd = open_udp_socket(config.alt_listen, socket_options);
  } catch (...) {
    ::close(primary_fd);
    throw;
  }
  SupernodeConfig node_config;
  node_config.primary = socket_local_endpoint(primary_fd);
  node_config.alternate = socket_local_endpoint(alternate_fd);
  node_config.peer_expiry = config.peer_expiry;
  node_config.keepalive_interval = config.keepalive_interval;
  node_config.turn.secret = config.turn_secret;
  node_config.turn.realm = config.turn_realm;
  node_config.turn.min_port = config.relay_min_port;
  node_config.turn.max_port = config.relay_max_port;
  node_config.turn.relay_address = config.relay_address;
  node_config.turn.max_allocations = config.turn_max_allocations;
  node_config.turn.max_allocations_per_user = config.turn_user_quota;
  node_config.turn.unix_offset_us = unix_offset_us();
  if (!config.network_secret_file.empty()) {
    node_config.network_secret = read_network_secret(config.network_secret_file);
    node_config.seeds = config.seeds;
    node_config.supernode_list_debounce = config.supernode_list_debounce;
    node_config.stats_report.interval =
        std::chrono::seconds(config.federation_stats_interval_seconds);
  }
  Supernode node(node_config, std::move(identity), random.fork());

  boost::asio::io_context io;
  UdpRuntime runtime(io, node);
  runtime.adopt(primary_fd);
  runtime.adopt(alternate_fd);
  // With two addresses the STUN services also listen on the crossed combinations.
  for (const Endpoint& ep : node.listen_endpoints()) {
    bool open = false;
    for (const Endpoint& have : runtime.local_endpoints()) open = open || have == ep;
    if (!open) runtime.bind(ep);
  }
  const Instant started = now();
  std::unique_ptr<ApiService> api = start_management_api(io, config, node, runtime, started);
  runtime.on_activity = [&] { apply_socket_changes(node, runtime); };
  runtime.flush();  // arms the timer if the core already has a deadline

  spdlog::info("supernode {} starting", node.identity().id().to_string());
  for (const Endpoint& ep : runtime.local_endpoints())
    spdlog::info("listening on udp {}", ep.to_string());
  if (const federation::Membership* f = node.federation())
    spdlog::info("federation on, {} seed(s), as {}", config.seeds.size(),
                 f->table().self().endpoint.to_string());
  if (!config.turn_secret.empty()) {
    spdlog::info("relay (TURN) on udp {}, realm '{}', relay ports {}-{} on {}",
                 node_config.primary.to_string(), config.turn_realm, config.relay_min_port,
                 config.relay_max_port,
                 (config.relay_address.is_unspecified() ? node_config.primary.address
                                                        : config.relay_address)
                     .to_string());
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer debug_stats(io), info_stats(io), leave_poll(io);
  auto stop = [&] {
    signals.cancel();
    leave_poll.cancel();
    runtime.close();
    if (api) api->close();
    debug_stats.cancel();
    info_stats.cancel();
  };
  // The first signal starts a graceful shutdown: /healthz answers 503 "leaving" (so a load
  // balancer or orchestrator stops sending new peers here; the rest of the API keeps serving until
  // the stop), peers are told to move, and the process waits for their acks (at most
  // shutdown-grace-seconds). A second signal, or the end of the grace period, stops at once.
  Instant leave_deadline = kNever;
  std::function<void()> poll_leaving = [&] {
    if (node.pushes_in_flight() == 0 || now() >= leave_deadline) {
      spdlog::info("leaving: {} acks missing, stopping", node.pushes_in_flight());
      return stop();
    }
    leave_poll.expires_after(kLeavePollInterval);
    leave_poll.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) poll_leaving();
    });
  };
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal_number) {
        if (ec) return;
        if (node.leaving()) {
          spdlog::info("signal {} received again, stopping now", signal_number);
          return stop();
        }
        if (api) api->announce_leaving();  // before the log line, which tests wait for
        spdlog::info("signal {} received, leaving: telling {} peers", signal_number,
                     node.online_peers());
        node.announce_leaving(now(), config.failover_supernodes);
        runtime.flush();
        leave_deadline = now() + std::chrono::seconds(config.shutdown_grace_seconds);
        signals.async_wait(on_signal);
        poll_leaving();
      };
  signals.async_wait(on_signal);
  every(debug_stats, kDebugStatsInterval,
        [&] { spdlog::debug("counters: {}", format_counters(node, runtime.counters())); });
  if (config.stats_interval_seconds > 0) {
    every(info_stats, std::chrono::seconds(config.stats_interval_seconds),
          [&] { spdlog::info("counters: {}", format_counters(node, runtime.counters())); });
  }

  io.run();  // returns once the signal handler closed everything
  spdlog::info("counters at exit: {}", format_counters(node, runtime.counters()));
  spdlog::info("supernode stopped");
  return 0;
}

}  // namespace
}  // namespace qp2p

int main(int argc, char** argv) {
  using namespace qp2p;
  CLI::App app{
      "qp2p supernode: checkpoint, two STUN services, index, message routing and TURN relay."};
  app.set_help_flag("-h,--help", "Print this help and exit");
  CommandLine cli;
  std::string listen, alt_listen, key, log_level, stats_interval, turn_secret, turn_realm,
      relay_ports, relay_address, api_listen, api_token_file, network_secret_file;
  std::vector<std::string> seeds;
  app.add_option("--listen", listen, "Primary STUN and control endpoint (default 127.0.0.1:3478)")
      ->type_name("IP:PORT");
  app.add_option("--alt-listen", alt_listen,
                 "Second STUN endpoint for RFC 5780 (default 127.0.0.1:3479)")
      ->type_name("IP:PORT");
  app.add_option("--key", key, "Key file, created on first run (default ./qp2p-supernode.key)")
      ->type_name("FILE");
  app.add_option("--config", cli.config_file, "Config file of 'key = value' lines")
      ->type_name("FILE");
  app.add_option("--log-level", log_level,
                 std::string("Log level: ") + kLogLevelNames + " (default info)")
      ->type_name("LEVEL");
  app.add_option("--stats-interval", stats_interval,
                 "Log the counters at info level every SECONDS (default 0: off)")
      ->type_name("SECONDS");
  app.add_option("--turn-secret", turn_secret,
                 "Shared secret of the TURN REST API credentials; turns the relay on "
                 "(prefer the config file: a flag shows in the process list)")
      ->type_name("SECRET");
  app.add_option("--turn-realm", turn_realm, "TURN realm (default qp2p)")->type_name("REALM");
  app.add_option("--relay-ports", relay_ports, "Relay port range (default 49152-65535)")
      ->type_name("MIN-MAX");
  app.add_option("--relay-address", relay_address,
                 "Address of the relay sockets (default: the --listen address)")
      ->type_name("IP");
  app.add_option("--api", api_listen,
                 "Serve the management API (HTTP/JSON, /metrics) on IP:PORT (default: off)")
      ->type_name("IP:PORT");
  app.add_option("--api-token-file", api_token_file,
                 "File holding the API's bearer token (required with --api)")
      ->type_name("FILE");
  app.add_option("--seed", seeds, "A supernode of the federation to join through (repeatable)")
      ->type_name("IP:PORT");
  app.add_option("--network-secret", network_secret_file,
                 "File holding the federation's shared secret; turns federation on")
      ->type_name("FILE");
  app.add_option("--check-config", cli.check_config_file,
                 "Validate FILE (with the other flags applied), print the verdict, exit 0 or 1")
      ->type_name("FILE");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << kProgram << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  // In a fixed order so the messages are predictable; only flags actually given override.
  const FlagSetting flags[] = {{"--listen", "listen", listen},
                               {"--alt-listen", "alt-listen", alt_listen},
                               {"--key", "key", key},
                               {"--log-level", "log-level", log_level},
                               {"--stats-interval", "stats-interval-seconds", stats_interval},
                               {"--turn-secret", "turn-secret", turn_secret},
                               {"--turn-realm", "turn-realm", turn_realm},
                               {"--relay-ports", "relay-ports", relay_ports},
                               {"--relay-address", "relay-address", relay_address},
                               {"--api", "api-listen", api_listen},
                               {"--api-token-file", "api-token-file", api_token_file},
                               {"--seed", "seeds", join_seeds(seeds)},
                               {"--network-secret", "network-secret-file", network_secret_file}};
  for (const FlagSetting& f : flags) {
    if (app.count(f.flag) > 0) cli.settings.push_back(f);
  }

  if (!cli.check_config_file.empty()) {
    try {
      const SupernodeAppConfig checked = resolve_config(cli, cli.check_config_file);
      if (checked.api_listen) read_api_token_file(checked.api_token_file);
    } catch (const ConfigError& e) {
      std::cerr << kProgram << ": " << e.what() << "\n";
      return 1;
    }
    std::cout << cli.check_config_file << ": ok\n";
    return 0;
  }

  SupernodeAppConfig config;
  try {
    config = resolve_config(cli, cli.config_file);
    setup_logging(config.log_level);
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 2;
  }
  try {
    return run(config);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
