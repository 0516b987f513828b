// TURN server: request dispatch, long-term authentication (RFC 8489 section 9.2.4), Allocate
// (RFC 8656 section 7.2), Refresh (section 7.3), relay sockets and the expiry sweep. Permissions,
// channels and the data path are in turn_relaying.cc. See turn_server.h.
#include "stack/relay/turn_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace qp2p::turn {

namespace {
// Expired allocations, permissions and channels are deleted by a sweep at most this often;
// validity checks are exact, so this only bounds how long the memory is held.
constexpr Duration kSweepInterval = std::chrono::seconds(1);
constexpr std::uint8_t kTransportUdp = 17;  // REQUESTED-TRANSPORT, RFC 8656 section 14.7
constexpr std::uint8_t kFamilyIpv4 = 0x01;  // REQUESTED-ADDRESS-FAMILY, section 14.1
constexpr std::uint8_t kFamilyIpv6 = 0x02;
constexpr std::uint8_t kEvenPortReserveBit = 0x80;  // EVEN-PORT R bit, section 14.6

// Comprehension-required attributes a TURN request may carry that we act on (the credential
// attributes are handled by authentication). Anything else, USERHASH included: 420.
const std::vector<std::uint16_t> kUnderstood = {stun::attr::kUsername,
                                                stun::attr::kMessageIntegrity,
                                                stun::attr::kMessageIntegritySha256,
                                                stun::attr::kRealm,
                                                stun::attr::kNonce,
                                                stun::attr::kLifetime,
                                                stun::attr::kRequestedTransport,
                                                stun::attr::kEvenPort,
                                                stun::attr::kReservationToken,
                                                stun::attr::kRequestedAddressFamily,
                                                stun::attr::kXorPeerAddress,
                                                stun::attr::kChannelNumber,
                                                stun::attr::kData,
                                                stun::attr::kPadding};

std::uint64_t load_be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

namespace {
std::array<std::uint8_t, 32> random_key(Random& random) {
  std::array<std::uint8_t, 32> key{};
  random.fill(key.data(), key.size());
  return key;
}
}  // namespace

TurnServer::TurnServer(TurnConfig config, Random random)
    : config_(std::move(config)),
      random_(std::move(random)),
      nonces_(random_key(random_), config_.nonce_lifetime),
      ports_(config_.min_port, config_.max_port) {
  if (config_.relay_address.is_unspecified()) config_.relay_address = config_.listen.address;
}

bool TurnServer::is_turn_method(std::uint16_t raw_method) {
  switch (static_cast<stun::Method>(raw_method)) {
    case stun::Method::kAllocate:
    case stun::Method::kRefresh:
    case stun::Method::kSend:
    case stun::Method::kData:
    case stun::Method::kCreatePermission:
    case stun::Method::kChannelBind:
      return true;
    default:
      return false;
  }
}

void TurnServer::send(Datagram d) { transmits_.push_back(std::move(d)); }

std::optional<Datagram> TurnServer::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
  Datagram d = std::move(transmits_.front());
  transmits_.pop_front();
  return d;
}

std::optional<SocketChange> TurnServer::poll_socket_change() {
  if (socket_changes_.empty()) return std::nullopt;
  SocketChange c = socket_changes_.front();
  socket_changes_.pop_front();
  return c;
}

std::uint64_t* TurnServer::allocation_id(const Endpoint& server, const Endpoint& client) {
  auto it = by_tuple_.find(FiveTuple{server, client});
  return it == by_tuple_.end() ? nullptr : &it->second;
}

Allocation* TurnServer::find(const Endpoint& server, const Endpoint& client) {
  std::uint64_t* id = allocation_id(server, client);
  if (!id) return nullptr;
  auto it = allocations_.find(*id);
  return it == allocations_.end() ? nullptr : &it->second;
}

void TurnServer::schedule(Instant deadline) { next_sweep_ = std::min(next_sweep_, deadline); }

