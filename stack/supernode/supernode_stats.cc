// Statistics for the whole network (docs/protocol.md section 14.7): the supernode's own figures
// (what /v1/stats shows), sent as stats reports to every live member every
// stats_report.interval and to a member that comes up, and the members' reports received.
// Everything here but stats_figures() runs only with federation on.
#include <spdlog/spdlog.h>

#include "stack/supernode/supernode_core.h"

namespace qp2p {

StatsFigures SupernodeCore::stats_figures() const {
  const SupernodeCounters& c = counters_;
  const HandshakeCounters& h = handshake_counters_;
  const turn::TurnCounters& t = turn_.counters();
  StatsFigures f;
  f.by_pair = handshake_stats_.by_pair();
  for (const auto& [pair, row] : f.by_pair) {
    f[StatField::kTunnelsReportedDirect] += row.outcome_direct;
    f[StatField::kTunnelsReportedRelay] += row.outcome_relay;
    f[StatField::kTunnelsReportedFailed] += row.outcome_failed;
  }
  using F = StatField;
  const std::pair<StatField, std::uint64_t> values[] = {
      {F::kLoginsAccepted, c.logins},
      {F::kLoginsRejected, c.rejected_login},
      {F::kLogouts, c.logouts},
      {F::kExpiries, c.expiries},
      {F::kPeersOnline, sessions_.size()},
      {F::kMessagesRouted, c.messages_routed},
      {F::kMessagesUndeliverable, c.messages_undeliverable},
      {F::kIndexPublishes, c.publishes},
      {F::kIndexRejected, c.rejected_record},
      {F::kIndexLookups, c.lookups},
      {F::kIndexSearches, c.searches},
      {F::kTunnelsPlannedDirect, h.accepted - h.relay_plans},
      {F::kTunnelsPlannedRelay, h.relay_plans},
      {F::kRelayAllocations, turn_.allocation_count()},
      {F::kRelayAllocationsCreated, t.allocations_created},
      {F::kRelayedDatagrams,
       t.send_indications + t.channel_data_in + t.data_indications + t.channel_data_out},
      {F::kHandshakeOffers, h.connects},
      {F::kHandshakeAccepted, h.accepted},
      {F::kHandshakeRefused, h.refused},
      {F::kHandshakeTimeouts, h.timeouts},
      {F::kHandshakeCalleeOffline, h.callee_offline},
      {F::kHandshakeCallerOffline, h.caller_offline},
      {F::kRejectedUnknownPeer, h.connects_unknown_peer},
      {F::kRejectedToSelf, h.connects_to_self},
      {F::kRejectedOverLimit, h.connects_over_limit},
      {F::kRejectedUnexpectedAnswer, h.answers_unexpected},
      {F::kRejectedUnexpectedRelay, h.relays_unexpected},
      {F::kRejectedRelayNotAllocated, h.relays_not_allocated},
      {F::kRoutedOffersSent, h.routed_offers},
      {F::kRoutedOffersReceived, h.routed_in},
      {F::kRoutedGaveUp, h.route_gave_up},
      {F::kRoutedDroppedUnknownAttempt, h.route_unknown_attempt},
      {F::kRoutedDroppedWrongSupernode, h.route_wrong_supernode},
      {F::kRoutedAcksUnmatched, h.route_acks_unmatched},
      {F::kOutcomesCounted, h.outcomes},
      {F::kOutcomesUnknownAttempt, h.outcomes_unknown},
      {F::kOutcomesNotCaller, h.outcomes_not_caller},
      {F::kOutcomesDuplicate, h.outcomes_duplicate},
      {F::kRoutedCancelsSent, h.routed_cancels_sent},
      {F::kRoutedCancelsReceived, h.routed_cancels},
      {F::kRoutedCancelsRefusedToCallee, h.routed_cancels_refused}};
  for (const auto& [field, value] : values) f[field] = value;
  return f;
}

void SupernodeCore::send_stats_payloads(Instant now, const PeerId& to,
                                        const std::vector<Bytes>& payloads) {
  for (const Bytes& p : payloads) {
    if (federation_->send_payload(now, to, p)) {
      ++network_stats_.counters().sent;
    } else {
      ++network_stats_.counters().unsent;  // gone meanwhile: it gets a full report when back
      return;
    }
  }
}

void SupernodeCore::send_stats_round(Instant now) {
  next_stats_round_ = now + config_.stats_report.interval;
  const std::vector<federation::Entry> members = federation_->members();
  if (members.size() <= 1) return;  // nobody to tell; whoever comes up gets a full report
  const std::vector<Bytes> payloads = stats_reporter_.next_round(wall_ms(now), stats_figures());
  if (payloads.empty()) return;
  for (const federation::Entry& m : members)
    if (m.id != identity_.id()) send_stats_payloads(now, m.id, payloads);
}

void SupernodeCore::send_stats_to(Instant now, const PeerId& member) {
  send_stats_payloads(now, member, stats_reporter_.full_report(wall_ms(now), stats_figures()));
}

StatsFigures Supernode::stats_figures() const { return core_->stats_figures(); }
const NetworkStats* Supernode::network_stats() const {
  return core_->federation_ ? &core_->network_stats_ : nullptr;
}

}  // namespace qp2p
