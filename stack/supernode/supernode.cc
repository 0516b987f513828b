// Supernode: demultiplexing of datagrams to the services and the timer set
// (peer expiry, push retransmission, the debounced supernode-list push). See supernode.h.
#include "stack/supernode/supernode.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "stack/federation/federation_seal.h"
#include "stack/supernode/supernode_core.h"

namespace qp2p {

namespace {
// How often silent peers are looked for; expiry is accurate to this.
constexpr Duration kExpiryScanInterval = std::chrono::seconds(1);

turn::TurnConfig turn_config(const SupernodeConfig& config) {
  turn::TurnConfig t = config.turn;
  t.listen = config.primary;
  t.software = config.software;
  // Every STUN/control endpoint (2 or 4, see StunService) is off limits as a peer.
  const StunService stun(StunServiceConfig{config.primary, config.alternate, config.software});
  for (const Endpoint& e : stun.listen_endpoints()) t.forbidden_peers.push_back(e);
  return t;
}

// RFC 7983 / RFC 5766: ChannelData starts with 0x40-0x7F (channels 0x4000-0x7FFF).
bool looks_like_channel_data(const std::uint8_t* data, std::size_t size) {
  return size >= 4 && data[0] >= 0x40 && data[0] <= 0x7F;
}

std::unique_ptr<federation::Membership> make_federation(const SupernodeConfig& config,
                                                        const Identity& identity,
                                                        Random random) {
  if (config.network_secret.empty()) return nullptr;
  std::string error;
  auto key = federation::NetworkKey::from_secret(config.network_secret, &error);
  if (!key) throw std::invalid_argument("network secret: " + error);
  federation::MembershipConfig m = config.federation;
  m.local = config.primary;
  m.seeds = config.seeds;
  m.unix_offset_us = config.turn.unix_offset_us;
  return std::make_unique<federation::Membership>(m, identity, *key, std::move(random));
}
}  // namespace

SupernodeCore::SupernodeCore(SupernodeConfig config, Identity identity, Random random)
    : config_(std::move(config)),
      identity_(std::move(identity)),
      random_(std::move(random)),
      stun_(StunServiceConfig{config_.primary, config_.alternate, config_.software}),
      turn_(turn_config(config_), random_.fork()),
      held_requests_(config_.hold_unknown_target, config_.max_held_requests) {
  random_.fill(cookie_secret_.data(), cookie_secret_.size());
  // Forked only when on, so a lone supernode's random stream is exactly as before.
  if (!config_.network_secret.empty()) {
    federation_ = make_federation(config_, identity_, random_.fork());
    directory_ = std::make_unique<federation::DirectoryNode>(identity_, config_.directory,
                                                             random_.fork());
    stats_reporter_ = StatsReporter(config_.stats_report);
    next_stats_round_ = Instant{};  // the first handle_timeout schedules the rounds
  }
}

void SupernodeCore::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                    const std::uint8_t* data, std::size_t size) {
  last_wall_ms_ = wall_ms(now);
  dispatch_datagram(now, local, remote, data, size);
  flush_directory(now);  // what the input made the directory send or tell watchers
}

void SupernodeCore::dispatch_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                      const std::uint8_t* data, std::size_t size) {
  ++counters_.datagrams_in;
  if (turn_.owns_relay(local)) return turn_.handle_peer_datagram(now, local, remote, data, size);
  if (stun::MessageView::looks_like_stun(data, size))
    return handle_stun(now, local, remote, data, size);
  // Federation (0x53) on the primary port, unless the 5-tuple has that channel bound (RFC 5766
  // channel range, as for control below).
  if (federation_ && local == config_.primary &&
      federation::looks_like_federation(data, size) &&
      !(turn_.enabled() && turn_.is_bound_channel(local, remote, data, size))) {
    federation_->handle_datagram(now, local, remote, data, size);
    return drain_federation_events(now);
  }
  // Channels 0x5100-0x51FF share their first byte with qp2p control: such a datagram is
  // ChannelData only when its 5-tuple has that channel bound.
  if (turn_.enabled() && local == config_.primary && looks_like_channel_data(data, size) &&
      (!wire::looks_like_control(data, size) || turn_.is_bound_channel(local, remote, data, size)))
    return turn_.handle_channel_data(now, local, remote, data, size);
  if (wire::looks_like_control(data, size)) return handle_control(now, local, remote, data, size);
  ++counters_.dropped_unknown_protocol;
  SPDLOG_DEBUG("drop: unknown protocol, {} bytes from {} (first byte 0x{:02x})", size,
               remote.to_string(), size ? data[0] : 0);
}

