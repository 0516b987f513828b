// TURN client (RFC 8656 client side, RFC 8489 section 9.2.5 long-term credentials and section
// 6.2.1 retransmissions). See turn_client.h.
#include "stack/relay/turn_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "stack/relay/channel_data.h"

namespace qp2p::turn {

namespace {

constexpr std::uint8_t kTransportUdp = 17;  // REQUESTED-TRANSPORT, RFC 8656 section 14.7
constexpr Duration kPermissionLifetime = std::chrono::seconds(300);  // section 9
constexpr Duration kChannelLifetime = std::chrono::seconds(600);     // section 11
// A Send indication carries the data plus XOR-PEER-ADDRESS (up to 24 bytes), the header and a
// FINGERPRINT; bound what we accept so the message always fits the 16-bit STUN length.
constexpr std::size_t kMaxPayload = 65535 - 128;
// The first channel number is random within the RFC 8656 range's first quarter, so that two
// clients of a server (or a client after a restart) do not all start at 0x4000.
constexpr std::uint16_t kChannelStartSpan = 0x0400;

std::uint64_t key_of(const stun::TransactionId& id) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | id[i];
  return v;
}

stun::Method method_of(TurnOperation op) {
  switch (op) {
    case TurnOperation::kAllocate:
      return stun::Method::kAllocate;
    case TurnOperation::kRefresh:
      return stun::Method::kRefresh;
    case TurnOperation::kCreatePermission:
      return stun::Method::kCreatePermission;
    case TurnOperation::kChannelBind:
      return stun::Method::kChannelBind;
  }
  return stun::Method::kAllocate;
}

Duration seconds(std::uint32_t s) { return std::chrono::seconds(s); }

}  // namespace

const char* to_string(TurnOperation op) {
  switch (op) {
    case TurnOperation::kAllocate:
      return "Allocate";
    case TurnOperation::kRefresh:
      return "Refresh";
    case TurnOperation::kCreatePermission:
      return "CreatePermission";
    case TurnOperation::kChannelBind:
      return "ChannelBind";
  }
  return "?";
}

TurnClient::TurnClient(TurnClientConfig config, Random random)
    : config_(std::move(config)), random_(std::move(random)), tracker_(config_.retransmit) {
  next_channel_ = static_cast<std::uint16_t>(kMinChannel + random_.uniform(kChannelStartSpan));
}

bool TurnClient::looks_like_channel_data(const std::uint8_t* data, std::size_t size) {
  return size >= kChannelDataHeaderSize && data[0] >= 0x40 && data[0] <= 0x7F;
}

LongTermKey TurnClient::key() const {
  return stun::long_term_key(config_.credentials.username, realm_, config_.credentials.password);
}

// --- requests ---

bool TurnClient::allocate(Instant now) {
  if (state_ != State::kIdle && state_ != State::kFailed) return false;
  state_ = State::kAllocating;
  Pending p;
  p.operation = TurnOperation::kAllocate;
  p.lifetime_s = config_.requested_lifetime_s;
  send_request(now, p);
  return true;
}

