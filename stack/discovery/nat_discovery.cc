// NAT discovery state machine (see nat_discovery.h for the test sequence and its reasons).
//
// What cannot be observed, and why:
//   - Mapping and filtering with one supernode IP: RFC 5780 needs a second address to tell
//     endpoint-independent from address-dependent; only the port dimension can be tested.
//   - A second NAT level: a chain of NATs composes into one NAT as seen from any STUN server
//     outside it. Considered and rejected: a hop-limit (TTL) probe needs ICMP time-exceeded
//     errors, which a UDP socket does not deliver portably and a Datagram does not carry; the
//     source of a hairpinned request is the outer NAT's external endpoint whichever NAT
//     hairpins; an address-literal "is private" test says nothing about what lies beyond the
//     first NAT. What is observable: the first NAT's external address as its gateway reports it
//     (NAT-PMP, asked here when the runtime names the gateway; PCP or UPnP, a runtime concern
//     passed in as gateway_external): when it differs from the mapped address there is a further
//     NAT, typically a carrier NAT whose inside is RFC 6598 shared address space. A gateway that
//     does not answer leaves one level (noted). How many NATs lie beyond the first cannot be
//     seen: each gateway only knows its own outside, so "differs" is reported as 2. A local
//     address in the shared space means the peer sits directly behind a carrier NAT (one
//     level), which is noted.
//   - Hairpinning behind an address-and-port-dependent mapping with a dependent filter: each
//     send to the other socket's mapped endpoint opens a fresh mapping the other filter has
//     never seen, so no hairpinned packet can pass; reported as no hairpinning, which is what
//     two peers behind that NAT would experience.
#include "stack/discovery/nat_discovery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include "stack/discovery/nat_pmp.h"
#include "stack/discovery/port_allocation.h"

namespace qp2p {
namespace {

std::string socket_name(std::size_t index) { return "S" + std::to_string(index); }

}  // namespace

RetransmitPolicy default_nat_probe_retransmit() {
  RetransmitPolicy p;
  p.initial_rto = std::chrono::milliseconds(200);
  p.max_rto = std::chrono::milliseconds(800);
  p.max_transmissions = 9;
  p.final_wait_multiplier = 4;
  return p;
}

RetransmitPolicy default_nat_answered_probe_retransmit() {
  RetransmitPolicy p = default_nat_probe_retransmit();
  p.max_transmissions = 16;
  return p;
}

bool NatDiscovery::answer_expected(Test test) {
  return test == Test::kBinding || test == Test::kMappingII || test == Test::kMappingIII;
}

RetransmitPolicy default_nat_pmp_retransmit() {
  RetransmitPolicy p;
  p.initial_rto = std::chrono::milliseconds(250);
  p.max_rto = std::chrono::seconds(64);
  p.max_transmissions = 5;
  p.final_wait_multiplier = 16;  // 4 s: the doubling continued after the fifth transmission
  return p;
}

NatDiscovery::NatDiscovery(NatDiscoveryConfig config, Random random)
    : config_(std::move(config)),
      random_(std::move(random)),
      tracker_(config_.retransmit),
      answered_tracker_(config_.answered_retransmit),
      gateway_tracker_(config_.gateway_retransmit) {
  sockets_.push_back(config_.primary_local);
  sockets_.insert(sockets_.end(), config_.extra_locals.begin(), config_.extra_locals.end());
}

void NatDiscovery::start(Instant now) {
  if (state_ != State::kIdle) return;
  state_ = State::kRunning;
  started_ = now;
  deadline_ = now + config_.deadline;
  std::string line = "start: server " + config_.server.to_string() + ", sockets";
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    line += " " + socket_name(i) + "=" + sockets_[i].to_string();
  }
  note(now, std::move(line));

  if (config_.extra_locals.empty()) {
    return fail(now, "config: at least one extra local socket is needed");
  }
  if (std::set<Endpoint>(sockets_.begin(), sockets_.end()).size() != sockets_.size()) {
    return fail(now, "config: local sockets must be distinct");
  }
  if (config_.server.port == 0) return fail(now, "config: server endpoint has no port");
  if (config_.gateway && (config_.gateway->port == 0 || !config_.gateway->address.is_v4())) {
    return fail(now, "config: gateway must be an IPv4 endpoint with a port (NAT-PMP)");
  }
  binding_.assign(sockets_.size(), std::nullopt);
  step(now);
}

