// PeerSession state machine (see peer_session.h; protocol in docs/protocol.md).
#include "stack/peer/peer_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "stack/wire/punch_plan_fields.h"

namespace qp2p {

namespace {
// Deliveries remembered to drop duplicates (a retransmitted Deliver whose Ack was lost).
constexpr std::size_t kSeenDeliveries = 4096;

template <class... Ts>
struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;
}  // namespace

PeerSession::PeerSession(PeerConfig config, Identity identity, Random random)
    : config_(std::move(config)),
      identity_(std::move(identity)),
      random_(std::move(random)),
      candidates_(config_.supernodes),
      tracker_(config_.retransmit),
      meta_(config_.initial_meta),
      record_version_(config_.record_version_base),
      tunnels_(identity_, config_.tunnel, config_.local, random_.fork(), config_.tunnel_limits) {
  std::sort(meta_.begin(), meta_.end());
}

std::optional<Endpoint> PeerSession::current_supernode() const {
  if (candidates_.empty()) return std::nullopt;
  return supernode_endpoint();
}

std::uint64_t PeerSession::new_transaction() {
  std::uint64_t t;
  do t = random_.next_u64(); while (t == 0 || requests_.count(t) || tracker_.outstanding(t));
  return t;
}

void PeerSession::start_tracked(Instant now, std::uint64_t txn, RequestTracker::Builder builder,
                                std::optional<RetransmitPolicy> policy) {
  rtt_.sent(txn, now);
  tracker_.start_timed(
      now, txn,
      [this, txn, first = true, builder = std::move(builder)](Instant, Duration) mutable {
        if (!first) rtt_.retransmitted(txn);
        first = false;
        return builder();
      },
      policy);
}

void PeerSession::start(Instant now) {
  if (candidates_.empty()) {
    events_.push_back(peer_event::Disconnected{{}, "no supernode configured", {}});
    return;
  }
  send_hello(now);
}

void PeerSession::send_hello(Instant now) {
  state_ = State::kHello;
  login_txn_ = new_transaction();
  send_plain(now, login_txn_, wire::Hello{identity_.id()}, true);
}

void PeerSession::send_plain(Instant now, std::uint64_t txn, wire::Body body, bool track) {
  Datagram d{config_.local, supernode_endpoint(), {}};
  wire::encode({txn, std::move(body)}, d.payload);
  if (!track) return transmits_.push_back(std::move(d));
  // Only the login exchange is tracked here; with other supernodes to try, briefly.
  start_tracked(now, txn, [d]() -> std::optional<Datagram> { return d; },
                login_may_fail_fast() ? config_.failover_login_retransmit
                                      : config_.urgent_retransmit);
}

void PeerSession::send_sealed(std::uint64_t txn, wire::Body body) {
  transmits_.push_back(
      Datagram{config_.local, supernode_endpoint(), session_.seal({txn, std::move(body)})});
}

std::uint64_t PeerSession::enqueue(Instant now, std::string command, wire::Body body,
                                   PeerId target, std::uint64_t message_id) {
  const std::uint64_t id = new_transaction();
  requests_.emplace(id, Pending{std::move(command), std::move(body), target, message_id, 0, 0, {}});
  if (state_ == State::kRegistered) issue(now, id);
  else queued_.push_back(id);
  return id;
}

void PeerSession::issue(Instant now, std::uint64_t request) {
  auto it = requests_.find(request);
  if (it == requests_.end()) return;
  // Tunnel requests carry our current RTT estimate (it improves while a request is queued).
  if (auto* c = std::get_if<wire::TunnelConnect>(&it->second.body)) c->rtt_ms = rtt_ms();
  if (auto* a = std::get_if<wire::TunnelAnswer>(&it->second.body); a && a->accept)
    a->rtt_ms = rtt_ms();
  const bool urgent = std::holds_alternative<wire::TunnelConnect>(it->second.body) ||
                      std::holds_alternative<wire::TunnelAnswer>(it->second.body);
  // Each retransmission is sealed afresh: the receiver's replay window drops exact copies.
  start_tracked(
      now, request,
      [this, request]() -> std::optional<Datagram> {
        auto r = requests_.find(request);
        if (r == requests_.end() || state_ != State::kRegistered) return std::nullopt;
        return Datagram{config_.local, supernode_endpoint(), session_.seal({request, r->second.body})};
      },
      urgent ? std::optional<RetransmitPolicy>(config_.urgent_retransmit) : std::nullopt);
}

std::uint64_t PeerSession::publish(Instant now, const wire::MetaEntries& set) {
  wire::MetaEntries merged = meta_;
  for (const auto& [k, v] : set) {
    auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& e) { return e.first == k; });
    if (it != merged.end()) it->second = v;
    else merged.emplace_back(k, v);
  }
  std::sort(merged.begin(), merged.end());
  std::string invalid = wire::validate_entries(merged);
  const std::uint64_t id = new_transaction();
  if (!invalid.empty()) {
    events_.push_back(peer_event::RequestFailed{id, "publish", invalid});
    return id;
  }
  meta_ = std::move(merged);
  auto record = wire::SignedRecord::make(identity_, ++record_version_, meta_);
  published_once_ = true;
  requests_.emplace(id, Pending{"publish", wire::Publish{std::move(record)}, {}, 0, 0, 0, {}});
  if (state_ == State::kRegistered) issue(now, id);
  else queued_.push_back(id);
  return id;
}