void TurnClient::send_request(Instant now, Pending p) {
  stun::TransactionId id{};
  random_.fill(id.data(), id.size());
  Datagram d{config_.local, config_.server, {}};
  stun::MessageBuilder b(d.payload, method_of(p.operation), stun::Class::kRequest, id);
  switch (p.operation) {
    case TurnOperation::kAllocate: {
      const std::uint8_t transport[4] = {kTransportUdp, 0, 0, 0};
      b.add(stun::attr::kRequestedTransport, transport, sizeof(transport));
      if (p.lifetime_s != 0) b.add_u32(stun::attr::kLifetime, p.lifetime_s);
      break;
    }
    case TurnOperation::kRefresh:
      b.add_u32(stun::attr::kLifetime, p.lifetime_s);
      break;
    case TurnOperation::kCreatePermission:
      b.add_xor_address(stun::attr::kXorPeerAddress, p.peer);
      break;
    case TurnOperation::kChannelBind:
      b.add_u32(stun::attr::kChannelNumber, std::uint32_t{p.channel} << 16);
      b.add_xor_address(stun::attr::kXorPeerAddress, p.peer);
      break;
  }
  if (!config_.software.empty()) b.add_string(stun::attr::kSoftware, config_.software);
  // Once a nonce is known every request is signed; only the very first goes without.
  p.signed_request = !nonce_.empty();
  if (p.signed_request) {
    b.add_string(stun::attr::kUsername, config_.credentials.username);
    b.add_string(stun::attr::kRealm, realm_);
    b.add_string(stun::attr::kNonce, nonce_);
    const LongTermKey k = key();
    b.add_message_integrity(k.data(), k.size());
  }
  b.add_fingerprint();
  const std::uint64_t txn = key_of(id);
  pending_[txn] = p;
  ++counters_.requests_sent;
  SPDLOG_DEBUG("turn client {}: {} to {}{}", config_.local.to_string(), to_string(p.operation),
               config_.server.to_string(), p.signed_request ? " (signed)" : "");
  // Retransmissions are byte-identical: same transaction, same integrity.
  tracker_.start(now, txn, [d]() -> std::optional<Datagram> { return d; });
  take_tracker_transmits();
}

void TurnClient::request_refresh(Instant now, std::uint32_t lifetime_s) {
  Pending p;
  p.operation = TurnOperation::kRefresh;
  p.lifetime_s = lifetime_s;
  refresh_in_flight_ = true;
  refresh_at_ = kNever;
  send_request(now, p);
}

void TurnClient::set_credentials(TurnCredentials credentials) {
  config_.credentials = std::move(credentials);
}

bool TurnClient::create_permission(Instant now, const Endpoint& peer) {
  if (state_ != State::kAllocated) return false;
  auto it = permissions_.find(peer.address);
  if (it == permissions_.end()) {
    if (permissions_.size() >= config_.max_permissions) return false;
    it = permissions_.emplace(peer.address, Permission{}).first;
  }
  if (it->second.in_flight) return true;
  it->second.in_flight = true;
  it->second.refresh_at = kNever;
  Pending p;
  p.operation = TurnOperation::kCreatePermission;
  p.peer = peer;
  send_request(now, p);
  return true;
}

std::optional<std::uint16_t> TurnClient::bind_channel(Instant now, const Endpoint& peer) {
  if (state_ != State::kAllocated) return std::nullopt;
  auto it = channels_.find(peer);
  if (it != channels_.end()) return it->second.number;
  if (by_channel_.size() > kMaxChannel - kMinChannel) return std::nullopt;
  // The next free number, wrapping within 0x4000-0x4FFF.
  std::uint16_t number = next_channel_;
  for (std::size_t i = 0; by_channel_.count(number) != 0 && i <= kMaxChannel - kMinChannel; ++i)
    number = number == kMaxChannel ? kMinChannel : static_cast<std::uint16_t>(number + 1);
  next_channel_ = number == kMaxChannel ? kMinChannel : static_cast<std::uint16_t>(number + 1);
  Channel c;
  c.number = number;
  c.in_flight = true;
  channels_.emplace(peer, c);
  by_channel_.emplace(number, peer);
  // The permission the bind installs on the server (section 11.3) is mirrored here, so Send
  // indications may flow while the bind is in flight; it is refreshed with the channel.
  permissions_[peer.address];
  Pending p;
  p.operation = TurnOperation::kChannelBind;
  p.peer = peer;
  p.channel = number;
  send_request(now, p);
  return number;
}

void TurnClient::close(Instant now) {
  if (state_ != State::kAllocated) {
    if (state_ == State::kAllocating) {
      tracker_.clear();
      pending_.clear();
      state_ = State::kIdle;
      events_.emplace_back(client_event::Closed{});
    }
    return;
  }
  tracker_.clear();
  pending_.clear();
  permissions_.clear();
  channels_.clear();
  by_channel_.clear();
  state_ = State::kClosing;
  request_refresh(now, 0);
}

