// STUN message parse and build, RFC 8489 sections 5 (header), 14 (attributes), 14.5-14.7
// (MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT) and RFC 5780 section 7.
#include "stack/stun/stun_message.h"

#include <algorithm>
#include <cstring>

#include "stack/stun/legacy_hash.h"

namespace qp2p::stun {
namespace {

constexpr std::uint32_t kFingerprintXor = 0x5354554e;  // "STUN", RFC 8489 section 14.7
constexpr std::size_t kAttributeHeaderSize = 4;
// The length field is 16 bits and always a multiple of 4.
constexpr std::size_t kMaxBodySize = 0xFFFC;
constexpr std::size_t kSha1MacSize = 20;
constexpr std::size_t kSha256MacSize = 32;
// RFC 8489 14.6: MESSAGE-INTEGRITY-SHA256 may be truncated, to no fewer than 16 bytes.
constexpr std::size_t kMinSha256MacSize = 16;
constexpr std::size_t kFingerprintSize = 4;
constexpr std::uint8_t kFamilyV4 = 0x01;
constexpr std::uint8_t kFamilyV6 = 0x02;
constexpr std::size_t kV4AddressValueSize = 8;
constexpr std::size_t kV6AddressValueSize = 20;
// Enough for the usual Binding request without growing, small enough to be cheap to allocate.
constexpr std::size_t kInitialAttributeCapacity = 8;
// Room for a Binding response with three IPv6 addresses, SOFTWARE and both integrities.
constexpr std::size_t kTypicalMessageSize = 192;

inline std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
inline void store_be16(std::uint8_t* p, std::size_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
inline std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

// RFC 8489 section 5: method bits M0-M11 interleaved with class bits C0 (bit 4) and C1 (bit 8).
inline std::uint16_t encode_type(std::uint16_t method, Class cls) {
  unsigned m = method & 0x0FFF;
  unsigned c = static_cast<unsigned>(cls);
  return static_cast<std::uint16_t>((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) |
                                    ((c & 1) << 4) | ((c & 2) << 7));
}

// The 16 bytes an address is XORed with: the magic cookie, then (IPv6 only) the transaction id.
inline void xor_mask(const TransactionId& id, std::uint8_t* mask) {
  store_be32(mask, kMagicCookie);
  std::memcpy(mask + 4, id.data(), id.size());
}

// MAPPED-ADDRESS layout (RFC 8489 14.1): reserved byte, family, port, 4 or 16 address bytes.
std::optional<Endpoint> decode_address(const std::uint8_t* v, std::size_t length,
                                       const TransactionId* xor_with) {
  if (length < kAttributeHeaderSize) return std::nullopt;
  std::uint8_t family = v[1];
  std::uint16_t port = load_be16(v + 2);
  std::uint8_t mask[16] = {};
  if (xor_with) {
    xor_mask(*xor_with, mask);
    port = static_cast<std::uint16_t>(port ^ (kMagicCookie >> 16));
  }
  Endpoint ep;
  ep.port = port;
  if (family == kFamilyV4 && length == kV4AddressValueSize) {
    std::array<std::uint8_t, 4> a;
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = v[4 + i] ^ mask[i];
    ep.address = IpAddress::v4(a);
    return ep;
  }
  if (family == kFamilyV6 && length == kV6AddressValueSize) {
    std::array<std::uint8_t, 16> a;
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = v[4 + i] ^ mask[i];
    ep.address = IpAddress::v6(a);
    return ep;
  }
  return std::nullopt;  // unknown family, or a length that does not match it
}

}  // namespace

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::kNone:
      return "none";
    case ParseError::kTooShort:
      return "too short";
    case ParseError::kNotStun:
      return "not STUN";
    case ParseError::kBadLength:
      return "bad length";
    case ParseError::kTruncatedAttribute:
      return "truncated attribute";
    case ParseError::kTooManyAttributes:
      return "too many attributes";
    case ParseError::kAttributeAfterFingerprint:
      return "attribute after FINGERPRINT";
  }
  return "unknown";
}

