// Directory replication between member supernodes, sans-IO: changes are pushed as they happen,
// and periodic anti-entropy rounds repair whatever a push missed (loss, a partition, a
// supernode that was down). Inputs are payloads received on the authenticated supernode channel
// (it names the sender) and the wall time; outputs are drained with poll_transmit(). One round
// between A and B (docs/protocol.md, "Federation: directory replication"):
//
//   A -> B  summary(level 1: A's 64 branch hashes, A's root)
//   B -> A  summary(level 2: B's 64 bucket hashes) for each branch whose hash differs
//   A -> B  request-bucket(A's entry digests) for each bucket whose hash differs
//   B -> A  records(what A lacks or has older; wants: peers A has newer records of)
//   A -> B  push(the wanted peers' records)
//
// Equal roots end the round at once; otherwise the traffic is proportional to the number of
// differing buckets, not to the size of the directory. A requests the differing buckets under
// a window clocked by B's answers (sync_round.h): B answers every request, with an empty
// records message when it has nothing to say, and a request unanswered in time is asked again.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "stack/federation/directory_replica.h"
#include "stack/federation/directory_sync_messages.h"
#include "stack/federation/sync_round.h"

namespace qp2p::federation {

struct SyncConfig {
  // Largest payload the supernode channel carries; messages are split to fit (a single record
  // larger than this still goes, alone). The default is the supernode channel's bound
  // (federation_wire.h kMaxPayload, checked in directory_sync.cc), which carries the largest
  // record a replica accepts.
  std::size_t max_payload_bytes = 1200;
  // Outgoing payloads waiting to be polled beyond this are dropped (counted); anti-entropy
  // repairs what they would have carried.
  std::size_t max_queued = 65536;
  // Bucket requests per second this node answers, shared equally by the members with a round
  // on with it (each answer's `pace` grants one its share); also the most its own rounds ask
  // for together, each request bringing back at least one answer. Well under the supernode
  // channel's inbound bucket (membership.h: 2,000/s plus 25/s per member), whose other half
  // carries pushes, routed messages and probes.
  std::uint32_t requests_per_second = 800;
  // A member that has sent no request for this long no longer has a share.
  WallMs grant_idle_ms = 2000;
  // The rounds this node begins: request window, timeouts, end (sync_round.h).
  SyncRoundConfig round;
};

struct SyncTransmit {
  PeerId to;
  Bytes payload;
};

struct SyncCounters {
  std::array<std::uint64_t, static_cast<std::size_t>(SyncDecodeError::kCount)> malformed{};
  std::array<std::uint64_t, 5> received{};  // by SyncType
  std::uint64_t received_bytes = 0;
  std::uint64_t sent_messages = 0;
  std::uint64_t sent_bytes = 0;
  std::uint64_t records_accepted = 0;
  std::uint64_t records_stale = 0;
  std::uint64_t records_rejected = 0;
  std::uint64_t records_parked = 0;
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t rounds_finished = 0;  // rounds this node began that ended
  SyncRoundCounters round;            // their bucket requests, timeouts and give-ups
};

class DirectorySync {
 public:
  explicit DirectorySync(DirectoryReplica& replica, SyncConfig config = {});

  // Sends records (local changes) to another member.
  void push(const PeerId& to, const std::vector<DirectoryRecord>& records);
  // Starts an anti-entropy round with `to` (expires old entries first, so the digest is
  // current).
  void start_round(WallMs now, const PeerId& to);
  // True while a round this node began with `member` has not ended.
  bool round_active(const PeerId& member) const { return rounds_.count(member) != 0; }
  // A payload from member `from`. True when it began a round of `from`'s (a level-1 summary).
  bool handle_message(WallMs now, const PeerId& from, const std::uint8_t* data, std::size_t size);
  // Request timeouts and the end of rounds.
  void handle_timeout(WallMs now);
  // The next deadline of handle_timeout(); UINT64_MAX when no round is on.
  WallMs poll_timeout() const;
  std::optional<SyncTransmit> poll_transmit();

  const SyncCounters& counters() const { return counters_; }

 private:
  void send(const PeerId& to, const SyncMessage& message);
  void send_summary(const PeerId& to, std::uint8_t level, std::uint16_t first,
                    std::uint16_t pace);
  void send_bucket_request(const PeerId& to, std::uint16_t bucket);
  // Records split into messages that fit; `wants` ride in the first (records responses only).
  void send_records(const PeerId& to, bool response, std::uint16_t bucket, std::uint16_t pace,
                    std::vector<PeerId> wants, const std::vector<DirectoryRecord>& records);
  void apply_all(WallMs now, const std::vector<DirectoryRecord>& records);

  void on_summary(WallMs now, const PeerId& from, const Summary& m);
  void on_request(WallMs now, const PeerId& from, const RequestBucket& m);
  // `initiator`'s share of requests_per_second among the members rounding with us now.
  std::uint16_t grant(WallMs now, const PeerId& initiator);
  // Sends what the window of the round with `member` allows.
  void request_buckets(WallMs now, const PeerId& member, SyncRound& round);

  DirectoryReplica& replica_;
  SyncConfig config_;
  std::deque<SyncTransmit> queue_;
  // The rounds this node began, by member (one each: a new round replaces the old).
  std::map<PeerId, SyncRound> rounds_;
  // Members rounding with us, by when they last asked (bounded: only members send payloads).
  std::map<PeerId, WallMs> initiators_;
  SyncCounters counters_;
};

}  // namespace qp2p::federation