// --- data ---

bool TurnClient::has_permission(const Endpoint& peer) const {
  auto it = permissions_.find(peer.address);
  return it != permissions_.end() && it->second.installed;
}

std::optional<std::uint16_t> TurnClient::channel(const Endpoint& peer) const {
  auto it = channels_.find(peer);
  if (it == channels_.end() || !it->second.bound) return std::nullopt;
  return it->second.number;
}

bool TurnClient::send(Instant /*now*/, const Endpoint& peer, const std::uint8_t* data,
                      std::size_t size) {
  if (state_ != State::kAllocated || size > kMaxPayload) return false;
  Datagram d{config_.local, config_.server, {}};
  auto c = channels_.find(peer);
  if (c != channels_.end() && c->second.bound) {
    append_channel_data(d.payload, c->second.number, data, size);
    ++counters_.channel_data_out;
  } else {
    if (permissions_.count(peer.address) == 0) return false;
    stun::TransactionId id{};
    random_.fill(id.data(), id.size());
    stun::MessageBuilder b(d.payload, stun::Method::kSend, stun::Class::kIndication, id);
    b.add_xor_address(stun::attr::kXorPeerAddress, peer);
    b.add(stun::attr::kData, data, size);
    b.add_fingerprint();
    ++counters_.send_indications;
  }
  transmits_.push_back(std::move(d));
  return true;
}

// --- input ---

bool TurnClient::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                 const std::uint8_t* data, std::size_t size) {
  if (local != config_.local || remote != config_.server) return false;
  if (looks_like_channel_data(data, size)) {
    ChannelDataError error = ChannelDataError::kNone;
    auto cd = parse_channel_data(data, size, &error);
    if (!cd) {
      ++counters_.dropped_malformed;
      SPDLOG_DEBUG("turn client {}: bad ChannelData from {}: {}", config_.local.to_string(),
                   remote.to_string(), to_string(error));
      return true;
    }
    auto it = by_channel_.find(cd->channel);
    if (it == by_channel_.end()) {
      ++counters_.dropped_unknown_channel;
      SPDLOG_DEBUG("turn client {}: ChannelData on unbound channel 0x{:04x} from {}",
                   config_.local.to_string(), cd->channel, remote.to_string());
      return true;
    }
    ++counters_.channel_data_in;
    events_.emplace_back(client_event::Data{it->second, Bytes(cd->data, cd->data + cd->size)});
    return true;
  }
  stun::ParseError error = stun::ParseError::kNone;
  auto m = stun::MessageView::parse(data, size, &error);
  if (!m) {
    ++counters_.dropped_malformed;
    SPDLOG_DEBUG("turn client {}: datagram from {} is neither STUN nor ChannelData: {}",
                 config_.local.to_string(), remote.to_string(), stun::to_string(error));
    return true;
  }
  if (m->has_fingerprint() && !m->check_fingerprint()) {
    ++counters_.dropped_bad_fingerprint;
    SPDLOG_DEBUG("turn client {}: bad FINGERPRINT from {}", config_.local.to_string(),
                 remote.to_string());
    return true;
  }
  on_stun(now, *m);
  return true;
}