// --- probes -------------------------------------------------------------------------------------

std::size_t NatDiscovery::launch(Instant now, Test test, std::size_t socket,
                                 const Endpoint& destination, std::uint32_t change,
                                 std::optional<Endpoint> expected, std::size_t target) {
  Probe p;
  p.test = test;
  p.socket = socket;
  p.target = target;
  p.destination = destination;
  p.expected_source = expected.value_or(destination);
  p.change = change;
  random_.fill(p.id.data(), p.id.size());
  stun::MessageBuilder b(p.request, stun::Method::kBinding, stun::Class::kRequest, p.id);
  if (change != 0) b.add_u32(stun::attr::kChangeRequest, change);
  b.add_fingerprint();

  const std::size_t index = probes_.size();
  Datagram d{sockets_[socket], destination, p.request};
  by_id_[p.id] = index;
  probes_.push_back(std::move(p));
  tracker_for(test).start(now, index, [d]() { return std::optional<Datagram>(d); });
  note(now, name(probes_[index]) + ": " + d.local.to_string() + " -> " + destination.to_string() +
                " sent");
  return index;
}

bool NatDiscovery::pending(std::optional<std::size_t> index) const {
  return index && probes_[*index].outcome == Outcome::kPending;
}

bool NatDiscovery::answered(std::optional<std::size_t> index) const {
  return index && probes_[*index].outcome == Outcome::kAnswered;
}

void NatDiscovery::settle(Instant now, std::size_t index, Outcome outcome) {
  Probe& p = probes_[index];
  if (p.outcome != Outcome::kPending) return;
  p.outcome = outcome;
  tracker_for(p.test).complete(index);
  switch (outcome) {
    case Outcome::kAnswered:
      if (p.test == Test::kHairpin) {
        // For a hairpin probe `mapped` holds the source our request arrived from.
        note(now, name(p) + ": our request arrived on " + socket_name(p.target) + " from " +
                      p.mapped.to_string());
      } else {
        std::string line = name(p) + ": answered, mapped " + p.mapped.to_string();
        if (p.other_address) line += ", other-address " + p.other_address->to_string();
        note(now, std::move(line));
      }
      break;
    case Outcome::kNoAnswer:
      note(now, name(p) +
                    (p.test == Test::kHairpin ? ": never arrived after " : ": no answer after ") +
                    std::to_string((answer_expected(p.test) ? config_.answered_retransmit
                                                            : config_.retransmit)
                                       .max_transmissions) +
                    " transmissions");
      break;
    case Outcome::kError:
      note(now, name(p) + ": error " + std::to_string(p.error_code));
      break;
    case Outcome::kCancelled:
      note(now, name(p) + ": cancelled");
      break;
    case Outcome::kPending:
      break;
  }
}

void NatDiscovery::cancel(std::size_t index) {
  Probe& p = probes_[index];
  if (p.outcome != Outcome::kPending) return;
  p.outcome = Outcome::kCancelled;
  tracker_for(p.test).complete(index);
}

std::string NatDiscovery::name(const Probe& p) const {
  switch (p.test) {
    case Test::kBinding:
      return p.socket == 0 ? "test I (binding S0)" : "binding " + socket_name(p.socket);
    case Test::kMappingII:
      return "mapping test II";
    case Test::kMappingIII:
      return "mapping test III";
    case Test::kFilteringII:
      return "filtering test II (change IP+port, " + socket_name(p.socket) + ")";
    case Test::kFilteringIII:
      return "filtering test III (change port, " + socket_name(p.socket) + ")";
    case Test::kHairpin:
      return "hairpin " + socket_name(p.socket) + "->" + socket_name(p.target);
  }
  return "probe";
}

// --- the sequence -------------------------------------------------------------------------------

