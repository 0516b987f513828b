// GET /healthz of the management API (index_api.h) as a Kubernetes-style readiness and liveness
// probe, sans-IO: the runtime passes in what only it knows (whether the process is shutting
// down, when it last asked the protocol thread for a snapshot that has not come) and the time;
// this file decides 200 or 503 and the reason.
//
//   200 {"status":"ok", ...}                      serving
//   503 {"status":"leaving","error":"unavailable"}  SIGTERM received: telling its peers to move
//   503 {"status":"stalled","error":"unavailable"}  the protocol loop has not answered a
//                                                   snapshot request for stall_after
//
// Federation membership is reported in the body ("federation": members by SWIM state, self
// counted alive) but never fails the probe: a supernode whose fellow members all died still
// serves its own peers, and taking it out of a load balancer (or restarting it) then would
// only make things worse. Whether the network is whole is /v1/supernodes' question.
#pragma once

#include <optional>
#include <string>

#include "stack/core/instant.h"

namespace qp2p::management {

// The smallest stall bound: a loop busy with a burst or a snapshot of a large directory is not
// stalled (a snapshot of 10,000 peers takes about 3 ms of the protocol thread: README, measured
// with tests/bench/api_keepalive_load.cc).
inline constexpr Duration kMinStallBound = std::chrono::seconds(1);

// How long a snapshot may be asked for before the protocol loop counts as stalled: twice the
// oldest age an answer may have (api-snapshot-max-age-ms), at least kMinStallBound. Within it
// a request waiting for a fresh snapshot is still answered normally.
Duration stall_bound(Duration snapshot_max_age);

// What the runtime knows and the supernode's snapshot does not.
struct HealthInputs {
  bool leaving = false;                   // a graceful shutdown has started
  std::optional<Instant> snapshot_asked;  // a snapshot asked of the protocol thread, not yet come
  Duration stall_after = kMinStallBound;  // stall_bound(snapshot max age)
};

enum class Health { kOk, kLeaving, kStalled };
const char* to_string(Health health);  // "ok", "leaving", "stalled"

struct HealthVerdict {
  Health health = Health::kOk;
  std::string reason;  // why it is not ok; empty when ok
  int status() const { return health == Health::kOk ? 200 : 503; }
};

// A stalled loop outranks leaving: a shutdown whose loop has stopped will not finish by itself.
HealthVerdict decide_health(const HealthInputs& inputs, Instant now);

}  // namespace qp2p::management