void TurnClient::on_stun(Instant now, const stun::MessageView& m) {
  if (m.message_class() == stun::Class::kIndication) {
    auto peer = m.xor_address(stun::attr::kXorPeerAddress);
    const stun::AttributeView* payload = m.find(stun::attr::kData);
    if (m.method() != stun::Method::kData || !peer || !payload ||
        permissions_.count(peer->address) == 0) {
      ++counters_.dropped_unexpected;
      SPDLOG_DEBUG("turn client {}: unexpected indication 0x{:03x} (peer {})",
                   config_.local.to_string(), m.raw_method(),
                   peer ? peer->to_string() : std::string("missing"));
      return;
    }
    ++counters_.data_indications_in;
    const std::uint8_t* v = m.value(*payload);
    events_.emplace_back(client_event::Data{*peer, Bytes(v, v + payload->length)});
    return;
  }
  if (m.message_class() == stun::Class::kRequest) {
    ++counters_.dropped_unexpected;
    SPDLOG_DEBUG("turn client {}: request 0x{:03x} from the server ignored",
                 config_.local.to_string(), m.raw_method());
    return;
  }
  const std::uint64_t txn = key_of(m.transaction_id());
  auto it = pending_.find(txn);
  if (it == pending_.end() || method_of(it->second.operation) != m.method()) {
    ++counters_.dropped_unmatched;
    SPDLOG_DEBUG("turn client {}: response 0x{:03x} matches no request", config_.local.to_string(),
                 m.raw_method());
    return;
  }
  Pending p = it->second;
  if (m.message_class() == stun::Class::kSuccess && p.signed_request) {
    // RFC 8489 9.2.5: a success to a signed request must be signed with the same key; anything
    // else could be forged by whoever saw the request, so keep waiting for the real answer.
    const LongTermKey k = key();
    if (!m.check_message_integrity(k.data(), k.size())) {
      ++counters_.dropped_bad_integrity;
      SPDLOG_DEBUG("turn client {}: {} success without valid MESSAGE-INTEGRITY dropped",
                   config_.local.to_string(), to_string(p.operation));
      return;
    }
  }
  pending_.erase(it);
  tracker_.complete(txn);
  if (m.message_class() == stun::Class::kSuccess)
    on_success(now, p, m);
  else
    on_error(now, std::move(p), m);
}

void TurnClient::on_success(Instant now, const Pending& p, const stun::MessageView& m) {
  switch (p.operation) {
    case TurnOperation::kAllocate: {
      if (state_ != State::kAllocating) return;
      auto relayed = m.xor_address(stun::attr::kXorRelayedAddress);
      auto lifetime = m.u32(stun::attr::kLifetime);
      if (!relayed || !lifetime || *lifetime == 0) {
        fail(now, p, 0, "Allocate success without XOR-RELAYED-ADDRESS or LIFETIME");
        return;
      }
      relayed_ = relayed;
      mapped_ = m.xor_address(stun::attr::kXorMappedAddress);
      state_ = State::kAllocated;
      expires_ = now + seconds(*lifetime);
      refresh_at_ = expires_ - std::min(config_.refresh_margin, seconds(*lifetime) / 2);
      SPDLOG_DEBUG("turn client {}: allocated {} for {} s", config_.local.to_string(),
                   relayed->to_string(), *lifetime);
      events_.emplace_back(
          client_event::Allocated{*relayed, mapped_.value_or(Endpoint{}), seconds(*lifetime)});
      return;
    }
    case TurnOperation::kRefresh: {
      refresh_in_flight_ = false;
      if (p.lifetime_s == 0 || state_ == State::kClosing) {
        finish_close();
        return;
      }
      if (state_ != State::kAllocated) return;
      const std::uint32_t lifetime = m.u32(stun::attr::kLifetime).value_or(p.lifetime_s);
      if (lifetime == 0) {
        lose_allocation("Refresh answered with LIFETIME 0");
        return;
      }
      expires_ = now + seconds(lifetime);
      refresh_at_ = expires_ - std::min(config_.refresh_margin, seconds(lifetime) / 2);
      events_.emplace_back(client_event::Refreshed{seconds(lifetime)});
      return;
    }
    case TurnOperation::kCreatePermission: {
      auto it = permissions_.find(p.peer.address);
      if (state_ != State::kAllocated || it == permissions_.end()) return;
      it->second.installed = true;
      it->second.in_flight = false;
      it->second.refresh_at = now + kPermissionLifetime - config_.binding_refresh_margin;
      events_.emplace_back(client_event::PermissionCreated{p.peer});
      return;
    }
    case TurnOperation::kChannelBind: {
      auto it = channels_.find(p.peer);
      if (state_ != State::kAllocated || it == channels_.end()) return;
      const bool first = !it->second.bound;
      it->second.bound = true;
      it->second.in_flight = false;
      it->second.refresh_at = now + kChannelLifetime - config_.binding_refresh_margin;
      // Section 11.3: the bind installed or refreshed the peer's permission as well.
      Permission& perm = permissions_[p.peer.address];
      perm.installed = true;
      if (!perm.in_flight)
        perm.refresh_at = now + kPermissionLifetime - config_.binding_refresh_margin;
      if (first) events_.emplace_back(client_event::ChannelBound{p.peer, p.channel});
      return;
    }
  }
}

