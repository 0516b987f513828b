// A deterministic virtual-time network for driving sans-IO objects in tests, after quinn-proto's
// test `Pair` generalised to any number of nodes.
//
// Nodes are qp2p::SansIoEndpoint objects owning one or more local endpoints (from the
// documentation ranges 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 only). Each step:
//
//   1. drain every node's poll_transmit(), in registration order; each datagram passes the
//      rewriters (where a NAT plugs in: they may change its source and destination or drop it),
//      then the sender's offline switch and the link's seeded loss, and is scheduled for
//      delivery to the node owning its destination after the link's one-way latency;
//   2. advance the clock to the earliest of the next delivery and every node's poll_timeout();
//   3. deliver every datagram due (in send order), then call handle_timeout(now) on every node
//      whose deadline has come, then the step hook (where tests drain poll_event()).
//
// Everything is ordered (registration order, send order, a seeded qp2p::Random for loss), so a
// run replays exactly. Every loop is bounded: a node whose deadline does not move past `now`
// after handle_timeout() (step count), or that never stops transmitting (datagrams per step),
// makes the run return false with error() set, instead of hanging.
//
// Header-only: the unit-test target globs *_test.cc files only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "stack/core/endpoint.h"
#include "stack/core/instant.h"
#include "stack/core/random.h"
#include "stack/core/sans_io.h"

namespace qp2p::harness {

// True for the three documentation ranges (RFC 5737) the virtual network accepts.
inline bool is_documentation_address(const IpAddress& a) {
  if (!a.is_v4()) return false;
  const std::uint32_t net = a.v4_host_order() & 0xffffff00u;
  return net == 0xc0000200u || net == 0xc6336400u || net == 0xcb007100u;
}

struct LinkConditions {
  Duration latency = std::chrono::milliseconds(5);  // one way
  double loss = 0.0;                                // probability each datagram is dropped
};

struct NetworkCounters {
  std::uint64_t sent = 0;  // datagrams drained from nodes
  std::uint64_t delivered = 0;
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_offline = 0;     // sender or receiver switched offline
  std::uint64_t dropped_unroutable = 0;  // no node owns the destination
  std::uint64_t dropped_rewriter = 0;    // a rewriter (e.g. a NAT's filter) refused it
  std::uint64_t dropped_bad_source = 0;  // a node sent from an endpoint it does not own
};

class VirtualNetwork {
 public:
  using NodeId = std::size_t;
  // Sees every datagram as it leaves its sender; may rewrite its source and destination.
  // Returning false drops it. `from` is the sending node.
  using Rewriter =
      std::function<bool(Instant now, NodeId from, Endpoint& source, Endpoint& destination)>;
  using StepHook = std::function<void(Instant now)>;

  static constexpr std::size_t kDefaultMaxSteps = 1'000'000;
  // More datagrams than this from one node in one step means it never stops transmitting.
  static constexpr std::size_t kMaxTransmitsPerStep = 100'000;

  explicit VirtualNetwork(std::uint64_t seed = 1, Instant start = instant_from_us(0))
      : random_(Random::from_u64(seed)), now_(start) {}

  // Registers a node (not owned; it must outlive the network's runs). Throws on an address
  // outside the documentation ranges or one already owned by another node.
  NodeId add_node(std::string name, SansIoEndpoint& node, const std::vector<Endpoint>& locals) {
    const NodeId id = nodes_.size();
    for (const Endpoint& e : locals) {
      if (!is_documentation_address(e.address))
        throw std::invalid_argument("virtual network: " + e.to_string() +
                                    " is not in a documentation range");
      if (!owner_.emplace(e, id).second)
        throw std::invalid_argument("virtual network: " + e.to_string() + " already owned");
    }
    nodes_.push_back(Node{std::move(name), &node, locals, false});
    return id;
  }

