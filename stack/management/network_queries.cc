// GET /v1/supernodes of the management API (index_api.h): the network as this supernode sees
// it and its load. Rendered when a snapshot is taken (api_snapshot.h), served from it.
// (/v1/stats: stats_queries.cc; /healthz: health.cc.)
#include <map>
#include <nlohmann/json.hpp>

#include "stack/management/api_routes.h"

namespace qp2p::management {

using nlohmann::json;

std::int64_t uptime_seconds(const ApiContext& context) {
  return std::max<std::int64_t>(0, to_ms(context.now - context.started) / 1000);
}

namespace {

// This supernode as a member of the network (the others: member_json).
json self_json(const Supernode& node, const ApiContext& context) {
  const SupernodeConfig& config = node.config();
  json stun = json::array();
  for (const Endpoint& e : node.listen_endpoints()) stun.push_back(e.to_string());
  return {{"id", node.identity().id().to_string()},
          {"self", true},
          {"state", "serving"},
          {"control", config.primary.to_string()},
          {"stun", std::move(stun)},
          {"relay", !config.turn.secret.empty()},
          {"uptime_seconds", uptime_seconds(context)},
          {"load",
           {{"peers_online", node.online_peers()},
            {"max_peers", config.max_peers},
            {"relay_allocations", node.relay_allocations()},
            {"negotiations", node.negotiations_in_flight()},
            {"pushes_in_flight", node.pushes_in_flight()}}}};
}

}  // namespace

// Another member as the membership sees it (SWIM state and incarnation), with the number of
// online peers the replicated directory places at it.
json member_json(const federation::Member& m, std::size_t peers_online) {
  return {{"id", m.entry.id.to_string()},
          {"self", false},
          {"state", federation::to_string(m.entry.state)},
          {"incarnation", m.entry.incarnation},
          {"control", m.entry.endpoint.to_string()},
          {"load", {{"peers_online", peers_online}}}};
}

json supernodes_json(const Supernode& node, const ApiContext& context) {
  json list = json::array({self_json(node, context)});
  const federation::Membership* federation = node.federation();
  if (!federation) return {{"supernodes", std::move(list)}, {"view", "local"}};
  std::map<PeerId, std::size_t> peers_at;
  node.for_each_online_peer([&](const OnlinePeerView& p) {
    if (!p.local) ++peers_at[p.supernode];
  });
  // Dead and left members stay listed while the membership remembers them (dead_retention),
  // so an operator sees which supernode went away and when it comes back.
  for (const auto& [id, member] : federation->table().others()) {
    const auto it = peers_at.find(id);
    list.push_back(member_json(member, it == peers_at.end() ? 0 : it->second));
  }
  return {{"supernodes", std::move(list)}, {"view", "network"}};
}

}  // namespace qp2p::management
