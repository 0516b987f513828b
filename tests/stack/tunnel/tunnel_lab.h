// A lab for hole-punching and tunnel tests: sites (a host behind NatTables from
// nat-models/nat_table.h, or a host with a public address) exchanging datagrams in virtual time,
// and a PunchLab that runs two peers' HolePunch attempts and then their Tunnels. Header-only
// (the unit-test target globs *_test.cc files only).
//
// Topology: NAT nodes whose public side is on the Internet or on the private side of another NAT
// (a home NAT behind a carrier NAT, the `cgnat` chain), and hosts on a NAT's private side;
// several hosts may share one NAT (a LAN: they reach each other's host addresses directly).
// Datagrams are translated outbound by the sender's NATs when sent (up to the segment that owns
// the destination, or hairpinned by a NAT addressed at its own public side, RFC 4787 section 6)
// and inbound by the receiver's NATs when they arrive one one-way latency later, as real NATs do
// (a check that leaves before the peer's NAT opened but arrives after it did gets through). Not
// tests/stack/harness/virtual_network.h: its rewriters run at send time only, and a site here
// swaps its HolePunch for a Tunnel on the fly. Loss is seeded and applied beyond the sender's
// NATs (a lost check still opened the sender's mappings). A tap sees every datagram after the
// sender's NATs (to capture, alter or drop it) and inject() delivers arbitrary datagrams from any
// Internet source (spoofed replays, forgeries). Everything is ordered and seeded, so a run
// replays exactly; every loop is bounded.
//
// TTL (Datagram::ttl, 0: the default, never runs out here): each NAT a datagram leaves through
// is a router: it forwards (and translates) only a datagram whose TTL is above 1, decrementing
// it; the Internet between two NATs' public sides is at least one more router, so a datagram
// that arrives there with TTL 1 expires (dropped_ttl) before any NAT on the far side sees it.
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
  std::uint64_t dropped_ttl = 0;  // TTL ran out at a NAT or on the Internet
};

class Network {
 public:
  // Sees a datagram after the sender's NAT: local = its external source, remote = destination.
  // May change it; returning false drops it.
  using Tap = std::function<bool(Instant now, std::size_t from_site, Datagram& d)>;
  using Hook = std::function<void(Instant now)>;

  static constexpr std::size_t kMaxSteps = 3'000'000;
  static constexpr std::size_t kMaxTransmitsPerDrain = 200'000;
  static constexpr std::size_t kInternet = static_cast<std::size_t>(-1);
  static constexpr std::size_t kMaxNatDepth = 8;

  Network(std::uint64_t seed, Duration one_way, double loss)
      : seed_(seed), one_way_(one_way), loss_(loss), random_(Random::from_u64(0x7a6b ^ seed)) {}

