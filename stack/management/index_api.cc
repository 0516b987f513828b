// The management API's front door (index_api.h): authentication, method, routing, and the
// JSON error responses every route shares.
#include "stack/management/index_api.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "stack/management/api_routes.h"

namespace qp2p::management {

namespace {

const char* status_name(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 429: return "too_many_requests";
    case 503: return "unavailable";
  }
  return "error";
}

constexpr std::string_view kPeersPrefix = "/v1/peers/";

}  // namespace

ApiResponse error_response(int status, std::string_view reason) {
  return json_response(status, {{"error", status_name(status)}, {"reason", reason}});
}

ApiResponse json_response(int status, const nlohmann::json& body) {
  ApiResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body += '\n';
  return r;
}

std::optional<ApiResponse> reject_unknown_parameters(
    const Target& target, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : target.query) {
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) return error_response(400, "unknown query parameter '" + key + "'");
  }
  return std::nullopt;
}

std::int64_t snapshot_age_ms(const ApiSnapshot& snapshot, const ApiContext& context) {
  return std::max<std::int64_t>(0, to_ms(context.now - snapshot.taken));
}

ApiResponse get_document(const nlohmann::json& document, const ApiSnapshot& snapshot,
                         const ApiContext& context) {
  nlohmann::json body = document;
  body["snapshot_age_ms"] = snapshot_age_ms(snapshot, context);
  return json_response(200, body);
}

ApiResponse IndexApi::counted(ApiResponse response) {
  switch (response.status) {
    case 200: ++counters_.ok; break;
    case 400: ++counters_.bad_request; break;
    case 401: ++counters_.unauthorized; break;
    case 404: ++counters_.not_found; break;
    case 405: ++counters_.method_not_allowed; break;
    case 429: ++counters_.too_many_requests; break;
    case 503: ++counters_.unavailable; break;
  }
  return response;
}

std::optional<ApiResponse> IndexApi::screen(const ApiRequest& request, Instant now) {
  auto decided = check(request, now);
  if (decided) return counted(std::move(*decided));
  return std::nullopt;
}

std::optional<ApiResponse> IndexApi::unavailable(const ApiContext& context) {
  auto refused = stalled_response(context);
  if (refused) return counted(std::move(*refused));
  return std::nullopt;
}

ApiResponse IndexApi::answer(const ApiRequest& request, const ApiSnapshot& snapshot,
                             const ApiContext& context) {
  ApiResponse r = route(request, snapshot, context);
  r.headers.emplace_back("Qp2p-Snapshot-Age-Ms",
                         std::to_string(snapshot_age_ms(snapshot, context)));
  return counted(std::move(r));
}

ApiResponse IndexApi::handle(const ApiRequest& request, const Supernode& node,
                             const ApiContext& context) {
  if (auto decided = screen(request, context.now)) return *decided;
  if (auto refused = unavailable(context)) return *refused;
  SnapshotBuilder builder;
  auto snapshot = builder.take(node, context);
  snapshot->finish();
  return answer(request, *snapshot, context);
}

std::optional<ApiResponse> IndexApi::check(const ApiRequest& request, Instant now) {
  // Before the token: a client guessing tokens is limited too. In-process callers name no client.
  std::optional<Duration> wait;
  if (!request.client.empty()) wait = limiter_.admit(request.client, now);
  if (wait) {
    const std::int64_t seconds = std::max<std::int64_t>(1, (to_ms(*wait) + 999) / 1000);
    ApiResponse r = error_response(429, "more requests per second than allowed from " +
                                            request.client);
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
    return r;
  }
  switch (token_.check(request.authorization)) {
    case BearerToken::Check::kOk:
      break;
    case BearerToken::Check::kMissing: {
      ApiResponse r = error_response(401, "missing 'Authorization: Bearer TOKEN'");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"qp2p-supernode\"");
      return r;
    }
    case BearerToken::Check::kMalformed:
    case BearerToken::Check::kWrong: {
      SPDLOG_DEBUG("api: {} {}: bad token", request.method, request.target.substr(0, 64));
      ApiResponse r = error_response(401, "invalid bearer token");
      r.headers.emplace_back("WWW-Authenticate",
                             "Bearer realm=\"qp2p-supernode\", error=\"invalid_token\"");
      return r;
    }
  }
  std::string error;
  auto target = parse_target(request.target, &error);
  if (!target) return error_response(400, error);
  const std::string& path = target->path;
  const bool one_peer = path.compare(0, kPeersPrefix.size(), kPeersPrefix) == 0;
  const bool known = one_peer || path == "/v1/peers" || path == "/v1/supernodes" ||
                     path == "/v1/stats" || path == "/metrics" || path == "/healthz";
  if (!known) return error_response(404, "no such endpoint: " + path);
  if (request.method != "GET") {
    ApiResponse r = error_response(405, "method " + request.method + " not allowed; use GET");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (request.has_body) return error_response(400, "a GET request takes no body");
  if (path == "/v1/peers") {
    if (!valid_peers_query(*target, &error)) return error_response(400, error);
    return std::nullopt;
  }
  if (path == "/v1/stats") {
    if (!valid_stats_query(*target, &error)) return error_response(400, error);
    return std::nullopt;
  }
  if (auto bad = reject_unknown_parameters(*target, {})) return *bad;
  if (one_peer && path.size() == kPeersPrefix.size())
    return error_response(400, "missing peer id after /v1/peers/");
  return std::nullopt;
}

ApiResponse IndexApi::route(const ApiRequest& request, const ApiSnapshot& snapshot,
                            const ApiContext& context) {
  std::string error;
  auto target = parse_target(request.target, &error);
  if (!target) return error_response(400, error);  // screen() let it through: not reached
  const std::string& path = target->path;
  if (path == "/v1/peers") return get_peers(*target, snapshot, context);
  if (path.compare(0, kPeersPrefix.size(), kPeersPrefix) == 0)
    return get_peer(std::string_view(path).substr(kPeersPrefix.size()), snapshot, context);
  if (path == "/v1/supernodes") return get_document(snapshot.supernodes, snapshot, context);
  if (path == "/v1/stats") return get_stats(*target, snapshot, context);
  if (path == "/healthz") return get_healthz(snapshot, context);
  return get_metrics(snapshot, context, counters_);
}

}  // namespace qp2p::management