bool TurnServer::forbidden(const Endpoint& peer) const {
  return std::find(config_.forbidden_peers.begin(), config_.forbidden_peers.end(), peer) !=
         config_.forbidden_peers.end();
}

bool TurnServer::relays_for(const Endpoint& relayed, std::string_view user) const {
  auto it = by_relay_.find(relayed);
  if (it == by_relay_.end()) return false;
  const Allocation& a = allocations_.at(it->second);
  return a.socket_open && a.user == user;
}

Duration TurnServer::granted_lifetime(const stun::MessageView& m) const {
  auto requested = m.u32(stun::attr::kLifetime);
  if (!requested) return config_.default_lifetime;
  const Duration asked = std::chrono::seconds(*requested);
  return std::max(std::min(asked, config_.max_lifetime), config_.default_lifetime);
}

// --- responses ---

void TurnServer::reply_error(const Request& r, int code, std::string_view reason) {
  switch (code) {
    case 400:
      ++counters_.error_400;
      break;
    case 401:
      ++counters_.error_401;
      break;
    case 420:
      ++counters_.error_420;
      break;
    case 437:
      ++counters_.error_437;
      break;
    case 438:
      ++counters_.error_438;
      break;
    case 440:
      ++counters_.error_440;
      break;
    case 441:
      ++counters_.error_441;
      break;
    case 442:
      ++counters_.error_442;
      break;
    case 443:
      ++counters_.error_443;
      break;
    case 486:
      ++counters_.error_486;
      break;
    case 508:
      ++counters_.error_508;
      break;
    default:
      break;
  }
  Datagram d{r.local, r.remote, {}};
  stun::MessageBuilder b(d.payload, r.m.raw_method(), stun::Class::kError, r.m.transaction_id());
  b.add_error_code(code, reason);
  if (code == 401 || code == 438) {
    // RFC 8489 9.2.4: a challenge carries the realm and a fresh nonce.
    b.add_string(stun::attr::kRealm, config_.realm);
    b.add_string(stun::attr::kNonce, nonces_.make(r.now, r.remote));
  }
  if (code == 420) b.add_unknown_attributes(r.m.unknown_comprehension_required(kUnderstood));
  if (r.auth.outcome == AuthOutcome::kOk) {
    if (r.auth.sha256)
      b.add_message_integrity_sha256(r.auth.key.data(), r.auth.key.size());
    else
      b.add_message_integrity(r.auth.key.data(), r.auth.key.size());
  }
  b.add_fingerprint();
  SPDLOG_DEBUG("turn: request 0x{:03x} from {}: {} {}", r.m.raw_method(), r.remote.to_string(),
               code, reason);
  send(std::move(d));
}

void TurnServer::reply_success(const Request& r, Bytes& out, stun::MessageBuilder& b) {
  if (r.auth.sha256)
    b.add_message_integrity_sha256(r.auth.key.data(), r.auth.key.size());
  else
    b.add_message_integrity(r.auth.key.data(), r.auth.key.size());
  b.add_fingerprint();
  send(Datagram{r.local, r.remote, std::move(out)});
}

// --- dispatch ---

