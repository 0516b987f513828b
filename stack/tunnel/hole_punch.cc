// One hole-punching attempt (see hole_punch.h).
#include "stack/tunnel/hole_punch.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>

namespace qp2p::tunnel {

namespace {
// A succeeded pair the controlled side keeps checking until the peer nominates (see
// awaiting_nomination) is checked every this many pair intervals (100 ms by default).
constexpr int kAwaitingNominationIntervals = 5;
}  // namespace

const char* to_string(CandidateKind kind) {
  switch (kind) {
    case CandidateKind::kHost: return "host";
    case CandidateKind::kServerReflexive: return "server-reflexive";
    case CandidateKind::kPredicted: return "predicted";
    case CandidateKind::kBirthdayProbe: return "birthday-probe";
    case CandidateKind::kPeerReflexive: return "peer-reflexive";
    case CandidateKind::kRelayed: return "relayed";
  }
  return "unknown";
}

HolePunch::HolePunch(HolePunchConfig config, Random random)
    : config_(std::move(config)), random_(std::move(random)) {
  ephemeral_ = wire::EphemeralKeyPair::generate(random_);
  side_.identity = config_.identity;
  side_.remote = config_.remote;
  side_.nonce = config_.attempt_nonce;
  side_.tie_breaker = random_.next_u64();
  do {
    side_.tunnel_id = random_.next_u64();
  } while (side_.tunnel_id == 0);
  side_.ephemeral = ephemeral_.public_key;
  const Duration deadline = std::clamp(config_.deadline, Duration::zero(), kMaxPunchDeadline);
  deadline_ = config_.start + deadline;
  next_send_ = config_.start;
  config_error_ = build_pairs();
  // The opening round (header comment): every pair but the birthday probes, in pair order. The
  // side with K sockets for the peer's probes (random ports: no allocation order to keep) opens
  // only the pairs towards public endpoints, where the probes come from.
  if (!config_error_ && config_.open_ttl != 0 && !config_.wait_for_peer) {
    const bool opens_for_probes = config_.locals.size() > 1;
    for (std::size_t i = 0; i < pairs_.size() && opening_.size() < kMaxOpeningChecks; ++i) {
      const CandidateKind kind = pairs_[i].kind;
      if (kind == CandidateKind::kBirthdayProbe) continue;
      if (opens_for_probes && kind == CandidateKind::kHost) continue;
      opening_.push_back(i);
    }
  }
}

std::optional<std::string> HolePunch::build_pairs() {
  const HolePunchConfig& c = config_;
  if (c.locals.empty()) return "no local endpoints";
  if (c.locals.size() > kMaxLocalEndpoints) return "too many local endpoints";
  if (c.remote == c.identity.id()) return "the remote is our own identity";
  if (c.remote_candidates.size() > kMaxRemoteCandidates) return "too many remote candidates";
  if (c.pacing.pair_interval <= Duration::zero()) return "pair_interval must be positive";
  if (c.pacing.min_send_gap < kMinCheckGapFloor) return "min_send_gap below the floor";
  if (c.deadline <= Duration::zero() || c.deadline > kMaxPunchDeadline)
    return "deadline out of range";

  std::vector<Candidate> remotes = c.remote_candidates;
  std::stable_sort(remotes.begin(), remotes.end(), [](const Candidate& a, const Candidate& b) {
    return a.kind < b.kind;
  });
  if (c.strategy == PunchStrategy::kPortPrediction) {
    const PortPrediction& p = c.prediction;
    if (p.delta == 0 || std::abs(p.delta) > 65535) return "prediction delta out of range";
    if (p.before < 0 || p.after < 0 ||
        static_cast<std::size_t>(p.before) + static_cast<std::size_t>(p.after) > kMaxPredictedPorts)
      return "prediction range out of bounds";
    // Nearest first, above the base before below it.
    for (int i = 1; i <= std::max(p.before, p.after); ++i) {
      for (int sign : {1, -1}) {
        if ((sign > 0 && i > p.after) || (sign < 0 && i > p.before)) continue;
        const long port = static_cast<long>(p.base.port) + static_cast<long>(sign) * i * p.delta;
        if (port < 1 || port > 65535) continue;
        remotes.push_back({Endpoint{p.base.address, static_cast<std::uint16_t>(port)},
                           CandidateKind::kPredicted});
      }
    }
  } else if (c.strategy == PunchStrategy::kBirthday) {
    const BirthdayProbing& b = c.birthday;
    if (b.probes < 0 || static_cast<std::size_t>(b.probes) > kMaxBirthdayProbes)
      return "birthday probes out of range";
    if (b.port_min == 0 || b.port_min > b.port_max) return "birthday port range invalid";
    const std::uint32_t range = std::uint32_t{b.port_max} - b.port_min + 1;
    if (static_cast<std::uint32_t>(b.probes) > range) return "more birthday probes than ports";
    // Distinct uniform ports: a partial Fisher-Yates shuffle over the range.
    std::vector<std::uint16_t> ports(range);
    std::iota(ports.begin(), ports.end(), b.port_min);
    for (int i = 0; i < b.probes; ++i) {
      const std::size_t j = i + static_cast<std::size_t>(random_.uniform(range - i));
      std::swap(ports[i], ports[j]);
      remotes.push_back({Endpoint{b.address, ports[i]}, CandidateKind::kBirthdayProbe});
    }
  }
  // Local-major order: with many locals (birthday) each socket reaches the peer's best candidate
  // early; pairs are then served round-robin. Birthday probes leave from the first local only:
  // the probing side is the one with one mapping, and K x M pairs would add nothing.
  for (const Endpoint& local : c.locals) {
    for (const Candidate& remote : remotes) {
      if (local.address.family() != remote.endpoint.address.family()) continue;
      if (remote.kind == CandidateKind::kBirthdayProbe && local != c.locals.front()) continue;
      if (pairs_.size() >= kMaxCandidatePairs) return "too many candidate pairs";
      add_pair(local, remote.endpoint, remote.kind);
    }
  }
  if (pairs_.empty()) return "no candidate pairs (no local and remote endpoint of one family)";
  return std::nullopt;
}

std::optional<std::size_t> HolePunch::add_pair(const Endpoint& local, const Endpoint& remote,
                                               CandidateKind kind) {
  auto [it, inserted] = pair_index_.emplace(std::make_pair(local, remote), pairs_.size());
  if (!inserted) return it->second;
  pairs_.push_back(Pair{local, remote, kind});
  // Waiting for the peer: a pair is first checked when the peer's check arrives on it (trigger).
  if (!config_.wait_for_peer) schedule(it->second, config_.start);
  return it->second;
}

void HolePunch::unschedule(std::size_t pair) {
  auto old = due_of_.find(pair);
  if (old == due_of_.end()) return;
  (old->second.second ? hot_due_ : due_).erase({old->second.first, pair});
  due_of_.erase(old);
}

void HolePunch::schedule(std::size_t pair, Instant at) {
  unschedule(pair);
  const bool hot = pairs_[pair].peer_reached;
  (hot ? hot_due_ : due_).emplace(at, pair);
  due_of_.emplace(pair, std::make_pair(at, hot));
}

void HolePunch::trigger(std::size_t pair) {
  unschedule(pair);
  if (std::find(triggered_.begin(), triggered_.end(), pair) == triggered_.end())
    triggered_.push_back(pair);
}

void HolePunch::clear_schedule() {
  opening_.clear();
  due_.clear();
  hot_due_.clear();
  due_of_.clear();
  triggered_.clear();
}

bool HolePunch::controlling() const {
  if (!peer_known_) return false;
  if (side_.tie_breaker != remote_tie_breaker_) return side_.tie_breaker > remote_tie_breaker_;
  return config_.remote < config_.identity.id();
}

// The IP TTL of a check on `p` (0: the socket's default): opening checks (header comment).
std::uint8_t HolePunch::check_ttl(const Pair& p, bool nominate) const {
  // A pair the peer reached is open on both sides: its checks get through at full TTL.
  if (config_.open_ttl == 0 || nominate || p.peer_reached ||
      p.kind == CandidateKind::kBirthdayProbe)
    return 0;
  // More than one local: we opened sockets for the peer's birthday probes; they only need
  // mappings, and a full check would reach the prober's NAT before its probe opened it.
  const bool opens_for_probes = config_.locals.size() > 1;
  return !p.opened || opens_for_probes ? config_.open_ttl : 0;
}

void HolePunch::send_check(Instant now, std::size_t index, bool opening_round) {
  Pair& p = pairs_[index];
  const bool nominate = nominated_ && *nominated_ == index;
  TransactionId txn;
  random_.fill(txn.data(), txn.size());
  Datagram d{p.local, p.remote,
             side_.make_check(false, nominate, txn, peer_known_ ? remote_ephemeral_ : X25519Key{})};
  d.ttl = check_ttl(p, nominate);
  p.opened = true;
  transmits_.push_back(std::move(d));
  outstanding_[txn] = Outstanding{index, now, nominate};
  outstanding_order_.push_back(txn);
  if (outstanding_order_.size() > kMaxOutstandingChecks) {
    outstanding_.erase(outstanding_order_.front());
    outstanding_order_.pop_front();
  }
  if (opening_round) {
    ++counters_.opening_checks_sent;
    return;  // the pair keeps its place in the ordinary schedule
  }
  ++p.checks;
  ++counters_.checks_sent;
  const bool capped =
      p.kind == CandidateKind::kPeerReflexive && p.checks >= kMaxChecksPerPeerReflexivePair;
  const bool again = nominate || (!nominated_ && !p.succeeded && !capped);
  if (again) schedule(index, now + config_.pacing.pair_interval);
  // Slower: the peer's nomination is normally a round trip away, and these must not take
  // pacing slots from the pairs still being opened.
  else if (!nominated_ && !capped && awaiting_nomination(p))
    schedule(index, now + config_.pacing.pair_interval * kAwaitingNominationIntervals);
}

// The controlled side keeps checking a pair that succeeded until the peer nominates: on a path
// that loses most datagrams the peer's own checks may be spent (a peer-reflexive pair past its
// budget) and only our requests still trigger them (handle_request), and the peer cannot
// nominate before one of its checks succeeds.
bool HolePunch::awaiting_nomination(const Pair& p) const {
  return p.succeeded && peer_known_ && !controlling();
}

// One opening check per kOpeningCheckGap, before and after `start`, on pairs not opened yet.
void HolePunch::send_opening(Instant now) {
  if (state_ != State::kWaiting && state_ != State::kRunning) return;
  if (now < next_open_) return;
  while (!opening_.empty() && pairs_[opening_.front()].opened) opening_.pop_front();
  if (opening_.empty()) return;
  send_check(now, opening_.front(), true);
  opening_.pop_front();
  next_open_ = now + kOpeningCheckGap;
}

void HolePunch::handle_timeout(Instant now) {
  send_opening(now);
  if (state_ == State::kWaiting) {
    if (now < config_.start) return;
    if (config_error_) {
      fail("invalid config: " + *config_error_);
      return;
    }
    state_ = State::kRunning;
  }
  if (state_ != State::kRunning) return;
  if (now >= deadline_) {
    const std::string tally = " (" + std::to_string(counters_.checks_sent) + " checks on " +
                              std::to_string(pairs_.size()) + " pairs)";
    if (!peer_known_) fail("deadline: no check from the peer arrived" + tally);
    else if (counters_.pairs_succeeded == 0) fail("deadline: no candidate pair succeeded" + tally);
    else fail("deadline: a pair succeeded but its nomination did not complete" + tally);
    return;
  }
  // One check per pacing slot (a late call never sends a burst), triggered ones first.
  if (next_send_ > now) return;
  std::optional<std::size_t> index;
  if (!triggered_.empty()) {
    index = triggered_.front();
    triggered_.pop_front();
  } else {
    for (auto* set : {&hot_due_, &due_}) {
      if (set->empty() || set->begin()->first > now) continue;
      index = set->begin()->second;
      set->erase(set->begin());
      due_of_.erase(*index);
      break;
    }
  }
  if (!index) return;
  send_check(now, *index);
  next_send_ = now + config_.pacing.min_send_gap;
}

Instant HolePunch::poll_timeout() const {
  switch (state_) {
    case State::kWaiting:
      return opening_.empty() ? config_.start : std::min(config_.start, next_open_);
    case State::kRunning: {
      Instant t = deadline_;
      if (!opening_.empty()) t = std::min(t, next_open_);
      if (!triggered_.empty()) t = std::min(t, next_send_);
      if (!due_.empty()) t = std::min(t, std::max(next_send_, due_.begin()->first));
      if (!hot_due_.empty()) t = std::min(t, std::max(next_send_, hot_due_.begin()->first));
      return t;
    }
    default:
      return kNever;
  }
}

void HolePunch::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                const std::uint8_t* data, std::size_t size) {
  if (state_ == State::kFailed) return;
  // Only the attempt's own sockets make pairs: a relayed attempt must not turn into a direct
  // one through a check that reached the main socket (and a relay-only peer stays relayed).
  if (std::find(config_.locals.begin(), config_.locals.end(), local) == config_.locals.end()) {
    ++counters_.dropped_wrong_local;
    return;
  }
  auto packet = parse(data, size);
  if (!packet) {
    ++counters_.dropped_malformed;
    return;
  }
  if (auto* check = std::get_if<CheckPacket>(&*packet)) {
    handle_check(now, local, remote, *check);
  } else {
    handle_sealed(local, remote, data, size, std::get<SealedPacket>(*packet));
  }
}

