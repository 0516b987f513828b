// An established tunnel (see tunnel.h).
#include "stack/tunnel/tunnel.h"

#include <algorithm>

namespace qp2p::tunnel {

namespace {
bool all_zero(const X25519Key& k) {
  return std::all_of(k.begin(), k.end(), [](std::uint8_t b) { return b == 0; });
}
}  // namespace

Bytes AttemptSide::make_check(bool response, bool nominate, const TransactionId& transaction,
                              const X25519Key& remote_ephemeral) const {
  CheckPacket c;
  c.response = response;
  c.nominate = !response && nominate;
  c.transaction = transaction;
  c.tie_breaker = tie_breaker;
  c.tunnel_id = tunnel_id;
  c.sender_ephemeral = ephemeral;
  c.receiver_ephemeral = remote_ephemeral;
  sign_check(c, identity, remote, nonce);
  Bytes out;
  out.reserve(kCheckSize);
  append_check(c, out);
  return out;
}

AttemptSide::Verdict AttemptSide::verify(const CheckPacket& check) const {
  if (check.sender != remote) return Verdict::kWrongSender;
  // Checked before the (costlier) signature: a check naming another ephemeral key of ours
  // belongs to another attempt.
  if (!all_zero(check.receiver_ephemeral) && check.receiver_ephemeral != ephemeral)
    return Verdict::kWrongEphemeral;
  if (!verify_check(check, identity.id(), nonce)) return Verdict::kBadSignature;
  return Verdict::kOk;
}

Tunnel::Tunnel(TunnelParams params, TunnelConfig config, Instant now)
    : side_(std::move(params.side)),
      local_(params.local),
      remote_(params.remote),
      remote_tunnel_id_(params.remote_tunnel_id),
      remote_ephemeral_(params.remote_ephemeral),
      keys_(params.keys),
      rtt_(params.rtt),
      config_(config),
      last_sent_(now),
      last_heard_(now) {
  if (config_.keepalive_interval <= Duration::zero())
    config_.keepalive_interval = kDefaultKeepaliveInterval;
  if (config_.dead_interval <= Duration::zero()) config_.dead_interval = kDefaultDeadInterval;
  transmit(now, PacketType::kKeepalive, nullptr, 0);
  ++counters_.keepalives_sent;
  for (const Datagram& d : params.early_packets)
    handle_datagram(now, d.local, d.remote, d.payload.data(), d.payload.size());
}

void Tunnel::transmit(Instant now, PacketType type, const std::uint8_t* data, std::size_t size) {
  transmits_.push_back(
      Datagram{local_, remote_, seal(keys_, type, remote_tunnel_id_, ++send_counter_, data, size)});
  last_sent_ = now;
}

bool Tunnel::send(Instant now, const std::uint8_t* data, std::size_t size) {
  if (closed_ || size > kMaxPlaintext) return false;
  transmit(now, PacketType::kData, data, size);
  ++counters_.data_sent;
  return true;
}

void Tunnel::close(Instant now, std::uint8_t reason) {
  if (closed_) return;
  transmit(now, PacketType::kClose, &reason, 1);
  finish("closed locally");
}

void Tunnel::finish(std::string reason) {
  closed_ = true;
  events_.push_back(tunnel_event::Closed{std::move(reason)});
}

void Tunnel::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                             const std::uint8_t* data, std::size_t size) {
  if (closed_) {
    ++counters_.dropped_closed;
    return;
  }
  auto packet = parse(data, size);
  if (!packet) {
    ++counters_.dropped_malformed;
    return;
  }
  if (auto* check = std::get_if<CheckPacket>(&*packet)) {
    handle_check(local, remote, *check);
  } else {
    handle_sealed(now, local, remote, std::get<SealedPacket>(*packet));
  }
}

void Tunnel::handle_check(const Endpoint& local, const Endpoint& remote,
                          const CheckPacket& check) {
  // Only requests are answered; a late response to one of the punch's checks changes nothing.
  // Checks never count as liveness nor move the path: within an attempt they can be replayed.
  if (check.response) {
    ++counters_.checks_ignored;
    return;
  }
  if (side_.verify(check) != AttemptSide::Verdict::kOk ||
      check.sender_ephemeral != remote_ephemeral_) {
    ++counters_.dropped_bad_check;
    return;
  }
  transmits_.push_back(
      Datagram{local, remote, side_.make_check(true, false, check.transaction, remote_ephemeral_)});
  ++counters_.checks_answered;
}

void Tunnel::handle_sealed(Instant now, const Endpoint& local, const Endpoint& remote,
                           const SealedPacket& p) {
  if (p.tunnel_id != side_.tunnel_id) {
    ++counters_.dropped_wrong_tunnel;
    return;
  }
  if (!replay_.check(p.counter)) {
    ++counters_.dropped_replayed;
    return;
  }
  auto plain = open(keys_, p);
  if (!plain) {
    ++counters_.dropped_bad_aead;
    return;
  }
  const bool newest = p.counter > replay_.highest();
  replay_.accept(p.counter);
  last_heard_ = now;
  peer_heard_ = true;
  if (newest && (local != local_ || remote != remote_)) {
    local_ = local;
    remote_ = remote;
    ++counters_.path_changes;
    events_.push_back(tunnel_event::PathChanged{local_, remote_});
  }
  switch (p.type) {
    case PacketType::kData:
      ++counters_.data_received;
      events_.push_back(tunnel_event::Data{std::move(*plain)});
      break;
    case PacketType::kKeepalive:
      ++counters_.keepalives_received;
      break;
    case PacketType::kClose:
      finish("closed by peer");
      break;
    default:
      break;
  }
}

void Tunnel::handle_timeout(Instant now) {
  if (closed_) return;
  if (now >= last_heard_ + config_.dead_interval) {
    finish("keepalive timeout");
    return;
  }
  if (now >= last_sent_ + keepalive_interval()) {
    transmit(now, PacketType::kKeepalive, nullptr, 0);
    ++counters_.keepalives_sent;
  }
}

std::optional<Datagram> Tunnel::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
  Datagram d = std::move(transmits_.front());
  transmits_.pop_front();
  return d;
}

Instant Tunnel::poll_timeout() const {
  if (closed_) return kNever;
  return std::min(last_sent_ + keepalive_interval(), last_heard_ + config_.dead_interval);
}

Duration Tunnel::keepalive_interval() const {
  if (peer_heard_) return config_.keepalive_interval;
  return std::min(config_.keepalive_interval, config_.unconfirmed_keepalive_interval);
}

std::optional<TunnelEvent> Tunnel::poll_event() {
  if (events_.empty()) return std::nullopt;
  TunnelEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace qp2p::tunnel