std::uint64_t PeerSession::lookup(Instant now, const PeerId& target) {
  return enqueue(now, "lookup", wire::Lookup{target}, target);
}

std::uint64_t PeerSession::search(Instant now, std::vector<wire::SearchTerm> terms,
                                  std::uint16_t limit) {
  if (terms.empty() || terms.size() > wire::kMaxSearchTerms) {
    const std::uint64_t id = new_transaction();
    events_.push_back(peer_event::RequestFailed{
        id, "search", "a search needs 1 to " + std::to_string(wire::kMaxSearchTerms) + " terms"});
    return id;
  }
  return enqueue(now, "search", wire::Search{limit, std::move(terms), {}});
}

std::uint64_t PeerSession::watch(Instant now, const PeerId& target) {
  watching_.insert(target);
  return enqueue(now, "watch", wire::Watch{target}, target);
}

std::uint64_t PeerSession::send_message(Instant now, const PeerId& to, std::string text) {
  if (text.size() > wire::kMaxTextBytes) {
    const std::uint64_t id = new_transaction();
    events_.push_back(peer_event::RequestFailed{
        id, "send", "message longer than " + std::to_string(wire::kMaxTextBytes) + " bytes"});
    return id;
  }
  const std::uint64_t message_id = random_.next_u64();
  return enqueue(now, "send", wire::SendMessage{to, message_id, std::move(text)}, to, message_id);
}

void PeerSession::logout(Instant now) {
  if (state_ != State::kRegistered) return finish_logout();
  state_ = State::kLoggingOut;
  next_keepalive_ = kNever;
  const std::uint64_t txn = new_transaction();
  login_txn_ = txn;
  start_tracked(now, txn, [this, txn]() -> std::optional<Datagram> {
    return Datagram{config_.local, supernode_endpoint(), session_.seal({txn, wire::Logout{}})};
  });
}

