// RFC 8489 section 6.3 (server processing of a Binding request) and RFC 5780 sections 6-7
// (CHANGE-REQUEST, RESPONSE-PORT, RESPONSE-ORIGIN, OTHER-ADDRESS).
#include "stack/supernode/stun_service.h"

#include <spdlog/spdlog.h>

namespace qp2p {

namespace {
// Comprehension-required attributes a Binding request may carry that we accept: RFC 5780's,
// ICE's PRIORITY (0x0024) and USE-CANDIDATE (0x0025), and integrity (ignored: the public
// STUN service has no credentials, as RFC 8489 section 9 allows).
const std::vector<std::uint16_t> kUnderstood = {
    stun::attr::kChangeRequest,    stun::attr::kResponsePort,
    stun::attr::kPadding,          stun::attr::kUsername,
    stun::attr::kMessageIntegrity, stun::attr::kMessageIntegritySha256,
    stun::attr::kUserhash,         0x0024,
    0x0025};
}  // namespace

StunService::StunService(StunServiceConfig config)
    : config_(std::move(config)), two_ips_(config_.primary.address != config_.alternate.address) {}

std::vector<Endpoint> StunService::listen_endpoints() const {
  const auto& a = config_.primary;
  const auto& b = config_.alternate;
  if (!two_ips_) return {a, b};
  return {a, b, Endpoint{a.address, b.port}, Endpoint{b.address, a.port}};
}

bool StunService::owns(const Endpoint& local) const {
  for (const auto& e : listen_endpoints())
    if (e == local) return true;
  return false;
}

std::optional<Endpoint> StunService::changed(const Endpoint& local, bool change_ip,
                                             bool change_port) const {
  const auto& a = config_.primary;
  const auto& b = config_.alternate;
  if (change_ip && !two_ips_) return std::nullopt;
  Endpoint out = local;
  if (change_ip) out.address = local.address == a.address ? b.address : a.address;
  if (change_port) out.port = local.port == a.port ? b.port : a.port;
  return out;
}

Endpoint StunService::other_address(const Endpoint& local) const {
  // RFC 5780 7.4: the address that differs in both IP and port from the one the request
  // arrived on; with a single IP only the port differs.
  if (!two_ips_) return local.port == config_.primary.port ? config_.alternate : config_.primary;
  return *changed(local, true, true);
}

std::optional<Datagram> StunService::handle_binding(const stun::MessageView& request,
                                                    const Endpoint& local,
                                                    const Endpoint& remote) {
  if (request.method() != stun::Method::kBinding ||
      request.message_class() != stun::Class::kRequest) {
    ++counters_.dropped_not_request;
    return std::nullopt;
  }
  if (request.has_fingerprint() && !request.check_fingerprint()) {
    ++counters_.rejected_bad_fingerprint;
    SPDLOG_DEBUG("stun: bad FINGERPRINT from {}", remote.to_string());
    return std::nullopt;
  }
  ++counters_.binding_requests;

  Datagram out;
  out.local = local;
  out.remote = remote;
  // RFC 5780 7.5: RESPONSE-PORT applies to every response, errors included: a client that
  // asked for it listens only there (turnutils_stunclient waits forever otherwise).
  if (auto port = request.u32(stun::attr::kResponsePort))
    out.remote.port = static_cast<std::uint16_t>(*port >> 16);

  auto unknown = request.unknown_comprehension_required(kUnderstood);
  if (!unknown.empty()) {
    ++counters_.rejected_unknown_attributes;
    stun::MessageBuilder(out.payload, stun::Method::kBinding, stun::Class::kError,
                         request.transaction_id())
        .add_error_code(420, "Unknown Attribute")
        .add_unknown_attributes(unknown)
        .add_fingerprint();
    ++counters_.responses;
    return out;
  }

  if (auto change = request.u32(stun::attr::kChangeRequest); change && *change != 0) {
    ++counters_.change_requests;
    auto from = changed(local, (*change & stun::kChangeIp) != 0, (*change & stun::kChangePort) != 0);
    if (!from) {
      // RFC 5780 section 6.1: no alternate IP, so the change cannot be honoured.
      stun::MessageBuilder(out.payload, stun::Method::kBinding, stun::Class::kError,
                           request.transaction_id())
          .add_error_code(420, "Unknown Attribute")
          .add_unknown_attributes({stun::attr::kChangeRequest})
          .add_fingerprint();
      ++counters_.responses;
      return out;
    }
    out.local = *from;
  }

  stun::MessageBuilder(out.payload, stun::Method::kBinding, stun::Class::kSuccess,
                       request.transaction_id())
      .add_xor_address(stun::attr::kXorMappedAddress, remote)
      .add_address(stun::attr::kResponseOrigin, out.local)
      .add_address(stun::attr::kOtherAddress, other_address(local))
      .add_string(stun::attr::kSoftware, config_.software)
      .add_fingerprint();
  ++counters_.responses;
  return out;
}

}  // namespace qp2p
