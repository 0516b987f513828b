// Two peers' TunnelManagers (stack/tunnel/tunnel_manager.h) in the tunnel lab (tunnel_lab.h),
// each behind a NAT preset, with a stand-in for the runtime: it binds the extra sockets a
// SocketsNeeded asks for (ports after the main one), closes those a SocketsReleased gives back,
// and records every event. connect() plays the handshake service once: both NAT profiles from
// ground truth (nat_ground_truth.h), plan_punch, and both plans delivered one service round trip
// after the request. No supernode exists in the lab: once established, only the peers talk.
// Header-only.
#pragma once

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "stack/tunnel/punch_planner.h"
#include "stack/tunnel/tunnel_manager.h"
#include "tests/stack/tunnel/nat_ground_truth.h"
#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {

namespace mev = tunnel::manager_event;
using tunnel::TunnelManager;
using tunnel::TunnelManagerEvent;

struct ManagerPeer {
  std::string kind;
  std::size_t site = 0;
  Identity identity;
  Endpoint main;
  std::unique_ptr<TunnelManager> manager;
  std::vector<TunnelManagerEvent> events;
  std::set<Endpoint> extra_sockets;  // bound by the "runtime", not yet released
  std::size_t sockets_bound = 0;     // ever
  std::size_t sockets_released = 0;  // ever

  template <typename E>
  std::vector<E> all() const {
    std::vector<E> out;
    for (const auto& e : events)
      if (const auto* x = std::get_if<E>(&e)) out.push_back(*x);
    return out;
  }
  template <typename E>
  std::optional<E> first() const {
    auto v = all<E>();
    if (v.empty()) return std::nullopt;
    return v.front();
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& d : all<mev::Data>()) out.emplace_back(d.bytes.begin(), d.bytes.end());
    return out;
  }
};

struct ManagerLabConfig {
  std::string a = "port-restricted-cone";
  std::string b = "port-restricted-cone";
  std::uint64_t seed = 1;
  Duration one_way = 15ms;
  double loss = 0.0;
  TunnelConfig tunnel;
  tunnel::TunnelManagerConfig limits;
};

class ManagerLab {
 public:
  explicit ManagerLab(ManagerLabConfig c) : c_(std::move(c)), net_(c_.seed, c_.one_way, c_.loss) {
    Random r = Random::from_u64(0x6d61 ^ (c_.seed << 16));
    a_.kind = c_.a;
    b_.kind = c_.b;
    a_.identity = Identity::generate(r);
    b_.identity = Identity::generate(r);
    std::optional<std::size_t> none_a, none_b;
    const IpAddress host_a = c_.a == "open" ? ip("203.0.113.10") : kHostA;
    const IpAddress host_b = c_.b == "open" ? ip("203.0.113.11") : kHostB;
    a_.site = add_side(net_, c_.a, 0, host_a, none_a);
    b_.site = add_side(net_, c_.b, 1, host_b, none_b);
    a_.main = Endpoint{host_a, kFirstPort};
    b_.main = Endpoint{host_b, kFirstPort};
    for (ManagerPeer* p : {&a_, &b_}) {
      p->manager = std::make_unique<TunnelManager>(p->identity, c_.tunnel, p->main,
                                                   Random::from_u64(r.next_u64()), c_.limits);
      net_.attach(p->site, p->manager.get());
    }
    net_.on_step([this](Instant now) {
      runtime(a_, now);
      runtime(b_, now);
    });
  }

  Network& net() { return net_; }
  ManagerPeer& a() { return a_; }
  ManagerPeer& b() { return b_; }
  Instant now() const { return net_.now(); }

  // A asks for a tunnel to B now; the plans reach both one service round trip later. Returns
  // the plan (so tests can look at it).
  tunnel::PairPlan connect() {
    requested_ = net_.now();
    auto peer = [&](ManagerPeer& p) {
      tunnel::PunchPeer out;
      out.id = p.identity.id();
      out.reflexive = net_.reflexive(p.site, p.main);
      out.profile = profile_of(p.kind, out.reflexive);
      out.host = {p.main};
      out.rtt = 2 * c_.one_way;
      return out;
    };
    const tunnel::PairPlan plan = tunnel::plan_punch(peer(a_), peer(b_));
    Random r = Random::from_u64(0x6e ^ (c_.seed << 4) ^ ++attempts_);
    tunnel::AttemptNonce nonce{};
    r.fill(nonce.data(), nonce.size());
    net_.run_for(2 * c_.one_way);
    a_.manager->start_attempt(net_.now(), plan.a, nonce, requested_);
    b_.manager->start_attempt(net_.now(), plan.b, nonce, requested_);
    net_.run_for(Duration::zero());  // the runtime sees the first events (SocketsNeeded)
    return plan;
  }
  Instant requested() const { return requested_; }

  // Runs until both sides report Established (n of them each) or a failure; true if both did.
  bool run_until_established(std::size_t n = 1, Duration max = 15s) {
    auto count = [](const ManagerPeer& p) { return p.all<mev::Established>().size(); };
    auto failed = [](const ManagerPeer& p, const ManagerPeer& other) {
      for (const auto& f : p.all<mev::AttemptFailed>())
        if (f.peer == other.identity.id()) return true;
      return false;
    };
    net_.run_until(
        [&] { return (count(a_) >= n && count(b_) >= n) || failed(a_, b_) || failed(b_, a_); },
        max);
    return count(a_) >= n && count(b_) >= n;
  }

 private:
  void runtime(ManagerPeer& p, Instant now) {
    while (auto e = p.manager->poll_event()) {
      if (const auto* need = std::get_if<mev::SocketsNeeded>(&*e)) {
        std::vector<Endpoint> locals;
        for (std::size_t i = 1; i <= need->count; ++i) {
          const Endpoint s{p.main.address, static_cast<std::uint16_t>(p.main.port + i)};
          if (p.extra_sockets.insert(s).second) ++p.sockets_bound;
          locals.push_back(s);
        }
        p.events.push_back(*e);
        p.manager->provide_sockets(now, need->peer, std::move(locals));
        continue;
      }
      if (const auto* rel = std::get_if<mev::SocketsReleased>(&*e)) {
        for (const Endpoint& s : rel->locals) p.sockets_released += p.extra_sockets.erase(s);
      }
      p.events.push_back(std::move(*e));
    }
  }

  ManagerLabConfig c_;
  Network net_;
  ManagerPeer a_, b_;
  Instant requested_{};
  std::uint64_t attempts_ = 0;
};

}  // namespace qp2p::tunnel_lab
