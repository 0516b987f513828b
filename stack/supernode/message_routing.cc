// Instant messages between peers on different supernodes of a federation (docs/protocol.md
// section 14.6): the sender's supernode accepts the message and sends it in one hop to the
// target's supernode (the writer of the target's live presence record), retrying a few times
// while neither a delivery report nor an undeliverable notice comes back; the target's
// supernode pushes it to the target as a local message and reports the outcome.
#include <spdlog/spdlog.h>

#include "stack/supernode/supernode_core.h"

namespace qp2p {

namespace {
// A retry every 3 s (checked by the 1 s housekeeping scan), six tries in all: at 20% loss each
// way between the supernodes an outcome is missing after all six for 1 message in 500. The
// target's push itself takes up to ~10 s, so a slow target's report may need a retry to come.
constexpr std::size_t kRouteAttempts = 6;
constexpr Duration kRouteRetry = std::chrono::seconds(3);
// Messages in flight to other supernodes; beyond, senders are told to retry later.
constexpr std::size_t kMaxRoutedOut = 4096;
}  // namespace

void SupernodeCore::send_route(Instant now, const PeerId& to, const federation::RouteMessage& m) {
  send_federation_payload(now, to, federation::encode(m));
}

void SupernodeCore::route_message(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                                  const wire::SendMessage& m, const PeerId& home) {
  if (m.text.size() > federation::kMaxRoutedText) {
    ++counters_.messages_undeliverable;
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kBadRequest,
                             "text too long for a peer on another supernode (at most " +
                                 std::to_string(federation::kMaxRoutedText) + " bytes)"});
  }
  if (routed_out_.size() >= kMaxRoutedOut) {
    ++counters_.messages_undeliverable;
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kServerFull, "too many messages in flight"});
  }
  const auto key = std::make_pair(peer.id, m.message_id);
  routed_messages_.insert(key);
  routed_order_.emplace_back(now, key);
  if (next_expiry_check_ == kNever) next_expiry_check_ = now + std::chrono::seconds(1);
  reply(peer, transaction, wire::SendAccepted{});
  RoutedOut out{home, {federation::RouteType::kDeliver, peer.id, m.to, m.message_id, m.text},
                now + kRouteRetry, 1};
  send_route(now, home, out.message);
  routed_out_.emplace(key, std::move(out));
}

void SupernodeCore::retry_routed(Instant now) {
  for (auto it = routed_out_.begin(); it != routed_out_.end();) {
    RoutedOut& r = it->second;
    if (now < r.next) {
      ++it;
    } else if (r.attempts >= kRouteAttempts) {
      ++counters_.messages_undeliverable;
      SPDLOG_DEBUG("routed message to {} via {}: no outcome", r.message.target.to_string(),
                   r.home.to_string());
      it = routed_out_.erase(it);
    } else {
      ++r.attempts;
      r.next = now + kRouteRetry;
      send_route(now, r.home, r.message);
      ++it;
    }
  }
}

void SupernodeCore::report_routed(Instant now, const PeerId& origin, const PeerId& sender,
                                  const PeerId& target, std::uint64_t message_id, bool delivered) {
  const federation::RouteType type =
      delivered ? federation::RouteType::kDelivered : federation::RouteType::kUndeliverable;
  route_outcomes_[{sender, message_id}] = type;
  send_route(now, origin, {type, sender, target, message_id, {}});
}

void SupernodeCore::on_route_payload(Instant now, const PeerId& from, const Bytes& payload) {
  federation::RouteDecodeError error = federation::RouteDecodeError::kNone;
  auto m = federation::decode_route(payload, &error);
  if (!m) {
    ++counters_.dropped_federation_payload;
    SPDLOG_DEBUG("federation: drop routing payload from {}: {}", from.to_string(),
                 federation::to_string(error));
    return;
  }
  const auto key = std::make_pair(m->sender, m->message_id);
  switch (m->type) {
    case federation::RouteType::kDeliver: {
      if (routed_messages_.count(key)) {
        // A retry: answer what was answered; still in flight here: its outcome will go back.
        if (auto o = route_outcomes_.find(key); o != route_outcomes_.end())
          send_route(now, from, {o->second, m->sender, m->target, m->message_id, {}});
        return;
      }
      PeerSessionState* target = find_session(m->target);
      if (!target) return report_routed(now, from, m->sender, m->target, m->message_id, false);
      routed_messages_.insert(key);
      routed_order_.emplace_back(now, key);
      if (next_expiry_check_ == kNever) next_expiry_check_ = now + std::chrono::seconds(1);
      push(now, *target, wire::Deliver{m->sender, m->message_id, std::move(m->text)},
           PendingPush{PendingPush::Kind::kDeliver, m->target, m->sender, m->message_id, from});
      return;
    }
    case federation::RouteType::kDelivered: {
      if (!routed_out_.erase(key)) return;  // a repeated report
      if (PeerSessionState* sender = find_session(m->sender))
        push(now, *sender, wire::DeliveryReport{m->target, m->message_id},
             PendingPush{PendingPush::Kind::kReport, m->sender, m->target, m->message_id, {}});
      return;
    }
    case federation::RouteType::kUndeliverable:
      if (routed_out_.erase(key)) ++counters_.messages_undeliverable;
      return;
  }
}

}  // namespace qp2p
