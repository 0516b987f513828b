// STUN message codec: RFC 8489 (STUN), RFC 5780 (NAT behaviour discovery attributes) and the
// RFC 8656 (TURN) attribute numbers. Pure functions over byte buffers; no I/O.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |0 0|     STUN Message Type     |         Message Length        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         Magic Cookie                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     Transaction ID (96 bits)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  followed by TLV attributes, each padded to 4 bytes (RFC 8489 section 14).
//
// parse() validates the header and every attribute's bounds and returns views into the
// caller's buffer (no copies); MessageBuilder appends a message to a byte vector.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/core/endpoint.h"

namespace qp2p::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;
// Upper bound on attributes kept per message; a message with more is rejected.
inline constexpr std::size_t kMaxAttributes = 40;

using TransactionId = std::array<std::uint8_t, 12>;

enum class Method : std::uint16_t {
  kBinding = 0x001,
  kAllocate = 0x003,
  kRefresh = 0x004,
  kSend = 0x006,
  kData = 0x007,
  kCreatePermission = 0x008,
  kChannelBind = 0x009,
};

enum class Class : std::uint8_t { kRequest = 0, kIndication = 1, kSuccess = 2, kError = 3 };

namespace attr {
inline constexpr std::uint16_t kMappedAddress = 0x0001;
inline constexpr std::uint16_t kChangeRequest = 0x0003;       // RFC 5780
inline constexpr std::uint16_t kUsername = 0x0006;
inline constexpr std::uint16_t kMessageIntegrity = 0x0008;
inline constexpr std::uint16_t kErrorCode = 0x0009;
inline constexpr std::uint16_t kUnknownAttributes = 0x000A;
inline constexpr std::uint16_t kChannelNumber = 0x000C;       // RFC 8656
inline constexpr std::uint16_t kLifetime = 0x000D;            // RFC 8656
inline constexpr std::uint16_t kXorPeerAddress = 0x0012;      // RFC 8656
inline constexpr std::uint16_t kData = 0x0013;                // RFC 8656
inline constexpr std::uint16_t kRealm = 0x0014;
inline constexpr std::uint16_t kNonce = 0x0015;
inline constexpr std::uint16_t kXorRelayedAddress = 0x0016;   // RFC 8656
inline constexpr std::uint16_t kRequestedAddressFamily = 0x0017;
inline constexpr std::uint16_t kEvenPort = 0x0018;
inline constexpr std::uint16_t kRequestedTransport = 0x0019;  // RFC 8656
inline constexpr std::uint16_t kDontFragment = 0x001A;
inline constexpr std::uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr std::uint16_t kPasswordAlgorithm = 0x001D;
inline constexpr std::uint16_t kUserhash = 0x001E;
inline constexpr std::uint16_t kXorMappedAddress = 0x0020;
inline constexpr std::uint16_t kReservationToken = 0x0022;
inline constexpr std::uint16_t kPadding = 0x0026;             // RFC 5780
inline constexpr std::uint16_t kResponsePort = 0x0027;        // RFC 5780
inline constexpr std::uint16_t kPasswordAlgorithms = 0x8002;
inline constexpr std::uint16_t kAlternateDomain = 0x8003;
inline constexpr std::uint16_t kSoftware = 0x8022;
inline constexpr std::uint16_t kAlternateServer = 0x8023;
inline constexpr std::uint16_t kFingerprint = 0x8028;
inline constexpr std::uint16_t kResponseOrigin = 0x802B;      // RFC 5780
inline constexpr std::uint16_t kOtherAddress = 0x802C;        // RFC 5780
// Comprehension-required range is 0x0000-0x7FFF (RFC 8489 section 14).
inline constexpr bool is_comprehension_required(std::uint16_t type) { return type < 0x8000; }
}  // namespace attr

// CHANGE-REQUEST flags (RFC 5780 section 7.2).
inline constexpr std::uint32_t kChangeIp = 0x04;
inline constexpr std::uint32_t kChangePort = 0x02;

// Why parse() refused a buffer; each is a separate drop counter in the services.
enum class ParseError : std::uint8_t {
  kNone = 0,
  kTooShort,          // fewer than 20 bytes
  kNotStun,           // top two bits set or wrong magic cookie
  kBadLength,         // header length not a multiple of 4 or not matching the buffer
  kTruncatedAttribute,// an attribute runs past the end
  kTooManyAttributes,
  kAttributeAfterFingerprint,
};
const char* to_string(ParseError e);

struct AttributeView {
  std::uint16_t type = 0;
  std::uint16_t length = 0;
  // Offset of the value from the start of the message. 32 bits: a maximal message is 65552 bytes
  // (20-byte header + 65532-byte body), so a value can start beyond 65535.
  std::uint32_t offset = 0;
};

