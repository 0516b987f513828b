// The checkpoint service: login (challenge, signature, key agreement), keepalive expiry,
// logout, and presence watches. Protocol in docs/protocol.md, "Login" and "Presence".
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "stack/supernode/supernode_core.h"

namespace qp2p {

namespace {
// A challenge nonce is accepted for this long after it was issued.
constexpr Duration kNonceLifetime = std::chrono::seconds(30);

void nonce_mac(const std::array<std::uint8_t, 32>& secret, const std::uint8_t* prefix,
               std::size_t prefix_len, const PeerId& peer, const Endpoint& remote,
               std::uint8_t out[16]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, secret.data(), secret.size(), 16);
  crypto_generichash_update(&st, prefix, prefix_len);
  crypto_generichash_update(&st, peer.key.data(), peer.key.size());
  crypto_generichash_update(&st, remote.address.data(), remote.address.size());
  const std::uint8_t port[2] = {static_cast<std::uint8_t>(remote.port >> 8),
                                static_cast<std::uint8_t>(remote.port)};
  crypto_generichash_update(&st, port, 2);
  crypto_generichash_final(&st, out, 16);
}
}  // namespace

// Stateless challenge: issue time (8 bytes) | random (8) | MAC over both, the peer and its
// address (16). The supernode keeps nothing per Hello, so Hello floods cost no memory.
wire::Nonce SupernodeCore::make_nonce(Instant now, const PeerId& peer, const Endpoint& remote) {
  wire::Nonce nonce{};
  const std::uint64_t t = static_cast<std::uint64_t>(to_us(now));
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<std::uint8_t>(t >> (56 - 8 * i));
  random_.fill(nonce.data() + 8, 8);
  nonce_mac(cookie_secret_, nonce.data(), 16, peer, remote, nonce.data() + 16);
  return nonce;
}

bool SupernodeCore::check_nonce(Instant now, const wire::Nonce& nonce, const PeerId& peer,
                                const Endpoint& remote) {
  std::uint8_t expected[16];
  nonce_mac(cookie_secret_, nonce.data(), 16, peer, remote, expected);
  if (sodium_memcmp(expected, nonce.data() + 16, 16) != 0) return false;
  std::uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = (t << 8) | nonce[i];
  const Instant issued = instant_from_us(static_cast<std::int64_t>(t));
  return issued <= now && now - issued <= kNonceLifetime;
}

void SupernodeCore::on_hello(Instant now, const Endpoint& local, const Endpoint& remote,
                             std::uint64_t transaction, const wire::Hello& hello) {
  reply_plain(local, remote, transaction,
              wire::Challenge{identity_.id(), make_nonce(now, hello.peer, remote)});
}

