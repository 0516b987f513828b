// Wiring of the management API into qp2p-supernode (management_api.h).
#include "apps/supernode/management_api.h"

#include <spdlog/spdlog.h>

#include "apps/runtime/clock.h"
#include "stack/management/index_api.h"

namespace qp2p {

namespace {

using management::MetricsText;

void runtime_metrics(MetricsText& m, const UdpRuntimeCounters& io, const HttpApiServer* http) {
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
  if (!http) return;
  const HttpApiCounters& h = http->counters();
  m.family("qp2p_api_connections_total", MetricsText::Type::kCounter,
           "Management API connections, by outcome.");
  m.sample(h.connections_accepted, {{"outcome", "accepted"}});
  m.sample(h.connections_refused, {{"outcome", "refused_over_limit"}});
  m.sample(h.timeouts, {{"outcome", "timed_out"}});
  m.sample(h.bad_http, {{"outcome", "bad_http"}});
  m.family("qp2p_api_open_connections", MetricsText::Type::kGauge,
           "Management API connections open now.");
  m.sample(http->open_connections());
}

}  // namespace

std::unique_ptr<HttpApiServer> start_management_api(boost::asio::io_context& io,
                                                    const SupernodeAppConfig& config,
                                                    const Supernode& node,
                                                    const UdpRuntime& runtime, Instant started) {
  if (!config.api_listen) return nullptr;
  auto api = std::make_shared<management::IndexApi>(
      management::BearerToken(read_api_token_file(config.api_token_file)));
  // The server's own counters go into /metrics; it exists before any request is handled.
  auto server_ref = std::make_shared<const HttpApiServer*>(nullptr);
  HttpApiOptions options;
  options.listen = *config.api_listen;
  options.max_connections = config.api_max_connections;
  options.idle_timeout = std::chrono::seconds(config.api_idle_timeout_seconds);
  auto server = std::make_unique<HttpApiServer>(
      io, options, [api, server_ref, &node, &runtime, started](const management::ApiRequest& r) {
        management::ApiContext context;
        context.now = now();
        context.started = started;
        context.runtime_metrics = [&runtime, server_ref](MetricsText& m) {
          runtime_metrics(m, runtime.counters(), *server_ref);
        };
        return api->handle(r, node, context);
      });
  *server_ref = server.get();
  spdlog::info("management API on http://{} (bearer token from {})",
               server->local_endpoint().to_string(), config.api_token_file);
  return server;
}

}  // namespace qp2p
