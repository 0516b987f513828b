// GET /healthz (health.h): the verdict, the document rendered with a snapshot, and the answer.
#include "stack/management/health.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "stack/management/api_routes.h"

namespace qp2p::management {

namespace {

using nlohmann::json;

// Members by SWIM state, this supernode counted alive.
json membership_json(const federation::Membership& federation) {
  json counts = {{"members", 1 + federation.table().others().size()},
                 {"alive", 1},
                 {"suspect", 0},
                 {"dead", 0},
                 {"left", 0}};
  for (const auto& [id, member] : federation.table().others()) {
    json& count = counts[federation::to_string(member.entry.state)];
    count = count.get<std::size_t>() + 1;
  }
  return counts;
}

}  // namespace

Duration stall_bound(Duration snapshot_max_age) {
  return std::max<Duration>(kMinStallBound, 2 * snapshot_max_age);
}

const char* to_string(Health health) {
  switch (health) {
    case Health::kOk:
      return "ok";
    case Health::kLeaving:
      return "leaving";
    case Health::kStalled:
      return "stalled";
  }
  return "unknown";
}

HealthVerdict decide_health(const HealthInputs& inputs, Instant now) {
  if (inputs.snapshot_asked && now - *inputs.snapshot_asked >= inputs.stall_after) {
    return {Health::kStalled, "protocol loop stalled: a snapshot asked " +
                                  std::to_string(to_ms(now - *inputs.snapshot_asked)) +
                                  " ms ago has not come (bound " +
                                  std::to_string(to_ms(inputs.stall_after)) + " ms)"};
  }
  if (inputs.leaving)
    return {Health::kLeaving, "shutting down: telling its peers to move to other supernodes"};
  return {};
}

json healthz_json(const Supernode& node, const ApiContext& context) {
  json body = {{"status", "ok"},
               {"supernode", node.identity().id().to_string()},
               {"peers_online", node.online_peers()},
               {"uptime_seconds", uptime_seconds(context)}};
  if (const federation::Membership* federation = node.federation())
    body["federation"] = membership_json(*federation);
  return body;
}

ApiResponse get_healthz(const ApiSnapshot& snapshot, const ApiContext& context) {
  const HealthVerdict verdict = decide_health(context.health, context.now);
  json body = snapshot.healthz;
  body["status"] = to_string(verdict.health);
  body["snapshot_age_ms"] = snapshot_age_ms(snapshot, context);
  if (verdict.health != Health::kOk) {
    body["error"] = "unavailable";
    body["reason"] = verdict.reason;
  }
  return json_response(verdict.status(), body);
}

std::optional<ApiResponse> stalled_response(const ApiContext& context) {
  const HealthVerdict verdict = decide_health(context.health, context.now);
  if (verdict.health != Health::kStalled) return std::nullopt;
  // The error shape of every route, with /healthz's "status" for probes that read it.
  return json_response(503, {{"error", "unavailable"},
                             {"reason", verdict.reason},
                             {"status", to_string(verdict.health)}});
}

}  // namespace qp2p::management
