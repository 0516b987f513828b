// GET /v1/supernodes, /v1/stats and /healthz of the management API (index_api.h): the network
// as this supernode sees it, its load, and what its services counted. Rendered when a snapshot
// is taken (api_snapshot.h), served from it.
#include <nlohmann/json.hpp>

#include "stack/management/api_routes.h"

namespace qp2p::management {

namespace {

using nlohmann::json;

std::int64_t uptime_seconds(const ApiContext& context) {
  return std::max<std::int64_t>(0, to_ms(context.now - context.started) / 1000);
}

// This supernode as a member of the network. Federation adds the other members, as their
// heartbeats describe them.
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

json nat_pairs_json(const HandshakeStats& stats) {
  json pairs = json::array();
  for (const auto& [pair, c] : stats.by_pair()) {
    pairs.push_back({{"nat", {pair.first, pair.second}},
                     {"offers", c.offers},
                     {"accepted", c.accepted},
                     {"refused", c.refused},
                     {"timeouts", c.timeouts},
                     {"offline", c.offline},
                     {"planned",
                      {{"simultaneous_open", c.simultaneous_open},
                       {"port_prediction", c.port_prediction},
                       {"birthday", c.birthday},
                       {"relay", c.relay}}}});
  }
  return pairs;
}

}  // namespace

json supernodes_json(const Supernode& node, const ApiContext& context) {
  return {{"supernodes", json::array({self_json(node, context)})}, {"view", "local"}};
}

json stats_json(const Supernode& node, const ApiContext& context) {
  const SupernodeCounters& c = node.counters();
  const HandshakeCounters& h = node.handshake_counters();
  const turn::TurnCounters& t = node.turn_counters();
  json body = {
      {"supernode", node.identity().id().to_string()},
      {"view", "local"},
      {"uptime_seconds", uptime_seconds(context)},
      {"peers_online", node.online_peers()},
      {"logins",
       {{"accepted", c.logins},
        {"rejected", c.rejected_login},
        {"logouts", c.logouts},
        {"expiries", c.expiries}}},
      {"messages", {{"routed", c.messages_routed}, {"undeliverable", c.messages_undeliverable}}},
      {"index",
       {{"publishes", c.publishes},
        {"rejected", c.rejected_record},
        {"lookups", c.lookups},
        {"searches", c.searches}}},
      // What the handshake service planned for each accepted negotiation, and what the relay
      // carries now. Peers do not report which path a tunnel finally took.
      {"tunnels",
       {{"planned_direct", h.accepted - h.relay_plans},
        {"planned_relay", h.relay_plans},
        {"relay_allocations", node.relay_allocations()},
        {"relay_allocations_created", t.allocations_created},
        {"relayed_datagrams",
         t.send_indications + t.channel_data_in + t.data_indications + t.channel_data_out}}},
      {"handshakes",
       {{"offers", h.connects},
        {"accepted", h.accepted},
        {"refused", h.refused},
        {"timeouts", h.timeouts},
        {"callee_offline", h.callee_offline},
        {"caller_offline", h.caller_offline},
        {"rejected",
         {{"unknown_peer", h.connects_unknown_peer},
          {"to_self", h.connects_to_self},
          {"over_limit", h.connects_over_limit},
          {"unexpected_answer", h.answers_unexpected}}}}},
      {"traversal",
       {{"outcomes_reported", false},
        {"note",
         "peers do not report how attempts end (direct, relayed, failed, setup time); these are "
         "the handshake service's negotiations and planned strategies by pair of NAT profiles"},
        {"by_nat_pair", nat_pairs_json(node.handshake_stats())}}}};
  return body;
}

json healthz_json(const Supernode& node, const ApiContext& context) {
  return {{"status", "ok"},
          {"supernode", node.identity().id().to_string()},
          {"peers_online", node.online_peers()},
          {"uptime_seconds", uptime_seconds(context)}};
}

}  // namespace qp2p::management