bool HolePunch::learn_peer(const CheckPacket& check) {
  if (peer_known_) {
    return check.sender_ephemeral == remote_ephemeral_ &&
           check.tie_breaker == remote_tie_breaker_ && check.tunnel_id == remote_tunnel_id_;
  }
  keys_ = derive_tunnel_keys(ephemeral_, check.sender_ephemeral, config_.identity.id(),
                             config_.remote, config_.attempt_nonce);
  if (!keys_) return false;
  sodium_memzero(ephemeral_.secret.data(), ephemeral_.secret.size());
  peer_known_ = true;
  remote_ephemeral_ = check.sender_ephemeral;
  remote_tie_breaker_ = check.tie_breaker;
  remote_tunnel_id_ = check.tunnel_id;
  return true;
}

void HolePunch::handle_check(Instant now, const Endpoint& local, const Endpoint& remote,
                             const CheckPacket& check) {
  switch (side_.verify(check)) {
    case AttemptSide::Verdict::kOk:
      break;
    case AttemptSide::Verdict::kWrongSender:
      ++counters_.dropped_wrong_sender;
      return;
    case AttemptSide::Verdict::kBadSignature:
      ++counters_.dropped_bad_signature;
      return;
    case AttemptSide::Verdict::kWrongEphemeral:
      ++counters_.dropped_stale;
      return;
  }
  if (!learn_peer(check)) {
    ++counters_.dropped_stale;
    return;
  }
  if (check.response) handle_response(now, local, remote, check);
  else handle_request(now, local, remote, check);
}