void SupernodeCore::on_login(Instant now, const Endpoint& local, const Endpoint& remote,
                             std::uint64_t transaction, const wire::Login& login) {
  auto refuse = [&](wire::ErrorCode code, const char* why) {
    ++counters_.rejected_login;
    SPDLOG_DEBUG("login of {} from {} refused: {}", login.peer.to_string(), remote.to_string(), why);
    reply_plain(local, remote, transaction, wire::Error{code, why});
  };
  if (!check_nonce(now, login.nonce, login.peer, remote))
    return refuse(wire::ErrorCode::kUnauthorized, "challenge nonce invalid or expired");
  Bytes transcript = wire::login_transcript(login.peer, identity_.id(), login.nonce, login.ephemeral);
  if (!verify_signature(login.peer, transcript.data(), transcript.size(), login.signature))
    return refuse(wire::ErrorCode::kUnauthorized, "login signature does not verify");
  if (PeerSessionState* existing = find_session(login.peer);
      existing && existing->login_nonce == login.nonce &&
      existing->login_ephemeral == login.ephemeral) {
    // The same Login again (its LoginOk was lost or slow, or a replay from the same address
    // within the nonce lifetime): answer it again, keep the session.
    return reply_plain(local, remote, transaction, existing->login_ok);
  }
  if (sessions_.size() >= config_.max_peers && !find_session(login.peer))
    return refuse(wire::ErrorCode::kServerFull, "supernode full");

  auto mine = wire::EphemeralKeyPair::generate(random_);
  auto key = wire::derive_session_key(mine, login.ephemeral, login.peer, identity_.id(),
                                      login.ephemeral, mine.public_key);
  if (!key) return refuse(wire::ErrorCode::kBadRequest, "ephemeral key is a low-order point");

  // A peer logging in again (restart, new address) replaces its old session silently; its
  // watches carry over (watchers_ still lists it, and end_session must find them to remove).
  // With federation, a peer online at another supernode that logs in here has moved: its
  // watchers knew it online already.
  bool was_online = online_elsewhere(login.peer);
  std::set<PeerId> watching;
  if (auto it = session_of_.find(login.peer); it != session_of_.end()) {
    if (auto old = sessions_.find(it->second); old != sessions_.end())
      watching = std::move(old->second.watching);
    sessions_.erase(it->second);
    session_of_.erase(it);
    was_online = true;
  }
  std::uint64_t session_id;
  do session_id = random_.next_u64(); while (session_id == 0 || sessions_.count(session_id));

  PeerSessionState state;
  state.id = login.peer;
  state.remote = remote;
  state.local = local;
  state.session = wire::Session(session_id, *key, wire::Direction::kToPeer);
  state.last_seen = now;
  state.watching = std::move(watching);
  state.login_nonce = login.nonce;
  state.login_ephemeral = login.ephemeral;
  state.login_signature = login.signature;
  auto& peer = sessions_.emplace(session_id, std::move(state)).first->second;
  session_of_[login.peer] = session_id;
  ++counters_.logins;

  wire::LoginOk ok;
  ok.session_id = session_id;
  ok.ephemeral = mine.public_key;
  ok.mapped = remote;
  ok.keepalive_ms = static_cast<std::uint32_t>(to_ms(config_.keepalive_interval));
  ok.expiry_ms = static_cast<std::uint32_t>(to_ms(config_.peer_expiry));
  Bytes ok_transcript = wire::login_ok_transcript(login.peer, identity_.id(), login.ephemeral, ok);
  ok.signature = identity_.sign(ok_transcript.data(), ok_transcript.size());
  peer.login_ok = ok;
  // LoginOk goes out unsealed (the peer needs it to derive the key); its signature binds it.
  reply_plain(local, remote, transaction, ok);
  SPDLOG_INFO("peer {} logged in from {}", login.peer.to_string(), remote.to_string());
  directory_online(peer);
  if (next_expiry_check_ == kNever) next_expiry_check_ = now + std::chrono::seconds(1);
  if (!was_online) notify_watchers(now, login.peer, true, wire::PresenceReason::kLogin);
  // Where to go should this supernode die (after the LoginOk: transmits leave before pushes).
  if (auto list = live_supernodes(); !list.empty())
    push_supernode_list(now, peer, std::make_shared<const std::vector<Endpoint>>(std::move(list)));
}

void SupernodeCore::on_watch(Instant now, PeerSessionState& peer, std::uint64_t transaction,
                             const wire::Watch& watch) {
  if (peer.watching.size() >= config_.max_watches_per_peer &&
      !peer.watching.count(watch.target)) {
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kTooManyRequests, "too many watches"});
  }
  peer.watching.insert(watch.target);
  watchers_[watch.target].insert(peer.id);
  reply(peer, transaction, wire::WatchAck{home_supernode_of(watch.target).has_value()});
}

void SupernodeCore::end_session(Instant now, std::uint64_t session_id,
                                wire::PresenceReason reason) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  const PeerId id = it->second.id;
  for (const PeerId& target : it->second.watching) {
    auto w = watchers_.find(target);
    if (w == watchers_.end()) continue;
    w->second.erase(id);
    if (w->second.empty()) watchers_.erase(w);
  }
  sessions_.erase(it);
  session_of_.erase(id);
  end_negotiations_of(now, id);
  // Logged-out and expired peers leave the directory (DESIGN: they disappear everywhere).
  index_.remove(id);
  SPDLOG_INFO("peer {} {}", id.to_string(),
              reason == wire::PresenceReason::kExpired ? "expired" : "logged out");
  if (directory_) {
    // A tombstone, unless the peer has moved to another supernode (then nothing is written).
    directory_->peer_offline(wall_ms(now), id,
                             reason == wire::PresenceReason::kExpired
                                 ? federation::PresenceState::kExpired
                                 : federation::PresenceState::kLoggedOut);
    if (online_elsewhere(id)) return;  // still online for its watchers
  }
  notify_watchers(now, id, false, reason);
}

void SupernodeCore::expire_silent_peers(Instant now) {
  std::vector<std::uint64_t> silent;
  for (const auto& [sid, peer] : sessions_)
    if (now - peer.last_seen >= config_.peer_expiry) silent.push_back(sid);
  for (std::uint64_t sid : silent) {
    ++counters_.expiries;
    end_session(now, sid, wire::PresenceReason::kExpired);
  }
  expire_negotiations(now);
}

}  // namespace qp2p
