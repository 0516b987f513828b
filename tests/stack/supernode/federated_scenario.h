// Scaffolding for the federated-directory tests: a PeerScenario (tests/stack/peer) with
// supernodes that share a network secret, each on its own address (192.0.2.1, .2, .3, ...,
// ports 3478/3479), seeded with the first, and peers on 203.0.113.0/24 each logged into one of
// them. The wall clock is a fixed epoch plus virtual time, so runs replay exactly.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::scenario {

inline constexpr char kNetworkSecret[] = "federated directory test secret 0123456789";
// 2026-05-28 (any fixed Unix time works: the wall clock only has to be shared).
inline constexpr std::int64_t kEpochUs = 1'780'000'000'000'000;

inline SupernodeConfig federated_config(int index, std::string secret = kNetworkSecret) {
  const std::string ip = "192.0.2." + std::to_string(1 + index);
  SupernodeConfig c = supernode_config(ip + ":3478", ip + ":3479");
  c.network_secret = std::move(secret);
  if (index != 0) c.seeds = {endpoint("192.0.2.1:3478")};
  c.turn.unix_offset_us = kEpochUs;
  return c;
}

class FederatedScenario {
 public:
  explicit FederatedScenario(std::uint64_t seed) : sc(seed) {}

  PeerScenario sc;
  std::vector<Supernode*> supernodes;

  // `adjust` changes the configuration before the supernode is made (e.g. TURN on).
  Supernode& add_supernode(int index, std::string secret = kNetworkSecret,
                           const std::function<void(SupernodeConfig&)>& adjust = {}) {
    SupernodeConfig config = federated_config(index, std::move(secret));
    if (adjust) adjust(config);
    Supernode& s = sc.add_supernode("S" + std::to_string(index + 1), std::move(config));
    supernodes.push_back(&s);
    return s;
  }
  // A peer at 203.0.113.(10 + n):40000 logging into supernode `index`.
  PeerSession& add_peer(const std::string& name, int index, int n, wire::MetaEntries meta = {}) {
    return sc.add_peer(name, peer_config("203.0.113." + std::to_string(10 + n) + ":40000",
                                         {federated_config(index).primary}, std::move(meta)));
  }

  // Every supernode in `nodes` lists every one of them as a live member.
  bool members_converged(const std::vector<Supernode*>& nodes) const {
    for (const Supernode* s : nodes) {
      if (s->federation()->members().size() != nodes.size()) return false;
    }
    return true;
  }
  // No directory catches up with a member that came up (held_requests.h holds requests for
  // unknown peers meanwhile).
  bool settled() const {
    for (const Supernode* s : supernodes)
      if (s->directory()->catching_up()) return false;
    return true;
  }
  bool run_until(const std::function<bool()>& done, Duration max) {
    sc.drain();
    const bool ok = sc.net.run_until(done, max);
    sc.drain();
    return ok;
  }
  // Every supernode of `nodes` holds the same directory (equal digests, none empty).
  static bool directories_equal(const std::vector<Supernode*>& nodes) {
    const std::uint64_t d = nodes.front()->directory()->replica().digest();
    if (d == 0) return false;
    for (const Supernode* s : nodes)
      if (s->directory()->replica().digest() != d) return false;
    return true;
  }
};

}  // namespace qp2p::scenario