void SupernodeCore::handle_stun(Instant now, const Endpoint& local, const Endpoint& remote,
                                const std::uint8_t* data, std::size_t size) {
  stun::ParseError error = stun::ParseError::kNone;
  auto message = stun::MessageView::parse(data, size, &error);
  if (!message) {
    ++counters_.dropped_stun_malformed;
    SPDLOG_DEBUG("drop: malformed STUN from {}: {}", remote.to_string(), stun::to_string(error));
    return;
  }
  if (turn_.enabled() && local == config_.primary &&
      turn::TurnServer::is_turn_method(message->raw_method()))
    return turn_.handle_stun(now, local, remote, *message);
  if (auto response = stun_.handle_binding(*message, local, remote))
    transmits_.push_back(std::move(*response));
}

void SupernodeCore::handle_control(Instant now, const Endpoint& local, const Endpoint& remote,
                                   const std::uint8_t* data, std::size_t size) {
  wire::DecodeError error = wire::DecodeError::kNone;
  auto header = wire::decode_header(data, size, &error);
  if (!header) {
    ++counters_.dropped_control_malformed;
    SPDLOG_DEBUG("drop: malformed control message from {}: {}", remote.to_string(),
                 wire::to_string(error));
    return;
  }
  if (header->flags & wire::kFlagSession) {
    auto id = wire::Session::peek_session_id(data, size);
    auto it = id ? sessions_.find(*id) : sessions_.end();
    if (it == sessions_.end()) {
      ++counters_.dropped_control_unauthenticated;
      SPDLOG_DEBUG("drop: control message from {} for unknown session", remote.to_string());
      // Tell the sender, so a peer we expired (or lost in a restart) logs in again at once.
      // The answer is smaller than the request: no amplification.
      reply_plain(local, remote, header->transaction,
                  wire::Error{wire::ErrorCode::kUnknownSession, "unknown session"});
      return;
    }
    PeerSessionState& peer = it->second;
    auto opened = peer.session.open(data, size);
    if (opened != wire::Session::OpenResult::kOk) {
      if (opened == wire::Session::OpenResult::kReplayed) ++counters_.dropped_control_replayed;
      else ++counters_.dropped_control_unauthenticated;
      SPDLOG_DEBUG("drop: control message from {} failed authentication", remote.to_string());
      return;
    }
    auto message = wire::decode(data, size, &error);
    if (!message) {
      ++counters_.dropped_control_malformed;
      SPDLOG_DEBUG("drop: malformed {} body from {}: {}", header->type, remote.to_string(),
                   wire::to_string(error));
      return;
    }
    // An authenticated message from a new address: the peer's NAT rebound its mapping.
    if (peer.remote != remote || peer.local != local) {
      SPDLOG_INFO("peer {} moved from {} to {}", peer.id.to_string(), peer.remote.to_string(),
                  remote.to_string());
      peer.remote = remote;
      peer.local = local;
      directory_online(peer);  // its address in the directory follows
    }
    peer.last_seen = now;
    return handle_session_message(now, peer, *message);
  }

  auto message = wire::decode(data, size, &error);
  if (!message) {
    ++counters_.dropped_control_malformed;
    SPDLOG_DEBUG("drop: malformed control message from {}: {}", remote.to_string(),
                 wire::to_string(error));
    return;
  }
  if (leaving_ && (std::holds_alternative<wire::Hello>(message->body) ||
                   std::holds_alternative<wire::Login>(message->body))) {
    // Shutting down: the peer should try its next supernode at once.
    return reply_plain(local, remote, message->transaction,
                       wire::Error{wire::ErrorCode::kServerFull, "supernode is shutting down"});
  }
  if (auto* hello = std::get_if<wire::Hello>(&message->body))
    return on_hello(now, local, remote, message->transaction, *hello);
  if (auto* login = std::get_if<wire::Login>(&message->body))
    return on_login(now, local, remote, message->transaction, *login);
  ++counters_.dropped_control_unauthenticated;
  SPDLOG_DEBUG("drop: {} from {} outside a session", wire::type_name(message->body),
               remote.to_string());
}

