// The management API's routes (index_api.h), one function per endpoint, and the response
// helpers they share. Internal to stack/management.
//
// Two halves: the *_json / supernode_metrics functions read the Supernode and run where the
// snapshot is taken (the protocol thread, api_snapshot.h); the get_* functions answer a request
// from a snapshot and run where requests are served.
#pragma once

#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string_view>

#include "stack/management/index_api.h"

namespace qp2p::management {

// {"error": "<name of the status>", "reason": reason} with that status.
ApiResponse error_response(int status, std::string_view reason);
// The JSON as the body (invalid UTF-8 in peers' metadata is replaced, never thrown on).
ApiResponse json_response(int status, const nlohmann::json& body);
// 400 naming the first query parameter not in `allowed`, or nullopt when all are known (routes
// with free keys, such as meta.KEY, check their own).
std::optional<ApiResponse> reject_unknown_parameters(const Target& target,
                                                     std::initializer_list<std::string_view> allowed);
// Milliseconds between the snapshot and the answer (never negative).
std::int64_t snapshot_age_ms(const ApiSnapshot& snapshot, const ApiContext& context);
// Seconds since context.started (never negative).
std::int64_t uptime_seconds(const ApiContext& context);

// Snapshot side: the documents of /v1/supernodes, /v1/stats and /healthz, and the supernode's
// /metrics families.
nlohmann::json supernodes_json(const Supernode& node, const ApiContext& context);
nlohmann::json stats_json(const Supernode& node, const ApiContext& context);
NetworkStatsCopy network_stats_copy(const Supernode& node);
nlohmann::json healthz_json(const Supernode& node, const ApiContext& context);
void supernode_metrics(MetricsText& m, const Supernode& node, const ApiContext& context);

// Serving side. valid_peers_query() checks the parameters of GET /v1/peers without data.
bool valid_peers_query(const Target& target, std::string* error);
// Checks GET /v1/stats' parameters (view=local|network) without data.
bool valid_stats_query(const Target& target, std::string* error);
// /v1/stats: the network view with federation (summed here), else or with view=local the
// snapshot's local document.
ApiResponse get_stats(const Target& target, const ApiSnapshot& snapshot,
                      const ApiContext& context);
ApiResponse get_peers(const Target& target, const ApiSnapshot& snapshot,
                      const ApiContext& context);
ApiResponse get_peer(std::string_view id, const ApiSnapshot& snapshot, const ApiContext& context);
// A document of the snapshot (supernodes, stats) with "snapshot_age_ms" added.
ApiResponse get_document(const nlohmann::json& document, const ApiSnapshot& snapshot,
                         const ApiContext& context);
// /healthz (health.h): the snapshot's document with the verdict on context.health; 200 or 503.
ApiResponse get_healthz(const ApiSnapshot& snapshot, const ApiContext& context);
// 503 for any request while context.health says the protocol loop is stalled, else nullopt.
std::optional<ApiResponse> stalled_response(const ApiContext& context);
ApiResponse get_metrics(const ApiSnapshot& snapshot, const ApiContext& context,
                        const ApiCounters& api_counters);

}  // namespace qp2p::management
