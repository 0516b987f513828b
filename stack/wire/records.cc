// Encoding and signing of peer records; layout in docs/protocol.md ("Records").
#include "stack/wire/records.h"

#include <algorithm>

namespace qp2p::wire {

namespace {
constexpr std::string_view kRecordDomain = "qp2p record v1";
}

std::string validate_entries(const MetaEntries& entries) {
  if (entries.size() > kMaxEntries)
    return "too many metadata entries (" + std::to_string(entries.size()) + " > " +
           std::to_string(kMaxEntries) + ")";
  std::size_t total = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& [key, value] = entries[i];
    if (key.empty()) return "empty metadata key";
    if (key.size() > kMaxKeyBytes) return "metadata key '" + key.substr(0, 16) + "...' too long";
    if (value.size() > kMaxValueBytes) return "metadata value of '" + key + "' too long";
    if (key.find('=') != std::string::npos) return "metadata key '" + key + "' contains '='";
    if (i > 0 && !(entries[i - 1].first < key)) return "metadata keys not sorted and unique";
    total += key.size() + value.size();
  }
  if (total > kMaxRecordBytes) return "metadata larger than " + std::to_string(kMaxRecordBytes);
  return {};
}

Bytes SignedRecord::signed_bytes() const {
  Bytes out;
  ByteWriter w(out);
  w.bytes(reinterpret_cast<const std::uint8_t*>(kRecordDomain.data()), kRecordDomain.size());
  append_key(w, owner);
  w.u64(version);
  w.u8(static_cast<std::uint8_t>(entries.size()));
  for (const auto& [k, v] : entries) {
    w.str16(k);
    w.str16(v);
  }
  return out;
}

bool SignedRecord::verify() const {
  if (!validate_entries(entries).empty()) return false;
  Bytes b = signed_bytes();
  return verify_signature(owner, b.data(), b.size(), signature);
}

SignedRecord SignedRecord::make(const Identity& owner, std::uint64_t version,
                                MetaEntries entries) {
  std::sort(entries.begin(), entries.end());
  SignedRecord r;
  r.owner = owner.id();
  r.version = version;
  r.entries = std::move(entries);
  Bytes b = r.signed_bytes();
  r.signature = owner.sign(b.data(), b.size());
  return r;
}

const std::string* SignedRecord::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

void append(ByteWriter& w, const Endpoint& e) {
  w.u8(e.address.is_v4() ? 4 : 6);
  w.bytes(e.address.data(), e.address.size());
  w.u16(e.port);
}

Endpoint read_endpoint(ByteReader& r) {
  Endpoint e;
  std::uint8_t family = r.u8();
  if (family == 4) {
    std::array<std::uint8_t, 4> b{};
    r.bytes(b.data(), b.size());
    e.address = IpAddress::v4(b);
  } else if (family == 6) {
    std::array<std::uint8_t, 16> b{};
    r.bytes(b.data(), b.size());
    e.address = IpAddress::v6(b);
  } else {
    r.fail();
  }
  e.port = r.u16();
  return e;
}

void append_key(ByteWriter& w, const PeerId& id) { w.bytes(id.key.data(), id.key.size()); }

PeerId read_key(ByteReader& r) {
  PeerId id;
  r.bytes(id.key.data(), id.key.size());
  return id;
}

void append(ByteWriter& w, const SignedRecord& record) {
  append_key(w, record.owner);
  w.u64(record.version);
  w.u8(static_cast<std::uint8_t>(record.entries.size()));
  for (const auto& [k, v] : record.entries) {
    w.str16(k);
    w.str16(v);
  }
  w.bytes(record.signature.data(), record.signature.size());
}

SignedRecord read_record(ByteReader& r) {
  SignedRecord record;
  record.owner = read_key(r);
  record.version = r.u64();
  std::size_t n = r.u8();
  if (n > kMaxEntries) {
    r.fail();
    return record;
  }
  record.entries.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    std::string k = r.str16(kMaxKeyBytes);
    std::string v = r.str16(kMaxValueBytes);
    record.entries.emplace_back(std::move(k), std::move(v));
  }
  r.bytes(record.signature.data(), record.signature.size());
  return record;
}

void append(ByteWriter& w, const PeerInfo& info) {
  append_key(w, info.id);
  w.u8(static_cast<std::uint8_t>((info.online ? 1 : 0) | (info.record ? 2 : 0)));
  append(w, info.mapped);
  append_key(w, info.supernode);
  if (info.record) append(w, *info.record);
}

PeerInfo read_peer_info(ByteReader& r) {
  PeerInfo info;
  info.id = read_key(r);
  std::uint8_t flags = r.u8();
  if (flags & ~3u) r.fail();
  info.online = flags & 1;
  info.mapped = read_endpoint(r);
  info.supernode = read_key(r);
  if (flags & 2) info.record = read_record(r);
  return info;
}

}  // namespace qp2p::wire