void TurnClient::on_error(Instant now, Pending p, const stun::MessageView& m) {
  const auto error = m.error_code();
  const int code = error ? error->code : 0;
  const std::string reason = error ? std::string(error->reason) : "error response without code";
  auto realm = m.string(stun::attr::kRealm);
  auto nonce = m.string(stun::attr::kNonce);
  // RFC 8489 9.2.5: a 401 to an unsigned request is the challenge; a 438 brings a new nonce.
  if (code == 401 && !p.signed_request && realm && nonce && !nonce->empty()) {
    ++counters_.challenges;
    realm_ = std::string(*realm);
    nonce_ = std::string(*nonce);
    send_request(now, p);
    return;
  }
  if (code == 438 && nonce && !nonce->empty() &&
      p.stale_retries < config_.max_stale_nonce_retries) {
    ++counters_.stale_nonces;
    ++p.stale_retries;
    nonce_ = std::string(*nonce);
    if (realm) realm_ = std::string(*realm);
    send_request(now, p);
    return;
  }
  fail(now, p, code, reason.empty() ? "error " + std::to_string(code) : reason);
}

void TurnClient::fail(Instant now, const Pending& p, int code, std::string reason) {
  SPDLOG_DEBUG("turn client {}: {} {} failed: {} {}", config_.local.to_string(),
               to_string(p.operation), p.peer.to_string(), code, reason);
  events_.emplace_back(client_event::Failed{p.operation, p.peer, code, reason});
  switch (p.operation) {
    case TurnOperation::kAllocate:
      if (state_ == State::kAllocating) state_ = State::kFailed;
      return;
    case TurnOperation::kRefresh:
      refresh_in_flight_ = false;
      if (state_ == State::kClosing) {
        finish_close();
        return;
      }
      if (state_ != State::kAllocated) return;
      if (code == 437) {
        lose_allocation("the server no longer knows the allocation (437)");
      } else if (code == 401) {
        // The credentials expired. An allocation keeps its username (RFC 8656 section 5: 441
        // otherwise), so no new ones can save it: stop refreshing and let it run out.
        refresh_needs_credentials_ = true;
      } else {
        // No answer or a transient error: try again while the allocation lives.
        refresh_at_ = code == 0 ? now : now + std::chrono::seconds(5);
      }
      return;
    case TurnOperation::kCreatePermission:
      return permission_failed(now, p.peer, code);
    case TurnOperation::kChannelBind: {
      auto it = channels_.find(p.peer);
      if (it == channels_.end()) return;
      if (it->second.bound && code == 0) {
        it->second.in_flight = false;
        it->second.refresh_at = now;
        return;
      }
      by_channel_.erase(it->second.number);
      channels_.erase(it);
      // The permission bind_channel() mirrored goes too unless it exists on its own.
      auto perm = permissions_.find(p.peer.address);
      if (perm != permissions_.end() && !perm->second.installed && !perm->second.in_flight)
        permissions_.erase(perm);
      return;
    }
  }
}