void NatDiscovery::step(Instant now) {
  if (state_ != State::kRunning) return;

  // 1. One binding per socket, strictly one after the other (consecutive allocations).
  while (next_binding_ < sockets_.size()) {
    auto& b = binding_[next_binding_];
    if (!b) {
      b = launch(now, Test::kBinding, next_binding_, config_.server);
      return;
    }
    if (pending(b)) return;
    if (next_binding_ == 0) {
      const Probe& t1 = probes_[*b];
      if (t1.outcome == Outcome::kError) {
        return fail(now, "STUN server " + config_.server.to_string() + " refused test I (error " +
                             std::to_string(t1.error_code) + ")");
      }
      if (t1.outcome != Outcome::kAnswered) {
        return fail(now, "no answer from STUN server " + config_.server.to_string() + " (test I)");
      }
      other_ = t1.other_address;
      if (other_ && (*other_ == config_.server ||
                     other_->address.family() != config_.server.address.family())) {
        note(now, "OTHER-ADDRESS " + other_->to_string() + " unusable, ignored");
        other_.reset();
      }
      two_ips_ = other_ && other_->address != config_.server.address;
      if (!other_) {
        note(now, "server gave no OTHER-ADDRESS: mapping and filtering cannot be tested");
      } else if (!two_ips_) {
        note(now, "server has a single IP: only port-dependence can be tested");
      }
      // Behind a NAT: ask the gateway for its external address (NAT levels), alongside the rest.
      if (config_.gateway && !config_.gateway_external && t1.mapped != sockets_[0]) {
        ask_gateway(now);
      }
    }
    ++next_binding_;
  }

  // 2 and 3: mapping tests on S0, filtering tests on the first extra socket that answered.
  if (!mapping_ii_ && !filtering_iii_ && other_ && !hairpin_started_) {
    for (std::size_t i = 1; i < sockets_.size(); ++i) {
      if (answered(binding_[i])) {
        filter_socket_ = i;
        break;
      }
    }
    const Endpoint& a = config_.server;
    if (two_ips_) {
      mapping_ii_ = launch(now, Test::kMappingII, 0, Endpoint{other_->address, a.port});
    } else {
      mapping_ii_ = launch(now, Test::kMappingII, 0, *other_);
    }
    if (filter_socket_ != 0) {
      if (two_ips_) {
        filtering_ii_ = launch(now, Test::kFilteringII, filter_socket_, a,
                               stun::kChangeIp | stun::kChangePort, *other_);
      }
      filtering_iii_ = launch(now, Test::kFilteringIII, filter_socket_, a, stun::kChangePort,
                              Endpoint{a.address, other_->port});
    } else {
      note(now, "no extra socket answered: filtering not tested");
    }
  }
  if (two_ips_ && answered(mapping_ii_) && !mapping_iii_ &&
      probes_[*mapping_ii_].mapped != probes_[*binding_[0]].mapped) {
    mapping_iii_ = launch(now, Test::kMappingIII, 0, *other_);
  }
  if (answered(filtering_ii_) && pending(filtering_iii_)) cancel(*filtering_iii_);

  const bool mapping_done = !pending(mapping_ii_) && !pending(mapping_iii_);
  const bool filtering_done = !pending(filtering_ii_) && !pending(filtering_iii_);

  // 4. Hairpinning, once the mapping tests' allocations are in.
  if (mapping_done && !hairpin_started_) {
    hairpin_started_ = true;
    std::size_t peer = filter_socket_;
    if (peer == 0) {
      for (std::size_t i = 1; i < sockets_.size(); ++i) {
        if (answered(binding_[i])) {
          peer = i;
          break;
        }
      }
    }
    if (peer != 0) {
      const Endpoint m0 = probes_[*binding_[0]].mapped;
      const Endpoint mp = probes_[*binding_[peer]].mapped;
      hairpin_ = {launch(now, Test::kHairpin, peer, m0, 0, std::nullopt, 0),
                  launch(now, Test::kHairpin, 0, mp, 0, std::nullopt, peer)};
    } else {
      note(now, "no extra socket answered: hairpinning not tested");
    }
  }
  const bool hairpin_done =
      hairpin_started_ &&
      std::none_of(hairpin_.begin(), hairpin_.end(), [&](std::size_t i) { return pending(i); });

  const bool gateway_done = gateway_query_ != GatewayQuery::kPending;

  if (mapping_done && filtering_done && hairpin_done && gateway_done) finish(now);
}

// --- NAT-PMP: the gateway's external address ------------------------------------------------

void NatDiscovery::ask_gateway(Instant now) {
  gateway_query_ = GatewayQuery::kPending;
  Datagram d{sockets_[0], *config_.gateway, {}};
  nat_pmp::append_external_address_request(d.payload);
  gateway_tracker_.start(now, 0, [d]() { return std::optional<Datagram>(d); });
  note(now, "NAT-PMP external address request: " + d.local.to_string() + " -> " +
                d.remote.to_string() + " sent");
}