void TurnServer::handle_stun(Instant now, const Endpoint& local, const Endpoint& remote,
                             const stun::MessageView& m) {
  if (m.has_fingerprint() && !m.check_fingerprint()) {
    ++counters_.dropped_bad_fingerprint;
    SPDLOG_DEBUG("turn: bad FINGERPRINT from {}", remote.to_string());
    return;
  }
  if (m.message_class() == stun::Class::kIndication) {
    if (m.method() == stun::Method::kSend) return on_send(now, local, remote, m);
    ++counters_.dropped_unexpected_indication;
    SPDLOG_DEBUG("turn: unexpected indication 0x{:03x} from {}", m.raw_method(),
                 remote.to_string());
    return;
  }
  const stun::Method method = m.method();
  if (m.message_class() != stun::Class::kRequest ||
      (method != stun::Method::kAllocate && method != stun::Method::kRefresh &&
       method != stun::Method::kCreatePermission && method != stun::Method::kChannelBind)) {
    ++counters_.dropped_not_turn;
    SPDLOG_DEBUG("turn: dropped message 0x{:03x} class {} from {}", m.raw_method(),
                 static_cast<int>(m.message_class()), remote.to_string());
    return;
  }
  ++counters_.requests;
  Request r{
      now, local, remote, m,
      authenticate(m, config_.secret, config_.realm, nonces_, now, unix_seconds(now), remote)};
  switch (r.auth.outcome) {
    case AuthOutcome::kOk:
      break;
    case AuthOutcome::kChallenge:
      ++counters_.challenges;
      return reply_error(r, 401, "Unauthorized");
    case AuthOutcome::kBadRequest:
      SPDLOG_DEBUG("turn: request from {}: {}", remote.to_string(), r.auth.why);
      return reply_error(r, 400, "Bad Request");
    case AuthOutcome::kStaleNonce:
      SPDLOG_DEBUG("turn: request from {}: {}", remote.to_string(), r.auth.why);
      return reply_error(r, 438, "Stale Nonce");
    case AuthOutcome::kUnauthorized:
      SPDLOG_DEBUG("turn: request from {}: {}", remote.to_string(), r.auth.why);
      return reply_error(r, 401, "Unauthorized");
  }
  if (!m.unknown_comprehension_required(kUnderstood).empty())
    return reply_error(r, 420, "Unknown Attribute");
  if (method == stun::Method::kAllocate) return on_allocate(r);

  Allocation* a = find(local, remote);
  if (!a) return reply_error(r, 437, "Allocation Mismatch");
  // RFC 8656 section 6: later requests must use the credentials the allocation was made with.
  if (a->username != r.auth.username) return reply_error(r, 441, "Wrong Credentials");
  if (method == stun::Method::kRefresh) return on_refresh(r);
  if (method == stun::Method::kCreatePermission) return on_create_permission(r, *a);
  return on_channel_bind(r, *a);
}

// --- Allocate, RFC 8656 section 7.2 ---

void TurnServer::on_allocate(Request& r) {
  const stun::MessageView& m = r.m;
  if (std::uint64_t* id = allocation_id(r.local, r.remote)) {
    Allocation& a = allocations_.at(*id);
    if (a.allocate_transaction != m.transaction_id())
      return reply_error(r, 437, "Allocation Mismatch");
    ++counters_.allocate_retransmits;
    // Still waiting for the relay socket: the answer goes out once it is open.
    if (a.socket_open) send(Datagram{a.server, a.client, a.allocate_response});
    return;
  }
  const stun::AttributeView* transport = m.find(stun::attr::kRequestedTransport);
  if (!transport || transport->length != 4) return reply_error(r, 400, "Bad Request");
  if (m.value(*transport)[0] != kTransportUdp)
    return reply_error(r, 442, "Unsupported Transport Protocol");

  const stun::AttributeView* even = m.find(stun::attr::kEvenPort);
  const stun::AttributeView* token = m.find(stun::attr::kReservationToken);
  const stun::AttributeView* family = m.find(stun::attr::kRequestedAddressFamily);
  if (token && (even || family)) return reply_error(r, 400, "Bad Request");
  if ((even && even->length < 1) || (token && token->length != 8) ||
      (family && family->length != 4))
    return reply_error(r, 400, "Bad Request");
  if (family) {
    const std::uint8_t f = m.value(*family)[0];
    if (f != kFamilyIpv4 && f != kFamilyIpv6)
      return reply_error(r, 440, "Address Family not Supported");
    if ((f == kFamilyIpv4) != config_.relay_address.is_v4())
      return reply_error(r, 440, "Address Family not Supported");
  }
  if (allocations_.size() >= config_.max_allocations)
    return reply_error(r, 508, "Insufficient Capacity");
  auto per_user = allocations_per_user_.find(r.auth.user);
  if (per_user != allocations_per_user_.end() &&
      per_user->second >= config_.max_allocations_per_user)
    return reply_error(r, 486, "Allocation Quota Reached");

  const bool reserve = even && (m.value(*even)[0] & kEvenPortReserveBit) != 0;
  std::optional<std::uint16_t> port;
  if (token) {
    auto it = reservations_.find(load_be64(m.value(*token)));
    if (it == reservations_.end() || r.now >= it->second.expires)
      return reply_error(r, 508, "Insufficient Capacity");
    port = it->second.port;  // already taken from the pool by the reservation
    reservations_.erase(it);
  } else {
    port = ports_.take(random_, even != nullptr, reserve);
  }
  if (!port) return reply_error(r, 508, "Insufficient Capacity");

  const std::uint64_t id = next_id_++;
  Allocation& a = allocations_[id];
  a.server = r.local;
  a.client = r.remote;
  a.relay = Endpoint{config_.relay_address, *port};
  a.username = r.auth.username;
  a.user = r.auth.user;
  a.key = r.auth.key;
  a.sha256 = r.auth.sha256;
  const Duration lifetime = granted_lifetime(m);
  a.expires = r.now + lifetime;
  a.granted_seconds = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(lifetime).count());
  a.even_port = even != nullptr;
  a.allocate_transaction = m.transaction_id();
  if (reserve) {
    std::uint64_t t = 0;
    while (t == 0 || reservations_.count(t)) t = random_.next_u64();
    reservations_[t] =
        Reservation{static_cast<std::uint16_t>(*port + 1), r.now + config_.reservation_lifetime};
    a.reservation_token = t;
    schedule(r.now + config_.reservation_lifetime);
  }
  by_tuple_[FiveTuple{a.server, a.client}] = id;
  by_relay_[a.relay] = id;
  ++allocations_per_user_[a.user];
  schedule(a.expires);
  request_socket(a);
}