// ---- MessageView ----------------------------------------------------------------------------

bool MessageView::looks_like_stun(const std::uint8_t* data, std::size_t size) {
  return size >= kHeaderSize && (data[0] & 0xC0) == 0 && load_be32(data + 4) == kMagicCookie;
}

std::optional<MessageView> MessageView::parse(const std::uint8_t* data, std::size_t size,
                                              ParseError* error) {
  auto fail = [error](ParseError e) -> std::optional<MessageView> {
    if (error) *error = e;
    return std::nullopt;
  };
  if (size < kHeaderSize) return fail(ParseError::kTooShort);
  if (!looks_like_stun(data, size)) return fail(ParseError::kNotStun);
  const std::size_t body_size = load_be16(data + 2);
  if (body_size % 4 != 0 || body_size + kHeaderSize != size) return fail(ParseError::kBadLength);

  std::optional<MessageView> result(std::in_place);
  MessageView& view = *result;
  view.data_ = data;
  view.size_ = size;
  const std::uint16_t type = load_be16(data);
  view.method_ =
      static_cast<std::uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  view.class_ = static_cast<Class>(((type >> 4) & 1) | ((type >> 7) & 2));
  std::memcpy(view.transaction_id_.data(), data + 8, view.transaction_id_.size());
  if (body_size > 0) {
    // Every attribute takes at least 4 bytes, so body/4 bounds the count.
    view.attributes_.reserve(std::min(body_size / 4, kInitialAttributeCapacity));
  }

  // RFC 8489 14.5/14.6: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
  // count, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT; anything else there is skipped
  // (bounds-checked, not indexed). Nothing may follow FINGERPRINT (14.7).
  enum class Stage { kOpen, kAfterIntegrity, kAfterIntegritySha256, kAfterFingerprint };
  Stage stage = Stage::kOpen;
  std::size_t count = 0;
  std::size_t pos = kHeaderSize;
  while (pos < size) {
    if (stage == Stage::kAfterFingerprint) return fail(ParseError::kAttributeAfterFingerprint);
    if (size - pos < kAttributeHeaderSize) return fail(ParseError::kTruncatedAttribute);
    const std::uint16_t type = load_be16(data + pos);
    const std::uint16_t length = load_be16(data + pos + 2);
    const std::size_t value_at = pos + kAttributeHeaderSize;
    if (padded(length) > size - value_at) return fail(ParseError::kTruncatedAttribute);
    if (++count > kMaxAttributes) return fail(ParseError::kTooManyAttributes);

    bool keep = stage == Stage::kOpen;
    if (type == attr::kFingerprint) {
      keep = true;
      stage = Stage::kAfterFingerprint;
    } else if (type == attr::kMessageIntegrity && stage == Stage::kOpen) {
      stage = Stage::kAfterIntegrity;
    } else if (type == attr::kMessageIntegritySha256 &&
               (stage == Stage::kOpen || stage == Stage::kAfterIntegrity)) {
      keep = true;
      stage = Stage::kAfterIntegritySha256;
    }
    if (keep) {
      view.attributes_.push_back(AttributeView{type, length, static_cast<std::uint32_t>(value_at)});
    }
    pos = value_at + padded(length);
  }
  if (error) *error = ParseError::kNone;
  return result;
}

const AttributeView* MessageView::find(std::uint16_t type) const {
  for (const AttributeView& a : attributes_) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

std::optional<Endpoint> MessageView::xor_address(std::uint16_t type) const {
  const AttributeView* a = find(type);
  if (!a) return std::nullopt;
  return decode_address(value(*a), a->length, &transaction_id_);
}

std::optional<Endpoint> MessageView::address(std::uint16_t type) const {
  const AttributeView* a = find(type);
  if (!a) return std::nullopt;
  return decode_address(value(*a), a->length, nullptr);
}

std::optional<std::uint32_t> MessageView::u32(std::uint16_t type) const {
  const AttributeView* a = find(type);
  if (!a || a->length != 4) return std::nullopt;
  return load_be32(value(*a));
}

std::optional<std::string_view> MessageView::string(std::uint16_t type) const {
  const AttributeView* a = find(type);
  if (!a) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(value(*a)), a->length);
}