void NatDiscovery::end_gateway_query(Instant now, GatewayQuery outcome, const std::string& line) {
  if (gateway_query_ != GatewayQuery::kPending) return;
  gateway_query_ = outcome;
  gateway_tracker_.complete(0);
  note(now, "NAT-PMP: " + line);
}

void NatDiscovery::on_gateway_datagram(Instant now, const Endpoint& local, const std::uint8_t* data,
                                       std::size_t size) {
  // RFC 6886 section 3.2: only the gateway asked may answer (checked by the caller), on the
  // socket that asked.
  if (gateway_query_ != GatewayQuery::kPending || !is_socket(0, local)) {
    ++counters_.dropped_unexpected;
    return;
  }
  auto response = nat_pmp::parse_external_address_response(data, size);
  if (!response) {
    ++counters_.dropped_malformed;
    return;
  }
  ++counters_.gateway_responses;
  if (response->result != static_cast<std::uint16_t>(nat_pmp::ResultCode::kSuccess)) {
    gateway_result_ = response->result;
    return end_gateway_query(now, GatewayQuery::kError,
                             "gateway answered result code " + std::to_string(response->result) +
                                 " (" + nat_pmp::describe(response->result) + ")");
  }
  if (response->external.is_unspecified()) {
    // Success with 0.0.0.0: the gateway has no external address to tell (section 3.2).
    gateway_result_ = static_cast<std::uint16_t>(nat_pmp::ResultCode::kNetworkFailure);
    return end_gateway_query(now, GatewayQuery::kError, "gateway reports no external address");
  }
  gateway_external_ = response->external;
  end_gateway_query(now, GatewayQuery::kAnswered,
                    "gateway reports external address " + response->external.to_string() +
                        " (epoch " + std::to_string(response->epoch_seconds) + " s)");
}

// --- inputs -------------------------------------------------------------------------------------

void NatDiscovery::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                   const std::uint8_t* data, std::size_t size) {
  if (state_ != State::kRunning) {
    ++counters_.dropped_unexpected;
    return;
  }
  if (config_.gateway && remote == *config_.gateway) {
    on_gateway_datagram(now, local, data, size);
    return step(now);
  }
  auto msg = stun::MessageView::parse(data, size);
  if (!msg || msg->method() != stun::Method::kBinding ||
      (msg->has_fingerprint() && !msg->check_fingerprint())) {
    ++counters_.dropped_malformed;
    return;
  }
  auto found = by_id_.find(msg->transaction_id());
  if (found == by_id_.end()) {
    ++counters_.dropped_unexpected;
    return;
  }
  const std::size_t index = found->second;
  Probe& probe = probes_[index];
  if (msg->message_class() == stun::Class::kRequest) {
    if (probe.test != Test::kHairpin) {
      ++counters_.dropped_unexpected;
      return;
    }
    on_own_request(now, index, local, remote);
  } else if (msg->message_class() == stun::Class::kSuccess ||
             msg->message_class() == stun::Class::kError) {
    if (probe.test == Test::kHairpin || probe.outcome != Outcome::kPending ||
        !is_socket(probe.socket, local)) {
      ++counters_.dropped_unexpected;
      return;
    }
    on_response(now, index, *msg, remote);
  } else {
    ++counters_.dropped_unexpected;
    return;
  }
  step(now);
}

void NatDiscovery::on_response(Instant now, std::size_t index, const stun::MessageView& msg,
                               const Endpoint& remote) {
  Probe& probe = probes_[index];
  if (msg.message_class() == stun::Class::kError) {
    // Errors come from where the request went (a refused change is answered unchanged).
    if (remote != probe.destination && remote != probe.expected_source) {
      ++counters_.dropped_unexpected;
      return;
    }
    auto error = msg.error_code();
    probe.error_code = error ? error->code : 0;
    ++counters_.responses;
    return settle(now, index, Outcome::kError);
  }
  if (remote != probe.expected_source) {
    if ((probe.test == Test::kFilteringII || probe.test == Test::kFilteringIII) &&
        remote == probe.destination) {
      // The server answered but not from the changed address: it ignored CHANGE-REQUEST, so
      // this test says nothing about the filter.
      ++counters_.responses;
      note(now, name(probe) + ": answered from " + remote.to_string() +
                    ", not the changed address: CHANGE-REQUEST ignored");
      probe.error_code = 0;
      return settle(now, index, Outcome::kError);
    }
    ++counters_.dropped_unexpected;
    note(now, name(probe) + ": answer from unexpected " + remote.to_string() + " dropped");
    return;
  }
  auto mapped = msg.xor_address(stun::attr::kXorMappedAddress);
  if (!mapped) mapped = msg.address(stun::attr::kMappedAddress);
  if (!mapped) {
    ++counters_.dropped_malformed;
    return;
  }
  ++counters_.responses;
  probe.mapped = *mapped;
  probe.other_address = msg.address(stun::attr::kOtherAddress);
  settle(now, index, Outcome::kAnswered);
}

