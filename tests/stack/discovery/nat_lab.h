// A NAT lab for NAT discovery tests: a real qp2p::Supernode and a NatDiscovery behind a chain
// of NatTables (nat-models/nat_table.h) in virtual time. Header-only (the unit-test target globs
// *_test.cc files only).
//
// The host's datagrams are translated outbound at send time, innermost NAT first (hairpinned
// where addressed to a NAT's own public address, then inbound through the NATs inside it), and
// reach the supernode kOneWay later; the supernode's are translated inbound, outermost NAT
// first, when they arrive. Loss drops a datagram with the given probability; for the host's, half
// the time before the NATs and half after (a lost request may or may not have opened its
// mapping). Everything is seeded, so every run replays exactly.
//
// Not tests/stack/harness/virtual_network.h: that network accepts documentation addresses only
// and rewrites at send time, while a NAT chain needs the carrier's RFC 6598 inside, a public
// range, and inbound translation at arrival.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nat-models/nat_table.h"
#include "stack/discovery/nat_discovery.h"
#include "stack/supernode/supernode.h"

namespace qp2p::nat_lab {

using nat::NatBehaviour;
using nat::NatTable;

inline constexpr Duration kOneWay = std::chrono::milliseconds(15);
inline constexpr Duration kLanDelay = std::chrono::milliseconds(1);
inline constexpr Duration kRunLimit = std::chrono::seconds(60);

inline Endpoint ep(std::string_view text) { return Endpoint::parse(text).value(); }
inline IpAddress ip(std::string_view text) { return IpAddress::parse(text).value(); }

inline NatBehaviour preset(std::string_view name) { return nat::preset(name).value(); }
inline NatBehaviour with_hairpin(NatBehaviour b) {
  b.hairpinning = true;
  return b;
}

// Addresses from the documentation and benchmarking ranges (DESIGN.md); the carrier's inside
// uses RFC 6598 shared address space, as a carrier NAT's would.
inline const IpAddress kHost = ip("192.0.2.10");
inline const IpAddress kNatPublic = ip("198.18.0.1");
inline const IpAddress kCarrierInside = ip("100.64.0.2");
inline const Endpoint kServerPrimary = ep("203.0.113.1:3478");
inline const Endpoint kServerAlternate = ep("198.51.100.1:3479");
inline const Endpoint kServerSameIpAlternate = ep("203.0.113.1:3479");

struct Scenario {
  std::vector<NatBehaviour> nats;  // innermost first; empty = no NAT
  bool two_ips = true;
  double loss = 0.0;
  std::uint64_t seed = 1;
  int extra_sockets = static_cast<int>(kDefaultNatDiscoveryExtraSockets);
  std::optional<IpAddress> gateway_external;
  Duration deadline = kDefaultNatDiscoveryDeadline;
  bool server_down = false;
  // Transmissions of the always-answered tests (I, II, III); 0: the default policy's.
  int answered_transmissions = 0;
  // Runs before discovery starts, e.g. to take a port on the NAT for another host.
  std::function<void(Instant, std::vector<NatTable>&)> prepare;
};

struct Outcome {
  std::optional<NatProfile> profile;
  std::optional<std::string> failure;
  std::vector<std::string> transcript;
  NatDiscoveryCounters counters;
  Duration elapsed{};
  int lost = 0;  // datagrams the lab dropped for loss
  std::string dump() const {
    std::string out;
    for (const auto& l : transcript) out += "  " + l + "\n";
    return out;
  }
};

class Lab {
 public:
  explicit Lab(Scenario s)
      : s_(std::move(s)),
        loss_(Random::from_u64(0x1055 ^ s_.seed)),
        supernode_(server_config(s_.two_ips), make_identity(), Random::from_u64(7)),
        discovery_(discovery_config(s_), Random::from_u64(s_.seed)) {
    // The outer NAT's public address is kNatPublic; inner ones use the carrier inside range.
    for (std::size_t i = 0; i < s_.nats.size(); ++i) {
      const bool outermost = i + 1 == s_.nats.size();
      IpAddress pub = outermost ? kNatPublic : IpAddress::v4(kCarrierInside.v4_host_order() + i);
      nats_.emplace_back(s_.nats[i], pub, Random::from_u64(100 + i));
    }
  }

  Outcome run() {
    const Instant t0 = instant_from_us(5'000'000);
    now_ = t0;
    if (s_.prepare) s_.prepare(now_, nats_);
    discovery_.start(now_);
    drain();
    while (!outcome_.profile && !outcome_.failure && now_ - t0 < kRunLimit) {
      Instant next = std::min(discovery_.poll_timeout(), supernode_.poll_timeout());
      if (!queue_.empty()) next = std::min(next, queue_.begin()->first.first);
      if (next == kNever) break;
      now_ = std::max(now_, next);
      while (!queue_.empty() && queue_.begin()->first.first <= now_) {
        Flight f = std::move(queue_.begin()->second);
        queue_.erase(queue_.begin());
        arrive(f);
        drain();
      }
      if (discovery_.poll_timeout() <= now_) discovery_.handle_timeout(now_);
      if (supernode_.poll_timeout() <= now_) supernode_.handle_timeout(now_);
      drain();
    }
    outcome_.transcript = discovery_.transcript();
    outcome_.counters = discovery_.counters();
    outcome_.elapsed = now_ - t0;
    return outcome_;
  }