  // A socket the node opened (or closed) after registration, e.g. a TURN relay socket.
  bool add_local(NodeId n, const Endpoint& e) {
    if (!is_documentation_address(e.address) || !owner_.emplace(e, n).second) return false;
    nodes_.at(n).locals.push_back(e);
    return true;
  }
  void remove_local(NodeId n, const Endpoint& e) {
    auto& locals = nodes_.at(n).locals;
    locals.erase(std::remove(locals.begin(), locals.end(), e), locals.end());
    auto it = owner_.find(e);
    if (it != owner_.end() && it->second == n) owner_.erase(it);
  }

  const std::string& name(NodeId n) const { return nodes_.at(n).name; }
  std::optional<NodeId> owner(const Endpoint& e) const {
    auto it = owner_.find(e);
    return it == owner_.end() ? std::nullopt : std::optional<NodeId>(it->second);
  }

  void set_default_link(LinkConditions c) { default_link_ = c; }
  // Conditions between two nodes, both directions.
  void set_link(NodeId a, NodeId b, LinkConditions c) { links_[key(a, b)] = c; }
  const LinkConditions& link(NodeId a, NodeId b) const {
    auto it = links_.find(key(a, b));
    return it == links_.end() ? default_link_ : it->second;
  }

  // An offline node sends and receives nothing (a crashed host or a cut cable); its timers
  // still run, so it notices the silence the way a real one would.
  void set_offline(NodeId n, bool offline) { nodes_.at(n).offline = offline; }
  bool offline(NodeId n) const { return nodes_.at(n).offline; }

  void add_rewriter(Rewriter r) { rewriters_.push_back(std::move(r)); }
  void on_step(StepHook hook) { hooks_.push_back(std::move(hook)); }
  void set_max_steps(std::size_t n) { max_steps_ = n; }

  Instant now() const { return now_; }
  const NetworkCounters& counters() const { return counters_; }
  std::size_t in_flight() const { return flights_.size(); }
  // Why the last run failed; empty if it did not.
  const std::string& error() const { return error_; }
  // FNV-1a over every delivery (time, endpoints, payload): equal digests, equal runs.
  std::uint64_t digest() const { return digest_; }

  // Runs until `deadline` (the clock ends there). False if a bound was exceeded (see error()).
  bool run_until(Instant deadline) { return run(deadline, nullptr); }
  bool run_for(Duration d) { return run_until(now_ + d); }
  // Runs until done() holds (checked before the first step and after each) or `max` of virtual
  // time has passed. Returns done().
  bool run_until(const std::function<bool()>& done, Duration max) {
    return run(now_ + max, &done) && done();
  }
  // Runs until nothing is in flight and no node has a deadline (never true for peers that send
  // keepalives), or `max` has passed. Returns whether the network went idle.
  bool run_until_idle(Duration max) {
    const std::function<bool()> idle = [this] {
      if (!flights_.empty()) return false;
      for (const Node& n : nodes_)
        if (n.endpoint->poll_timeout() != kNever) return false;
      return true;
    };
    return run_until(idle, max);
  }

 private:
  struct Node {
    std::string name;
    SansIoEndpoint* endpoint;
    std::vector<Endpoint> locals;
    bool offline;
  };
  struct Flight {
    NodeId to;
    Endpoint source;       // as the receiver sees it (after rewriting)
    Endpoint destination;  // the receiver's local endpoint
    Bytes payload;
  };

  static std::pair<NodeId, NodeId> key(NodeId a, NodeId b) {
    return a < b ? std::make_pair(a, b) : std::make_pair(b, a);
  }

  bool run(Instant deadline, const std::function<bool()>* done) {
    error_.clear();
    for (std::size_t step = 0; step < max_steps_; ++step) {
      if (!collect_transmits()) return false;
      if (done && (*done)()) return true;
      const Instant next = next_event();
      if (next == kNever) {  // nothing will ever happen again
        if (deadline != kNever && deadline > now_) now_ = deadline;
        return true;
      }
      if (next > deadline) {
        if (deadline > now_) now_ = deadline;
        return true;
      }
      if (next > now_) now_ = next;
      deliver_due();
      fire_timers();
      for (auto& hook : hooks_) hook(now_);
    }
    error_ = "virtual network: more than " + std::to_string(max_steps_) +
             " steps by t=" + std::to_string(to_us(now_)) +
             "us (a node's deadline is stuck at or before now?)";
    return false;
  }

