// A lab for hole-punching and tunnel tests: sites (a host behind a NatTable from
// nat-models/nat_table.h, or a host with a public address) exchanging datagrams in virtual time,
// and a PunchLab that runs two peers' HolePunch attempts and then their Tunnels. Header-only
// (the unit-test target globs *_test.cc files only).
//
// Datagrams are translated outbound by the sender's NAT when sent and inbound by the receiver's
// NAT when they arrive one one-way latency later, as real NATs do (a check that leaves before
// the peer's NAT opened but arrives after it did gets through). Not
// tests/stack/harness/virtual_network.h: its rewriters run at send time only, and a site here
// swaps its HolePunch for a Tunnel on the fly. Loss is seeded and applied beyond the sender's
// NAT (a lost check still opened the sender's mapping). A tap sees every datagram after the
// sender's NAT (to capture, alter or drop it) and inject() delivers arbitrary datagrams from any
// source (spoofed replays, forgeries). Everything is ordered and seeded, so a run replays exactly;
// every loop is bounded.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nat-models/nat_table.h"
#include "stack/tunnel/hole_punch.h"
#include "stack/tunnel/tunnel.h"

namespace qp2p::tunnel_lab {

using namespace std::chrono_literals;
using nat::NatBehaviour;
using nat::NatTable;
using tunnel::HolePunch;
using tunnel::HolePunchConfig;
using tunnel::PunchStrategy;
using tunnel::Tunnel;
using tunnel::TunnelConfig;

inline Endpoint ep(std::string_view text) { return Endpoint::parse(text).value(); }
inline IpAddress ip(std::string_view text) { return IpAddress::parse(text).value(); }
inline NatBehaviour preset(std::string_view name) { return nat::preset(name).value(); }

// Documentation ranges only (DESIGN.md): two LANs, the NATs' public side, an attacker, a STUN
// server the sites' reflexive endpoints are learnt from.
inline const IpAddress kHostA = ip("192.0.2.10");
inline const IpAddress kHostB = ip("198.51.100.20");
inline const IpAddress kPublicA = ip("203.0.113.1");
inline const IpAddress kPublicB = ip("203.0.113.2");
inline const Endpoint kAttacker = ep("203.0.113.66:6666");
inline const Endpoint kStunServer = ep("203.0.113.200:3478");
inline constexpr std::uint16_t kFirstPort = 40000;

struct NetworkCounters {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped_nat = 0;  // refused by a NAT (no mapping, filtered, pool)
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_unroutable = 0;  // to a private address of another site, or nowhere
  std::uint64_t dropped_offline = 0;
  std::uint64_t dropped_tap = 0;
};

class Network {
 public:
  // Sees a datagram after the sender's NAT: local = its external source, remote = destination.
  // May change it; returning false drops it.
  using Tap = std::function<bool(Instant now, std::size_t from_site, Datagram& d)>;
  using Hook = std::function<void(Instant now)>;

  static constexpr std::size_t kMaxSteps = 3'000'000;
  static constexpr std::size_t kMaxTransmitsPerDrain = 200'000;

  Network(std::uint64_t seed, Duration one_way, double loss)
      : seed_(seed), one_way_(one_way), loss_(loss), random_(Random::from_u64(0x7a6b ^ seed)) {}