std::optional<MessageView::ErrorCode> MessageView::error_code() const {
  // RFC 8489 14.8: 21 reserved bits, 3-bit class (3..6), 8-bit number (0..99), UTF-8 reason.
  const AttributeView* a = find(attr::kErrorCode);
  if (!a || a->length < 4) return std::nullopt;
  const std::uint8_t* v = value(*a);
  int error_class = v[2] & 0x07;
  int number = v[3];
  if (error_class < 3 || error_class > 6 || number > 99) return std::nullopt;
  ErrorCode ec;
  ec.code = error_class * 100 + number;
  ec.reason = std::string_view(reinterpret_cast<const char*>(v + 4), a->length - 4u);
  return ec;
}

std::vector<std::uint16_t> MessageView::unknown_comprehension_required(
    const std::vector<std::uint16_t>& understood) const {
  std::vector<std::uint16_t> unknown;
  for (const AttributeView& a : attributes_) {
    if (!attr::is_comprehension_required(a.type)) continue;
    if (std::find(understood.begin(), understood.end(), a.type) != understood.end()) continue;
    if (std::find(unknown.begin(), unknown.end(), a.type) != unknown.end()) continue;
    unknown.push_back(a.type);
  }
  return unknown;
}

bool MessageView::check_message_integrity(const std::uint8_t* key, std::size_t key_len) const {
  const AttributeView* a = find(attr::kMessageIntegrity);
  if (!a || a->length != kSha1MacSize) return false;
  // The HMAC covers everything before the attribute, with the header length counting up to
  // the end of this attribute (so a FINGERPRINT after it is left out).
  const std::size_t attr_at = a->offset - kAttributeHeaderSize;
  std::uint8_t header[kHeaderSize];
  std::memcpy(header, data_, kHeaderSize);
  store_be16(header + 2, a->offset + kSha1MacSize - kHeaderSize);
  Sha1Digest mac = hmac_sha1(key, key_len,
                             {{header, kHeaderSize}, {data_ + kHeaderSize, attr_at - kHeaderSize}});
  return equal_constant_time(mac.data(), value(*a), kSha1MacSize);
}

bool MessageView::check_message_integrity_sha256(const std::uint8_t* key,
                                                 std::size_t key_len) const {
  const AttributeView* a = find(attr::kMessageIntegritySha256);
  if (!a || a->length < kMinSha256MacSize || a->length > kSha256MacSize || a->length % 4 != 0) {
    return false;
  }
  const std::size_t attr_at = a->offset - kAttributeHeaderSize;
  std::uint8_t header[kHeaderSize];
  std::memcpy(header, data_, kHeaderSize);
  store_be16(header + 2, a->offset + a->length - kHeaderSize);
  Sha256Digest mac = hmac_sha256(
      key, key_len, {{header, kHeaderSize}, {data_ + kHeaderSize, attr_at - kHeaderSize}});
  // A truncated MAC is compared on its leading bytes (RFC 8489 14.6).
  return equal_constant_time(mac.data(), value(*a), a->length);
}

bool MessageView::check_fingerprint() const {
  const AttributeView* a = find(attr::kFingerprint);
  if (!a || a->length != kFingerprintSize) return false;
  // parse() guarantees FINGERPRINT is last, so the header length already ends at it.
  const std::uint32_t expected = crc32(data_, a->offset - kAttributeHeaderSize) ^ kFingerprintXor;
  return load_be32(value(*a)) == expected;
}