void PeerSession::finish_logout() {
  state_ = State::kLoggedOut;
  tracker_.clear();
  rtt_.forget_all();
  outgoing_.clear();
  incoming_.clear();
  // Requests still queued, or in flight and abandoned by the logout, will never be answered:
  // report each, so every request id has an outcome. In id order, for a stable event order.
  std::vector<std::uint64_t> ids;
  for (const auto& [id, pending] : requests_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (std::uint64_t id : ids)
    events_.push_back(peer_event::RequestFailed{id, requests_.at(id).command, "logged out"});
  requests_.clear();
  queued_.clear();
  retry_due_.clear();
  events_.push_back(peer_event::LoggedOut{});
}

void PeerSession::schedule_keepalive(Instant now) { next_keepalive_ = now + keepalive_interval_; }

void PeerSession::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                  const std::uint8_t* data, std::size_t size) {
  // Tunnel packets (first byte 0x52) come from peers, on the main socket or an attempt's.
  if (tunnel::looks_like_tunnel(data, size)) {
    tunnels_.handle_datagram(now, local, remote, data, size);
    return drain_tunnels(now);
  }
  // The relay service's TURN messages for our relayed tunnels (relay_port.h).
  if (tunnels_.handle_relay_datagram(now, local, remote, data, size)) return drain_tunnels(now);
  // STUN answers (and our own hairpinned requests) belong to NAT discovery; they may come
  // from the supernode's other addresses, or from ourselves. So do the gateway's NAT-PMP answers.
  if (discovery_ && (stun::MessageView::looks_like_stun(data, size) ||
                     (config_.gateway && remote == *config_.gateway))) {
    discovery_->handle_datagram(now, local, remote, data, size);
    return drain_discovery(now);
  }
  if (candidates_.empty() || remote != supernode_endpoint()) {
    ++counters_.dropped_unexpected;
    SPDLOG_DEBUG("peer: drop datagram from {} (not our supernode)", remote.to_string());
    return;
  }
  wire::DecodeError error = wire::DecodeError::kNone;
  auto header = wire::decode_header(data, size, &error);
  if (!header) {
    ++counters_.dropped_malformed;
    SPDLOG_DEBUG("peer: drop malformed datagram from {}: {}", remote.to_string(), wire::to_string(error));
    return;
  }
  const bool sealed = header->flags & wire::kFlagSession;
  if (sealed) {
    const bool have_session = state_ == State::kRegistered || state_ == State::kLoggingOut;
    if (!have_session || session_.open(data, size) != wire::Session::OpenResult::kOk) {
      ++counters_.dropped_unauthenticated;
      SPDLOG_DEBUG("peer: drop unauthenticated datagram from {}", remote.to_string());
      return;
    }
  }
  auto message = wire::decode(data, size, &error);
  if (!message) {
    ++counters_.dropped_malformed;
    SPDLOG_DEBUG("peer: drop malformed body from {}: {}", remote.to_string(), wire::to_string(error));
    return;
  }
  if (sealed) on_session(now, *message);
  else on_plain(now, *message);
}