  // A host at `host` behind `nat`, whose public address is `public_ip` (for an untranslating
  // "open" NAT, the host's own address).
  std::size_t add_site(NatBehaviour nat, IpAddress host, IpAddress public_ip) {
    if (!nat.translating) public_ip = host;
    const std::uint64_t nat_seed = seed_ * 1'000'003 + 0x4e47 + sites_.size();
    sites_.push_back(Site{host, public_ip, NatTable(nat, public_ip, Random::from_u64(nat_seed))});
    return sites_.size() - 1;
  }
  void attach(std::size_t site, SansIoEndpoint* endpoint) { sites_.at(site).endpoint = endpoint; }
  void set_offline(std::size_t site, bool offline) { sites_.at(site).offline = offline; }
  NatTable& nat(std::size_t site) { return sites_.at(site).nat; }
  // A NAT reboot: a fresh table (every mapping gone; new ports where allocation is not
  // preserving).
  void replace_nat(std::size_t site, NatBehaviour nat, std::uint64_t seed) {
    Site& s = sites_.at(site);
    s.nat = NatTable(nat, s.public_ip, Random::from_u64(seed));
  }
  // The server-reflexive endpoint of `local` as a STUN server sees it now (opens the mapping,
  // as the peer's NAT discovery did).
  Endpoint reflexive(std::size_t site, const Endpoint& local) {
    Site& s = sites_.at(site);
    if (!s.nat.behaviour().translating) return local;
    return s.nat.translate_outbound(now_, local, kStunServer).value();
  }
  // A datagram from anywhere (spoofed sources allowed), arriving one one-way latency from now.
  void inject(const Endpoint& source, const Endpoint& destination, Bytes payload) {
    schedule(Datagram{source, destination, std::move(payload)});
  }
  void set_tap(Tap tap) { tap_ = std::move(tap); }
  void on_step(Hook hook) { hooks_.push_back(std::move(hook)); }

  Instant now() const { return now_; }
  const NetworkCounters& counters() const { return counters_; }

  // Runs until done() holds or `max` of virtual time has passed (the clock then ends there).
  bool run_until(const std::function<bool()>& done, Duration max) {
    const Instant end = now_ + max;
    for (std::size_t step = 0; step < kMaxSteps; ++step) {
      drain();
      for (auto& h : hooks_) h(now_);
      drain();
      if (done && done()) return true;
      Instant next = queue_.empty() ? kNever : queue_.begin()->first.first;
      for (const Site& s : sites_)
        if (s.endpoint) next = std::min(next, s.endpoint->poll_timeout());
      if (next == kNever || next > end) {
        now_ = std::max(now_, end);
        return done && done();
      }
      now_ = std::max(now_, next);
      while (!queue_.empty() && queue_.begin()->first.first <= now_) {
        Datagram d = std::move(queue_.begin()->second);
        queue_.erase(queue_.begin());
        arrive(d);
      }
      for (Site& s : sites_)
        if (s.endpoint && s.endpoint->poll_timeout() <= now_) s.endpoint->handle_timeout(now_);
    }
    ADD_FAILURE() << "tunnel lab: step bound exceeded at t=" << to_us(now_) << "us";
    return false;
  }
  void run_for(Duration d) { run_until(nullptr, d); }

 private:
  struct Site {
    IpAddress host;
    IpAddress public_ip;
    NatTable nat;
    SansIoEndpoint* endpoint = nullptr;
    bool offline = false;
  };

  void drain() {
    for (std::size_t i = 0; i < sites_.size(); ++i) {
      std::size_t n = 0;
      while (sites_[i].endpoint) {
        auto d = sites_[i].endpoint->poll_transmit();
        if (!d) break;
        if (++n > kMaxTransmitsPerDrain) {
          ADD_FAILURE() << "tunnel lab: site " << i << " never stops transmitting";
          return;
        }
        route(i, std::move(*d));
      }
    }
  }

  void route(std::size_t from, Datagram d) {
    ++counters_.sent;
    Site& s = sites_[from];
    if (s.offline) {
      ++counters_.dropped_offline;
      return;
    }
    if (d.local.address != s.host) {
      ++counters_.dropped_unroutable;
      return;
    }
    if (s.nat.behaviour().translating) {
      if (s.nat.is_public(d.remote.address)) {  // hairpin: not modelled, the presets have it off
        ++counters_.dropped_nat;
        return;
      }
      auto external = s.nat.translate_outbound(now_, d.local, d.remote);
      if (!external) {
        ++counters_.dropped_nat;
        return;
      }
      d.local = *external;
    }
    if (tap_ && !tap_(now_, from, d)) {
      ++counters_.dropped_tap;
      return;
    }
    if (loss_ > 0 && random_.uniform(1'000'000) < static_cast<std::uint64_t>(loss_ * 1e6)) {
      ++counters_.dropped_loss;
      return;
    }
    schedule(std::move(d));
  }

