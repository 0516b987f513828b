// Wiring of the management API into qp2p-supernode (management_api.h).
#include "apps/supernode/management_api.h"

#include <spdlog/spdlog.h>

namespace qp2p {

namespace {

using management::MetricsText;

// Read on the protocol thread, when a snapshot is taken.
void udp_metrics(MetricsText& m, const UdpRuntimeCounters& io) {
  m.family("qp2p_udp_datagrams_total", MetricsText::Type::kCounter,
           "Datagrams through the UDP sockets, by direction.");
  m.sample(io.datagrams_received, {{"direction", "in"}});
  m.sample(io.datagrams_sent, {{"direction", "out"}});
  m.family("qp2p_udp_syscalls_total", MetricsText::Type::kCounter,
           "recvmmsg/sendmmsg calls that moved at least one datagram.");
  m.sample(io.receive_calls, {{"call", "recvmmsg"}});
  m.sample(io.send_calls, {{"call", "sendmmsg"}});
  m.family("qp2p_udp_send_would_block_total", MetricsText::Type::kCounter,
           "Times a send buffer was full (nothing lost: the sender waited).");
  m.sample(io.send_would_block);
  m.family("qp2p_udp_dropped_total", MetricsText::Type::kCounter,
           "Datagrams the UDP runtime dropped, by reason.");
  m.sample(io.dropped_truncated, {{"reason", "truncated"}});
  m.sample(io.dropped_no_socket, {{"reason", "no_socket"}});
  m.sample(io.dropped_queue_full, {{"reason", "queue_full"}});
  m.sample(io.dropped_send_error, {{"reason", "send_error"}});
  m.sample(io.receive_errors, {{"reason", "receive_error"}});
}

}  // namespace

std::unique_ptr<ApiService> start_management_api(boost::asio::io_context& io,
                                                 const SupernodeAppConfig& config,
                                                 const Supernode& node, const UdpRuntime& runtime,
                                                 Instant started) {
  if (!config.api_listen) return nullptr;
  management::BearerToken token(read_api_token_file(config.api_token_file));
  ApiServiceOptions options;
  options.http.listen = *config.api_listen;
  options.http.max_connections = config.api_max_connections;
  options.http.max_connections_per_client = config.api_max_connections_per_client;
  options.http.idle_timeout = std::chrono::seconds(config.api_idle_timeout_seconds);
  options.snapshot_max_age = std::chrono::milliseconds(config.api_snapshot_max_age_ms);
  options.rate_limit.requests_per_second = config.api_rate_limit;
  options.rate_limit.burst = config.api_rate_burst;
  auto service = std::make_unique<ApiService>(
      io, node, std::move(token), options, started,
      [&runtime](MetricsText& m) { udp_metrics(m, runtime.counters()); });
  spdlog::info("management API on http://{} (bearer token from {}; answers at most {} ms old)",
               service->local_endpoint().to_string(), config.api_token_file,
               config.api_snapshot_max_age_ms);
  return service;
}

}  // namespace qp2p
