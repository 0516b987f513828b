// Scenario scaffolding for the peer tests: real qp2p::Supernode and qp2p::PeerSession objects
// on a harness::VirtualNetwork, every one seeded from the scenario seed, with each peer's events
// drained after every network step into a log stamped with the virtual time. The logs make a
// transcript (one line per event, names instead of keys) that determinism tests compare.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "stack/peer/peer_session.h"
#include "stack/supernode/supernode.h"
#include "tests/stack/harness/virtual_network.h"

namespace qp2p::scenario {

using harness::VirtualNetwork;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline Endpoint endpoint(std::string_view text) {
  auto e = Endpoint::parse(text);
  if (!e) throw std::invalid_argument("bad endpoint " + std::string(text));
  return *e;
}

inline std::string reason_name(wire::PresenceReason r) {
  switch (r) {
    case wire::PresenceReason::kLogin:
      return "login";
    case wire::PresenceReason::kLogout:
      return "logout";
    case wire::PresenceReason::kExpired:
      return "expired";
  }
  return "?";
}

struct AnyEvent {
  template <class T>
  bool operator()(const T&) const {
    return true;
  }
};

class PeerScenario {
 public:
  struct Logged {
    Instant at;
    PeerEvent event;
  };

  explicit PeerScenario(std::uint64_t seed) : net(seed), seed_(seed) {
    net.on_step([this](Instant now) {
      open_relay_sockets(now);
      drain();
    });
  }

  VirtualNetwork net;

  // A supernode on config.primary / config.alternate (one IP, two ports unless told).
  Supernode& add_supernode(const std::string& name, SupernodeConfig config) {
    Random rng = next_random();
    Identity identity = Identity::generate(rng);
    names_[identity.id()] = name;
    auto& s = supernodes_.emplace_back();
    s.name = name;
    s.node = std::make_unique<Supernode>(std::move(config), std::move(identity), std::move(rng));
    s.id = net.add_node(name, *s.node, s.node->listen_endpoints());
    return *s.node;
  }

  // A peer on config.local; call start() (or start(name)) to log it in.
  PeerSession& add_peer(const std::string& name, PeerConfig config) {
    Random rng = next_random();
    Identity identity = Identity::generate(rng);
    names_[identity.id()] = name;
    auto& p = peers_.emplace_back();
    p.name = name;
    std::vector<Endpoint> locals = {config.local};
    locals.insert(locals.end(), config.discovery_locals.begin(), config.discovery_locals.end());
    p.node = std::make_unique<PeerSession>(std::move(config), std::move(identity), std::move(rng));
    p.id = net.add_node(name, *p.node, locals);
    return *p.node;
  }

  // A fresh identity that never logs in (an "unknown" peer).
  PeerId stranger(const std::string& name) {
    Random rng = next_random();
    Identity identity = Identity::generate(rng);
    names_[identity.id()] = name;
    return identity.id();
  }

  VirtualNetwork::NodeId node(const std::string& name) const {
    for (const auto& s : supernodes_)
      if (s.name == name) return s.id;
    for (const auto& p : peers_)
      if (p.name == name) return p.id;
    throw std::invalid_argument("no node " + name);
  }
  VirtualNetwork::NodeId node(const PeerSession& peer) const { return entry(peer).id; }
  void set_offline(const std::string& name, bool offline) { net.set_offline(node(name), offline); }

  // The supernodes' TURN relay sockets (Supernode::poll_socket_change): opened on the virtual
  // network before their transmits are collected.
  // Closed ones go one step later: the network collects a step's transmits after its hooks, and
  // a relay socket's last datagrams (the batch that deleted its allocation) must still leave.
  void open_relay_sockets(Instant now) {
    for (auto& [node, local] : relay_sockets_to_close_) net.remove_local(node, local);
    relay_sockets_to_close_.clear();
    for (auto& s : supernodes_) {
      while (auto change = s.node->poll_socket_change()) {
        if (change->kind == turn::SocketChange::Kind::kOpen)
          s.node->handle_socket_result(now, change->local, net.add_local(s.id, change->local));
        else
          relay_sockets_to_close_.emplace_back(s.id, change->local);
      }
    }
  }

  // Moves every peer's pending events into its log, in peer order.
  void drain() {
    for (auto& p : peers_) {
      while (auto e = p.node->poll_event()) {
        p.log.push_back(Logged{net.now(), std::move(*e)});
        transcript_.push_back({p.name, &p.log, p.log.size() - 1});
      }
    }
  }

  const std::vector<Logged>& log(const PeerSession& peer) const { return entry(peer).log; }

  template <class T>
  std::vector<T> all(const PeerSession& peer) const {
    std::vector<T> out;
    for (const auto& l : log(peer))
      if (auto* e = std::get_if<T>(&l.event)) out.push_back(*e);
    return out;
  }
  template <class T>
  std::size_t count(const PeerSession& peer) const {
    return all<T>(peer).size();
  }