void TurnServer::request_socket(Allocation& a) {
  ++a.bind_attempts;
  socket_changes_.push_back(SocketChange{SocketChange::Kind::kOpen, a.relay});
}

void TurnServer::handle_socket_result(Instant now, const Endpoint& local, bool opened) {
  auto it = by_relay_.find(local);
  if (it == by_relay_.end()) {
    // The allocation went away while the runtime was opening its socket.
    if (opened) socket_changes_.push_back(SocketChange{SocketChange::Kind::kClose, local});
    return;
  }
  const std::uint64_t id = it->second;
  Allocation& a = allocations_.at(id);
  if (a.socket_open) return;
  Bytes out;
  if (opened) {
    a.socket_open = true;
    ++counters_.allocations_created;
    stun::MessageBuilder b(out, stun::Method::kAllocate, stun::Class::kSuccess,
                           a.allocate_transaction);
    b.add_xor_address(stun::attr::kXorRelayedAddress, a.relay)
        .add_u32(stun::attr::kLifetime, a.granted_seconds)
        .add_xor_address(stun::attr::kXorMappedAddress, a.client);
    if (a.reservation_token) {
      std::uint8_t t[8];
      for (int i = 0; i < 8; ++i)
        t[i] = static_cast<std::uint8_t>(a.reservation_token >> (56 - 8 * i));
      b.add(stun::attr::kReservationToken, t, sizeof(t));
    }
    b.add_string(stun::attr::kSoftware, config_.software);
    if (a.sha256)
      b.add_message_integrity_sha256(a.key.data(), a.key.size());
    else
      b.add_message_integrity(a.key.data(), a.key.size());
    b.add_fingerprint();
    a.allocate_response = out;
    SPDLOG_DEBUG("turn: allocation {} for {} ({}), {} s", a.relay.to_string(), a.client.to_string(),
                 a.username, a.granted_seconds);
    send(Datagram{a.server, a.client, std::move(out)});
    return;
  }
  ++counters_.relay_bind_failures;
  SPDLOG_DEBUG("turn: relay port {} could not be opened (attempt {})", local.to_string(),
               a.bind_attempts);
  ports_.release(a.relay.port);
  by_relay_.erase(it);
  if (a.bind_attempts < kMaxBindAttempts) {
    if (auto port = ports_.take(random_, a.even_port, false)) {
      a.relay.port = *port;
      by_relay_[a.relay] = id;
      return request_socket(a);
    }
  }
  ++counters_.error_508;
  stun::MessageBuilder b(out, stun::Method::kAllocate, stun::Class::kError, a.allocate_transaction);
  b.add_error_code(508, "Insufficient Capacity");
  if (a.sha256)
    b.add_message_integrity_sha256(a.key.data(), a.key.size());
  else
    b.add_message_integrity(a.key.data(), a.key.size());
  b.add_fingerprint();
  send(Datagram{a.server, a.client, std::move(out)});
  a.relay.port = 0;  // nothing left to release
  delete_allocation(id, false);
  (void)now;
}

