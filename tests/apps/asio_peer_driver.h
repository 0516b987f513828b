// In-process peers for loopback tests: AsioPeers on one io_context, every event recorded, and
// a bounded run loop that stops as soon as the condition a test waits for holds.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "apps/runtime/asio_peer.h"

namespace qp2p::test {

// Runs `io` until `done()` holds or `limit` passes; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

class RecordingPeer {
 public:
  RecordingPeer(boost::asio::io_context& io, const Endpoint& supernode, std::uint64_t seed,
                wire::MetaEntries meta = {}) {
    PeerConfig config;
    config.supernodes = {supernode};
    config.initial_meta = std::move(meta);
    Random random = Random::from_u64(seed);
    Identity identity = Identity::generate(random);
    Random::Seed session_seed;
    random.fill(session_seed.data(), session_seed.size());
    peer = std::make_unique<AsioPeer>(io, config, identity, session_seed);
    peer->on_event([this](const PeerEvent& e) {
      events.push_back(e);
      if (hook) hook(e);
    });
  }

  // The first recorded event of type E satisfying `match`, or nullptr.
  template <class E>
  const E* find(const std::function<bool(const E&)>& match = nullptr) const {
    for (const PeerEvent& e : events) {
      if (auto* p = std::get_if<E>(&e); p && (!match || match(*p))) return p;
    }
    return nullptr;
  }
  template <class E>
  std::function<bool()> has(std::function<bool(const E&)> match = nullptr) const {
    return [this, match] { return find<E>(match) != nullptr; };
  }

  const PeerId& id() const { return peer->id(); }

  std::unique_ptr<AsioPeer> peer;
  std::vector<PeerEvent> events;
  std::function<void(const PeerEvent&)> hook;  // runs inside the event callback
};

}  // namespace qp2p::test
