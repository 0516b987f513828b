// Reliable tunnel-negotiation payloads between member supernodes (docs/protocol.md section
// 14.6): the membership carries datagrams and may lose them, so each offer, answer, punch,
// relayed and cancel payload (route_handshake.h) is sent again on a retransmission schedule until the other
// supernode's ack for it arrives, then forgotten; after the schedule's last copy and final wait
// it is given up and handed back. At most one message per (attempt, type) is in flight: a newer
// one (a second relayed address) replaces it. A punch copy carries what remains of its plan's
// start_after (the original less the time since the first copy, at least 0), so a copy that
// arrives late by a retransmission interval still names the same moment, as a punch-start
// push's copies do (section 8.5). Sans-IO: time comes in as arguments; no clock, no sockets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "stack/core/instant.h"
#include "stack/federation/route_handshake.h"
#include "stack/transaction/request_tracker.h"

namespace qp2p::federation {

class RouteOutbox {
 public:
  struct Copy {
    PeerId to;
    Bytes payload;
  };
  struct Expired {
    PeerId to;
    RouteHandshake message;
  };

  // `max_messages` bounds what is in flight at once (beyond it start() refuses).
  RouteOutbox(RetransmitPolicy policy, std::size_t max_messages)
      : policy_(policy), max_messages_(max_messages) {}

  // Starts sending `m` to member `to`: the first copy's payload, to send now, or nullopt when
  // the outbox is full. Replaces a message of the same attempt and type in flight.
  std::optional<Bytes> start(Instant now, const PeerId& to, const RouteHandshake& m);
  // An ack (type kAck) from `from`: true when it answers a message in flight to `from` (for a
  // kRelayed, the same address), which is then complete.
  bool acknowledged(const PeerId& from, const RouteHandshake& ack);
  // Forgets every message of `attempt`.
  void cancel(std::uint64_t attempt);
  // The message of `attempt` and `type` in flight to `to`, or nullptr.
  const RouteHandshake* in_flight(std::uint64_t attempt, HandshakeRouteType type,
                                  const PeerId& to) const;

  // Copies due by `now` go to `copies`; messages past their last copy's wait are returned.
  std::vector<Expired> handle_timeout(Instant now, std::vector<Copy>& copies);
  Instant poll_timeout() const;
  std::size_t size() const { return entries_.size(); }
  std::uint64_t retransmissions() const { return retransmissions_; }

 private:
  struct Entry {
    PeerId to;
    RouteHandshake message;
    Instant first_sent;
    Instant deadline;
    Duration rto;
    int transmissions = 1;
  };
  using Key = std::pair<std::uint64_t, HandshakeRouteType>;

  static Bytes copy_at(const Entry& e, Duration since_first);

  RetransmitPolicy policy_;
  std::size_t max_messages_;
  std::map<Key, Entry> entries_;  // ordered: retransmissions go out in a deterministic order
  std::uint64_t retransmissions_ = 0;
};

}  // namespace qp2p::federation
