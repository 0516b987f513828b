// GET /v1/stats of the management API (index_api.h): what the services counted, for this
// supernode (view=local, rendered when a snapshot is taken) or, with federation, for the whole
// network (view=network, the default then): this supernode's figures plus the latest stats report
// of every member (docs/protocol.md section 14.7), summed where the request is served from the
// snapshot's copy (api_snapshot.h NetworkStatsCopy). Counters add up; setup histograms merge
// bucket by bucket and the network's percentiles come from the merged buckets (percentiles are
// never averaged).
#include <nlohmann/json.hpp>

#include "stack/management/api_routes.h"

namespace qp2p::management {

using nlohmann::json;

namespace {

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

json nat_pairs_json(const std::map<HandshakeStats::Pair, NatPairCounters>& by_pair) {
  json pairs = json::array();
  for (const auto& [pair, c] : by_pair) {
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

// The body of /v1/stats for `f`; `view` "local" or "network".
json stats_body(const StatsFigures& f, const char* view, const std::string& supernode,
                std::int64_t uptime) {
  using F = StatField;
  return {{"supernode", supernode},
          {"view", view},
          {"uptime_seconds", uptime},
          {"peers_online", f[F::kPeersOnline]},
          {"logins",
           {{"accepted", f[F::kLoginsAccepted]},
            {"rejected", f[F::kLoginsRejected]},
            {"logouts", f[F::kLogouts]},
            {"expiries", f[F::kExpiries]}}},
          {"messages",
           {{"routed", f[F::kMessagesRouted]}, {"undeliverable", f[F::kMessagesUndeliverable]}}},
          {"index",
           {{"publishes", f[F::kIndexPublishes]},
            {"rejected", f[F::kIndexRejected]},
            {"lookups", f[F::kIndexLookups]},
            {"searches", f[F::kIndexSearches]}}},
          // What the handshake service planned for each accepted negotiation, which path the
          // tunnels took as their callers reported (section 8.9), and what the relay carries now.
          {"tunnels",
           {{"planned_direct", f[F::kTunnelsPlannedDirect]},
            {"planned_relay", f[F::kTunnelsPlannedRelay]},
            {"reported",
             {{"direct", f[F::kTunnelsReportedDirect]},
              {"relay", f[F::kTunnelsReportedRelay]},
              {"failed", f[F::kTunnelsReportedFailed]}}},
            {"relay_allocations", f[F::kRelayAllocations]},
            {"relay_allocations_created", f[F::kRelayAllocationsCreated]},
            {"relayed_datagrams", f[F::kRelayedDatagrams]}}},
          {"handshakes",
           {{"offers", f[F::kHandshakeOffers]},
            {"accepted", f[F::kHandshakeAccepted]},
            {"refused", f[F::kHandshakeRefused]},
            {"timeouts", f[F::kHandshakeTimeouts]},
            {"callee_offline", f[F::kHandshakeCalleeOffline]},
            {"caller_offline", f[F::kHandshakeCallerOffline]},
            {"rejected",
             {{"unknown_peer", f[F::kRejectedUnknownPeer]},
              {"to_self", f[F::kRejectedToSelf]},
              {"over_limit", f[F::kRejectedOverLimit]},
              {"unexpected_answer", f[F::kRejectedUnexpectedAnswer]},
              {"unexpected_relay", f[F::kRejectedUnexpectedRelay]},
              {"relay_not_allocated", f[F::kRejectedRelayNotAllocated]}}},
            {"routed",
             {{"offers_sent", f[F::kRoutedOffersSent]},
              {"offers_received", f[F::kRoutedOffersReceived]},
              {"gave_up", f[F::kRoutedGaveUp]},
              {"cancels_sent", f[F::kRoutedCancelsSent]},
              {"cancels_received", f[F::kRoutedCancelsReceived]},
              {"cancels_refused_to_callee", f[F::kRoutedCancelsRefusedToCallee]},
              {"dropped_unknown_attempt", f[F::kRoutedDroppedUnknownAttempt]},
              {"dropped_wrong_supernode", f[F::kRoutedDroppedWrongSupernode]},
              {"acks_unmatched", f[F::kRoutedAcksUnmatched]}}},
            {"outcome_reports",
             {{"counted", f[F::kOutcomesCounted]},
              {"unknown_attempt", f[F::kOutcomesUnknownAttempt]},
              {"not_caller", f[F::kOutcomesNotCaller]},
              {"duplicate", f[F::kOutcomesDuplicate]}}}}},
          {"traversal",
           {{"note",
             "by pair of NAT profiles (RFC 4787 mapping/filtering): the handshake service's "
             "negotiations and planned strategies, and the outcomes the callers reported (setup "
             "percentiles estimated from histogram buckets)"},
            {"by_nat_pair", nat_pairs_json(f.by_pair)}}}};
}

// The network view: the sum, and which supernodes it is made of.
json network_body(const NetworkStatsCopy& copy, const ApiSnapshot& snapshot,
                  const ApiContext& context) {
  StatsFigures sum = copy.local;
  json supernodes = json::array();
  supernodes.push_back({{"id", snapshot.stats.value("supernode", "")},
                        {"self", true},
                        {"state", "serving"},
                        {"reported", true},
                        {"report_age_seconds", 0},
                        {"stale", false}});
  for (const NetworkStatsCopy::Member& m : copy.members) {
    json entry = {{"id", m.id.to_string()},
                  {"self", false},
                  {"state", m.state},
                  {"reported", m.report != nullptr},
                  {"report_age_seconds", nullptr},
                  {"stale", true}};
    if (m.report) {
      add_report(sum, *m.report, m.up);
      const Duration age = std::max(Duration::zero(), context.now - m.report->received);
      entry["report_age_seconds"] = to_ms(age) / 1000;
      entry["stale"] = !m.up || age > copy.stale_after;
    }
    supernodes.push_back(std::move(entry));
  }
  json body = stats_body(sum, "network", snapshot.stats.value("supernode", ""),
                         snapshot.stats.value("uptime_seconds", std::int64_t{0}));
  body["supernodes"] = std::move(supernodes);
  body["note"] =
      "totals over this supernode and the latest report of every other member (each sends its "
      "changes every few seconds): reports of members down are kept, their gauges "
      "(peers_online, relay_allocations) not counted";
  return body;
}

}  // namespace

json stats_json(const Supernode& node, const ApiContext& context) {
  return stats_body(node.stats_figures(), "local", node.identity().id().to_string(),
                    uptime_seconds(context));
}

NetworkStatsCopy network_stats_copy(const Supernode& node) {
  NetworkStatsCopy copy;
  const federation::Membership* federation = node.federation();
  const NetworkStats* reports = node.network_stats();
  if (!federation || !reports) return copy;
  copy.federated = true;
  copy.local = node.stats_figures();
  const StatsReportConfig& config = node.config().stats_report;
  // A quiet member sends only its periodic refresh; one round more is the slack.
  copy.stale_after = config.interval * static_cast<std::int64_t>(config.refresh_rounds + 1);
  auto add = [&](const PeerId& id, std::shared_ptr<const MemberReport> report) {
    NetworkStatsCopy::Member& m = copy.members.emplace_back();
    m.id = id;
    m.report = std::move(report);
    if (const federation::Member* member = federation->table().find(id)) {
      m.state = federation::to_string(member->entry.state);
      m.up = member->up();
    } else {
      m.state = "gone";  // forgotten by the membership (dead_retention); its report stays
    }
  };
  // Both lists are ordered by id: merge them.
  const auto& others = federation->table().others();
  const NetworkStats::Shared shared = reports->share();
  auto member = others.begin();
  auto report = shared.begin();
  while (member != others.end() || report != shared.end()) {
    if (report == shared.end() || (member != others.end() && member->first < report->first)) {
      add((member++)->first, nullptr);
    } else if (member == others.end() || report->first < member->first) {
      add(report->first, report->second);
      ++report;
    } else {
      add(member->first, report->second);
      ++member;
      ++report;
    }
  }
  return copy;
}

bool valid_stats_query(const Target& target, std::string* error) {
  for (const auto& [key, value] : target.query) {
    if (key != "view") {
      *error = "unknown query parameter '" + key + "'";
      return false;
    }
    if (value != "local" && value != "network") {
      *error = "view must be 'local' or 'network', got '" + value + "'";
      return false;
    }
  }
  return true;
}

ApiResponse get_stats(const Target& target, const ApiSnapshot& snapshot,
                      const ApiContext& context) {
  bool local = false;
  for (const auto& [key, value] : target.query) local = key == "view" && value == "local";
  // Without federation this supernode is the whole network: view=network is the local body.
  if (local || !snapshot.network_stats.federated)
    return get_document(snapshot.stats, snapshot, context);
  return get_document(network_body(snapshot.network_stats, snapshot, context), snapshot, context);
}

}  // namespace qp2p::management
