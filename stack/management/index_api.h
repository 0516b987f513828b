// The management API of a supernode, sans-IO: a parsed request, the supernode and the time in,
// a status and a JSON (or Prometheus text) body out. The HTTP server that carries it lives in
// the runtime (apps/runtime/http_api_server.h); this layer decides everything a client sees.
//
//   GET /v1/peers          online peers; filters meta.KEY=VALUE (VALUE* = prefix), online=true|
//                          false; paging limit (1..kMaxPageSize, default kDefaultPageSize) and
//                          the opaque cursor of the previous page's next_cursor
//   GET /v1/peers/{id}     one peer (400 malformed id, 404 not online here)
//   GET /v1/supernodes     the supernodes answering for this network, their state and load
//   GET /v1/stats          logins, messages, index, tunnels by path, handshakes by NAT pair; with
//                          federation for the whole network (stats_queries.cc), view=local for
//                          this supernode's own (view=network|local, anything else 400)
//   GET /metrics           the counters in the Prometheus text format
//   GET /healthz           {"status":"ok"}; 503 "leaving" while shutting down, "stalled" when
//                          the protocol loop does not answer (health.h)
//
// Every request needs `Authorization: Bearer TOKEN` (401 otherwise, RFC 6750 section 3); other
// methods get 405, unknown paths 404, bad parameters 400, a client over its rate limit 429 with
// Retry-After (RFC 6585 section 4), always as {"error":..,"reason":..}. While the protocol loop
// is stalled every request gets 503 (unavailable()): no fresh snapshot can come.
//
// Answers come from an ApiSnapshot (api_snapshot.h), so a runtime can serve them on another
// thread than the protocol's: screen() decides what needs no data (rate limit, token, method,
// path), answer() reads the snapshot. Every answer says how old its snapshot is (the
// Qp2p-Snapshot-Age-Ms header, and "snapshot_age_ms" in JSON objects other than a single peer);
// how old it may be is the runtime's policy (qp2p-supernode: api-snapshot-max-age-ms).
//
// Without federation the answers come from this supernode's own view: the peers logged in here,
// and itself as the only supernode. Federation extends the views the snapshot reads (Supernode::
// for_each_online_peer, the member list in network_queries.cc, the members' stats reports in
// stats_queries.cc); the request and response formats stay.
#pragma once

#include <cstdint>
#include <functional>

#include "stack/core/instant.h"
#include "stack/management/api_request.h"
#include "stack/management/api_snapshot.h"
#include "stack/management/health.h"
#include "stack/management/metrics_text.h"
#include "stack/management/rate_limiter.h"
#include "stack/supernode/supernode.h"

namespace qp2p::management {

inline constexpr std::size_t kDefaultPageSize = 100;
inline constexpr std::size_t kMaxPageSize = 1000;

// What the runtime knows and the supernode does not.
struct ApiContext {
  Instant now;
  Instant started;  // when the supernode started, for uptime
  // Adds the runtime's own metric families to /metrics: runtime_metrics where the snapshot is
  // taken (state of the protocol's thread, such as its UDP sockets), server_metrics where the
  // request is served (the HTTP server).
  std::function<void(MetricsText&)> runtime_metrics;
  std::function<void(MetricsText&)> server_metrics;
  // Shutdown and the protocol thread's responsiveness as the serving thread sees them, for
  // /healthz and unavailable() (health.h); the default is healthy.
  HealthInputs health;
};

struct ApiCounters {
  std::uint64_t ok = 0;                  // 200
  std::uint64_t bad_request = 0;         // 400
  std::uint64_t unauthorized = 0;        // 401
  std::uint64_t not_found = 0;           // 404
  std::uint64_t method_not_allowed = 0;  // 405
  std::uint64_t too_many_requests = 0;   // 429
  std::uint64_t unavailable = 0;         // 503 (/healthz while leaving; anything while stalled)
};

class IndexApi {
 public:
  explicit IndexApi(BearerToken token, RateLimitConfig limits = {})
      : token_(std::move(token)), limiter_(limits) {}

  // First step, needing no data: the client's rate limit (request.client), the token, method,
  // path and body. A response when that decides the request, nullopt when it needs answer().
  std::optional<ApiResponse> screen(const ApiRequest& request, Instant now);
  // Between the two, for a request screen() let through: 503 when context.health says the
  // protocol loop is stalled (so the request must not wait for a snapshot), else nullopt.
  std::optional<ApiResponse> unavailable(const ApiContext& context);
  // Second step, for a request screen() let through: the answer from `snapshot` (finished).
  ApiResponse answer(const ApiRequest& request, const ApiSnapshot& snapshot,
                     const ApiContext& context);
  // Both steps against a snapshot of `node` taken now: for tests and single-threaded use.
  ApiResponse handle(const ApiRequest& request, const Supernode& node, const ApiContext& context);

  const ApiCounters& counters() const { return counters_; }

 private:
  std::optional<ApiResponse> check(const ApiRequest& request, Instant now);
  ApiResponse route(const ApiRequest& request, const ApiSnapshot& snapshot,
                    const ApiContext& context);
  ApiResponse counted(ApiResponse response);

  BearerToken token_;
  RateLimiter limiter_;
  ApiCounters counters_;
};

}  // namespace qp2p::management