void HolePunch::handle_request(Instant now, const Endpoint& local, const Endpoint& remote,
                               const CheckPacket& check) {
  ++counters_.requests_received;
  transmits_.push_back(
      Datagram{local, remote, side_.make_check(true, false, check.transaction, remote_ephemeral_)});
  ++counters_.responses_sent;
  if (state_ != State::kWaiting && state_ != State::kRunning) return;  // established: answer only

  auto it = pair_index_.find({local, remote});
  std::size_t index;
  if (it != pair_index_.end()) {
    index = it->second;
  } else {
    if (peer_reflexive_ >= kMaxPeerReflexivePairs || pairs_.size() >= kMaxCandidatePairs) return;
    index = pairs_.size();
    pair_index_.emplace(std::make_pair(local, remote), index);
    pairs_.push_back(Pair{local, remote, CandidateKind::kPeerReflexive});
    ++peer_reflexive_;
    ++counters_.peer_reflexive_pairs;
  }
  Pair& p = pairs_[index];
  p.peer_reached = true;
  if (check.nominate && !controlling()) {
    p.nominated_by_peer = true;
    if (p.succeeded) {
      establish(index);
      return;
    }
  }
  // Triggered check (RFC 8445 section 7.3.1.4): the peer reaches us on this pair, so our NAT and
  // probably its NAT are open. A peer-reflexive pair past its retry budget still gets one per
  // request (send_check does not repeat it): each request the peer gets through costs one
  // answer and one check, never a stream, and a controlled side whose own checks were all lost
  // can still confirm the pair the peer keeps nominating.
  if (!p.succeeded && !nominated_) trigger(index);
}