void PeerSession::on_plain(Instant now, wire::ControlMessage& msg) {
  // The supernode no longer knows our session (it expired us while we were paused or cut
  // off, or it restarted): log in again at once instead of waiting for keepalives to time
  // out. Unauthenticated, so only honoured for a transaction we have outstanding.
  if (auto* error = std::get_if<wire::Error>(&msg.body);
      error && error->code == wire::ErrorCode::kUnknownSession && state_ == State::kRegistered &&
      msg.transaction != login_txn_ && tracker_.outstanding(msg.transaction)) {
    SPDLOG_INFO("peer: supernode {} lost our session; logging in again",
                supernode_endpoint().to_string());
    fail_over(now, "session unknown to the supernode", /*next_supernode=*/false, /*at_once=*/true);
    return;
  }
  // Outside a session only the login exchange (and its errors) is meaningful.
  if (msg.transaction != login_txn_ || !tracker_.outstanding(msg.transaction)) {
    ++counters_.dropped_unexpected;
    return;
  }
  if (auto* challenge = std::get_if<wire::Challenge>(&msg.body); challenge && state_ == State::kHello) {
    tracker_.complete(msg.transaction);
    answered(now, msg.transaction);
    supernode_id_ = challenge->supernode;
    ephemeral_ = wire::EphemeralKeyPair::generate(random_);
    wire::Login login{identity_.id(), challenge->nonce, ephemeral_.public_key, {}};
    Bytes t = wire::login_transcript(identity_.id(), supernode_id_, login.nonce, login.ephemeral);
    login.signature = identity_.sign(t.data(), t.size());
    state_ = State::kLogin;
    login_txn_ = new_transaction();
    send_plain(now, login_txn_, login, true);
    return;
  }
  if (auto* ok = std::get_if<wire::LoginOk>(&msg.body); ok && state_ == State::kLogin) {
    Bytes t = wire::login_ok_transcript(identity_.id(), supernode_id_, ephemeral_.public_key, *ok);
    if (!verify_signature(supernode_id_, t.data(), t.size(), ok->signature)) {
      ++counters_.dropped_unauthenticated;
      return;
    }
    auto key = wire::derive_session_key(ephemeral_, ok->ephemeral, identity_.id(), supernode_id_,
                                        ephemeral_.public_key, ok->ephemeral);
    if (!key) {
      ++counters_.dropped_unauthenticated;
      return;
    }
    tracker_.complete(msg.transaction);
    answered(now, msg.transaction);
    session_ = wire::Session(ok->session_id, *key, wire::Direction::kToSupernode);
    state_ = State::kRegistered;
    failures_in_a_row_ = 0;
    keepalive_losses_ = 0;
    mapped_ = ok->mapped;
    keepalive_interval_ = config_.keepalive_interval.count() > 0
                              ? config_.keepalive_interval
                              : Duration(std::chrono::milliseconds(std::max<std::uint32_t>(ok->keepalive_ms, 100)));
    schedule_keepalive(now);
    events_.push_back(peer_event::Registered{supernode_id_, supernode_endpoint(), ok->mapped});
    on_registered_at(now);
    if (!discovery_ && !config_.discovery_locals.empty()) start_discovery(now);
    SPDLOG_INFO("peer {} registered at {} as {}", identity_.id().to_string(),
                supernode_endpoint().to_string(), ok->mapped.to_string());
    // What was published before a failover is published again at the new supernode.
    if (published_once_ || !meta_.empty()) {
      bool queued_publish = false;
      for (auto id : queued_)
        if (requests_.at(id).command == "publish") queued_publish = true;
      if (!queued_publish) publish(now, {});
    }
    for (const PeerId& target : watching_) {
      bool queued_watch = false;
      for (auto id : queued_)
        if (requests_.at(id).command == "watch" && requests_.at(id).target == target) queued_watch = true;
      if (!queued_watch) enqueue(now, "watch", wire::Watch{target}, target);
    }
    while (!queued_.empty()) {
      std::uint64_t id = queued_.front();
      queued_.pop_front();
      issue(now, id);
    }
    return;
  }
  if (auto* error = std::get_if<wire::Error>(&msg.body)) {
    tracker_.complete(msg.transaction);
    fail_over(now, "login refused: " + error->reason);
    return;
  }
  ++counters_.dropped_unexpected;
}

void PeerSession::on_session(Instant now, wire::ControlMessage& msg) {
  schedule_keepalive(now);  // any authenticated traffic proves the path is alive
  last_heard_ = now;
  keepalive_losses_ = 0;
  const bool is_push = std::holds_alternative<wire::Deliver>(msg.body) ||
                       std::holds_alternative<wire::DeliveryReport>(msg.body) ||
                       std::holds_alternative<wire::Presence>(msg.body) ||
                       std::holds_alternative<wire::TunnelOffer>(msg.body) ||
                       std::holds_alternative<wire::TunnelRefused>(msg.body) ||
                       std::holds_alternative<wire::PunchStart>(msg.body) ||
                       std::holds_alternative<wire::TunnelRelayed>(msg.body) ||
                       std::holds_alternative<wire::SupernodeLeaving>(msg.body) ||
                       std::holds_alternative<wire::SupernodeList>(msg.body);
  if (is_push) return on_push(now, msg.transaction, msg.body);
  if (!tracker_.complete(msg.transaction)) {
    ++counters_.dropped_unexpected;  // a late duplicate response
    return;
  }
  answered(now, msg.transaction);
  on_response(now, msg.transaction, msg.body);
}