// ---- MessageBuilder -------------------------------------------------------------------------

MessageBuilder::MessageBuilder(Bytes& out, Method method, Class cls, const TransactionId& id)
    : MessageBuilder(out, static_cast<std::uint16_t>(method), cls, id) {}

MessageBuilder::MessageBuilder(Bytes& out, std::uint16_t raw_method, Class cls,
                               const TransactionId& id)
    : out_(out), start_(out.size()) {
  // Grow geometrically when the caller keeps appending messages to one buffer; a reused buffer
  // with spare capacity is left alone.
  if (out_.capacity() - start_ < kTypicalMessageSize) {
    out_.reserve(std::max(start_ + kTypicalMessageSize, 2 * out_.capacity()));
  }
  out_.resize(start_ + kHeaderSize);
  std::uint8_t* h = out_.data() + start_;
  store_be16(h, encode_type(raw_method, cls));
  store_be16(h + 2, 0);
  store_be32(h + 4, kMagicCookie);
  std::memcpy(h + 8, id.data(), id.size());
}

void MessageBuilder::set_length(std::size_t body_length) {
  store_be16(out_.data() + start_ + 2, body_length);
}

std::uint8_t* MessageBuilder::append_attribute(std::uint16_t type, std::size_t length) {
  const std::size_t body = out_.size() - start_ - kHeaderSize;
  const std::size_t needed = kAttributeHeaderSize + padded(length);
  if (needed > kMaxBodySize - body) return nullptr;
  const std::size_t at = out_.size();
  out_.resize(at + needed);
  std::uint8_t* p = out_.data() + at;
  store_be16(p, type);
  store_be16(p + 2, length);
  for (std::size_t i = kAttributeHeaderSize + length; i < needed; ++i) p[i] = padding_byte_;
  set_length(body + needed);
  return p + kAttributeHeaderSize;
}

MessageBuilder& MessageBuilder::add(std::uint16_t type, const std::uint8_t* value,
                                    std::size_t length) {
  const std::size_t body = out_.size() - start_ - kHeaderSize;
  const std::size_t room = kMaxBodySize - body;
  if (room < kAttributeHeaderSize) return *this;
  length = std::min(length, room - kAttributeHeaderSize);
  std::uint8_t* p = append_attribute(type, length);
  if (p && length > 0) std::memcpy(p, value, length);
  return *this;
}

MessageBuilder& MessageBuilder::add_string(std::uint16_t type, std::string_view value) {
  return add(type, reinterpret_cast<const std::uint8_t*>(value.data()), value.size());
}

MessageBuilder& MessageBuilder::add_u32(std::uint16_t type, std::uint32_t value) {
  if (std::uint8_t* p = append_attribute(type, 4)) store_be32(p, value);
  return *this;
}

MessageBuilder& MessageBuilder::add_address(std::uint16_t type, const Endpoint& ep) {
  const bool v4 = ep.address.is_v4();
  std::uint8_t* p = append_attribute(type, v4 ? kV4AddressValueSize : kV6AddressValueSize);
  if (!p) return *this;
  p[0] = 0;
  p[1] = v4 ? kFamilyV4 : kFamilyV6;
  store_be16(p + 2, ep.port);
  std::memcpy(p + 4, ep.address.data(), ep.address.size());
  return *this;
}

MessageBuilder& MessageBuilder::add_xor_address(std::uint16_t type, const Endpoint& ep) {
  const bool v4 = ep.address.is_v4();
  std::uint8_t* p = append_attribute(type, v4 ? kV4AddressValueSize : kV6AddressValueSize);
  if (!p) return *this;
  // The cookie and transaction id are read back from this message's header.
  const std::uint8_t* mask = out_.data() + start_ + 4;
  p[0] = 0;
  p[1] = v4 ? kFamilyV4 : kFamilyV6;
  store_be16(p + 2, ep.port ^ (kMagicCookie >> 16));
  const std::uint8_t* a = ep.address.data();
  for (std::size_t i = 0; i < ep.address.size(); ++i) p[4 + i] = a[i] ^ mask[i];
  return *this;
}