  void schedule(Datagram d) { queue_.emplace(std::make_pair(now_ + one_way_, seq_++), std::move(d)); }

  void arrive(const Datagram& d) {
    Site* to = nullptr;
    for (Site& s : sites_)
      if (s.public_ip == d.remote.address) to = &s;
    if (!to) {
      ++counters_.dropped_unroutable;
      return;
    }
    Endpoint inner = d.remote, source = d.local;
    if (to->nat.behaviour().translating) {
      auto v = to->nat.translate_inbound(now_, d.remote, d.local);
      if (!v.forwarded()) {
        ++counters_.dropped_nat;
        return;
      }
      inner = v.inner;
      source = v.source;
    }
    if (to->offline || !to->endpoint) {
      ++counters_.dropped_offline;
      return;
    }
    ++counters_.delivered;
    to->endpoint->handle_datagram(now_, inner, source, d.payload.data(), d.payload.size());
  }

  std::uint64_t seed_;
  Duration one_way_;
  double loss_;
  Random random_;
  Instant now_ = instant_from_us(10'000'000);
  std::vector<Site> sites_;
  std::map<std::pair<Instant, std::uint64_t>, Datagram> queue_;
  std::uint64_t seq_ = 0;
  Tap tap_;
  std::vector<Hook> hooks_;
  NetworkCounters counters_;
};

// One peer's part in a scenario.
struct PeerSpec {
  NatBehaviour nat = preset("port-restricted-cone");
  int sockets = 1;  // local ports (birthday: K)
  PunchStrategy strategy = PunchStrategy::kSimultaneousOpen;
  int predict_before = 0;  // kPortPrediction around the other's server-reflexive endpoint
  int predict_after = 16;
  int birthday_probes = 0;  // kBirthday: random ports on the other's NAT address
  Duration start_skew{};    // this side starts so much after the common start
};

struct Scenario {
  PeerSpec a, b;
  std::uint64_t seed = 1;
  Duration one_way = 15ms;
  double loss = 0.0;
  Duration deadline = tunnel::kDefaultPunchDeadline;
  tunnel::PunchPacing pacing;
  bool tunnels = true;  // build Tunnels on Established
  TunnelConfig tunnel;
};

struct PeerState {
  std::size_t site = 0;
  Identity identity;
  std::vector<Endpoint> locals;
  Endpoint reflexive;  // as a STUN server saw locals[0]
  std::unique_ptr<HolePunch> punch;
  std::unique_ptr<Tunnel> tunnel;
  std::optional<tunnel::hole_punch_event::Established> established;
  Instant established_at{};
  std::optional<std::string> failed;
  Instant failed_at{};
  std::vector<Bytes> received;
  std::vector<tunnel::tunnel_event::PathChanged> path_changes;
  std::optional<std::string> closed;
  Instant closed_at{};
  bool finished() const { return established.has_value() || failed.has_value(); }
};

class PunchLab {
 public:
  explicit PunchLab(Scenario s) : s_(std::move(s)), net_(s_.seed, s_.one_way, s_.loss) {
    Random r = Random::from_u64(0x1d ^ (s_.seed << 8));
    a_.identity = Identity::generate(r);
    b_.identity = Identity::generate(r);
    r.fill(nonce_.data(), nonce_.size());
    a_.site = net_.add_site(s_.a.nat, kHostA, kPublicA);
    b_.site = net_.add_site(s_.b.nat, kHostB, kPublicB);
    setup_locals(a_, s_.a, kHostA);
    setup_locals(b_, s_.b, kHostB);
    start_ = net_.now() + 200ms;  // the handshake service's "start in 200 ms"
    a_.punch = std::make_unique<HolePunch>(config(a_, s_.a, b_, s_.b), Random::from_u64(s_.seed * 2 + 1));
    b_.punch = std::make_unique<HolePunch>(config(b_, s_.b, a_, s_.a), Random::from_u64(s_.seed * 2 + 2));
    net_.attach(a_.site, a_.punch.get());
    net_.attach(b_.site, b_.punch.get());
    net_.on_step([this](Instant now) {
      drain_events(a_, now);
      drain_events(b_, now);
    });
  }