void HolePunch::handle_response(Instant now, const Endpoint& local, const Endpoint& remote,
                                const CheckPacket& check) {
  auto it = outstanding_.find(check.transaction);
  if (it == outstanding_.end()) {
    ++counters_.dropped_unknown_transaction;
    return;
  }
  const Outstanding o = it->second;
  Pair& p = pairs_[o.pair];
  if (p.local != local || p.remote != remote) {
    ++counters_.dropped_asymmetric;
    return;
  }
  ++counters_.responses_received;
  if (state_ != State::kRunning) return;
  if (!p.succeeded) {
    p.succeeded = true;
    p.rtt = now - o.sent;
    ++counters_.pairs_succeeded;
  }
  if (controlling()) {
    if (o.nominate && nominated_ == o.pair) establish(o.pair);
    else if (!nominated_) nominate(o.pair);
  } else if (p.nominated_by_peer) {
    establish(o.pair);
  }
}

void HolePunch::handle_sealed(const Endpoint& local, const Endpoint& remote,
                              const std::uint8_t* data, std::size_t size,
                              const SealedPacket& packet) {
  // Authenticated packets from the peer's tunnel: it established before we did. Keep them for
  // ours; on the pair we nominated, they confirm the nomination (our check there already
  // succeeded, so the path itself is verified).
  if (!keys_ || packet.tunnel_id != side_.tunnel_id || params_taken_ || !open(*keys_, packet)) {
    ++counters_.dropped_sealed;
    return;
  }
  if (early_packets_.size() < kMaxEarlyPackets)
    early_packets_.push_back(Datagram{local, remote, Bytes(data, data + size)});
  if (auto pair = confirmed_pair(local, remote)) establish(*pair);
}