void NatDiscovery::on_own_request(Instant now, std::size_t index, const Endpoint& local,
                                  const Endpoint& remote) {
  ++counters_.hairpinned_requests;
  Probe& probe = probes_[index];
  if (!is_socket(probe.target, local)) {
    ++counters_.dropped_unexpected;
    note(now, name(probe) + ": arrived on " + local.to_string() + ", not on " +
                  sockets_[probe.target].to_string());
    return;
  }
  if (probe.outcome != Outcome::kPending) return;  // a retransmission, or after the other
  probe.mapped = remote;
  hairpin_seen_ = true;
  settle(now, index, Outcome::kAnswered);
  for (std::size_t other : hairpin_) cancel(other);
}

void NatDiscovery::handle_timeout(Instant now) {
  if (state_ != State::kRunning) return;
  for (RequestTracker* t : {&tracker_, &answered_tracker_}) {
    for (std::uint64_t key : t->handle_timeout(now))
      settle(now, static_cast<std::size_t>(key), Outcome::kNoAnswer);
  }
  if (!gateway_tracker_.handle_timeout(now).empty()) {
    end_gateway_query(now, GatewayQuery::kNoAnswer,
                      "no answer after " +
                          std::to_string(config_.gateway_retransmit.max_transmissions) +
                          " transmissions");
  }
  if (now >= deadline_) {
    if (binding_.empty() || !answered(binding_[0])) {
      return fail(now, "deadline reached without an answer from " + config_.server.to_string());
    }
    note(now, "deadline reached: unfinished tests are reported unknown");
    for (std::size_t i = 0; i < probes_.size(); ++i) cancel(i);
    end_gateway_query(now, GatewayQuery::kNoAnswer, "no answer by the deadline");
    return finish(now);
  }
  step(now);
}

std::optional<Datagram> NatDiscovery::poll_transmit() {
  if (state_ != State::kRunning) return std::nullopt;
  for (RequestTracker* t : {&answered_tracker_, &tracker_}) {
    if (auto d = t->poll_transmit()) {
      ++counters_.requests_sent;
      return d;
    }
  }
  auto d = gateway_tracker_.poll_transmit();
  if (d) ++counters_.gateway_requests_sent;
  return d;
}

Instant NatDiscovery::poll_timeout() const {
  if (state_ != State::kRunning) return kNever;
  return std::min({tracker_.poll_timeout(), answered_tracker_.poll_timeout(),
                   gateway_tracker_.poll_timeout(), deadline_});
}

std::optional<NatDiscoveryEvent> NatDiscovery::poll_event() {
  if (events_.empty()) return std::nullopt;
  NatDiscoveryEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void NatDiscovery::note(Instant now, std::string line) {
  const auto ms = state_ == State::kIdle ? 0 : to_ms(now - started_);
  std::string out = "+" + std::to_string(ms) + "ms " + line;
  // spdlog::debug, not SPDLOG_DEBUG: a run logs a few dozen lines, and they must show with a
  // runtime's --log-level debug whatever SPDLOG_ACTIVE_LEVEL the build uses.
  spdlog::debug("nat-discovery: {}", out);
  transcript_.push_back(std::move(out));
}

void NatDiscovery::fail(Instant now, std::string reason) {
  note(now, "failed: " + reason);
  state_ = State::kDone;
  tracker_.clear();
  answered_tracker_.clear();
  gateway_tracker_.clear();
  events_.push_back(nat_discovery_event::Failed{std::move(reason)});
}

bool NatDiscovery::is_socket(std::size_t index, const Endpoint& local) const {
  const Endpoint& s = sockets_[index];
  // A socket bound to the wildcard address may be reported with it or with the concrete one.
  return s == local || (s.address.is_unspecified() && s.port == local.port);
}

}  // namespace qp2p