void PeerSession::on_response(Instant now, std::uint64_t txn, wire::Body& body) {
  if (txn == keepalive_txn_) {
    if (auto* ack = std::get_if<wire::KeepaliveAck>(&body)) {
      if (mapped_ && *mapped_ != ack->mapped)
        SPDLOG_INFO("peer: mapped address changed {} -> {}", mapped_->to_string(), ack->mapped.to_string());
      mapped_ = ack->mapped;
    }
    return;
  }
  if (txn == login_txn_ && state_ == State::kLoggingOut) return finish_logout();
  auto it = requests_.find(txn);
  if (it == requests_.end()) return;
  if (auto* page = std::get_if<wire::SearchResult>(&body)) {
    // One datagram holds a handful of records: fetch further pages (cursor = last id) until
    // the limit asked for or every match has arrived.
    Pending& search = it->second;
    auto& request = std::get<wire::Search>(search.body);
    const std::size_t wanted = request.limit + search.collected.size();
    for (auto& p : page->peers) search.collected.push_back(std::move(p));
    const std::size_t goal = std::min<std::size_t>(wanted, page->total);
    if (!page->peers.empty() && search.collected.size() < goal) {
      request.after = search.collected.back().id;
      request.limit = static_cast<std::uint16_t>(wanted - search.collected.size());
      return issue(now, txn);
    }
    events_.push_back(peer_event::SearchDone{txn, page->total, std::move(search.collected)});
    requests_.erase(it);
    return;
  }
  Pending pending = std::move(it->second);
  requests_.erase(it);
  std::visit(Overloaded{
      [&](wire::PublishAck& m) { events_.push_back(peer_event::Published{txn, m.version}); },
      [&](wire::LookupResult& m) { events_.push_back(peer_event::LookupDone{txn, std::move(m.info)}); },
      [&](wire::WatchAck& m) { events_.push_back(peer_event::Watching{txn, pending.target, m.online}); },
      [&](wire::SendAccepted&) {
        events_.push_back(peer_event::MessageAccepted{txn, pending.target, pending.message_id});
      },
      [&](wire::TunnelConnectAccepted& m) {
        // The offer is on its way; the outcome comes as PunchStarted or TunnelRefused.
        auto o = outgoing_.find(pending.target);
        if (o != outgoing_.end() && o->second.request == txn) o->second.attempt = m.attempt;
      },
      [&](wire::TunnelAnswerAck&) {},  // accept: PunchStarted follows; refuse: done
      [&](wire::TunnelRelayAck&) {},   // the peer is told; its checks follow
      [&](wire::Error& m) { fail_request(txn, pending.target, pending.command, m.reason); },
      [&](auto&) {
        ++counters_.dropped_unexpected;
        events_.push_back(peer_event::RequestFailed{txn, pending.command, "unexpected response"});
      }},
      body);
}

void PeerSession::on_push(Instant now, std::uint64_t txn, wire::Body& body) {
  send_sealed(txn, wire::Ack{});  // acknowledged even when a duplicate, so retransmits stop
  // The supernode retransmits a push with the same transaction until it sees our Ack; a copy
  // that follows a lost Ack (delivery report, presence, message) is not reported again.
  if (!seen_pushes_.insert(txn).second) return;
  seen_push_order_.push_back(txn);
  if (seen_push_order_.size() > kSeenDeliveries) {
    seen_pushes_.erase(seen_push_order_.front());
    seen_push_order_.pop_front();
  }
  if (auto* m = std::get_if<wire::Deliver>(&body)) {
    auto key = std::make_pair(m->from, m->message_id);
    if (!seen_deliveries_.insert(key).second) return;
    seen_order_.push_back(key);
    if (seen_order_.size() > kSeenDeliveries) {
      seen_deliveries_.erase(seen_order_.front());
      seen_order_.pop_front();
    }
    events_.push_back(peer_event::MessageReceived{m->from, m->message_id, std::move(m->text)});
  } else if (auto* m = std::get_if<wire::DeliveryReport>(&body)) {
    events_.push_back(peer_event::Delivered{m->to, m->message_id});
  } else if (auto* m = std::get_if<wire::Presence>(&body)) {
    events_.push_back(peer_event::Presence{m->peer, m->online, m->reason});
  } else if (auto* m = std::get_if<wire::SupernodeLeaving>(&body)) {
    SPDLOG_INFO("peer: supernode {} is leaving ({} other supernodes named)",
                supernode_endpoint().to_string(), m->supernodes.size());
    events_.push_back(peer_event::SupernodeLeaving{supernode_endpoint(), m->supernodes});
    on_supernode_leaving(now, m->supernodes);
  } else if (auto* m = std::get_if<wire::SupernodeList>(&body)) {
    on_supernode_list(m->supernodes);
  } else {
    on_tunnel_push(now, body);
  }
}