// The pair an authenticated packet of the peer's tunnel, arriving on (local, remote), confirms:
// the peer established there, so it got our answer on that path and its packets arrive on it.
// For the controlling side the pair it nominated (our check there already succeeded); for the
// controlled side a pair the peer nominated, even if every one of our own checks on it was lost
// (the peer stopped checking once established, and its tunnel sends no checks).
std::optional<std::size_t> HolePunch::confirmed_pair(const Endpoint& local,
                                                     const Endpoint& remote) const {
  if (state_ != State::kRunning) return std::nullopt;
  if (nominated_) {
    const Pair& p = pairs_[*nominated_];
    if (p.local == local && p.remote == remote) return nominated_;
    return std::nullopt;
  }
  auto it = pair_index_.find({local, remote});
  if (it == pair_index_.end() || controlling() || !pairs_[it->second].nominated_by_peer)
    return std::nullopt;
  return it->second;
}

void HolePunch::nominate(std::size_t pair) {
  nominated_ = pair;
  clear_schedule();
  trigger(pair);
}

void HolePunch::establish(std::size_t pair) {
  state_ = State::kEstablished;
  established_ = pair;
  clear_schedule();
  const Pair& p = pairs_[pair];
  events_.push_back(hole_punch_event::Established{p.local, p.remote, p.rtt});
}

void HolePunch::fail(std::string reason) {
  state_ = State::kFailed;
  clear_schedule();
  events_.push_back(hole_punch_event::Failed{std::move(reason)});
}

std::optional<TunnelParams> HolePunch::take_tunnel_params() {
  if (state_ != State::kEstablished || params_taken_ || !keys_) return std::nullopt;
  params_taken_ = true;
  const Pair& p = pairs_[*established_];
  TunnelParams t;
  t.side = side_;
  t.local = p.local;
  t.remote = p.remote;
  t.remote_tunnel_id = remote_tunnel_id_;
  t.remote_ephemeral = remote_ephemeral_;
  t.keys = *keys_;
  t.rtt = p.rtt;
  t.early_packets = std::move(early_packets_);
  early_packets_.clear();
  return t;
}

std::optional<Datagram> HolePunch::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
  Datagram d = std::move(transmits_.front());
  transmits_.pop_front();
  return d;
}

std::optional<HolePunchEvent> HolePunch::poll_event() {
  if (events_.empty()) return std::nullopt;
  HolePunchEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace qp2p::tunnel
