// Test helpers for the replicated directory: fixed identities, signed presence and metadata
// records, and a mesh of replicas whose sync engines exchange payloads in virtual time, with
// loss and partitions.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stack/core/random.h"
#include "stack/federation/directory_node.h"
#include "stack/federation/directory_replica.h"
#include "stack/federation/directory_sync.h"
#include "stack/wire/session.h"

namespace qp2p::federation::lab {

// 2023-11-14T22:13:20Z: a plausible Unix time in milliseconds.
inline constexpr WallMs kT0 = 1'700'000'000'000;
inline constexpr WallMs kLease = 60'000;
inline constexpr WallMs kTombstone = 300'000;

inline const Identity& identity(std::uint32_t n) {
  static std::map<std::uint32_t, Identity> ids;
  auto it = ids.find(n);
  if (it == ids.end()) {
    Identity::Seed seed{};
    for (int i = 0; i < 4; ++i) seed[i] = static_cast<std::uint8_t>(n >> (8 * i));
    seed[31] = 0x5a;
    it = ids.emplace(n, Identity::from_seed(seed)).first;
  }
  return it->second;
}
// Supernodes are identities 1..999, peers 1000 and up.
inline const Identity& supernode(std::uint32_t i) { return identity(1 + i); }
inline const Identity& peer(std::uint32_t i) { return identity(1000 + i); }

inline Endpoint ep(const char* text) { return *Endpoint::parse(text); }

// An online presence of `p` at `s`, written at `written_ms` (HLC counter `tick`), with the
// peer's login proof for that supernode.
inline PresenceRecord online(const Identity& p, const Identity& s, WallMs written_ms,
                             std::uint16_t tick = 0, std::uint64_t meta_floor = 0) {
  PresenceRecord r;
  r.peer = p.id();
  r.hlc = (written_ms << kHlcCounterBits) | tick;
  r.expires_ms = written_ms + kLease;
  r.state = PresenceState::kOnline;
  r.meta_floor = meta_floor;
  r.mapped = ep("198.51.100.7:40000");
  r.hosts = {ep("192.0.2.7:40000"), ep("[2001:db8::7]:40000")};
  r.nat.mapping = NatProfile::Behaviour::kEndpointIndependent;
  r.nat.filtering = NatProfile::Behaviour::kAddressAndPortDependent;
  r.nat.allocation = NatProfile::Allocation::kSequential;
  r.nat.sequential_delta = 2;
  r.nat.last_port = 40002;
  r.nat.nat_levels = 1;
  r.nat.complete = true;
  for (std::size_t i = 0; i < r.proof.nonce.size(); ++i)
    r.proof.nonce[i] = static_cast<std::uint8_t>(written_ms + tick + i);
  r.proof.ephemeral[0] = 9;
  Bytes t = wire::login_transcript(p.id(), s.id(), r.proof.nonce, r.proof.ephemeral);
  r.proof.signature = p.sign(t.data(), t.size());
  r.sign(s);
  return r;
}

// A tombstone: `p` left `s` (logout or expiry); metadata up to `meta_floor` is deleted.
inline PresenceRecord offline(const Identity& p, const Identity& s, WallMs written_ms,
                              std::uint64_t meta_floor,
                              PresenceState why = PresenceState::kLoggedOut) {
  PresenceRecord r;
  r.peer = p.id();
  r.hlc = written_ms << kHlcCounterBits;
  r.expires_ms = written_ms + kTombstone;
  r.state = why;
  r.meta_floor = meta_floor;
  r.sign(s);
  return r;
}

inline wire::SignedRecord metadata(const Identity& p, std::uint64_t version,
                                   const std::string& app = "chat") {
  return wire::SignedRecord::make(
      p, version, {{"app", app}, {"v", std::to_string(version)}, {"nat.mapping", "unknown"}});
}

inline DirectoryLimits limits() {
  DirectoryLimits l;
  l.max_lease_ms = kLease;
  l.max_tombstone_ms = kTombstone;
  return l;
}

// What a supernode knows of a peer logged into it (its login proof for `s`), for peer_online().
inline PeerPresence logged_into(const Identity& p, const Identity& s, std::uint8_t n) {
  PeerPresence pp;
  pp.mapped = ep("203.0.113.5:50000");
  pp.hosts = {ep("192.0.2.5:50000")};
  pp.proof.nonce[0] = n;
  Bytes t = wire::login_transcript(p.id(), s.id(), pp.proof.nonce, pp.proof.ephemeral);
  pp.proof.signature = p.sign(t.data(), t.size());
  return pp;
}

inline DirectoryNodeConfig node_config() {
  DirectoryNodeConfig c;
  c.limits = limits();
  c.presence.lease_ms = kLease;
  c.presence.refresh_ms = kLease / 3;
  c.presence.tombstone_ms = kTombstone;
  return c;
}

// Every stored record of a replica, in id order, as bytes: equal for equal states.
inline Bytes state_bytes(const DirectoryReplica& r) {
  Bytes out;
  ByteWriter w(out);
  for (const auto& [id, e] : r.entries()) {
    for (const auto& rec : r.records_of(id)) append(w, rec);
  }
  return out;
}

// N replicas, each with its sync engine, all members authorised; payloads travel through
// deliver() in FIFO order, subject to `link` (false: lost).
struct Mesh {
  std::vector<std::unique_ptr<DirectoryReplica>> replicas;
  std::vector<std::unique_ptr<DirectorySync>> syncs;
  std::function<bool(std::size_t from, std::size_t to)> link = [](std::size_t, std::size_t) {
    return true;
  };
  std::uint64_t delivered_messages = 0;
  std::uint64_t delivered_bytes = 0;