class MessageView {
 public:
  // Validates and indexes `data`; the view borrows the buffer, which must outlive it.
  static std::optional<MessageView> parse(const std::uint8_t* data, std::size_t size,
                                          ParseError* error = nullptr);
  // Cheap first-byte/cookie check for demultiplexing (RFC 7983 ranges).
  static bool looks_like_stun(const std::uint8_t* data, std::size_t size);

  Method method() const { return static_cast<Method>(method_); }
  std::uint16_t raw_method() const { return method_; }
  Class message_class() const { return class_; }
  const TransactionId& transaction_id() const { return transaction_id_; }
  const std::vector<AttributeView>& attributes() const { return attributes_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

  const AttributeView* find(std::uint16_t type) const;  // first occurrence
  const std::uint8_t* value(const AttributeView& a) const { return data_ + a.offset; }

  // Typed accessors; nullopt when absent or malformed.
  std::optional<Endpoint> xor_address(std::uint16_t type) const;  // XOR-MAPPED/PEER/RELAYED
  std::optional<Endpoint> address(std::uint16_t type) const;      // MAPPED, OTHER, RESPONSE-ORIGIN
  std::optional<std::uint32_t> u32(std::uint16_t type) const;     // CHANGE-REQUEST, LIFETIME, ...
  std::optional<std::string_view> string(std::uint16_t type) const;  // USERNAME, REALM, ...
  struct ErrorCode { int code = 0; std::string_view reason; };
  std::optional<ErrorCode> error_code() const;
  // Comprehension-required attribute types this codec does not know (for 420 responses).
  std::vector<std::uint16_t> unknown_comprehension_required(
      const std::vector<std::uint16_t>& understood) const;

  // RFC 8489 14.5 / 14.6 / 14.7: checked over the bytes before the attribute with the length
  // field adjusted as the RFC says. False when the attribute is absent.
  bool check_message_integrity(const std::uint8_t* key, std::size_t key_len) const;
  bool check_message_integrity_sha256(const std::uint8_t* key, std::size_t key_len) const;
  bool check_fingerprint() const;
  bool has_fingerprint() const { return find(attr::kFingerprint) != nullptr; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint16_t method_ = 0;
  Class class_ = Class::kRequest;
  TransactionId transaction_id_{};
  std::vector<AttributeView> attributes_;
};

class MessageBuilder {
 public:
  // Appends a header to `out` (which may already hold bytes; the message starts at the end).
  MessageBuilder(Bytes& out, Method method, Class cls, const TransactionId& id);
  MessageBuilder(Bytes& out, std::uint16_t raw_method, Class cls, const TransactionId& id);

  // Values that would take the body past 65532 bytes are truncated (or the attribute dropped),
  // so the output is always a well-formed message; callers bound their inputs first.
  MessageBuilder& add(std::uint16_t type, const std::uint8_t* value, std::size_t length);
  MessageBuilder& add_string(std::uint16_t type, std::string_view value);
  MessageBuilder& add_u32(std::uint16_t type, std::uint32_t value);
  MessageBuilder& add_address(std::uint16_t type, const Endpoint& ep);      // plain
  MessageBuilder& add_xor_address(std::uint16_t type, const Endpoint& ep);  // XOR-*
  MessageBuilder& add_error_code(int code, std::string_view reason);
  MessageBuilder& add_unknown_attributes(const std::vector<std::uint16_t>& types);
  // These three must come last, in this order (RFC 8489 14.5-14.7).
  MessageBuilder& add_message_integrity(const std::uint8_t* key, std::size_t key_len);
  MessageBuilder& add_message_integrity_sha256(const std::uint8_t* key, std::size_t key_len);
  MessageBuilder& add_fingerprint();

  std::size_t size() const { return out_.size() - start_; }
  // Value of the padding bytes after attributes that are not a multiple of 4 long. Receivers
  // ignore them (RFC 8489 section 14); 0 by default, 0x20 reproduces the RFC 5769 vectors.
  MessageBuilder& set_padding_byte(std::uint8_t value) {
    padding_byte_ = value;
    return *this;
  }

 private:
  void set_length(std::size_t body_length);
  // Appends an attribute header, room for `length` value bytes and the padding, updates the
  // message length and returns where the value goes; nullptr (nothing appended) when the body
  // would pass 65532 bytes. Builders write values in place through it.
  std::uint8_t* append_attribute(std::uint16_t type, std::size_t length);
  Bytes& out_;
  std::size_t start_;
  std::uint8_t padding_byte_ = 0;
};

// Long-term credential key, RFC 8489 9.2.2: MD5(username ":" realm ":" password).
std::array<std::uint8_t, 16> long_term_key(std::string_view username, std::string_view realm,
                                           std::string_view password);

}  // namespace qp2p::stun