  // First event of type T matching pred in the peer's log from index `from`.
  template <class T, class Pred = AnyEvent>
  std::optional<T> find(const PeerSession& peer, std::size_t from = 0, Pred pred = {}) const {
    const auto& l = log(peer);
    for (std::size_t i = from; i < l.size(); ++i)
      if (auto* e = std::get_if<T>(&l[i].event); e && pred(*e)) return *e;
    return std::nullopt;
  }
  // Virtual time of that event.
  template <class T, class Pred = AnyEvent>
  std::optional<Instant> time_of(const PeerSession& peer, std::size_t from = 0,
                                 Pred pred = {}) const {
    const auto& l = log(peer);
    for (std::size_t i = from; i < l.size(); ++i)
      if (auto* e = std::get_if<T>(&l[i].event); e && pred(*e)) return l[i].at;
    return std::nullopt;
  }

  // Runs until the peer reports an event of type T matching pred, counting only events not yet
  // in its log when called (undrained ones included), for at most `max` of virtual time.
  template <class T, class Pred = AnyEvent>
  std::optional<T> wait_for(const PeerSession& peer, Duration max, Pred pred = {}) {
    const std::size_t from = log(peer).size();
    drain();
    std::optional<T> found;
    net.run_until(
        [&] {
          found = find<T>(peer, from, pred);
          return found.has_value();
        },
        max);
    return found;
  }

  // Runs for `d`, draining before (events of API calls made since the last step get the time
  // they were made) and after.
  bool run_for(Duration d) {
    drain();
    const bool ok = net.run_for(d);
    drain();
    return ok;
  }

  std::string name_of(const PeerId& id) const {
    auto it = names_.find(id);
    return it == names_.end() ? id.to_string().substr(0, 8) : it->second;
  }

