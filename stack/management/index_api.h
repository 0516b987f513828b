// The management API of a supernode, sans-IO: a parsed request, the supernode and the time in,
// a status and a JSON (or Prometheus text) body out. The HTTP server that carries it lives in
// the runtime (apps/runtime/http_api_server.h); this layer decides everything a client sees.
//
//   GET /v1/peers          online peers; filters meta.KEY=VALUE (VALUE* = prefix), online=true|
//                          false; paging limit (1..kMaxPageSize, default kDefaultPageSize) and
//                          the opaque cursor of the previous page's next_cursor
//   GET /v1/peers/{id}     one peer (400 malformed id, 404 not online here)
//   GET /v1/supernodes     the supernodes answering for this network, their state and load
//   GET /v1/stats          logins, messages, index, tunnels by path, handshakes by NAT pair
//   GET /metrics           the counters in the Prometheus text format
//   GET /healthz           {"status":"ok"} (503 "leaving" while shutting down)
//
// Every request needs `Authorization: Bearer TOKEN` (401 otherwise, RFC 6750 section 3); other
// methods get 405, unknown paths 404, bad parameters 400, always as {"error":..,"reason":..}.
//
// The answers come from this supernode's own view: the peers logged in here, and itself as the
// only supernode. Federation extends the views the routes read (Supernode::for_each_online_peer,
// the member list in network_queries.cc); the request and response formats stay.
#pragma once

#include <cstdint>
#include <functional>

#include "stack/core/instant.h"
#include "stack/management/api_request.h"
#include "stack/management/metrics_text.h"
#include "stack/supernode/supernode.h"

namespace qp2p::management {

inline constexpr std::size_t kDefaultPageSize = 100;
inline constexpr std::size_t kMaxPageSize = 1000;

// What the runtime knows and the supernode does not.
struct ApiContext {
  Instant now;
  Instant started;  // when the supernode started, for uptime
  // Adds the runtime's own metric families (UDP sockets, the HTTP server) to /metrics.
  std::function<void(MetricsText&)> runtime_metrics;
};

struct ApiCounters {
  std::uint64_t ok = 0;                  // 200
  std::uint64_t bad_request = 0;         // 400
  std::uint64_t unauthorized = 0;        // 401
  std::uint64_t not_found = 0;           // 404
  std::uint64_t method_not_allowed = 0;  // 405
  std::uint64_t unavailable = 0;         // 503 (/healthz while leaving)
};

class IndexApi {
 public:
  explicit IndexApi(BearerToken token) : token_(std::move(token)) {}

  ApiResponse handle(const ApiRequest& request, const Supernode& node, const ApiContext& context);
  const ApiCounters& counters() const { return counters_; }

 private:
  ApiResponse route(const ApiRequest& request, const Supernode& node, const ApiContext& context);

  BearerToken token_;
  ApiCounters counters_;
};

}  // namespace qp2p::management
