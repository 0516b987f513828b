// The management API (stack/management/index_api.h) served on a thread of its own, so that no
// request, however large its answer, runs on the protocol's thread.
//
//   HTTP thread                                   protocol thread (the Supernode's io_context)
//   request -> IndexApi::screen (rate limit, token, path; no data)
//           -> snapshot younger than max_age?  yes: answer from it (filter, page, JSON)
//              older than max_age / 2: ask for a new one ------> SnapshotBuilder::take(node)
//              older than max_age: the request waits for it      O(peers) copies, records shared
//           <- shared_ptr<const ApiSnapshot> sorted here <------ post back
//
// So the protocol thread takes at most one snapshot per max_age / 2 whatever the request rate,
// none while nobody asks, and an answer is never built from a snapshot older than max_age (its
// age is in the Qp2p-Snapshot-Age-Ms header and "snapshot_age_ms"). The per-client rate limit
// and connection limit (429) keep one client from monopolising the HTTP thread itself.
//
// Health (stack/management/health.h): a snapshot asked for and not come within
// stall_bound(max_age) means the protocol loop is stalled: the requests waiting for it, and
// every request until it comes, get 503 "stalled" instead of waiting. After announce_leaving()
// /healthz answers 503 "leaving" while the rest of the API still serves the shutdown.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "apps/runtime/http_api_server.h"
#include "stack/management/index_api.h"

namespace qp2p {

struct ApiServiceOptions {
  HttpApiOptions http;
  // No answer comes from an older snapshot; a new one is asked for at half this age.
  Duration snapshot_max_age = std::chrono::seconds(1);
  management::RateLimitConfig rate_limit;
};

// Snapshots as the HTTP thread saw them arrive.
struct ApiSnapshotCounters {
  std::uint64_t taken = 0;             // snapshots taken on the protocol thread
  std::uint64_t take_us_total = 0;     // protocol-thread time spent taking them (wall clock)
  std::uint64_t take_us_max = 0;       // the longest one
  std::uint64_t take_cpu_us_total = 0;  // the same in CPU time of that thread (without the
                                        // time it was preempted: what the work itself costs)
  std::uint64_t requests_waited = 0;   // requests that waited for a new snapshot
  std::uint64_t peers_last = 0;        // peers in the latest snapshot
};

class ApiService {
 public:
  // Binds the HTTP server (std::runtime_error naming the endpoint on failure) and starts its
  // thread. `protocol_io` runs the thread that owns `node`; `runtime_metrics` adds families read
  // on that thread (the UDP sockets) to /metrics. Construct, close and destroy it on the
  // protocol thread; `node` must outlive it.
  ApiService(boost::asio::io_context& protocol_io, const Supernode& node,
             management::BearerToken token, ApiServiceOptions options, Instant started,
             std::function<void(management::MetricsText&)> runtime_metrics = {});
  ~ApiService();
  ApiService(const ApiService&) = delete;
  ApiService& operator=(const ApiService&) = delete;

  Endpoint local_endpoint() const;
  // A graceful shutdown started: /healthz answers 503 "leaving" from now on. Call on the
  // protocol thread.
  void announce_leaving();
  // Stops the HTTP thread (open connections are closed); no snapshot is taken afterwards.
  void close();
  // Read after close() (or accept a racy read: for reports only).
  ApiSnapshotCounters snapshot_counters() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace qp2p
