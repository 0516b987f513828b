// PeerSession's reports of tunnel outcomes to the handshake service (peer_session.h;
// docs/protocol.md section 8.9): when an attempt the service started ends, the caller tells it
// which path the tunnel took (direct or relay) and how long setup took from its connect, or that
// it failed and why. Only the caller reports, so each attempt is counted once; an upgrade of a
// relayed tunnel to direct is not a new tunnel and is not reported. The report is a tracked
// request (retransmitted like any other) but nothing waits for its answer: a lost report costs a
// statistic, never a tunnel.
#include <algorithm>

#include "stack/peer/peer_session.h"

namespace qp2p {

namespace {

std::uint32_t bounded_ms(Duration d, std::uint32_t max) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 0, max));
}

}  // namespace

void PeerSession::report_outcome(Instant now, const Punched& p, wire::OutcomePath path,
                                 Duration setup, Duration rtt, const std::string& reason) {
  if (!p.caller || p.upgrade || state_ != State::kRegistered) return;
  const std::uint64_t txn = new_transaction();
  wire::TunnelOutcome report{p.attempt, path, bounded_ms(setup, wire::kMaxSetupMs),
                             bounded_ms(rtt, wire::kMaxRttMs),
                             reason.substr(0, wire::kMaxTunnelReasonBytes)};
  // Not in requests_: its answer (ack or error) and its loss are of no interest to the
  // application, so neither is reported to it; the tracker retransmits it meanwhile.
  start_tracked(now, txn, [this, txn, report]() -> std::optional<Datagram> {
    if (state_ != State::kRegistered) return std::nullopt;
    return Datagram{config_.local, supernode_endpoint(), session_.seal({txn, report})};
  });
}

void PeerSession::fail_attempt(Instant now, std::map<PeerId, Punched>::iterator it,
                               const std::string& reason) {
  report_outcome(now, it->second, wire::OutcomePath::kFailed, now - it->second.requested_at,
                 Duration::zero(), reason);
  events_.push_back(peer_event::TunnelClosed{it->first, reason});
  punched_.erase(it);
}

}  // namespace qp2p
