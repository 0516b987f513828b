// Two peers (alice, bob) logged into one supernode S1, for the tunnel tests: alice 10 ms from
// S1, bob 30 ms, and 20 ms between them with the given loss (1.0: no direct path at all).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {

inline Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }
inline std::string text_of(const Bytes& b) { return std::string(b.begin(), b.end()); }

struct TunnelPair {
  TunnelPair(std::uint64_t seed, SupernodeConfig supernode)
      : sc(seed),
        config(std::move(supernode)),
        s1(sc.add_supernode("S1", config)),
        alice(sc.add_peer("alice", peer_config("203.0.113.10:40000", {config.primary}))),
        bob(sc.add_peer("bob", peer_config("198.51.100.20:41000", {config.primary}))) {}

  // Links, then both log in (a fatal failure if they do not within 5 s).
  void start(double peer_link_loss) {
    sc.net.set_link(sc.node("alice"), sc.node("S1"), {std::chrono::milliseconds(10), 0.0});
    sc.net.set_link(sc.node("bob"), sc.node("S1"), {std::chrono::milliseconds(30), 0.0});
    sc.net.set_link(sc.node("alice"), sc.node("bob"),
                    {std::chrono::milliseconds(20), peer_link_loss});
    alice.start(sc.net.now());
    bob.start(sc.net.now());
    ASSERT_TRUE(sc.net.run_until([&] { return alice.registered() && bob.registered(); },
                                 std::chrono::seconds(5)))
        << sc.transcript();
  }

  // Sends `text` from `from` and runs until `to` reports it (at most 2 s).
  bool carried(PeerSession& from, PeerSession& to, const std::string& text) {
    if (!from.tunnel_send(sc.net.now(), to.id(), bytes_of(text).data(), text.size())) return false;
    auto got = sc.wait_for<peer_event::TunnelData>(
        to, std::chrono::seconds(2),
        [&](const peer_event::TunnelData& d) { return text_of(d.bytes) == text; });
    return got && got->peer == from.id();
  }

  // What S1 counted of the tunnel outcomes callers reported (docs/protocol.md section 8.9):
  // these peers publish no NAT profile, so everything is under ("unknown", "unknown").
  NatPairCounters outcomes() const {
    const auto& pairs = s1.handshake_stats().by_pair();
    auto it = pairs.find({"unknown", "unknown"});
    return it == pairs.end() ? NatPairCounters{} : it->second;
  }

  PeerScenario sc;
  SupernodeConfig config;
  Supernode& s1;
  PeerSession& alice;
  PeerSession& bob;
};

}  // namespace qp2p::scenario