  // A NAT whose public side (address `public_ip`) sits on the Internet, or on the private side
  // of NAT `behind` (a home NAT behind a carrier NAT). Returns its node id.
  std::size_t add_nat(NatBehaviour nat, IpAddress public_ip, std::size_t behind = kInternet) {
    const std::uint64_t nat_seed = seed_ * 1'000'003 + 0x4e47 + nodes_.size();
    nodes_.push_back(Node{public_ip, behind, NatTable(nat, public_ip, Random::from_u64(nat_seed))});
    return nodes_.size() - 1;
  }
  // A host at `host` on the private side of NAT node `nat` (for an untranslating node, on the
  // segment the node itself sits on: the host is public there).
  std::size_t add_site_behind(std::size_t nat, IpAddress host) {
    sites_.push_back(Site{host, nat});
    return sites_.size() - 1;
  }
  // A host at `host` behind its own `nat`, whose public address is `public_ip` (for an
  // untranslating "open" NAT, the host's own address).
  std::size_t add_site(NatBehaviour nat, IpAddress host, IpAddress public_ip) {
    if (!nat.translating) public_ip = host;
    return add_site_behind(add_nat(std::move(nat), public_ip), host);
  }
  void attach(std::size_t site, SansIoEndpoint* endpoint) { sites_.at(site).endpoint = endpoint; }
  void set_offline(std::size_t site, bool offline) { sites_.at(site).offline = offline; }
  // The NAT right in front of the site's host.
  NatTable& nat(std::size_t site) { return nodes_.at(sites_.at(site).nat).table; }
  NatTable& nat_node(std::size_t node) { return nodes_.at(node).table; }
  // A NAT reboot: a fresh table (every mapping gone; new ports where allocation is not
  // preserving).
  void replace_nat(std::size_t site, NatBehaviour nat, std::uint64_t seed) {
    Node& n = nodes_.at(sites_.at(site).nat);
    n.table = NatTable(nat, n.public_ip, Random::from_u64(seed));
  }
  // The server-reflexive endpoint of `local` as a STUN server sees it now (opens the mappings
  // of every NAT on the way out, as the peer's NAT discovery did).
  Endpoint reflexive(std::size_t site, const Endpoint& local) {
    Endpoint source = local;
    for (std::size_t n = segment_of(site), depth = 0; n != kInternet && depth < kMaxNatDepth;
         n = nodes_[n].parent, ++depth)
      source = nodes_[n].table.translate_outbound(now_, source, kStunServer).value();
    return source;
  }
  // A datagram from anywhere on the Internet (spoofed sources allowed), arriving one one-way
  // latency from now.
  void inject(const Endpoint& source, const Endpoint& destination, Bytes payload) {
    schedule(Datagram{source, destination, std::move(payload)}, kInternet);
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
        Queued q = std::move(queue_.begin()->second);
        queue_.erase(queue_.begin());
        arrive(q.datagram, q.segment);
      }
      for (Site& s : sites_)
        if (s.endpoint && s.endpoint->poll_timeout() <= now_) s.endpoint->handle_timeout(now_);
    }
    ADD_FAILURE() << "tunnel lab: step bound exceeded at t=" << to_us(now_) << "us";
    return false;
  }
  void run_for(Duration d) { run_until(nullptr, d); }

 private:
  struct Node {
    IpAddress public_ip;
    std::size_t parent = kInternet;  // the segment its public side is on
    NatTable table;
  };
  struct Site {
    IpAddress host;
    std::size_t nat = kInternet;  // node in front of the host
    SansIoEndpoint* endpoint = nullptr;
    bool offline = false;
  };
  struct Queued {
    Datagram datagram;
    std::size_t segment;  // where its destination is looked up on arrival
  };

  bool translating(std::size_t node) const { return nodes_[node].table.behaviour().translating; }
  // The segment a site's host sits on: the private side of its NAT, or, behind an untranslating
  // node, the segment of that node.
  std::size_t segment_of(std::size_t site) const {
    const std::size_t n = sites_[site].nat;
    if (n == kInternet || translating(n)) return n;
    return nodes_[n].parent;
  }
  // True when `address` is a host or a NAT's public side on `segment` (a datagram to it stays
  // on that segment, no NAT above it is involved).
  bool owned_on(std::size_t segment, const IpAddress& address) const {
    for (std::size_t i = 0; i < sites_.size(); ++i)
      if (segment_of(i) == segment && sites_[i].host == address) return true;
    for (std::size_t n = 0; n < nodes_.size(); ++n)
      if (translating(n) && nodes_[n].parent == segment && nodes_[n].public_ip == address)
        return true;
    return false;
  }

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

  // Send time: up through the sender's NATs until the destination is on the current segment
  // (or a NAT hairpins it back down); arrival time: down through the receiver's NATs.
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
    std::size_t segment = segment_of(from);
    for (std::size_t depth = 0; segment != kInternet && !owned_on(segment, d.remote.address);
         ++depth) {
      Node& n = nodes_[segment];
      if (depth >= kMaxNatDepth) {
        ++counters_.dropped_unroutable;
        return;
      }
      if (d.ttl != 0 && !hop(d)) return;  // a router drops it before translating
      if (n.table.is_public(d.remote.address)) {  // hairpin: back down this NAT
        auto v = n.table.translate_hairpin(now_, d.local, d.remote);
        if (!v.forwarded()) {
          ++counters_.dropped_nat;
          return;
        }
        d.local = v.source;
        d.remote = v.inner;
        break;  // v.inner is on this NAT's private side
      }
      auto external = n.table.translate_outbound(now_, d.local, d.remote);
      if (!external) {
        ++counters_.dropped_nat;
        return;
      }
      d.local = *external;
      segment = n.parent;
    }
    // Onto the Internet towards another site: through at least one router.
    if (segment == kInternet && d.ttl != 0 && !hop(d)) return;
    if (tap_ && !tap_(now_, from, d)) {
      ++counters_.dropped_tap;
      return;
    }
    if (loss_ > 0 && random_.uniform(1'000'000) < static_cast<std::uint64_t>(loss_ * 1e6)) {
      ++counters_.dropped_loss;
      return;
    }
    schedule(std::move(d), segment);
  }

  // One router: forwards while the TTL stays above zero.
  bool hop(Datagram& d) {
    if (d.ttl <= 1) {
      ++counters_.dropped_ttl;
      return false;
    }
    --d.ttl;
    return true;
  }

  void schedule(Datagram d, std::size_t segment) {
    queue_.emplace(std::make_pair(now_ + one_way_, seq_++), Queued{std::move(d), segment});
  }

  void arrive(const Datagram& d, std::size_t segment) {
    Endpoint inner = d.remote, source = d.local;
    for (std::size_t depth = 0; depth <= kMaxNatDepth; ++depth) {
      for (std::size_t i = 0; i < sites_.size(); ++i) {
        if (segment_of(i) != segment || sites_[i].host != inner.address) continue;
        Site& to = sites_[i];
        if (to.offline || !to.endpoint) {
          ++counters_.dropped_offline;
          return;
        }
        ++counters_.delivered;
        to.endpoint->handle_datagram(now_, inner, source, d.payload.data(), d.payload.size());
        return;
      }
      std::optional<std::size_t> next;
      for (std::size_t n = 0; n < nodes_.size(); ++n)
        if (translating(n) && nodes_[n].parent == segment && nodes_[n].public_ip == inner.address)
          next = n;
      if (!next) break;
      auto v = nodes_[*next].table.translate_inbound(now_, inner, source);
      if (!v.forwarded()) {
        ++counters_.dropped_nat;
        return;
      }
      inner = v.inner;
      source = v.source;
      segment = *next;
    }
    ++counters_.dropped_unroutable;
  }

  std::uint64_t seed_;
  Duration one_way_;
  double loss_;
  Random random_;
  Instant now_ = instant_from_us(10'000'000);
  std::vector<Node> nodes_;
  std::vector<Site> sites_;
  std::map<std::pair<Instant, std::uint64_t>, Queued> queue_;
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
  bool wait_for_peer = false;  // HolePunchConfig::wait_for_peer (the relayed side)
  std::uint8_t open_ttl = 0;   // HolePunchConfig::open_ttl (opening checks)
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
    c.wait_for_peer = mine.wait_for_peer;
    c.open_ttl = mine.open_ttl;
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