// A CreatePermission went unanswered (code 0) or was refused. Unanswered, it is asked again at
// once, installed or not, for as long as the allocation lives: the permission is what lets the
// peer's packets in and ours out (section 9), and on a lossy path a whole retransmission
// schedule can be lost while the owner still counts on it (its Send indications are accepted
// meanwhile and would all be dropped by the server). A refusal forgets a permission that was
// never installed and stops refreshing one that was.
void TurnClient::permission_failed(Instant now, const Endpoint& peer, int code) {
  auto it = permissions_.find(peer.address);
  if (it == permissions_.end()) return;
  if (code != 0 && !it->second.installed) {
    permissions_.erase(it);
    return;
  }
  it->second.in_flight = false;
  it->second.refresh_at = code == 0 ? now : kNever;
}

// The deallocating Refresh was answered (or failed: the allocation times out at the server).
void TurnClient::finish_close() {
  state_ = State::kIdle;
  relayed_.reset();
  expires_ = refresh_at_ = kNever;
  events_.emplace_back(client_event::Closed{});
}

void TurnClient::lose_allocation(std::string reason) {
  SPDLOG_DEBUG("turn client {}: allocation lost: {}", config_.local.to_string(), reason);
  tracker_.clear();
  pending_.clear();
  permissions_.clear();
  channels_.clear();
  by_channel_.clear();
  relayed_.reset();
  state_ = State::kIdle;
  expires_ = refresh_at_ = kNever;
  refresh_in_flight_ = false;
  refresh_needs_credentials_ = false;
  events_.emplace_back(client_event::AllocationLost{std::move(reason)});
}

// --- timers and output ---

void TurnClient::handle_timeout(Instant now) {
  for (std::uint64_t txn : tracker_.handle_timeout(now)) {
    auto it = pending_.find(txn);
    if (it == pending_.end()) continue;
    Pending p = it->second;
    pending_.erase(it);
    fail(now, p, 0,
         "no answer after " + std::to_string(config_.retransmit.max_transmissions) +
             " transmissions");
  }
  if (state_ != State::kAllocated) return;
  if (now >= expires_) {
    lose_allocation("lifetime ended without a successful refresh");
    return;
  }
  if (!refresh_in_flight_ && !refresh_needs_credentials_ && now >= refresh_at_)
    request_refresh(now, config_.requested_lifetime_s);
  for (auto& [peer, c] : channels_) {
    if (!c.bound || c.in_flight || now < c.refresh_at) continue;
    c.in_flight = true;
    c.refresh_at = kNever;
    Pending p;
    p.operation = TurnOperation::kChannelBind;
    p.peer = peer;
    p.channel = c.number;
    send_request(now, p);
  }
  for (auto& [address, perm] : permissions_) {
    if (perm.in_flight || now < perm.refresh_at) continue;
    perm.in_flight = true;
    perm.refresh_at = kNever;
    Pending p;
    p.operation = TurnOperation::kCreatePermission;
    p.peer = Endpoint{address, 0};
    send_request(now, p);
  }
}

Instant TurnClient::poll_timeout() const {
  Instant t = tracker_.poll_timeout();
  if (state_ != State::kAllocated) return t;
  t = std::min(t, expires_);
  if (!refresh_in_flight_ && !refresh_needs_credentials_) t = std::min(t, refresh_at_);
  for (const auto& [peer, c] : channels_)
    if (c.bound && !c.in_flight) t = std::min(t, c.refresh_at);
  for (const auto& [address, perm] : permissions_)
    if (!perm.in_flight) t = std::min(t, perm.refresh_at);
  return t;
}

// Requests and data leave in the order they were made: data sent before a Refresh that
// deletes the allocation must not arrive after it, nor data after a ChannelBind before it.
void TurnClient::take_tracker_transmits() {
  while (auto d = tracker_.poll_transmit()) transmits_.push_back(std::move(*d));
}

std::optional<Datagram> TurnClient::poll_transmit() {
  take_tracker_transmits();
  if (transmits_.empty()) return std::nullopt;
  Datagram d = std::move(transmits_.front());
  transmits_.pop_front();
  return d;
}

std::optional<TurnClientEvent> TurnClient::poll_event() {
  if (events_.empty()) return std::nullopt;
  TurnClientEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace qp2p::turn
