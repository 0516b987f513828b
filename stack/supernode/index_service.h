// The index: the directory of published peer records. Owners sign their records, so the index
// only stores the highest valid version per peer; lookups by id and searches by metadata terms
// (all terms must match; a term may match a value by prefix).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/wire/control_message.h"

namespace qp2p {

class IndexService {
 public:
  enum class PutResult { kStored, kStale, kBadSignature };
  // Stores a record if its signature verifies and its version is above the stored one.
  PutResult put(const wire::SignedRecord& record);
  const wire::SignedRecord* get(const PeerId& id) const;
  // The same record, shared: stored records are immutable (a newer version replaces the object),
  // so the management API's snapshots hold them without copying (stack/management/api_snapshot.h).
  std::shared_ptr<const wire::SignedRecord> shared(const PeerId& id) const;
  void remove(const PeerId& id);
  // Ids of peers whose records match every term, in id order, after `after` (exclusive), at
  // most `limit`; `total` gets the number of all matches (all pages).
  std::vector<PeerId> search(const std::vector<wire::SearchTerm>& terms, std::size_t limit,
                             std::size_t* total, const PeerId& after = {}) const;
  std::size_t size() const { return records_.size(); }

  static bool matches(const wire::SignedRecord& record, const std::vector<wire::SearchTerm>& terms);

 private:
  std::unordered_map<PeerId, std::shared_ptr<const wire::SignedRecord>, PeerIdHash> records_;
};

}  // namespace qp2p