void TurnServer::delete_allocation(std::uint64_t id, bool expired) {
  auto it = allocations_.find(id);
  if (it == allocations_.end()) return;
  Allocation& a = it->second;
  by_tuple_.erase(FiveTuple{a.server, a.client});
  if (a.relay.port != 0) {
    by_relay_.erase(a.relay);
    ports_.release(a.relay.port);
    if (a.socket_open) socket_changes_.push_back(SocketChange{SocketChange::Kind::kClose, a.relay});
  }
  if (a.reservation_token) {
    auto r = reservations_.find(a.reservation_token);
    if (r != reservations_.end()) {
      ports_.release(r->second.port);
      reservations_.erase(r);
    }
  }
  if (expired) ++counters_.allocations_expired;
  auto per_user = allocations_per_user_.find(a.user);
  if (per_user != allocations_per_user_.end() && --per_user->second == 0)
    allocations_per_user_.erase(per_user);
  allocations_.erase(it);
}

// --- Refresh, RFC 8656 section 7.3 ---

void TurnServer::on_refresh(Request& r) {
  std::uint64_t id = *allocation_id(r.local, r.remote);
  Allocation& a = allocations_.at(id);
  if (const stun::AttributeView* family = r.m.find(stun::attr::kRequestedAddressFamily)) {
    const bool v4 = family->length == 4 && r.m.value(*family)[0] == kFamilyIpv4;
    if (v4 != a.relay.address.is_v4()) return reply_error(r, 443, "Peer Address Family Mismatch");
  }
  ++counters_.refreshes;
  Bytes out;
  stun::MessageBuilder b(out, stun::Method::kRefresh, stun::Class::kSuccess, r.m.transaction_id());
  auto requested = r.m.u32(stun::attr::kLifetime);
  if (requested && *requested == 0) {
    ++counters_.allocations_deleted;
    delete_allocation(id, false);
    b.add_u32(stun::attr::kLifetime, 0);
  } else {
    const Duration lifetime = granted_lifetime(r.m);
    a.expires = r.now + lifetime;
    schedule(a.expires);
    b.add_u32(stun::attr::kLifetime,
              static_cast<std::uint32_t>(
                  std::chrono::duration_cast<std::chrono::seconds>(lifetime).count()));
  }
  reply_success(r, out, b);
}

// --- expiry ---

void TurnServer::handle_timeout(Instant now) {
  if (now < next_sweep_) return;
  Instant next = kNever;
  std::vector<std::uint64_t> expired;
  for (auto& [id, a] : allocations_) {
    if (now >= a.expires) {
      expired.push_back(id);
      continue;
    }
    next = std::min(next, a.prune(now));
  }
  for (std::uint64_t id : expired) {
    SPDLOG_DEBUG("turn: allocation {} expired", allocations_.at(id).relay.to_string());
    delete_allocation(id, true);
  }
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (now >= it->second.expires) {
      ports_.release(it->second.port);
      it = reservations_.erase(it);
    } else {
      next = std::min(next, it->second.expires);
      ++it;
    }
  }
  next_sweep_ = next == kNever ? kNever : std::max(next, now + kSweepInterval);
}

}  // namespace qp2p::turn
