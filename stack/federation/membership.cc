// SWIM membership of a supernode federation (see membership.h).
#include "stack/federation/membership.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "stack/federation/federation_seal.h"

namespace qp2p::federation {

namespace {
// Senders tracked by the replay guard beyond the member bound (joiners not yet members).
constexpr std::size_t kReplaySenderHeadroom = 64;
// Counters remembered per sender: tolerates this much reordering.
constexpr std::size_t kReplayWindow = 128;
// At most one direct correction per sender per interval (they are answers to its messages).
constexpr Duration kCorrectionInterval = std::chrono::seconds(1);
// Housekeeping (suspicion timeouts, relays, dead members) runs this many times per period.
constexpr int kHousekeepingPerPeriod = 4;

std::string short_id(const PeerId& id) { return id.to_string().substr(0, 8); }
}  // namespace

Membership::Membership(MembershipConfig config, Identity self, NetworkKey key, Random random)
    : config_(std::move(config)),
      identity_(std::move(self)),
      key_(std::move(key)),
      random_(std::move(random)),
      table_(Entry{identity_.id(), 0, MemberState::kAlive, config_.local}, config_.max_members),
      gossip_(config_.retransmit_multiplier, config_.max_members),
      detector_(random_.fork()),
      replay_(config_.max_members + kReplaySenderHeadroom, kReplayWindow, config_.max_clock_skew),
      tokens_(config_.max_inbound_per_second) {}

Duration Membership::suspicion_timeout() const {
  const double n = static_cast<double>(table_.up_count() + 1);
  const double scale = std::max(1.0, std::log10(n));
  return std::chrono::duration_cast<Duration>(config_.probe_interval *
                                              (config_.suspicion_multiplier * scale));
}

double Membership::inbound_rate() const {
  return static_cast<double>(config_.max_inbound_per_second) +
         static_cast<double>(config_.inbound_per_member_per_second) *
             static_cast<double>(table_.size() - 1);
}

bool Membership::allow_inbound(Instant now) {
  const double rate = inbound_rate();
  if (now > tokens_at_) {
    tokens_ = std::min(rate, tokens_ + rate * static_cast<double>((now - tokens_at_).count()) / 1e6);
    tokens_at_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void Membership::handle_datagram(Instant now, const Endpoint& /*local*/, const Endpoint& remote,
                                 const std::uint8_t* data, std::size_t size) {
  ++counters_.datagrams_in;
  if (left_) return;
  if (!allow_inbound(now)) {
    ++counters_.dropped_rate_limited;
    SPDLOG_DEBUG("federation: drop from {}: over {} datagrams/s", remote.to_string(),
                 inbound_rate());
    return;
  }
  OpenError open_error = OpenError::kNone;
  auto plain = open(key_, data, size, &open_error);
  if (!plain) {
    switch (open_error) {
      case OpenError::kBadVersion: ++counters_.dropped_bad_version; break;
      case OpenError::kWrongNetwork: ++counters_.dropped_wrong_network; break;
      case OpenError::kBadTag: ++counters_.dropped_unauthenticated; break;
      default: ++counters_.dropped_truncated; break;
    }
    SPDLOG_DEBUG("federation: drop {} bytes from {}: {}", size, remote.to_string(),
                 to_string(open_error));
    return;
  }
  // The message, then the sender's signature (federation_wire.h).
  DecodeError decode_error = DecodeError::kTruncated;
  const std::size_t message_size = plain->size() >= kSignatureSize ? plain->size() - kSignatureSize : 0;
  std::optional<Message> message;
  if (plain->size() >= kSignatureSize)
    message = decode(plain->data(), message_size, &decode_error);
  if (!message) {
    ++counters_.dropped_malformed;
    SPDLOG_DEBUG("federation: drop malformed message from {}: {}", remote.to_string(),
                 to_string(decode_error));
    return;
  }
  const PeerId& self = table_.self().id;
  if (message->from == self) {
    ++counters_.dropped_from_self;
    SPDLOG_DEBUG("federation: drop our own datagram reflected by {}", remote.to_string());
    return;
  }
  if (message->to != PeerId{} && message->to != self) {
    ++counters_.dropped_misdirected;
    SPDLOG_DEBUG("federation: drop {} from {}: sealed for {}", type_name(message->body),
                 remote.to_string(), short_id(message->to));
    return;
  }
  Signature signature{};
  std::copy(plain->begin() + static_cast<std::ptrdiff_t>(message_size), plain->end(),
            signature.begin());
  const Bytes signed_bytes = signed_message(plain->data(), message_size);
  if (!verify_signature(message->from, signed_bytes.data(), signed_bytes.size(), signature)) {
    ++counters_.dropped_bad_signature;
    SPDLOG_DEBUG("federation: drop {} from {}: not signed by {}", type_name(message->body),
                 remote.to_string(), short_id(message->from));
    return;
  }
  switch (replay_.check(message->from, message->counter, wall_us(now), now)) {
    case ReplayGuard::Verdict::kFresh: break;
    case ReplayGuard::Verdict::kReplayed:
      ++counters_.dropped_replayed;
      SPDLOG_DEBUG("federation: drop replayed datagram from {}", remote.to_string());
      return;
    case ReplayGuard::Verdict::kTooOld:
      ++counters_.dropped_too_old;
      SPDLOG_DEBUG("federation: drop datagram from {}: counter below the window",
                   remote.to_string());
      return;
    case ReplayGuard::Verdict::kClockSkew:
      ++counters_.dropped_clock_skew;
      SPDLOG_DEBUG("federation: drop datagram from {}: counter {} off our clock by more than {} s",
                   remote.to_string(), message->counter, to_ms(config_.max_clock_skew) / 1000);
      return;
  }
  on_message(now, remote, *message);
}

void Membership::on_message(Instant now, const Endpoint& remote, Message& m) {
  // The sender vouches for itself.
  const Entry claimed{m.from, m.from_incarnation, MemberState::kAlive, m.from_endpoint};
  on_update(now, claimed);
  if (const Member* stored = table_.find(m.from);
      stored && stored->entry.state != MemberState::kAlive &&
      stored->entry.incarnation >= m.from_incarnation)
    correct(now, remote, stored->entry);
  for (const Entry& e : m.gossip) on_update(now, e);

  if (const auto* ping = std::get_if<Ping>(&m.body)) {
    send(now, m.from, remote, Ack{ping->seq, table_.self().id});
  } else if (const auto* ack = std::get_if<Ack>(&m.body)) {
    const Instant pinged = detector_.probe() ? detector_.probe()->started : now;
    if (detector_.on_ack(ack->seq, ack->about)) {
      ++counters_.acks_received;
      // The target's own ack to our one ping (not one relayed by a ping-req helper): a round
      // trip. A ping is never sent twice, so the sample is unambiguous (Karn's rule holds).
      if (m.from == ack->about) table_.record_rtt(m.from, now - pinged);
    } else if (auto relay = detector_.take_relay(ack->seq, ack->about, now)) {
      send(now, relay->origin, relay->origin_endpoint, Ack{relay->origin_seq, ack->about});
    }
  } else if (const auto* req = std::get_if<PingReq>(&m.body)) {
    if (req->target == table_.self().id) {
      send(now, m.from, remote, Ack{req->seq, table_.self().id});
    } else {
      const std::uint32_t seq = detector_.add_relay(
          {m.from, remote, req->seq, req->target, now + config_.probe_interval});
      send(now, req->target, req->target_endpoint, Ping{seq});
      ++counters_.pings_sent;
    }
  } else if (const auto* sync = std::get_if<Sync>(&m.body)) {
    if (sync->reply_wanted) send_sync(now, m.from, remote, false);
  } else if (auto* payload = std::get_if<Payload>(&m.body)) {
    const Member* sender = table_.find(m.from);
    if (!sender || !sender->up()) {
      ++counters_.dropped_payload_not_member;
      SPDLOG_DEBUG("federation: drop payload from {} ({}): not a live member", short_id(m.from),
                   remote.to_string());
      return;
    }
    ++counters_.payloads_in;
    events_.push_back(PayloadReceived{m.from, std::move(payload->data)});
  }
}

void Membership::on_update(Instant now, const Entry& update) {
  const Member* before = table_.find(update.id);
  const bool was_suspect = before && before->entry.state == MemberState::kSuspect;
  const MemberTable::Result r = table_.apply(update, now);
  switch (r.outcome) {
    case MemberTable::Outcome::kAboutSelf: {
      const Entry& self = table_.self();
      if (update.incarnation > self.incarnation ||
          (update.incarnation == self.incarnation && update.state != MemberState::kAlive))
        refute(now, update.incarnation);
      return;
    }
    case MemberTable::Outcome::kFull:
      ++counters_.dropped_table_full;
      SPDLOG_DEBUG("federation: member table full ({}), {} not added", config_.max_members,
                   short_id(update.id));
      return;
    case MemberTable::Outcome::kIgnored:
    case MemberTable::Outcome::kUnknown: return;
    case MemberTable::Outcome::kApplied: break;
  }
  const Entry& stored = table_.find(update.id)->entry;
  gossip_.push(stored);
  if (!r.was_up && r.is_up) {
    SPDLOG_INFO("federation: member up {} at {} (incarnation {})", update.id.to_string(),
                stored.endpoint.to_string(), stored.incarnation);
    events_.push_back(MemberUp{stored.id, stored.endpoint});
  } else if (r.was_up && !r.is_up) {
    SPDLOG_INFO("federation: member {} {} at {}", update.id.to_string(), to_string(stored.state),
                stored.endpoint.to_string());
    events_.push_back(MemberDown{stored.id, stored.endpoint, stored.state == MemberState::kLeft});
  } else if (was_suspect && stored.state == MemberState::kAlive) {
    // Refuted. A suspect may have been cut off (a partition shorter than the suspicion timeout
    // declares nobody dead), so what was sent to it meanwhile may be lost: tell the layers
    // above it is back, as after a death, so the directory starts a catch-up round with it
    // (docs/protocol.md §14.5) instead of waiting for a random anti-entropy round.
    SPDLOG_DEBUG("federation: member {} refuted suspicion (incarnation {})", short_id(update.id),
                 stored.incarnation);
    events_.push_back(MemberUp{stored.id, stored.endpoint});
  } else if (r.moved && r.is_up) {
    SPDLOG_INFO("federation: member {} moved to {}", update.id.to_string(),
                stored.endpoint.to_string());
    events_.push_back(MemberUp{stored.id, stored.endpoint});
  } else if (stored.state == MemberState::kSuspect) {
    SPDLOG_DEBUG("federation: member {} suspect (incarnation {})", short_id(update.id),
                 stored.incarnation);
  }
}

void Membership::refute(Instant now, std::uint32_t incarnation) {
  const Entry& self = table_.refute(incarnation, now);
  ++counters_.refutations;
  SPDLOG_INFO("federation: refuting a rumour about this node (incarnation now {})",
              self.incarnation);
  gossip_.push(self);
}

void Membership::correct(Instant now, const Endpoint& remote, const Entry& stored) {
  auto it = last_correction_.find(stored.id);
  if (it != last_correction_.end() && now - it->second < kCorrectionInterval) return;
  if (last_correction_.size() >= config_.max_members) last_correction_.clear();
  last_correction_[stored.id] = now;
  // Tell the member what we hold about it (and who we are), so it refutes.
  send(now, stored.id, remote, Sync{false}, false, {table_.self(), stored});
}

void Membership::handle_timeout(Instant now) {
  if (left_) return;
  if (const auto& p = detector_.probe();
      p && !p->acked && !p->indirect_sent && now >= p->started + config_.ack_timeout)
    send_indirect(now);
  if (now >= next_probe_) probe_tick(now);
  if (now >= next_housekeeping_) housekeeping(now);
  if (now >= next_sync_) {
    next_sync_ = now + config_.sync_interval;
    const std::vector<PeerId> up = up_ids();
    if (!up.empty()) {
      const PeerId& to = up[random_.uniform(up.size())];
      send_sync(now, to, table_.find(to)->entry.endpoint, true);
    }
  }
  if (now >= next_reconnect_) reconnect(now);
  if (now >= next_gossip_) gossip_tick(now);
}

void Membership::gossip_tick(Instant now) {
  next_gossip_ = now + config_.gossip_interval;
  if (gossip_.size() == 0) return;
  std::vector<PeerId> up = up_ids();
  // Suspects first (Lifeguard's buddy system, as memberlist): the news is most likely their own
  // suspicion, and they must hear it to refute before the timeout; the rest at random.
  std::size_t suspects = 0;
  for (std::size_t i = 0; i < up.size(); ++i)
    if (table_.find(up[i])->entry.state == MemberState::kSuspect) std::swap(up[suspects++], up[i]);
  const std::size_t n = std::min(config_.gossip_nodes, up.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t end = i < suspects ? suspects : up.size();  // pick within the block
    std::swap(up[i], up[i + random_.uniform(end - i)]);
    std::vector<Entry> news = gossip_.take(config_.gossip_per_message, table_.size());
    if (news.empty()) return;
    send(now, up[i], table_.find(up[i])->entry.endpoint, Sync{false}, false, std::move(news));
    ++counters_.gossips_sent;
  }
}

void Membership::probe_tick(Instant now) {
  next_probe_ = now + config_.probe_interval;
  if (const auto& p = detector_.probe(); p && !p->acked) {
    const Member* target = table_.find(p->target);
    if (target && target->entry.state == MemberState::kAlive) {
      Entry suspect = target->entry;
      suspect.state = MemberState::kSuspect;
      ++counters_.suspicions;
      SPDLOG_DEBUG("federation: no ack from {} at {}: suspect", short_id(p->target),
                   target->entry.endpoint.to_string());
      on_update(now, suspect);
    }
  }
  detector_.end_probe();
  const auto target = detector_.next_target(up_ids());
  if (!target) return;
  const std::uint32_t seq = detector_.start_probe(*target, now);
  send(now, *target, table_.find(*target)->entry.endpoint, Ping{seq});
  ++counters_.pings_sent;
}

void Membership::send_indirect(Instant now) {
  detector_.mark_indirect_sent();
  const auto& p = *detector_.probe();
  const Member* target = table_.find(p.target);
  if (!target) return;
  for (const PeerId& helper : detector_.pick(config_.indirect_probes, up_ids(), p.target)) {
    send(now, helper, table_.find(helper)->entry.endpoint,
         PingReq{p.seq, p.target, target->entry.endpoint});
    ++counters_.ping_reqs_sent;
  }
}

void Membership::housekeeping(Instant now) {
  next_housekeeping_ = now + config_.probe_interval / kHousekeepingPerPeriod;
  const Duration timeout = suspicion_timeout();
  std::vector<Entry> expired;
  for (const auto& [id, m] : table_.others())
    if (m.entry.state == MemberState::kSuspect && now - m.changed >= timeout)
      expired.push_back(m.entry);
  for (Entry e : expired) {
    e.state = MemberState::kDead;
    ++counters_.deaths;
    on_update(now, e);
  }
  detector_.expire_relays(now);
  table_.forget_dead(now, config_.dead_retention);
}

void Membership::reconnect(Instant now) {
  const bool alone = table_.up_count() == 0;
  next_reconnect_ = now + (alone ? config_.join_retry_interval : config_.reconnect_interval);
  std::vector<Endpoint> seeds;
  for (const Endpoint& s : config_.seeds) {
    if (s == config_.local) continue;
    const bool known_up = std::any_of(table_.others().begin(), table_.others().end(),
                                      [&](const auto& m) {
                                        return m.second.up() && m.second.entry.endpoint == s;
                                      });
    if (!known_up) seeds.push_back(s);
  }
  if (alone) {
    for (const Endpoint& s : seeds) send_sync(now, PeerId{}, s, true);
    return;
  }
  // One random target among dead (not departed) members and seeds not known to be up.
  std::vector<std::pair<PeerId, Endpoint>> targets;
  for (const auto& [id, m] : table_.others())
    if (m.entry.state == MemberState::kDead) targets.emplace_back(id, m.entry.endpoint);
  for (const Endpoint& s : seeds) targets.emplace_back(PeerId{}, s);
  if (targets.empty()) return;
  const auto& [id, endpoint] = targets[random_.uniform(targets.size())];
  send_sync(now, id, endpoint, true);
}

void Membership::send_sync(Instant now, const PeerId& to, const Endpoint& endpoint,
                           bool reply_wanted) {
  // Ourselves and what we hold about the recipient first (so it can refute), then the rest.
  std::vector<Entry> head{table_.self()};
  std::vector<Entry> rest;
  for (const auto& [id, m] : table_.others()) (id == to ? head : rest).push_back(m.entry);
  const std::size_t cap = config_.max_sync_datagrams * kMaxEntries;
  for (std::size_t i = rest.size(); i > 1; --i) std::swap(rest[i - 1], rest[random_.uniform(i)]);
  std::vector<Entry> all = head;
  for (const Entry& e : rest) {
    if (all.size() >= cap) break;
    all.push_back(e);
  }
  for (std::size_t at = 0; at < all.size(); at += kMaxEntries) {
    std::vector<Entry> chunk(all.begin() + at,
                             all.begin() + std::min(all.size(), at + kMaxEntries));
    send(now, to, endpoint, Sync{reply_wanted && at == 0}, false, std::move(chunk));
  }
  ++counters_.syncs_sent;
}

void Membership::send(Instant now, const PeerId& to, const Endpoint& endpoint, Body body,
                      bool piggyback, std::vector<Entry> entries) {
  Message m;
  m.to = to;
  m.from = table_.self().id;
  m.counter = counter_clock_.next(wall_us(now));
  m.from_incarnation = table_.self().incarnation;
  m.from_endpoint = config_.local;
  m.body = std::move(body);
  Bytes plain;
  if (piggyback) {
    encode(m, plain);
    // Room left for entries (an IPv6 entry is the largest, 56 bytes).
    const std::size_t room = plain.size() < kMaxMessage ? (kMaxMessage - plain.size()) / 56 : 0;
    const std::size_t n = std::min(room, config_.gossip_per_message);
    if (n > 0) m.gossip = gossip_.take(n, table_.size());
    plain.clear();
  } else {
    m.gossip = std::move(entries);
  }
  encode(m, plain);
  const Bytes signed_bytes = signed_message(plain.data(), plain.size());
  const Signature signature = identity_.sign(signed_bytes.data(), signed_bytes.size());
  plain.insert(plain.end(), signature.begin(), signature.end());
  Datagram d{config_.local, endpoint, {}};
  seal(key_, random_, plain, d.payload);
  transmits_.push_back(std::move(d));
}

bool Membership::send_payload(Instant now, const PeerId& to, Bytes data) {
  const Member* m = table_.find(to);
  if (left_ || !m || !m->up() || data.size() > kMaxPayload) return false;
  // No piggybacked news: payloads fan out to every member in id order, so news riding on them
  // would spend its transmissions on the first few (gossip_tick spreads it at random).
  send(now, to, m->entry.endpoint, Payload{std::move(data)}, false);
  ++counters_.payloads_out;
  return true;
}

void Membership::leave(Instant now) {
  if (left_) return;
  table_.set_self_state(MemberState::kLeft, now);
  for (const PeerId& id : up_ids())
    send(now, id, table_.find(id)->entry.endpoint, Sync{false}, false, {table_.self()});
  SPDLOG_INFO("federation: leaving ({} members told)", table_.up_count());
  left_ = true;
}

std::optional<Datagram> Membership::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
  Datagram d = std::move(transmits_.front());
  transmits_.pop_front();
  ++counters_.datagrams_out;
  return d;
}

std::optional<MembershipEvent> Membership::poll_event() {
  if (events_.empty()) return std::nullopt;
  MembershipEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

Instant Membership::poll_timeout() const {
  if (left_) return kNever;
  Instant t = std::min({next_probe_, next_housekeeping_, next_sync_, next_reconnect_});
  if (gossip_.size() > 0) t = std::min(t, next_gossip_);
  if (const auto& p = detector_.probe(); p && !p->acked && !p->indirect_sent)
    t = std::min(t, p->started + config_.ack_timeout);
  return t;
}

std::vector<PeerId> Membership::up_ids() const {
  std::vector<PeerId> ids;
  for (const auto& [id, m] : table_.others())
    if (m.up()) ids.push_back(id);
  return ids;
}

Duration Membership::rtt_to(const PeerId& id) const {
  const Member* m = table_.find(id);
  return m ? m->srtt : Duration::zero();
}

std::vector<Entry> Membership::members() const {
  std::vector<Entry> out{table_.self()};
  for (const auto& [id, m] : table_.others())
    if (m.up()) out.push_back(m.entry);
  return out;
}

}  // namespace qp2p::federation