  Network& net() { return net_; }
  PeerState& a() { return a_; }
  PeerState& b() { return b_; }
  const Scenario& scenario() const { return s_; }
  Instant start() const { return start_; }
  const tunnel::AttemptNonce& nonce() const { return nonce_; }

  // Runs both attempts to their end (Established or Failed on each side). True if both
  // established.
  bool run_punch() {
    const Duration bound = 200ms + s_.deadline + std::max(s_.a.start_skew, s_.b.start_skew) + 1s;
    net_.run_until([this] { return a_.finished() && b_.finished(); }, bound);
    return a_.established && b_.established;
  }

 private:
  static void setup_locals(PeerState& p, const PeerSpec& spec, const IpAddress& host) {
    for (int i = 0; i < spec.sockets; ++i)
      p.locals.push_back(Endpoint{host, static_cast<std::uint16_t>(kFirstPort + i)});
  }

  HolePunchConfig config(PeerState& me, const PeerSpec& mine, PeerState& other,
                         const PeerSpec& theirs) {
    if (me.reflexive.port == 0) me.reflexive = net_.reflexive(me.site, me.locals[0]);
    if (other.reflexive.port == 0) other.reflexive = net_.reflexive(other.site, other.locals[0]);
    HolePunchConfig c;
    c.identity = me.identity;
    c.remote = other.identity.id();
    c.attempt_nonce = nonce_;
    c.locals = me.locals;
    c.remote_candidates = {{other.locals[0], tunnel::CandidateKind::kHost},
                           {other.reflexive, tunnel::CandidateKind::kServerReflexive}};
    c.strategy = mine.strategy;
    c.prediction.base = other.reflexive;
    c.prediction.delta =
        theirs.nat.port_allocation == nat::PortAllocation::kSequential ? theirs.nat.sequential_delta : 1;
    c.prediction.before = mine.predict_before;
    c.prediction.after = mine.predict_after;
    c.birthday.address = other.reflexive.address;
    c.birthday.probes = mine.birthday_probes;
    c.start = start_ + mine.start_skew;
    c.deadline = s_.deadline;
    c.pacing = s_.pacing;
    return c;
  }

  void drain_events(PeerState& p, Instant now) {
    if (p.punch) {
      while (auto e = p.punch->poll_event()) {
        if (auto* est = std::get_if<tunnel::hole_punch_event::Established>(&*e)) {
          p.established = *est;
          p.established_at = now;
          if (s_.tunnels) {
            p.tunnel = std::make_unique<Tunnel>(p.punch->take_tunnel_params().value(), s_.tunnel,
                                                now);
            net_.attach(p.site, p.tunnel.get());
          }
        } else {
          p.failed = std::get<tunnel::hole_punch_event::Failed>(*e).reason;
          p.failed_at = now;
        }
      }
    }
    if (p.tunnel) {
      while (auto e = p.tunnel->poll_event()) {
        if (auto* d = std::get_if<tunnel::tunnel_event::Data>(&*e)) {
          p.received.push_back(std::move(d->bytes));
        } else if (auto* c = std::get_if<tunnel::tunnel_event::PathChanged>(&*e)) {
          p.path_changes.push_back(*c);
        } else if (auto* c = std::get_if<tunnel::tunnel_event::Closed>(&*e)) {
          p.closed = c->reason;
          p.closed_at = now;
        }
      }
    }
  }

  Scenario s_;
  Network net_;
  PeerState a_, b_;
  tunnel::AttemptNonce nonce_{};
  Instant start_{};
};

inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace qp2p::tunnel_lab
