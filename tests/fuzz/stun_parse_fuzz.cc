// Fuzz target for the STUN parser (RFC 8489 section 5 and 14): parses arbitrary bytes, calls
// every accessor, and checks that rebuilding the indexed attributes parses back the same.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "stack/stun/stun_message.h"

namespace {

using namespace qp2p;
using namespace qp2p::stun;

void require(bool condition) {
  if (!condition) std::abort();
}

void exercise_accessors(const MessageView& m) {
  volatile std::uint32_t sink = 0;
  sink = sink + m.raw_method() + static_cast<std::uint32_t>(m.method()) +
         static_cast<std::uint32_t>(m.message_class()) + m.transaction_id()[11];
  for (const AttributeView& a : m.attributes()) {
    require(a.offset >= kHeaderSize + 4 && a.offset + a.length <= m.size());
    const std::uint8_t* v = m.value(a);
    for (std::size_t i = 0; i < a.length; ++i) sink = sink + v[i];
    require(m.find(a.type) != nullptr);
  }
  for (std::uint16_t type :
       {attr::kXorMappedAddress, attr::kXorPeerAddress, attr::kXorRelayedAddress,
        attr::kMappedAddress, attr::kOtherAddress, attr::kResponseOrigin, attr::kAlternateServer}) {
    if (auto e = m.xor_address(type)) sink = sink + e->port + e->address.data()[0];
    if (auto e = m.address(type)) sink = sink + static_cast<std::uint32_t>(e->to_string().size());
  }
  for (std::uint16_t type : {attr::kChangeRequest, attr::kLifetime, attr::kRequestedTransport,
                             attr::kChannelNumber, attr::kResponsePort, attr::kFingerprint}) {
    if (auto v = m.u32(type)) sink = sink + *v;
  }
  for (std::uint16_t type : {attr::kUsername, attr::kRealm, attr::kNonce, attr::kSoftware,
                             attr::kData, attr::kUserhash}) {
    if (auto s = m.string(type)) sink = sink + static_cast<std::uint32_t>(s->size());
  }
  if (auto ec = m.error_code()) {
    require(ec->code >= 300 && ec->code <= 699);
    sink = sink + static_cast<std::uint32_t>(ec->reason.size());
  }
  sink = sink +
         static_cast<std::uint32_t>(
             m.unknown_comprehension_required({attr::kUsername, attr::kMessageIntegrity}).size());
  static const std::uint8_t kKey[] = {'k', 'e', 'y'};
  sink = sink + m.check_message_integrity(kKey, sizeof kKey) +
         m.check_message_integrity_sha256(kKey, sizeof kKey) + m.check_fingerprint() +
         m.has_fingerprint();
}

// Re-encoding the indexed attributes must give a message that parses to the same index.
void check_rebuild(const MessageView& m) {
  Bytes out;
  MessageBuilder b(out, m.raw_method(), m.message_class(), m.transaction_id());
  for (const AttributeView& a : m.attributes()) b.add(a.type, m.value(a), a.length);
  auto again = MessageView::parse(out.data(), out.size());
  require(again.has_value());
  require(again->attributes().size() == m.attributes().size());
  for (std::size_t i = 0; i < m.attributes().size(); ++i) {
    const AttributeView& x = m.attributes()[i];
    const AttributeView& y = again->attributes()[i];
    require(x.type == y.type && x.length == y.length);
    require(std::memcmp(m.value(x), again->value(y), x.length) == 0);
  }
  require(again->raw_method() == m.raw_method() && again->message_class() == m.message_class());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bool looks = MessageView::looks_like_stun(data, size);
  ParseError error = ParseError::kNone;
  auto m = MessageView::parse(data, size, &error);
  require(to_string(error) != nullptr);
  if (!m) {
    require(error != ParseError::kNone);
    return 0;
  }
  require(looks && error == ParseError::kNone && m->size() == size);
  exercise_accessors(*m);
  check_rebuild(*m);
  return 0;
}