MessageBuilder& MessageBuilder::add_error_code(int code, std::string_view reason) {
  const std::size_t body = out_.size() - start_ - kHeaderSize;
  const std::size_t room = kMaxBodySize - body;
  if (room < 2 * kAttributeHeaderSize) return *this;
  const std::size_t reason_len = std::min(reason.size(), room - 2 * kAttributeHeaderSize);
  std::uint8_t* p = append_attribute(attr::kErrorCode, 4 + reason_len);
  if (!p) return *this;
  p[0] = 0;
  p[1] = 0;
  p[2] = static_cast<std::uint8_t>((code / 100) & 0x07);
  p[3] = static_cast<std::uint8_t>(code % 100);
  if (reason_len > 0) std::memcpy(p + 4, reason.data(), reason_len);
  return *this;
}

MessageBuilder& MessageBuilder::add_unknown_attributes(const std::vector<std::uint16_t>& types) {
  const std::size_t body = out_.size() - start_ - kHeaderSize;
  const std::size_t room = kMaxBodySize - body;
  if (room < kAttributeHeaderSize) return *this;
  const std::size_t count = std::min(types.size(), (room - kAttributeHeaderSize) / 2);
  std::uint8_t* p = append_attribute(attr::kUnknownAttributes, 2 * count);
  if (!p) return *this;
  for (std::size_t i = 0; i < count; ++i) store_be16(p + 2 * i, types[i]);
  return *this;
}

MessageBuilder& MessageBuilder::add_message_integrity(const std::uint8_t* key,
                                                      std::size_t key_len) {
  const std::size_t attr_at = out_.size();
  std::uint8_t* p = append_attribute(attr::kMessageIntegrity, kSha1MacSize);
  if (!p) return *this;
  // append_attribute already set the length to end at this attribute, as the HMAC requires.
  Sha1Digest mac = hmac_sha1(key, key_len, {{out_.data() + start_, attr_at - start_}});
  std::memcpy(out_.data() + attr_at + kAttributeHeaderSize, mac.data(), mac.size());
  return *this;
}

MessageBuilder& MessageBuilder::add_message_integrity_sha256(const std::uint8_t* key,
                                                             std::size_t key_len) {
  const std::size_t attr_at = out_.size();
  std::uint8_t* p = append_attribute(attr::kMessageIntegritySha256, kSha256MacSize);
  if (!p) return *this;
  Sha256Digest mac = hmac_sha256(key, key_len, {{out_.data() + start_, attr_at - start_}});
  std::memcpy(out_.data() + attr_at + kAttributeHeaderSize, mac.data(), mac.size());
  return *this;
}

MessageBuilder& MessageBuilder::add_fingerprint() {
  const std::size_t attr_at = out_.size();
  std::uint8_t* p = append_attribute(attr::kFingerprint, kFingerprintSize);
  if (!p) return *this;
  std::uint32_t crc = crc32(out_.data() + start_, attr_at - start_) ^ kFingerprintXor;
  store_be32(out_.data() + attr_at + kAttributeHeaderSize, crc);
  return *this;
}

std::array<std::uint8_t, 16> long_term_key(std::string_view username, std::string_view realm,
                                           std::string_view password) {
  // The caller passes username, realm and password already through OpaqueString / SASLprep.
  static constexpr std::uint8_t kColon = ':';
  Md5 h;
  h.update(reinterpret_cast<const std::uint8_t*>(username.data()), username.size());
  h.update(&kColon, 1);
  h.update(reinterpret_cast<const std::uint8_t*>(realm.data()), realm.size());
  h.update(&kColon, 1);
  h.update(reinterpret_cast<const std::uint8_t*>(password.data()), password.size());
  return h.finish();
}

}  // namespace qp2p::stun