  std::vector<NatTable>& nats() { return nats_; }

 private:
  struct Flight {
    bool to_host = false;
    bool translated = false;  // to_host: already through the NATs (hairpin, no NAT)
    Datagram d;               // local = destination, remote = source
  };

  static SupernodeConfig server_config(bool two_ips) {
    SupernodeConfig c;
    c.primary = kServerPrimary;
    c.alternate = two_ips ? kServerAlternate : kServerSameIpAlternate;
    return c;
  }
  static Identity make_identity() {
    Random r = Random::from_u64(0x5e);
    return Identity::generate(r);
  }
  static NatDiscoveryConfig discovery_config(const Scenario& s) {
    NatDiscoveryConfig c;
    c.primary_local = Endpoint{kHost, 40000};
    for (int i = 1; i <= s.extra_sockets; ++i) {
      c.extra_locals.push_back(Endpoint{kHost, static_cast<std::uint16_t>(40000 + 100 * i)});
    }
    c.server = kServerPrimary;
    c.gateway_external = s.gateway_external;
    c.deadline = s.deadline;
    if (s.answered_transmissions > 0) c.answered_retransmit.max_transmissions = s.answered_transmissions;
    return c;
  }

  bool lost() {
    const bool drop = s_.loss > 0 && loss_.uniform(1'000'000) < s_.loss * 1'000'000;
    outcome_.lost += drop;
    return drop;
  }
  void schedule(Duration delay, Flight f) {
    queue_.emplace(std::make_pair(now_ + delay, seq_++), std::move(f));
  }
  bool is_host(const Endpoint& e) const {
    const auto& locals = discovery_.local_endpoints();
    return std::find(locals.begin(), locals.end(), e) != locals.end();
  }
  bool is_server(const Endpoint& e) const {
    auto l = supernode_.listen_endpoints();
    return std::find(l.begin(), l.end(), e) != l.end();
  }

  void drain() {
    while (auto d = discovery_.poll_transmit()) from_host(std::move(*d));
    while (auto d = supernode_.poll_transmit()) from_server(std::move(*d));
    while (auto e = discovery_.poll_event()) {
      if (auto* c = std::get_if<nat_discovery_event::Completed>(&*e)) outcome_.profile = c->profile;
      if (auto* f = std::get_if<nat_discovery_event::Failed>(&*e)) outcome_.failure = f->reason;
    }
  }

  void from_host(Datagram d) {
    // Lost on the LAN (no mapping made) or beyond the NATs (mapping made).
    bool drop_before = false, drop_after = false;
    if (lost()) (loss_.uniform(2) == 0 ? drop_before : drop_after) = true;
    if (drop_before) return;
    Endpoint src = d.local;
    const Endpoint dst = d.remote;
    for (std::size_t i = 0; i < nats_.size(); ++i) {
      if (nats_[i].is_public(dst.address)) {
        auto v = nats_[i].translate_hairpin(now_, src, dst);
        if (!v.forwarded()) return;
        Endpoint to = v.inner, from = v.source;
        for (std::size_t j = i; j-- > 0;) {
          auto w = nats_[j].translate_inbound(now_, to, from);
          if (!w.forwarded()) return;
          to = w.inner;
          from = w.source;
        }
        if (!drop_after) schedule(kLanDelay, Flight{true, true, Datagram{to, from, d.payload}});
        return;
      }
      auto out = nats_[i].translate_outbound(now_, src, dst);
      if (!out) return;
      src = *out;
    }
    if (drop_after || s_.server_down) return;
    if (is_host(dst)) {
      schedule(kLanDelay, Flight{true, true, Datagram{dst, src, d.payload}});
    } else if (is_server(dst)) {
      schedule(kOneWay, Flight{false, false, Datagram{dst, src, d.payload}});
    }
  }

  void from_server(Datagram d) {
    if (lost()) return;
    schedule(kOneWay, Flight{true, false, Datagram{d.remote, d.local, d.payload}});
  }

  void arrive(Flight& f) {
    if (!f.to_host) {
      supernode_.handle_datagram(now_, f.d.local, f.d.remote, f.d.payload.data(),
                                 f.d.payload.size());
      return;
    }
    Endpoint to = f.d.local, from = f.d.remote;
    if (!f.translated) {
      for (std::size_t i = nats_.size(); i-- > 0;) {
        auto v = nats_[i].translate_inbound(now_, to, from);
        if (!v.forwarded()) return;
        to = v.inner;
        from = v.source;
      }
    }
    if (!is_host(to)) return;
    discovery_.handle_datagram(now_, to, from, f.d.payload.data(), f.d.payload.size());
  }

  Scenario s_;
  Random loss_;
  Supernode supernode_;
  NatDiscovery discovery_;
  std::vector<NatTable> nats_;
  Instant now_{};
  std::uint64_t seq_ = 0;
  std::map<std::pair<Instant, std::uint64_t>, Flight> queue_;
  Outcome outcome_;
};

inline Outcome run(Scenario s) { return Lab(std::move(s)).run(); }

}  // namespace qp2p::nat_lab
