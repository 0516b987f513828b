// The management API's routes (index_api.h), one function per endpoint, and the response
// helpers they share. Internal to stack/management.
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

ApiResponse get_peers(const Target& target, const Supernode& node, const ApiContext& context);
ApiResponse get_peer(std::string_view id, const Supernode& node, const ApiContext& context);
ApiResponse get_supernodes(const Supernode& node, const ApiContext& context);
ApiResponse get_stats(const Supernode& node, const ApiContext& context);
ApiResponse get_healthz(const Supernode& node, const ApiContext& context);
ApiResponse get_metrics(const Supernode& node, const ApiContext& context,
                        const ApiCounters& api_counters);

}  // namespace qp2p::management
