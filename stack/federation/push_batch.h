// Batching of the directory's pushes (docs/protocol.md §14.5, "Push batching"), sans-IO: the
// records a supernode writes are pushed to every live member, and one push payload carries as
// many records as fit (`push` header 3 bytes, at most kMaxSyncRecords records, at most
// `max_payload_bytes`), so during a burst (a login wave: thousands of peers a second, every
// supernode receiving every record) the datagrams a member receives grow with the bytes pushed,
// not with the number of records. The flush rule (Nagle's, RFC 896, with a timer):
//
// - a record written when nothing was pushed for `interval_ms` goes at once (an idle supernode
//   adds no delay);
// - otherwise it waits in the batch, which is sent when the next record would not fit it (a full
//   payload goes at once) or `interval_ms` after the previous push, whichever comes first.
//
// So a supernode sends at most one non-full push per `interval_ms` to each member, plus full
// ones. The batch is shared by all members: every member is sent the same records.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "stack/federation/directory_record.h"
#include "stack/federation/directory_replica.h"

namespace qp2p::federation {

struct PushBatchConfig {
  // A push payload (header included) holds at most this many bytes: the supernode channel's
  // payload bound (federation_wire.h kMaxPayload).
  std::size_t max_payload_bytes = 1200;
  // At most one non-full push per interval (0: every record at once, no batching). 50 ms adds
  // at most 50 ms to publish-to-visible under load and nothing when the supernode was idle.
  WallMs interval_ms = 50;
};

class PushBatch {
 public:
  using Batch = std::vector<DirectoryRecord>;

  explicit PushBatch(PushBatchConfig config = {}) : config_(config) {}

  // Adds records written at `now`; returns the batches to push now, each one payload, in order.
  std::vector<Batch> add(WallMs now, std::vector<DirectoryRecord> records);
  // The waiting batch when its time has come (empty otherwise).
  Batch take_due(WallMs now);
  // When the waiting batch is due; max() when nothing waits.
  WallMs deadline() const;

  std::size_t waiting() const { return pending_.size(); }

 private:
  void emit(WallMs now, std::vector<Batch>& out);

  PushBatchConfig config_;
  Batch pending_;
  std::size_t pending_bytes_ = 0;  // push header + encoded records of pending_
  // When the last push went out; the first record is sent at once.
  WallMs last_push_ = 0;
  bool pushed_ = false;
};

}  // namespace qp2p::federation