  std::string describe(const PeerEvent& event) const {
    std::ostringstream o;
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          namespace ev = peer_event;
          if constexpr (std::is_same_v<T, ev::Registered>) {
            o << "Registered sn=" << name_of(e.supernode)
              << " at=" << e.supernode_endpoint.to_string() << " mapped=" << e.mapped.to_string();
          } else if constexpr (std::is_same_v<T, ev::Disconnected>) {
            o << "Disconnected at=" << e.supernode_endpoint.to_string() << " reason=" << e.reason;
          } else if constexpr (std::is_same_v<T, ev::Published>) {
            o << "Published req=" << e.request << " v=" << e.version;
          } else if constexpr (std::is_same_v<T, ev::LookupDone>) {
            o << "LookupDone req=" << e.request << " " << describe(e.info);
          } else if constexpr (std::is_same_v<T, ev::SearchDone>) {
            o << "SearchDone req=" << e.request << " total=" << e.total << " [";
            for (const auto& p : e.peers) o << " " << describe(p);
            o << " ]";
          } else if constexpr (std::is_same_v<T, ev::Watching>) {
            o << "Watching req=" << e.request << " " << name_of(e.target) << " online=" << e.online;
          } else if constexpr (std::is_same_v<T, ev::MessageAccepted>) {
            o << "MessageAccepted req=" << e.request << " to=" << name_of(e.to)
              << " msg=" << e.message_id;
          } else if constexpr (std::is_same_v<T, ev::MessageReceived>) {
            o << "MessageReceived from=" << name_of(e.from) << " msg=" << e.message_id
              << " text=" << e.text;
          } else if constexpr (std::is_same_v<T, ev::Delivered>) {
            o << "Delivered to=" << name_of(e.to) << " msg=" << e.message_id;
          } else if constexpr (std::is_same_v<T, ev::Presence>) {
            o << "Presence " << name_of(e.peer) << " online=" << e.online
              << " reason=" << reason_name(e.reason);
          } else if constexpr (std::is_same_v<T, ev::RequestFailed>) {
            o << "RequestFailed req=" << e.request << " cmd=" << e.command
              << " reason=" << e.reason;
          } else if constexpr (std::is_same_v<T, ev::LoggedOut>) {
            o << "LoggedOut";
          } else if constexpr (std::is_same_v<T, ev::NatClassified>) {
            o << "NatClassified " << e.profile.describe();
          } else if constexpr (std::is_same_v<T, ev::NatDiscoveryFailed>) {
            o << "NatDiscoveryFailed reason=" << e.reason;
          } else if constexpr (std::is_same_v<T, ev::TunnelRequested>) {
            o << "TunnelRequested from=" << name_of(e.from) << " " << describe(e.info);
          } else if constexpr (std::is_same_v<T, ev::TunnelRefused>) {
            o << "TunnelRefused req=" << e.request << " peer=" << name_of(e.peer)
              << " reason=" << e.reason;
          } else if constexpr (std::is_same_v<T, ev::PunchStarted>) {
            o << "PunchStarted req=" << e.request << " peer=" << name_of(e.peer)
              << " strategy=" << tunnel::to_string(e.plan.strategy)
              << " start_after_us=" << std::chrono::duration_cast<std::chrono::microseconds>(
                                           e.plan.start_after).count()
              << " candidates=" << e.plan.remote_candidates.size();
          } else if constexpr (std::is_same_v<T, ev::TunnelEstablished>) {
            o << "TunnelEstablished peer=" << name_of(e.peer) << " path="
              << tunnel::to_string(e.path) << " " << e.local.to_string() << " -> "
              << e.remote.to_string();
          } else if constexpr (std::is_same_v<T, ev::TunnelData>) {
            o << "TunnelData peer=" << name_of(e.peer) << " bytes=" << e.bytes.size();
          } else if constexpr (std::is_same_v<T, ev::TunnelClosed>) {
            o << "TunnelClosed peer=" << name_of(e.peer) << " reason=" << e.reason;
          } else if constexpr (std::is_same_v<T, ev::TunnelSocketsNeeded>) {
            o << "TunnelSocketsNeeded peer=" << name_of(e.peer) << " count=" << e.count;
          } else if constexpr (std::is_same_v<T, ev::TunnelSocketsReleased>) {
            o << "TunnelSocketsReleased peer=" << name_of(e.peer) << " n=" << e.locals.size();
          } else if constexpr (std::is_same_v<T, ev::SupernodeLeaving>) {
            o << "SupernodeLeaving at=" << e.supernode_endpoint.to_string()
              << " alternatives=" << e.alternatives.size();
          } else if constexpr (std::is_same_v<T, ev::SupernodeChanged>) {
            o << "SupernodeChanged sn=" << name_of(e.supernode)
              << " at=" << e.supernode_endpoint.to_string() << " reason=" << e.reason;
          } else if constexpr (std::is_same_v<T, ev::SupernodeList>) {
            o << "SupernodeList n=" << e.supernodes.size();
          }
        },
        event);
    return o.str();
  }

  std::string describe(const wire::PeerInfo& info) const {
    std::ostringstream o;
    o << name_of(info.id) << "{online=" << info.online;
    if (info.online)
      o << " mapped=" << info.mapped.to_string() << " sn=" << name_of(info.supernode);
    if (info.record) {
      o << " v" << info.record->version;
      for (const auto& [k, v] : info.record->entries) o << " " << k << "=" << v;
    }
    o << "}";
    return o.str();
  }

  // Every peer's events in the order they were drained: "t=<us> <peer> <event>" per line.
  std::string transcript() const {
    std::ostringstream o;
    for (const auto& t : transcript_) {
      const Logged& l = (*t.log)[t.index];
      o << "t=" << to_us(l.at) << " " << t.peer << " " << describe(l.event) << "\n";
    }
    return o.str();
  }

 private:
  struct SupernodeEntry {
    std::string name;
    std::unique_ptr<Supernode> node;
    VirtualNetwork::NodeId id = 0;
  };
  struct PeerEntry {
    std::string name;
    std::unique_ptr<PeerSession> node;
    VirtualNetwork::NodeId id = 0;
    std::vector<Logged> log;
  };
  struct TranscriptLine {
    std::string peer;
    const std::vector<Logged>* log;
    std::size_t index;
  };

  const PeerEntry& entry(const PeerSession& peer) const {
    for (const auto& p : peers_)
      if (p.node.get() == &peer) return p;
    throw std::invalid_argument("peer not in this scenario");
  }
  std::vector<std::pair<VirtualNetwork::NodeId, Endpoint>> relay_sockets_to_close_;
  Random next_random() { return Random::from_u64(seed_ * 1000 + next_stream_++); }

  std::uint64_t seed_;
  std::uint64_t next_stream_ = 0;
  // Deques: references handed out stay valid as nodes are added.
  std::deque<SupernodeEntry> supernodes_;
  std::deque<PeerEntry> peers_;
  std::map<PeerId, std::string> names_;
  std::vector<TranscriptLine> transcript_;
};

// Common addresses: supernodes on 192.0.2.0/24 and 198.51.100.0/24, peers on 203.0.113.0/24.
inline SupernodeConfig supernode_config(std::string_view primary, std::string_view alternate) {
  SupernodeConfig c;
  c.primary = endpoint(primary);
  c.alternate = endpoint(alternate);
  return c;
}

inline PeerConfig peer_config(std::string_view local, std::vector<Endpoint> supernodes,
                              wire::MetaEntries meta = {}) {
  PeerConfig c;
  c.local = endpoint(local);
  c.supernodes = std::move(supernodes);
  c.initial_meta = std::move(meta);
  return c;
}

}  // namespace qp2p::scenario