  SyncConfig config;

  explicit Mesh(std::size_t n, SyncConfig sync_config = {}) : config(sync_config) {
    for (std::size_t i = 0; i < n; ++i) {
      replicas.push_back(std::make_unique<DirectoryReplica>(limits()));
      for (std::size_t j = 0; j < n; ++j) replicas.back()->authorise(supernode(j).id());
      syncs.push_back(std::make_unique<DirectorySync>(*replicas.back(), config));
    }
  }
  std::size_t index_of(const PeerId& id) const {
    for (std::size_t i = 0; i < replicas.size(); ++i)
      if (supernode(i).id() == id) return i;
    ADD_FAILURE() << "unknown supernode";
    return 0;
  }
  // Delivers until no engine has anything to send; bounded.
  void deliver(WallMs now) {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      bool any = false;
      for (std::size_t i = 0; i < syncs.size(); ++i) {
        while (auto t = syncs[i]->poll_transmit()) {
          any = true;
          const std::size_t to = index_of(t->to);
          if (!link(i, to)) continue;
          ++delivered_messages;
          delivered_bytes += t->payload.size();
          syncs[to]->handle_message(now, supernode(i).id(), t->payload.data(), t->payload.size());
        }
      }
      if (!any) return;
    }
    ADD_FAILURE() << "sync did not quiesce";
  }
  // Replica i writes a record and pushes it to everyone.
  ApplyResult write(WallMs now, std::size_t i, const DirectoryRecord& record) {
    ApplyResult r = replicas[i]->apply(now, record);
    if (r.accepted())
      for (std::size_t j = 0; j < syncs.size(); ++j)
        if (j != i) syncs[i]->push(supernode(j).id(), {record});
    return r;
  }
  // One anti-entropy round from a to b, delivered. The clock moves on only while the round's
  // pace holds requests back (a deadline sooner than its idle end), so leases do not run out
  // over many rounds. Returns the time the last request went.
  WallMs round(WallMs now, std::size_t a, std::size_t b) {
    syncs[a]->start_round(now, supernode(b).id());
    for (int step = 0; step < 100'000; ++step) {
      deliver(now);
      const WallMs next = syncs[a]->poll_timeout();
      if (next >= now + config.round.idle_end_ms) break;
      now = std::max(now + 1, next);
      syncs[a]->handle_timeout(now);
    }
    return now;
  }
  bool converged() const {
    for (const auto& r : replicas)
      if (r->digest() != replicas[0]->digest() || r->size() != replicas[0]->size()) return false;
    return true;
  }
};

}  // namespace qp2p::federation::lab
