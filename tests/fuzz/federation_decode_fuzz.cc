// Fuzz target for the federation wire format (docs/protocol.md section 14,
// stack/federation/federation_wire.h and federation_seal.h). Each input is used three ways:
//  1. federation::decode over the raw bytes: what decodes must re-encode to the same bytes;
//  2. the raw bytes handed to a Membership as a datagram (nearly all fail the envelope checks);
//  3. the bytes signed by a fixed sender, sealed with the network key and handed to the
//     Membership, so the plaintext
//     decoder and every handler behind authentication see arbitrary values.
// Every datagram the member emits must fit kMaxDatagram and open with the key. Never a crash.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "stack/federation/federation_seal.h"
#include "stack/federation/membership.h"

namespace {

using namespace qp2p;
using namespace qp2p::federation;

void require(bool condition) {
  if (!condition) std::abort();
}

const NetworkKey& key() {
  static const NetworkKey k = *NetworkKey::from_secret("fuzzing federation secret 0123", nullptr);
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  spdlog::set_level(spdlog::level::off);
  if (auto m = decode(data, size, nullptr)) {
    Bytes again;
    require(encode(*m, again) == m->gossip.size());
    require(again.size() == size && std::memcmp(again.data(), data, size) == 0);
  }
  const Endpoint self = *Endpoint::parse("192.0.2.1:7000");
  const Endpoint remote = *Endpoint::parse("192.0.2.2:7000");
  MembershipConfig config;
  config.local = self;
  config.seeds = {remote};
  static const Identity self_identity = Identity::from_seed(Identity::Seed{1});
  static const Identity sender = Identity::from_seed(Identity::Seed{2});
  Membership member(config, self_identity, key(), Random::from_u64(1));
  Random random = Random::from_u64(2);
  Instant now = instant_from_us(1000);
  member.handle_timeout(now);
  member.handle_datagram(now, self, remote, data, size);
  if (size <= kMaxMessage) {
    // Past the checks in front of the handlers: addressed to anyone (zero `to`) half the time,
    // from a known sender that signs it, with a counter fresh by the receiver's clock.
    Bytes plain(data, data + size);
    if (size >= 72) {
      if (data[0] % 2 == 0) std::memset(plain.data(), 0, 32);
      std::memcpy(plain.data() + 32, sender.id().key.data(), 32);
      const std::uint64_t counter = static_cast<std::uint64_t>(to_us(now));
      for (int i = 0; i < 8; ++i) plain[64 + i] = static_cast<std::uint8_t>(counter >> (56 - 8 * i));
    }
    const Bytes to_sign = signed_message(plain.data(), plain.size());
    const Signature sig = sender.sign(to_sign.data(), to_sign.size());
    plain.insert(plain.end(), sig.begin(), sig.end());
    Bytes sealed;
    seal(key(), random, plain, sealed);
    member.handle_datagram(now, self, remote, sealed.data(), sealed.size());
  }
  member.handle_timeout(now + std::chrono::seconds(2));
  while (auto d = member.poll_transmit()) {
    require(d->payload.size() <= kMaxDatagram);
    require(open(key(), d->payload.data(), d->payload.size(), nullptr).has_value());
  }
  while (member.poll_event()) {
  }
  return 0;
}
