// GET /metrics of the management API (index_api.h): every counter of the supernode's services
// (checkpoint, index, messages, STUN, handshake, TURN relay) in the Prometheus text format, drops
// of bad input in one family labelled by reason (rendered when a snapshot is taken,
// api_snapshot.h), then the API's and the runtime's own families (when served).
#include "stack/management/api_routes.h"

namespace qp2p::management {

namespace {

using Type = MetricsText::Type;

void counter(MetricsText& m, std::string_view name, std::string_view help, std::uint64_t v) {
  m.family(name, Type::kCounter, help);
  m.sample(v);
}

void gauge(MetricsText& m, std::string_view name, std::string_view help, std::uint64_t v) {
  m.family(name, Type::kGauge, help);
  m.sample(v);
}

void drops(MetricsText& m, const Supernode& node) {
  const SupernodeCounters& c = node.counters();
  const StunCounters& s = node.stun_counters();
  const turn::TurnCounters& t = node.turn_counters();
  m.family("qp2p_dropped_total", Type::kCounter,
           "Datagrams or messages dropped as bad or unexpected input, by reason.");
  const std::pair<const char*, std::uint64_t> reasons[] = {
      {"unknown_protocol", c.dropped_unknown_protocol},
      {"stun_malformed", c.dropped_stun_malformed},
      {"stun_not_request", s.dropped_not_request},
      {"control_malformed", c.dropped_control_malformed},
      {"control_unauthenticated", c.dropped_control_unauthenticated},
      {"control_replayed", c.dropped_control_replayed},
      {"control_unexpected", c.dropped_control_unexpected},
      {"turn_bad_fingerprint", t.dropped_bad_fingerprint},
      {"turn_not_turn", t.dropped_not_turn},
      {"turn_channel_data_malformed", t.dropped_channel_data_malformed},
      {"turn_no_allocation", t.dropped_no_allocation},
      {"turn_channel_unbound", t.dropped_channel_unbound},
      {"turn_send_malformed", t.dropped_send_malformed},
      {"turn_no_permission", t.dropped_no_permission},
      {"turn_relay_unknown", t.dropped_relay_unknown},
      {"turn_unexpected_indication", t.dropped_unexpected_indication},
      {"turn_too_large", t.dropped_too_large},
      {"turn_forbidden_peer", t.dropped_forbidden_peer},
  };
  for (const auto& [reason, value] : reasons) m.sample(value, {{"reason", reason}});
  m.family("qp2p_rejected_total", Type::kCounter,
           "Requests answered with an error, by what was rejected.");
  m.sample(c.rejected_login, {{"what", "login"}});
  m.sample(c.rejected_record, {{"what", "record"}});
  m.sample(s.rejected_unknown_attributes, {{"what", "stun_unknown_attributes"}});
  m.sample(s.rejected_bad_fingerprint, {{"what", "stun_bad_fingerprint"}});
}

void checkpoint_and_index(MetricsText& m, const Supernode& node) {
  const SupernodeCounters& c = node.counters();
  gauge(m, "qp2p_peers_online", "Peers logged in to this supernode.", node.online_peers());
  m.family("qp2p_datagrams_total", Type::kCounter, "Datagrams handled by the supernode core.");
  m.sample(c.datagrams_in, {{"direction", "in"}});
  m.sample(c.datagrams_out, {{"direction", "out"}});
  counter(m, "qp2p_logins_total", "Logins accepted.", c.logins);
  counter(m, "qp2p_logouts_total", "Peers that logged out.", c.logouts);
  counter(m, "qp2p_expiries_total", "Peers logged out for silence.", c.expiries);
  counter(m, "qp2p_publishes_total", "Records stored in the index.", c.publishes);
  counter(m, "qp2p_lookups_total", "Index lookups by peer id.", c.lookups);
  counter(m, "qp2p_searches_total", "Index searches by metadata.", c.searches);
  m.family("qp2p_messages_total", Type::kCounter, "Instant messages, by outcome.");
  m.sample(c.messages_routed, {{"outcome", "routed"}});
  m.sample(c.messages_undeliverable, {{"outcome", "undeliverable"}});
  m.sample(c.messages_held, {{"outcome", "held"}});
  gauge(m, "qp2p_pushes_in_flight", "Pushes to peers waiting for their ack.",
        node.pushes_in_flight());
  const StunCounters& s = node.stun_counters();
  counter(m, "qp2p_stun_binding_requests_total", "STUN Binding requests.", s.binding_requests);
  counter(m, "qp2p_stun_responses_total", "STUN responses sent.", s.responses);
  counter(m, "qp2p_stun_change_requests_total", "Binding requests with CHANGE-REQUEST.",
          s.change_requests);
}

void handshake(MetricsText& m, const Supernode& node) {
  const HandshakeCounters& h = node.handshake_counters();
  gauge(m, "qp2p_negotiations_in_flight", "Tunnel negotiations waiting for the callee.",
        node.negotiations_in_flight());
  m.family("qp2p_handshakes_total", Type::kCounter, "Tunnel negotiations, by event.");
  const std::pair<const char*, std::uint64_t> events[] = {
      {"offered", h.connects},         {"accepted", h.accepted},
      {"relay_planned", h.relay_plans}, {"refused", h.refused},
      {"timeout", h.timeouts},         {"callee_offline", h.callee_offline},
      {"caller_offline", h.caller_offline}};
  for (const auto& [event, value] : events) m.sample(value, {{"event", event}});
  m.sample(h.connects_held, {{"event", "held"}});
  m.family("qp2p_handshake_rejected_total", Type::kCounter,
           "Tunnel connects and answers rejected, by reason.");
  m.sample(h.connects_unknown_peer, {{"reason", "unknown_peer"}});
  m.sample(h.connects_to_self, {{"reason", "to_self"}});
  m.sample(h.connects_over_limit, {{"reason", "over_limit"}});
  m.sample(h.answers_unexpected, {{"reason", "unexpected_answer"}});
  m.sample(h.relays_unexpected, {{"reason", "unexpected_relay"}});
  m.sample(h.relays_not_allocated, {{"reason", "relay_not_allocated"}});
  m.sample(h.outcomes_unknown, {{"reason", "outcome_unknown_attempt"}});
  m.sample(h.outcomes_not_caller, {{"reason", "outcome_not_caller"}});
  m.sample(h.outcomes_duplicate, {{"reason", "outcome_duplicate"}});
  m.family("qp2p_handshake_routed_total", Type::kCounter,
           "Tunnel negotiations with a peer on another supernode (section 14.6), by event.");
  const std::pair<const char*, std::uint64_t> routed[] = {
      {"offer_sent", h.routed_offers},
      {"offer_received", h.routed_in},
      {"gave_up", h.route_gave_up},
      {"cancel_sent", h.routed_cancels_sent},
      {"cancel_received", h.routed_cancels},
      {"cancel_refused_callee", h.routed_cancels_refused},
      {"dropped_unknown_attempt", h.route_unknown_attempt},
      {"dropped_wrong_supernode", h.route_wrong_supernode},
      {"ack_unmatched", h.route_acks_unmatched}};
  for (const auto& [event, value] : routed) m.sample(value, {{"event", event}});
  m.family("qp2p_handshake_nat_pair_total", Type::kCounter,
           "Tunnel negotiations by pair of NAT profiles (nat_a <= nat_b) and event; accepted "
           "ones also by planned strategy.");
  for (const auto& [pair, c] : node.handshake_stats().by_pair()) {
    const std::pair<const char*, std::uint64_t> rows[] = {
        {"offered", c.offers},   {"accepted", c.accepted},
        {"refused", c.refused},  {"timeout", c.timeouts},
        {"offline", c.offline},  {"planned_simultaneous_open", c.simultaneous_open},
        {"planned_port_prediction", c.port_prediction}, {"planned_birthday", c.birthday},
        {"planned_relay", c.relay}};
    for (const auto& [event, value] : rows)
      m.sample(value, {{"nat_a", pair.first}, {"nat_b", pair.second}, {"event", event}});
  }
}

// How tunnel attempts ended, as their callers reported (docs/protocol.md section 8.9), by pair
// of NAT profiles ("EIM/APDF|APDM/APDF", the two sorted): counts by path, and the setup times of
// direct and relayed tunnels as a histogram in seconds (the unit Prometheus prefers).
void outcomes(MetricsText& m, const Supernode& node) {
  const auto& pairs = node.handshake_stats().by_pair();
  auto pair_name = [](const HandshakeStats::Pair& p) { return p.first + "|" + p.second; };
  m.family("qp2p_tunnel_outcomes_total", Type::kCounter,
           "Tunnel attempts by the path their caller reported (direct, relay, failed) and pair "
           "of NAT profiles.");
  for (const auto& [pair, c] : pairs) {
    const std::string name = pair_name(pair);
    m.sample(c.outcome_direct, {{"path", "direct"}, {"pair", name}});
    m.sample(c.outcome_relay, {{"path", "relay"}, {"pair", name}});
    m.sample(c.outcome_failed, {{"path", "failed"}, {"pair", name}});
  }
  m.family("qp2p_tunnel_setup_seconds", Type::kHistogram,
           "Setup time of tunnels from the caller's request, by path and pair of NAT profiles.");
  std::vector<double> bounds;
  for (std::uint32_t ms : SetupHistogram::kBoundsMs) bounds.push_back(ms / 1000.0);
  for (const auto& [pair, c] : pairs) {
    const std::string name = pair_name(pair);
    for (const auto& [path, h] : {std::make_pair("direct", &c.direct_setup),
                                  std::make_pair("relay", &c.relay_setup)}) {
      std::vector<std::uint64_t> cumulative;
      std::uint64_t total = 0;
      for (std::size_t i = 0; i < bounds.size(); ++i) cumulative.push_back(total += h->buckets[i]);
      m.histogram({{"path", path}, {"pair", name}}, bounds, cumulative, h->sum_ms / 1000.0,
                  h->count);
    }
  }
}

void relay(MetricsText& m, const Supernode& node) {
  const turn::TurnCounters& t = node.turn_counters();
  gauge(m, "qp2p_turn_allocations", "TURN allocations open now.", node.relay_allocations());
  counter(m, "qp2p_turn_requests_total", "TURN requests handled.", t.requests);
  m.family("qp2p_turn_allocation_events_total", Type::kCounter, "TURN allocations, by event.");
  const std::pair<const char*, std::uint64_t> events[] = {
      {"created", t.allocations_created},       {"deleted", t.allocations_deleted},
      {"expired", t.allocations_expired},       {"retransmit", t.allocate_retransmits},
      {"refreshed", t.refreshes},               {"permission", t.permissions_created},
      {"channel_bound", t.channels_bound},      {"challenge", t.challenges},
      {"relay_bind_failure", t.relay_bind_failures}};
  for (const auto& [event, value] : events) m.sample(value, {{"event", event}});
  m.family("qp2p_turn_errors_total", Type::kCounter, "TURN error responses, by code.");
  const std::pair<const char*, std::uint64_t> codes[] = {
      {"400", t.error_400}, {"401", t.error_401}, {"420", t.error_420}, {"437", t.error_437},
      {"438", t.error_438}, {"440", t.error_440}, {"441", t.error_441}, {"442", t.error_442},
      {"443", t.error_443}, {"486", t.error_486}, {"508", t.error_508}};
  for (const auto& [code, value] : codes) m.sample(value, {{"code", code}});
  m.family("qp2p_turn_relayed_total", Type::kCounter, "Datagrams relayed, by kind.");
  m.sample(t.send_indications, {{"kind", "send_indication"}});
  m.sample(t.channel_data_in, {{"kind", "channel_data_in"}});
  m.sample(t.data_indications, {{"kind", "data_indication"}});
  m.sample(t.channel_data_out, {{"kind", "channel_data_out"}});
}

// Stats reports between members (docs/protocol.md section 14.7), federation only. /metrics stays
// per instance: Prometheus sums instances itself, and a network-wide figure in every instance
// would be counted once per member by sum().
void stats_reports(MetricsText& m, const Supernode& node) {
  const NetworkStats* network = node.network_stats();
  if (!network) return;
  const StatsReportCounters& c = network->counters();
  m.family("qp2p_stats_reports_total", Type::kCounter,
           "Stats report parts between member supernodes, by event.");
  const std::pair<const char*, std::uint64_t> events[] = {
      {"sent", c.sent},
      {"unsent", c.unsent},
      {"received", c.received},
      {"dropped_malformed", c.dropped_malformed},
      {"dropped_stale", c.dropped_stale},
      {"member_restarted", c.restarts},
      {"evicted", c.evicted}};
  for (const auto& [event, value] : events) m.sample(value, {{"event", event}});
  gauge(m, "qp2p_stats_reports_members", "Members whose stats report this supernode holds.",
        network->size());
}

void api(MetricsText& m, const ApiCounters& a) {
  m.family("qp2p_api_requests_total", Type::kCounter,
           "Management API requests answered, by status code (this scrape not counted yet).");
  const std::pair<const char*, std::uint64_t> codes[] = {
      {"200", a.ok},        {"400", a.bad_request},        {"401", a.unauthorized},
      {"404", a.not_found}, {"405", a.method_not_allowed}, {"429", a.too_many_requests},
      {"503", a.unavailable}};
  for (const auto& [code, value] : codes) m.sample(value, {{"code", code}});
}

}  // namespace

void supernode_metrics(MetricsText& m, const Supernode& node, const ApiContext& context) {
  gauge(m, "qp2p_uptime_seconds", "Seconds since the supernode started.",
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, to_ms(context.now - context.started) / 1000)));
  checkpoint_and_index(m, node);
  drops(m, node);
  handshake(m, node);
  outcomes(m, node);
  relay(m, node);
  stats_reports(m, node);
}

ApiResponse get_metrics(const ApiSnapshot& snapshot, const ApiContext& context,
                        const ApiCounters& api_counters) {
  MetricsText m;
  api(m, api_counters);
  m.family("qp2p_api_snapshot_age_seconds", Type::kGauge,
           "Age of the snapshot of the supernode this scrape was answered from.");
  m.sample_seconds(static_cast<std::uint64_t>(snapshot_age_ms(snapshot, context)) * 1000);
  if (context.server_metrics) context.server_metrics(m);
  ApiResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = snapshot.metrics + m.text();
  return r;
}

}  // namespace qp2p::management
