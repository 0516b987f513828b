// Test bed for federation membership: N Membership objects on the virtual network
// (tests/stack/harness/virtual_network.h) at 192.0.2.1..N:7000, each with its own Ed25519
// identity, all with the same network secret and node 0 (and 1) as seeds. Events are drained
// after every step and kept per node, so tests can ask "who saw whom go down, and when".
// Header-only (the unit-test target globs *_test.cc).
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "stack/federation/membership.h"
#include "stack/identity/identity.h"
#include "tests/stack/harness/virtual_network.h"

namespace qp2p::federation::test {

inline constexpr std::int64_t kWallOffsetUs = 1'780'000'000'000'000;  // a 2026 unix time
inline constexpr char kSecret[] = "correct horse battery staple, federation test secret";

inline Endpoint node_endpoint(std::size_t i) {
  return Endpoint{IpAddress::v4(0xc0000201u + static_cast<std::uint32_t>(i)), 7000};
}

struct SeenDown {
  PeerId id;
  Instant at;
  bool left;
};
struct SeenUp {
  PeerId id;
  Instant at;
};

class MembershipBed {
 public:
  explicit MembershipBed(std::size_t n, std::uint64_t seed = 1, MembershipConfig base = {},
                         std::string secret = kSecret)
      : net_(seed), base_(std::move(base)), seed_(seed) {
    // Membership changes log at info; hundreds of them would drown the test output.
    spdlog::set_level(spdlog::level::warn);
    for (std::size_t i = 0; i < n; ++i) add(secret);
    net_.on_step([this](Instant now) { drain(now); });
  }

  // Adds a node (with `secret`), seeded with nodes 0 and 1.
  std::size_t add(const std::string& secret) {
    const std::size_t i = nodes_.size();
    Random r = Random::from_u64(seed_ * 1000 + i);
    Identity identity = Identity::generate(r);
    MembershipConfig c = base_;
    c.local = node_endpoint(i);
    c.unix_offset_us = kWallOffsetUs;
    c.seeds = {node_endpoint(0), node_endpoint(1)};
    std::string error;
    auto key = NetworkKey::from_secret(secret, &error);
    if (!key) throw std::invalid_argument(error);
    ids_.push_back(identity.id());
    identities_.push_back(identity);
    nodes_.push_back(std::make_unique<Membership>(c, identity, *key, r.fork()));
    downs_.emplace_back();
    ups_.emplace_back();
    payloads_.emplace_back();
    net_.add_node("member" + std::to_string(i), *nodes_.back(), {c.local});
    return i;
  }

  harness::VirtualNetwork& net() { return net_; }
  Membership& node(std::size_t i) { return *nodes_.at(i); }
  const PeerId& id(std::size_t i) const { return ids_.at(i); }
  const Identity& identity(std::size_t i) const { return identities_.at(i); }
  std::size_t size() const { return nodes_.size(); }
  const std::vector<SeenDown>& downs(std::size_t i) const { return downs_.at(i); }
  const std::vector<SeenUp>& ups(std::size_t i) const { return ups_.at(i); }
  const std::vector<PayloadReceived>& payloads(std::size_t i) const { return payloads_.at(i); }

  std::set<PeerId> view(std::size_t i) const {
    std::set<PeerId> out;
    for (const Entry& e : nodes_.at(i)->members()) out.insert(e.id);
    return out;
  }
  std::set<PeerId> ids_of(const std::vector<std::size_t>& which) const {
    std::set<PeerId> out;
    for (std::size_t i : which) out.insert(ids_.at(i));
    return out;
  }
  // Every node in `which` sees exactly `which` as live members.
  bool converged(const std::vector<std::size_t>& which) const {
    const std::set<PeerId> want = ids_of(which);
    for (std::size_t i : which)
      if (view(i) != want) return false;
    return true;
  }
  std::vector<std::size_t> all() const {
    std::vector<std::size_t> v(nodes_.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
  }
  // Whether node i ever saw member j go down.
  bool saw_down(std::size_t i, std::size_t j) const {
    for (const SeenDown& d : downs_.at(i))
      if (d.id == ids_.at(j)) return true;
    return false;
  }

 private:
  void drain(Instant now) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      while (auto e = nodes_[i]->poll_event()) {
        if (auto* d = std::get_if<MemberDown>(&*e)) downs_[i].push_back({d->id, now, d->left});
        if (auto* u = std::get_if<MemberUp>(&*e)) ups_[i].push_back({u->id, now});
        if (auto* p = std::get_if<PayloadReceived>(&*e)) payloads_[i].push_back(std::move(*p));
      }
    }
  }

  harness::VirtualNetwork net_;
  MembershipConfig base_;
  std::uint64_t seed_;
  std::vector<std::unique_ptr<Membership>> nodes_;
  std::vector<PeerId> ids_;
  std::vector<Identity> identities_;
  std::vector<std::vector<SeenDown>> downs_;
  std::vector<std::vector<SeenUp>> ups_;
  std::vector<std::vector<PayloadReceived>> payloads_;
};

}  // namespace qp2p::federation::test