void PeerSession::start_discovery(Instant now) {
  NatDiscoveryConfig config;
  config.primary_local = config_.local;
  config.extra_locals = config_.discovery_locals;
  config.server = supernode_endpoint();
  config.gateway = config_.gateway;
  discovery_ = std::make_unique<NatDiscovery>(std::move(config), random_.fork());
  discovery_->start(now);
  drain_discovery(now);
}

void PeerSession::drain_discovery(Instant now) {
  while (auto event = discovery_->poll_event()) {
    if (auto* done = std::get_if<nat_discovery_event::Completed>(&*event)) {
      nat_profile_ = done->profile;
      tunnels_.set_open_ttl(tunnel::opening_check_ttl(done->profile));
      SPDLOG_INFO("peer: NAT profile {}", done->profile.describe());
      events_.push_back(peer_event::NatClassified{done->profile, discovery_->transcript()});
      publish(now, done->profile.to_meta());  // the profile travels with the signed record
    } else if (auto* failed = std::get_if<nat_discovery_event::Failed>(&*event)) {
      events_.push_back(peer_event::NatDiscoveryFailed{failed->reason});
    }
  }
}

void PeerSession::handle_timeout(Instant now) {
  expire_relay_waits(now);
  try_upgrades(now);
  if (now >= tunnels_.poll_timeout()) {
    tunnels_.handle_timeout(now);
    drain_tunnels(now);
  }
  if (discovery_) {
    discovery_->handle_timeout(now);
    drain_discovery(now);
  }
  if (state_ == State::kWaitingToRetry && now >= retry_at_) {
    retry_at_ = kNever;
    send_hello(now);
  }
  retry_due_requests(now);
  expire_negotiations(now);
  // With somewhere else to go, a supernode silent for supernode_silence_limit is left.
  if (now >= silence_deadline()) return fail_over(now, "no answer to keepalives");
  // One keepalive at a time: its final timeout is what detects a dead supernode.
  if (state_ == State::kRegistered && now >= next_keepalive_ && !tracker_.outstanding(keepalive_txn_)) {
    keepalive_txn_ = new_transaction();
    keepalive_sent_ = now;
    const std::uint64_t txn = keepalive_txn_;
    start_tracked(now, txn, [this, txn]() -> std::optional<Datagram> {
      if (state_ != State::kRegistered) return std::nullopt;
      return Datagram{config_.local, supernode_endpoint(), session_.seal({txn, wire::Keepalive{}})};
    });
    schedule_keepalive(now);
  }
  for (std::uint64_t txn : tracker_.handle_timeout(now)) {
    rtt_.forget(txn);
    if (txn == login_txn_ && state_ == State::kLoggingOut) {
      finish_logout();
      return;
    }
    if (txn == keepalive_txn_ && state_ == State::kRegistered && keepalive_loss_tolerated(now))
      continue;
    if (txn == login_txn_ || txn == keepalive_txn_) {
      fail_over(now, txn == login_txn_ ? "no answer to login" : "no answer to keepalives");
      return;
    }
    if (requests_.count(txn) && on_request_timeout(now, txn)) return;  // failed over
  }
}

std::optional<Datagram> PeerSession::poll_transmit() {
  if (!transmits_.empty()) {
    Datagram d = std::move(transmits_.front());
    transmits_.pop_front();
    return d;
  }
  if (auto d = tracker_.poll_transmit()) return d;
  if (discovery_) {
    if (auto d = discovery_->poll_transmit()) return d;
  }
  return tunnels_.poll_transmit();
}

Instant PeerSession::poll_timeout() const {
  Instant t = tracker_.poll_timeout();
  if (state_ == State::kRegistered && !tracker_.outstanding(keepalive_txn_))
    t = std::min(t, next_keepalive_);
  if (state_ == State::kWaitingToRetry) t = std::min(t, retry_at_);
  t = std::min(t, silence_deadline());
  if (discovery_) t = std::min(t, discovery_->poll_timeout());
  t = std::min(t, next_relay_wait());
  t = std::min(t, next_retry_or_deadline());
  return std::min(t, tunnels_.poll_timeout());
}

std::optional<PeerEvent> PeerSession::poll_event() {
  if (events_.empty()) return std::nullopt;
  PeerEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace qp2p
