// GET /v1/supernodes and /v1/stats of the management API (index_api.h): the network as this
// supernode sees it, its load, and what its services counted. Rendered when a snapshot is taken
// (api_snapshot.h), served from it. (/healthz: health.cc.)
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

// Setup percentiles of a histogram, in ms (rounded), null without samples.
json setup_json(const SetupHistogram& h) {
  auto ms = [&](double q) -> json {
    if (h.count == 0) return nullptr;
    return static_cast<std::int64_t>(h.quantile(q) + 0.5);
  };
  return {{"tunnels", h.count}, {"setup_ms_p50", ms(0.5)}, {"setup_ms_p95", ms(0.95)}};
}

// How the attempts of a pair ended, as their callers reported (docs/protocol.md section 8.9).
json outcomes_json(const NatPairCounters& c) {
  SetupHistogram both = c.direct_setup;
  both.merge(c.relay_setup);
  const std::uint64_t up = c.outcome_direct + c.outcome_relay;
  json out = {{"reported", up + c.outcome_failed},
              {"direct", c.outcome_direct},
              {"relay", c.outcome_relay},
              {"failed", c.outcome_failed},
              {"setup", setup_json(both)},
              {"setup_direct", setup_json(c.direct_setup)},
              {"setup_relay", setup_json(c.relay_setup)},
              {"rtt_ms_mean", nullptr}};
  if (up) out["rtt_ms_mean"] = static_cast<std::int64_t>((c.tunnel_rtt_ms_sum + up / 2) / up);
  return out;
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
                       {"relay", c.relay}}},
                     {"outcomes", outcomes_json(c)}});
  }
  return pairs;
}

// Tunnels by the path their callers reported, over every pair.
json reported_paths(const HandshakeStats& stats) {
  std::uint64_t direct = 0, relay = 0, failed = 0;
  for (const auto& [pair, c] : stats.by_pair()) {
    direct += c.outcome_direct;
    relay += c.outcome_relay;
    failed += c.outcome_failed;
  }
  return {{"direct", direct}, {"relay", relay}, {"failed", failed}};
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
      // What the handshake service planned for each accepted negotiation, which path the
      // tunnels took as their callers reported (section 8.9), and what the relay carries now.
      {"tunnels",
       {{"planned_direct", h.accepted - h.relay_plans},
        {"planned_relay", h.relay_plans},
        {"reported", reported_paths(node.handshake_stats())},
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
          {"unexpected_answer", h.answers_unexpected},
          {"unexpected_relay", h.relays_unexpected},
          {"relay_not_allocated", h.relays_not_allocated}}},
        {"routed",
         {{"offers_sent", h.routed_offers},
          {"offers_received", h.routed_in},
          {"gave_up", h.route_gave_up},
          {"cancels_sent", h.routed_cancels_sent},
          {"cancels_received", h.routed_cancels},
          {"cancels_refused_to_callee", h.routed_cancels_refused},
          {"dropped_unknown_attempt", h.route_unknown_attempt},
          {"dropped_wrong_supernode", h.route_wrong_supernode},
          {"acks_unmatched", h.route_acks_unmatched}}},
        {"outcome_reports",
         {{"counted", h.outcomes},
          {"unknown_attempt", h.outcomes_unknown},
          {"not_caller", h.outcomes_not_caller},
          {"duplicate", h.outcomes_duplicate}}}}},
      {"traversal",
       {{"note",
         "by pair of NAT profiles (RFC 4787 mapping/filtering): the handshake service's "
         "negotiations and planned strategies, and the outcomes the callers reported (setup "
         "percentiles estimated from histogram buckets)"},
        {"by_nat_pair", nat_pairs_json(node.handshake_stats())}}}};
  return body;
}

}  // namespace qp2p::management
