// Order, encoding and hashing of directory records (see directory_record.h).
#include "stack/federation/directory_record.h"

#include <sodium.h>

#include <tuple>

namespace qp2p::federation {

const PeerId& DirectoryRecord::peer() const {
  if (const auto* p = presence()) return p->peer;
  return std::get<wire::SignedRecord>(body).owner;
}

bool newer(const PresenceRecord& a, const PresenceRecord& b) {
  return std::tie(a.hlc, a.supernode, a.signature) > std::tie(b.hlc, b.supernode, b.signature);
}

bool newer(const wire::SignedRecord& a, const wire::SignedRecord& b) {
  return std::tie(a.version, a.signature) > std::tie(b.version, b.signature);
}

void append(ByteWriter& w, const DirectoryRecord& record) {
  w.u8(static_cast<std::uint8_t>(record.kind()));
  if (const auto* p = record.presence())
    append(w, *p);
  else
    wire::append(w, *record.metadata());
}

DirectoryRecord read_directory_record(ByteReader& r) {
  DirectoryRecord record;
  switch (r.u8()) {
    case static_cast<std::uint8_t>(RecordKind::kPresence):
      record.body = read_presence(r);
      break;
    case static_cast<std::uint8_t>(RecordKind::kMetadata):
      record.body = wire::read_record(r);
      break;
    default:
      r.fail();
  }
  return record;
}

std::size_t encoded_size(const DirectoryRecord& record) {
  Bytes b;
  ByteWriter w(b);
  append(w, record);
  return b.size();
}

std::uint64_t record_hash(const DirectoryRecord& record) {
  Bytes b;
  b.reserve(512);
  ByteWriter w(b);
  append(w, record);
  std::uint8_t h[crypto_generichash_BYTES_MIN];
  crypto_generichash(h, sizeof h, b.data(), b.size(), nullptr, 0);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | h[i];
  return v;
}

}  // namespace qp2p::federation