  bool collect_transmits() {
    for (NodeId from = 0; from < nodes_.size(); ++from) {
      std::size_t n = 0;
      while (auto d = nodes_[from].endpoint->poll_transmit()) {
        if (++n > kMaxTransmitsPerStep) {
          error_ = "virtual network: " + nodes_[from].name + " sent more than " +
                   std::to_string(kMaxTransmitsPerStep) + " datagrams in one step";
          return false;
        }
        ++counters_.sent;
        route(from, std::move(*d));
      }
    }
    return true;
  }

  void route(NodeId from, Datagram d) {
    const auto& locals = nodes_[from].locals;
    if (std::find(locals.begin(), locals.end(), d.local) == locals.end()) {
      ++counters_.dropped_bad_source;
      return;
    }
    for (auto& rewrite : rewriters_) {
      if (!rewrite(now_, from, d.local, d.remote)) {
        ++counters_.dropped_rewriter;
        return;
      }
    }
    if (nodes_[from].offline) {
      ++counters_.dropped_offline;
      return;
    }
    const auto to = owner(d.remote);
    if (!to) {
      ++counters_.dropped_unroutable;
      return;
    }
    const LinkConditions& c = link(from, *to);
    if (c.loss > 0 && random_.uniform(1'000'000) < static_cast<std::uint64_t>(c.loss * 1e6)) {
      ++counters_.dropped_loss;
      return;
    }
    flights_.emplace(std::make_pair(now_ + c.latency, next_sequence_++),
                     Flight{*to, d.local, d.remote, std::move(d.payload)});
  }

  Instant next_event() const {
    Instant t = flights_.empty() ? kNever : flights_.begin()->first.first;
    for (const Node& n : nodes_) t = std::min(t, n.endpoint->poll_timeout());
    return t;
  }

  void deliver_due() {
    while (!flights_.empty() && flights_.begin()->first.first <= now_) {
      Flight f = std::move(flights_.begin()->second);
      flights_.erase(flights_.begin());
      Node& n = nodes_[f.to];
      if (n.offline) {
        ++counters_.dropped_offline;
        continue;
      }
      ++counters_.delivered;
      mix(static_cast<std::uint64_t>(to_us(now_)));
      mix(f.source.to_string());
      mix(f.destination.to_string());
      for (std::uint8_t b : f.payload) mix_byte(b);
      n.endpoint->handle_datagram(now_, f.destination, f.source, f.payload.data(),
                                  f.payload.size());
    }
  }

  void fire_timers() {
    for (Node& n : nodes_)
      if (n.endpoint->poll_timeout() <= now_) n.endpoint->handle_timeout(now_);
  }

  void mix_byte(std::uint8_t b) { digest_ = (digest_ ^ b) * 0x100000001b3ull; }
  void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) mix_byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void mix(const std::string& s) {
    for (char c : s) mix_byte(static_cast<std::uint8_t>(c));
  }

  Random random_;
  Instant now_;
  std::vector<Node> nodes_;
  std::map<Endpoint, NodeId> owner_;
  LinkConditions default_link_;
  std::map<std::pair<NodeId, NodeId>, LinkConditions> links_;
  std::vector<Rewriter> rewriters_;
  std::vector<StepHook> hooks_;
  // Ordered by (delivery time, send sequence): same-time deliveries keep their send order.
  std::map<std::pair<Instant, std::uint64_t>, Flight> flights_;
  std::uint64_t next_sequence_ = 0;
  std::size_t max_steps_ = kDefaultMaxSteps;
  NetworkCounters counters_;
  std::string error_;
  std::uint64_t digest_ = 0xcbf29ce484222325ull;
};

}  // namespace qp2p::harness
