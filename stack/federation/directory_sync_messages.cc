// Encoding and bounded decoding of the directory sync messages (see directory_sync_messages.h).
#include "stack/federation/directory_sync_messages.h"

#include "stack/wire/records.h"

namespace qp2p::federation {

const char* to_string(SyncDecodeError error) {
  switch (error) {
    case SyncDecodeError::kNone:
      return "none";
    case SyncDecodeError::kEmpty:
      return "empty payload";
    case SyncDecodeError::kTooLarge:
      return "payload too large";
    case SyncDecodeError::kUnknownType:
      return "unknown message type";
    case SyncDecodeError::kBadCount:
      return "count out of bounds";
    case SyncDecodeError::kBadField:
      return "field out of range";
    case SyncDecodeError::kBadRecord:
      return "malformed directory record";
    case SyncDecodeError::kUnordered:
      return "digest entries unordered or out of range";
    case SyncDecodeError::kTruncated:
      return "truncated";
    case SyncDecodeError::kTrailingBytes:
      return "trailing bytes";
    case SyncDecodeError::kCount:
      break;
  }
  return "unknown";
}

namespace {

void append_records(ByteWriter& w, const std::vector<DirectoryRecord>& records) {
  w.u16(static_cast<std::uint16_t>(records.size()));
  for (const auto& r : records) append(w, r);
}

struct Encoder {
  ByteWriter& w;
  void operator()(const Push& m) {
    w.u8(static_cast<std::uint8_t>(SyncType::kPush));
    append_records(w, m.records);
  }
  void operator()(const Summary& m) {
    w.u8(static_cast<std::uint8_t>(SyncType::kSummary));
    w.u8(m.level);
    w.u16(m.first);
    w.u8(static_cast<std::uint8_t>(m.hashes.size()));
    w.u64(m.root);
    w.u32(m.records);
    w.u16(m.pace);
    for (std::uint64_t h : m.hashes) w.u64(h);
  }
  void operator()(const RequestBucket& m) {
    w.u8(static_cast<std::uint8_t>(SyncType::kRequestBucket));
    w.u16(m.bucket);
    wire::append_key(w, m.first);
    wire::append_key(w, m.last);
    w.u16(static_cast<std::uint16_t>(m.entries.size()));
    for (const auto& e : m.entries) {
      wire::append_key(w, e.peer);
      w.u64(e.presence_hlc);
      w.u64(e.presence_hash);
      w.u64(e.metadata_version);
      w.u64(e.metadata_hash);
    }
  }
  void operator()(const RecordsResponse& m) {
    w.u8(static_cast<std::uint8_t>(SyncType::kRecords));
    w.u16(m.bucket);
    w.u16(m.pace);
    w.u16(static_cast<std::uint16_t>(m.wants.size()));
    for (const auto& id : m.wants) wire::append_key(w, id);
    append_records(w, m.records);
  }
};

// Reads `count` (bounded by `max`, at least `min`) records; sets `error` on failure.
std::vector<DirectoryRecord> read_records(ByteReader& r, std::size_t min, SyncDecodeError& error) {
  std::vector<DirectoryRecord> out;
  const std::size_t n = r.u16();
  if (!r.ok()) return out;
  if (n < min || n > kMaxSyncRecords) {
    error = SyncDecodeError::kBadCount;
    return out;
  }
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(read_directory_record(r));
    if (!r.ok()) {
      error = SyncDecodeError::kBadRecord;
      return out;
    }
  }
  return out;
}

std::optional<SyncMessage> decode_body(SyncType type, ByteReader& r, SyncDecodeError& error) {
  switch (type) {
    case SyncType::kPush: {
      Push m;
      m.records = read_records(r, 1, error);
      return m;
    }
    case SyncType::kSummary: {
      Summary m;
      m.level = r.u8();
      m.first = r.u16();
      const std::size_t n = r.u8();
      m.root = r.u64();
      m.records = r.u32();
      m.pace = r.u16();
      if (!r.ok()) return std::nullopt;
      if (n == 0 || n > kMaxSummaryHashes) {
        error = SyncDecodeError::kBadCount;
        return std::nullopt;
      }
      const std::size_t nodes = m.level == 1 ? kBranches : kBuckets;
      if ((m.level != 1 && m.level != 2) || m.first + n > nodes) {
        error = SyncDecodeError::kBadField;
        return std::nullopt;
      }
      for (std::size_t i = 0; i < n && r.ok(); ++i) m.hashes.push_back(r.u64());
      return m;
    }
    case SyncType::kRequestBucket: {
      RequestBucket m;
      m.bucket = r.u16();
      m.first = wire::read_key(r);
      m.last = wire::read_key(r);
      const std::size_t n = r.u16();
      if (!r.ok()) return std::nullopt;
      if (m.bucket >= kBuckets) {
        error = SyncDecodeError::kBadField;
        return std::nullopt;
      }
      if (n > kMaxDigestEntries) {
        error = SyncDecodeError::kBadCount;
        return std::nullopt;
      }
      if (m.last < m.first || m.first < bucket_first(m.bucket) || bucket_last(m.bucket) < m.last) {
        error = SyncDecodeError::kUnordered;
        return std::nullopt;
      }
      for (std::size_t i = 0; i < n && r.ok(); ++i) {
        EntryDigest e;
        e.peer = wire::read_key(r);
        e.presence_hlc = r.u64();
        e.presence_hash = r.u64();
        e.metadata_version = r.u64();
        e.metadata_hash = r.u64();
        if (r.ok() && (e.peer < m.first || m.last < e.peer ||
                       (!m.entries.empty() && !(m.entries.back().peer < e.peer)))) {
          error = SyncDecodeError::kUnordered;
          return std::nullopt;
        }
        m.entries.push_back(e);
      }
      return m;
    }
    case SyncType::kRecords: {
      RecordsResponse m;
      m.bucket = r.u16();
      m.pace = r.u16();
      const std::size_t wants = r.u16();
      if (!r.ok()) return std::nullopt;
      if (m.bucket >= kBuckets) {
        error = SyncDecodeError::kBadField;
        return std::nullopt;
      }
      if (wants > kMaxWants) {
        error = SyncDecodeError::kBadCount;
        return std::nullopt;
      }
      for (std::size_t i = 0; i < wants && r.ok(); ++i) m.wants.push_back(wire::read_key(r));
      if (!r.ok()) return std::nullopt;
      m.records = read_records(r, 0, error);
      return m;
    }
  }
  error = SyncDecodeError::kUnknownType;
  return std::nullopt;
}

}  // namespace

Bytes encode(const SyncMessage& message) {
  Bytes out;
  ByteWriter w(out);
  std::visit(Encoder{w}, message);
  return out;
}

std::optional<SyncMessage> decode(const std::uint8_t* data, std::size_t size,
                                  SyncDecodeError* error) {
  SyncDecodeError e = SyncDecodeError::kNone;
  std::optional<SyncMessage> m;
  if (size == 0) {
    e = SyncDecodeError::kEmpty;
  } else if (size > kMaxSyncPayloadBytes) {
    e = SyncDecodeError::kTooLarge;
  } else {
    ByteReader r(data, size);
    const std::uint8_t type = r.u8();
    if (type < 1 || type > 4) {
      e = SyncDecodeError::kUnknownType;
    } else {
      m = decode_body(static_cast<SyncType>(type), r, e);
      if (e == SyncDecodeError::kNone && !r.ok()) e = SyncDecodeError::kTruncated;
      if (e == SyncDecodeError::kNone && !r.at_end()) e = SyncDecodeError::kTrailingBytes;
    }
  }
  if (e != SyncDecodeError::kNone) m.reset();
  if (error) *error = e;
  return m;
}

}  // namespace qp2p::federation
