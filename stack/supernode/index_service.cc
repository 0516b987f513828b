// Record storage and metadata search for the index service (see index_service.h).
#include "stack/supernode/index_service.h"

#include <algorithm>

namespace qp2p {

IndexService::PutResult IndexService::put(const wire::SignedRecord& record) {
  if (!record.verify()) return PutResult::kBadSignature;
  auto it = records_.find(record.owner);
  if (it != records_.end() && it->second->version >= record.version) return PutResult::kStale;
  // A new object rather than an update in place: readers holding the old one keep it.
  records_[record.owner] = std::make_shared<const wire::SignedRecord>(record);
  return PutResult::kStored;
}

const wire::SignedRecord* IndexService::get(const PeerId& id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const wire::SignedRecord> IndexService::shared(const PeerId& id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : it->second;
}

void IndexService::remove(const PeerId& id) { records_.erase(id); }

bool IndexService::matches(const wire::SignedRecord& record,
                           const std::vector<wire::SearchTerm>& terms) {
  for (const auto& term : terms) {
    const std::string* value = record.find(term.key);
    if (!value) return false;
    if (term.prefix ? value->compare(0, term.value.size(), term.value) != 0
                    : *value != term.value)
      return false;
  }
  return true;
}

std::vector<PeerId> IndexService::search(const std::vector<wire::SearchTerm>& terms,
                                         std::size_t limit, std::size_t* total,
                                         const PeerId& after) const {
  // A linear scan: O(records) per search. Fine for one supernode's directory at the sizes we
  // measure; an inverted index per key is the next step if searches dominate.
  std::vector<PeerId> found;
  for (const auto& [id, record] : records_)
    if (matches(*record, terms)) found.push_back(id);
  std::sort(found.begin(), found.end());
  if (total) *total = found.size();
  if (after != PeerId{})
    found.erase(found.begin(), std::upper_bound(found.begin(), found.end(), after));
  if (found.size() > limit) found.resize(limit);
  return found;
}

}  // namespace qp2p
