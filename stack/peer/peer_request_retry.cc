// PeerSession's recovery from lost control traffic above the transaction layer (peer_session.h;
// docs/protocol.md sections 7 and 8.5). A request whose whole RFC 8489 section 6.2.1 style
// retransmission schedule went unanswered is first carried to the next supernode (failover);
// once every supernode of the list left it unanswered it is sent again after a doubling pause,
// a bounded number of times, and only then reported failed. A tunnel negotiation whose pushes
// never came (punch-start or refusal lost beyond their retransmissions) ends at a deadline with
// a reason instead of waiting forever. An unanswered keepalive with nowhere else to go is
// followed by another before the peer logs in again.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "stack/peer/peer_session.h"

namespace qp2p {

namespace {
std::int64_t ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
}  // namespace

bool PeerSession::on_request_timeout(Instant now, std::uint64_t request) {
  Pending& p = requests_.at(request);
  if (state_ != State::kRegistered) {
    give_up_request(request, "no response from supernode");
    return false;
  }
  // The supernode answers every request, if only with an Error: silence means it is gone or
  // the path lost a whole schedule. With another supernode in the list, fail over now, so the
  // request is re-issued there (once per supernode) instead of failing in the race with the
  // keepalive.
  if (++p.timeouts < candidates_.size()) {
    fail_over(now, "no answer to " + p.command);
    return true;
  }
  if (p.retries < config_.request_retries) {
    Duration pause = config_.request_retry_delay;
    for (int i = 0; i < p.retries; ++i) pause *= 2;
    ++p.retries;
    retry_due_[request] = now + pause;
    SPDLOG_INFO("peer: no answer to {} from {}; sending it again in {} ms (retry {} of {})",
                p.command, supernode_endpoint().to_string(), ms(pause), p.retries,
                config_.request_retries);
    return false;
  }
  give_up_request(request, "no response from supernode (" + std::to_string(p.retries + 1) +
                               " retransmission schedules unanswered)");
  return false;
}

void PeerSession::give_up_request(std::uint64_t request, std::string reason) {
  auto it = requests_.find(request);
  if (it == requests_.end()) return;
  SPDLOG_INFO("peer: {} failed: {}", it->second.command, reason);
  // A connect or accept that was never answered ends its negotiation here: one outcome per
  // request id (a punch-start after this is dropped as for no negotiation).
  fail_request(request, it->second.target, it->second.command, std::move(reason));
  retry_due_.erase(request);
  requests_.erase(it);
}

void PeerSession::retry_due_requests(Instant now) {
  for (auto it = retry_due_.begin(); it != retry_due_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    const std::uint64_t id = it->first;
    it = retry_due_.erase(it);
    auto r = requests_.find(id);
    if (r == requests_.end()) continue;
    // A publish goes again as the newest record (a fresh version of the current metadata): the
    // first one may have been stored with only its answer lost, and a newer publish may have
    // been made meanwhile; either way the supernode ends up with the current record.
    if (auto* publish = std::get_if<wire::Publish>(&r->second.body))
      publish->record = wire::SignedRecord::make(identity_, ++record_version_, meta_);
    if (state_ == State::kRegistered) issue(now, id);
    else if (std::find(queued_.begin(), queued_.end(), id) == queued_.end()) queued_.push_back(id);
  }
}

void PeerSession::expire_negotiations(Instant now) {
  // Only negotiations whose request was answered: an unanswered one ends with its request.
  for (auto it = outgoing_.begin(); it != outgoing_.end();) {
    const Outgoing& o = it->second;
    if (requests_.count(o.request) || now < o.requested + config_.negotiation_deadline) {
      ++it;
      continue;
    }
    SPDLOG_INFO("peer: tunnel request to {} got no punch-start nor refusal in {} ms",
                it->first.to_string(), ms(config_.negotiation_deadline));
    it = finish_outgoing(it, peer_event::TunnelRefused{o.request, it->first,
                                                       "timeout: no punch-start or refusal from "
                                                       "the handshake service"});
  }
  for (auto it = incoming_.begin(); it != incoming_.end();) {
    const Incoming& i = it->second;
    if (i.accept_request == 0 || requests_.count(i.accept_request) ||
        now < i.received + config_.negotiation_deadline) {
      ++it;
      continue;
    }
    SPDLOG_INFO("peer: accepted tunnel from {} got no punch-start in {} ms", it->first.to_string(),
                ms(config_.negotiation_deadline));
    events_.push_back(peer_event::RequestFailed{i.accept_request, "accept",
                                                "no punch-start from the handshake service"});
    it = incoming_.erase(it);
  }
}

bool PeerSession::keepalive_loss_tolerated(Instant now) {
  // Something authenticated arrived while the keepalive went unanswered: the path works, only
  // the keepalive's answers were lost. The next keepalive is already scheduled from it.
  if (last_heard_ != kNever && last_heard_ >= keepalive_sent_) return true;
  if (candidates_.size() > 1) return false;  // another supernode may be reachable
  if (++keepalive_losses_ >= config_.keepalive_losses_before_relogin) return false;
  SPDLOG_INFO("peer: keepalive to {} unanswered ({} in a row); sending another",
              supernode_endpoint().to_string(), keepalive_losses_);
  next_keepalive_ = now;
  return true;
}

Instant PeerSession::next_retry_or_deadline() const {
  Instant t = kNever;
  for (const auto& [id, at] : retry_due_) t = std::min(t, at);
  for (const auto& [peer, o] : outgoing_)
    if (!requests_.count(o.request)) t = std::min(t, o.requested + config_.negotiation_deadline);
  for (const auto& [peer, i] : incoming_)
    if (i.accept_request != 0 && !requests_.count(i.accept_request))
      t = std::min(t, i.received + config_.negotiation_deadline);
  return t;
}

}  // namespace qp2p