void SupernodeCore::handle_session_message(Instant now, PeerSessionState& peer,
                                           wire::ControlMessage& msg) {
  const std::uint64_t txn = msg.transaction;
  if (std::holds_alternative<wire::Keepalive>(msg.body))
    return reply(peer, txn, wire::KeepaliveAck{peer.remote});
  if (std::holds_alternative<wire::Logout>(msg.body)) {
    reply(peer, txn, wire::LogoutAck{});
    ++counters_.logouts;
    return end_session(now, peer.session.id(), wire::PresenceReason::kLogout);
  }
  if (auto* m = std::get_if<wire::Publish>(&msg.body)) return on_publish(peer, txn, *m);
  if (auto* m = std::get_if<wire::Lookup>(&msg.body)) return on_lookup(peer, txn, *m);
  if (auto* m = std::get_if<wire::Search>(&msg.body)) return on_search(peer, txn, *m);
  if (auto* m = std::get_if<wire::Watch>(&msg.body)) return on_watch(now, peer, txn, *m);
  if (auto* m = std::get_if<wire::SendMessage>(&msg.body)) return on_send(now, peer, txn, *m);
  if (auto* m = std::get_if<wire::TunnelConnect>(&msg.body))
    return on_tunnel_connect(now, peer, txn, *m);
  if (auto* m = std::get_if<wire::TunnelAnswer>(&msg.body))
    return on_tunnel_answer(now, peer, txn, *m);
  if (auto* m = std::get_if<wire::TunnelRelay>(&msg.body))
    return on_tunnel_relay(now, peer, txn, *m);
  if (auto* m = std::get_if<wire::TunnelOutcome>(&msg.body)) return on_tunnel_outcome(peer, txn, *m);
  if (std::holds_alternative<wire::Ack>(msg.body)) return on_push_ack(now, peer, txn);
  ++counters_.dropped_control_unexpected;
  SPDLOG_DEBUG("drop: unexpected {} from peer {}", wire::type_name(msg.body), peer.id.to_string());
}

void SupernodeCore::handle_timeout(Instant now) {
  last_wall_ms_ = wall_ms(now);
  if (now >= next_expiry_check_) {
    expire_silent_peers(now);
    if (!routed_out_.empty()) retry_routed(now);
    forget_old_routed(now);
    next_expiry_check_ = sessions_.empty() && routed_order_.empty() ? kNever
                                                                    : now + kExpiryScanInterval;
  }
  for (std::uint64_t txn : pushes_.handle_timeout(now)) {
    auto it = pending_pushes_.find(txn);
    if (it == pending_pushes_.end()) continue;
    PendingPush p = it->second;
    pending_pushes_.erase(it);
    SPDLOG_DEBUG("push to {} timed out", p.target.to_string());
    delivery_failed(now, p);
  }
  if (route_outbox_.poll_timeout() <= now) retry_handshake_routes(now);
  if (held_requests_.deadline() <= now) expire_held_requests(now);
  turn_.handle_timeout(now);
  // Directory refreshes, expiry and anti-entropy first, so their payloads go out below.
  if (directory_ && directory_deadline() <= now) directory_->handle_timeout(last_wall_ms_);
  if (federation_ && federation_->poll_timeout() <= now) {
    federation_->handle_timeout(now);
    drain_federation_events(now);
  }
  if (list_announce_at_ <= now) announce_supernode_list(now);
  if (federation_ && next_stats_round_ <= now) send_stats_round(now);
  flush_directory(now);
}

