// Push batching: full payloads at once, the rest at most once per interval (see push_batch.h).
#include "stack/federation/push_batch.h"

#include "stack/federation/directory_sync_messages.h"

namespace qp2p::federation {

namespace {
constexpr std::size_t kPushHeader = 1 + 2;  // type | count (directory_sync_messages.h)
}

void PushBatch::emit(WallMs now, std::vector<Batch>& out) {
  if (pending_.empty()) return;
  out.push_back(std::move(pending_));
  pending_.clear();
  pending_bytes_ = 0;
  last_push_ = now;
  pushed_ = true;
}

std::vector<PushBatch::Batch> PushBatch::add(WallMs now, std::vector<DirectoryRecord> records) {
  std::vector<Batch> out;
  for (auto& r : records) {
    const std::size_t size = encoded_size(r);
    // A record that does not fit the batch closes it (a full payload goes at once); a record
    // larger than a payload on its own still goes, alone (DirectorySync sends it as it is).
    if (!pending_.empty() && (pending_bytes_ + size > config_.max_payload_bytes ||
                              pending_.size() >= kMaxSyncRecords))
      emit(now, out);
    if (pending_.empty()) pending_bytes_ = kPushHeader;
    pending_bytes_ += size;
    pending_.push_back(std::move(r));
  }
  if (!pushed_ || now >= last_push_ + config_.interval_ms) emit(now, out);
  return out;
}

PushBatch::Batch PushBatch::take_due(WallMs now) {
  std::vector<Batch> out;
  if (now >= deadline()) emit(now, out);
  return out.empty() ? Batch{} : std::move(out.front());
}

WallMs PushBatch::deadline() const {
  if (pending_.empty()) return std::numeric_limits<WallMs>::max();
  return last_push_ + config_.interval_ms;
}

}  // namespace qp2p::federation