std::optional<Datagram> SupernodeCore::poll_transmit() {
  if (!transmits_.empty()) {
    Datagram d = std::move(transmits_.front());
    transmits_.pop_front();
    ++counters_.datagrams_out;
    return d;
  }
  if (auto d = turn_.poll_transmit()) {
    ++counters_.datagrams_out;
    return d;
  }
  if (auto d = pushes_.poll_transmit()) {
    ++counters_.datagrams_out;
    return d;
  }
  auto d = federation_ ? federation_->poll_transmit() : std::nullopt;
  if (d) ++counters_.datagrams_out;
  return d;
}

Instant SupernodeCore::poll_timeout() const {
  return std::min({next_expiry_check_, pushes_.poll_timeout(), turn_.poll_timeout(),
                   route_outbox_.poll_timeout(), held_requests_.deadline(), list_announce_at_,
                   next_stats_round_,
                   federation_ ? federation_->poll_timeout() : kNever, directory_deadline()});
}

void SupernodeCore::reply(PeerSessionState& peer, std::uint64_t transaction, wire::Body body) {
  transmits_.push_back(
      Datagram{peer.local, peer.remote, peer.session.seal({transaction, std::move(body)})});
}

void SupernodeCore::reply_plain(const Endpoint& local, const Endpoint& remote,
                                std::uint64_t transaction, wire::Body body) {
  Datagram d{local, remote, {}};
  wire::encode({transaction, std::move(body)}, d.payload);
  transmits_.push_back(std::move(d));
}

PeerSessionState* SupernodeCore::find_session(const PeerId& id) {
  auto it = session_of_.find(id);
  if (it == session_of_.end()) return nullptr;
  auto s = sessions_.find(it->second);
  return s == sessions_.end() ? nullptr : &s->second;
}

// --- Supernode facade ---

Supernode::Supernode(SupernodeConfig config, Identity identity, Random random)
    : core_(std::make_unique<SupernodeCore>(std::move(config), std::move(identity),
                                            std::move(random))) {}
Supernode::~Supernode() = default;

std::vector<Endpoint> Supernode::listen_endpoints() const { return core_->stun_.listen_endpoints(); }
void Supernode::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                const std::uint8_t* data, std::size_t size) {
  core_->handle_datagram(now, local, remote, data, size);
}
void Supernode::handle_timeout(Instant now) { core_->handle_timeout(now); }
std::optional<Datagram> Supernode::poll_transmit() { return core_->poll_transmit(); }
Instant Supernode::poll_timeout() const { return core_->poll_timeout(); }
std::optional<turn::SocketChange> Supernode::poll_socket_change() {
  return core_->turn_.poll_socket_change();
}
void Supernode::handle_socket_result(Instant now, const Endpoint& local, bool opened) {
  core_->turn_.handle_socket_result(now, local, opened);
}
const SupernodeCounters& Supernode::counters() const { return core_->counters_; }
const turn::TurnCounters& Supernode::turn_counters() const { return core_->turn_.counters(); }
std::size_t Supernode::relay_allocations() const { return core_->turn_.allocation_count(); }
const StunCounters& Supernode::stun_counters() const { return core_->stun_.counters(); }
std::size_t Supernode::online_peers() const { return core_->sessions_.size(); }
const Identity& Supernode::identity() const { return core_->identity_; }
const federation::Membership* Supernode::federation() const { return core_->federation_.get(); }
const federation::DirectoryNode* Supernode::directory() const { return core_->directory_.get(); }
std::optional<PeerId> Supernode::home_supernode_of(const PeerId& peer) const {
  return core_->home_supernode_of(peer);
}

}  // namespace qp2p
