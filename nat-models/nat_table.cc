// NAT session table: mappings (RFC 4787 section 4.1), port allocation (4.2.1), refresh and
// lazy expiry (4.3), filtering (5) and hairpinning (6). See nat_table.h for the model.
//
// Indexes, all O(1) or O(log n) per packet:
//   by_key_       mapping key (inner endpoint + remote part per mapping behaviour) -> mapping
//   by_external_  external endpoint -> mapping (inbound lookup; also "is this port in use")
//   expiries_     (expiry, id), ordered: lazy expiry pops from the front
//   hosts_        inner IP -> paired public address, port blocks held, live mappings
// Allocation probes ports one by one only when the preferred port is taken; a per-block count
// of used ports detects exhaustion before any probing, so a full pool costs nothing.
#include "nat-models/nat_table.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace qp2p::nat {
namespace {

// kRandom: draws tried before falling back to a scan from a random start. A pool that is less
// than ~90% full almost always succeeds within these.
constexpr int kRandomProbes = 16;

// Filter permissions of a long-lived mapping are swept of stale entries once their number has
// doubled since the last sweep (amortised O(1)); below this size they are never swept.
constexpr std::size_t kMinPermitsBeforeSweep = 16;

Endpoint host_key(const IpAddress& address) { return Endpoint{address, 0}; }

}  // namespace

std::string_view to_string(DropReason r) {
  switch (r) {
    case DropReason::kNone:
      return "none";
    case DropReason::kNoMapping:
      return "no-mapping";
    case DropReason::kFiltered:
      return "filtered";
    case DropReason::kPoolExhausted:
      return "pool-exhausted";
    case DropReason::kHostQuota:
      return "host-quota";
    case DropReason::kHairpinDisabled:
      return "hairpin-disabled";
    case DropReason::kTupleClash:
      return "tuple-clash";
  }
  return "unknown";
}

std::size_t NatTable::MappingKeyHash::operator()(const MappingKey& k) const {
  EndpointHash h;
  return h(k.inner) * 0x9E3779B97F4A7C15ull ^ h(k.remote);
}

NatTable::NatTable(NatBehaviour behaviour, std::vector<IpAddress> public_addresses, Random random)
    : behaviour_(behaviour),
      public_addresses_(std::move(public_addresses)),
      random_(std::move(random)) {
  if (auto error = behaviour_.validate()) throw std::invalid_argument("NatBehaviour: " + *error);
  if (!behaviour_.translating) return;
  if (public_addresses_.empty()) throw std::invalid_argument("NatTable needs a public address");

  const std::uint32_t lo = behaviour_.port_min;
  const std::uint32_t hi = behaviour_.port_max;
  for (std::size_t a = 0; a < public_addresses_.size(); ++a) {
    AddressPool pool;
    if (behaviour_.port_block_size == 0) {
      pool.blocks.push_back(
          PortBlock{static_cast<std::uint16_t>(lo), static_cast<std::uint16_t>(hi), 0, 0, false});
    } else {
      // Aligned blocks from port_min; a remainder shorter than a block stays unused.
      const std::uint32_t size = behaviour_.port_block_size;
      for (std::uint32_t start = lo; start + size - 1 <= hi; start += size) {
        pool.blocks.push_back(PortBlock{static_cast<std::uint16_t>(start),
                                        static_cast<std::uint16_t>(start + size - 1), 0, 0, false});
      }
      pool.free_blocks = pool.blocks.size();
    }
    pools_.push_back(std::move(pool));
  }
}

NatTable::NatTable(NatBehaviour behaviour, IpAddress public_address, Random random)
    : NatTable(behaviour, std::vector<IpAddress>{public_address}, std::move(random)) {}

bool NatTable::is_public(const IpAddress& address) const {
  return std::find(public_addresses_.begin(), public_addresses_.end(), address) !=
         public_addresses_.end();
}

NatTable::MappingKey NatTable::make_key(const Endpoint& inner, const Endpoint& remote) const {
  switch (behaviour_.mapping) {
    case Dependency::kEndpointIndependent:
      return MappingKey{inner, Endpoint{}};
    case Dependency::kAddressDependent:
      return MappingKey{inner, Endpoint{remote.address, 0}};
    case Dependency::kAddressAndPortDependent:
      return MappingKey{inner, remote};
  }
  return MappingKey{inner, remote};
}

Endpoint NatTable::permit_key(const Endpoint& remote) const {
  if (behaviour_.filtering == Dependency::kAddressDependent) return Endpoint{remote.address, 0};
  return remote;
}

bool NatTable::admits(const Mapping& m, Instant now, const Endpoint& remote) const {
  if (behaviour_.filtering == Dependency::kEndpointIndependent) return true;
  auto it = m.permits.find(permit_key(remote));
  return it != m.permits.end() && now < it->second;
}

void NatTable::refresh(MappingId id, Mapping& m, Instant now, const Endpoint* remote) {
  const Instant until = now + behaviour_.mapping_timeout;
  if (until > m.expires) {
    expiries_.erase({m.expires, id});
    m.expires = until;
    expiries_.insert({m.expires, id});
  }
  if (remote == nullptr || behaviour_.filtering == Dependency::kEndpointIndependent) return;
  m.permits[permit_key(*remote)] = until;
  if (m.permits.size() > 2 * std::max(m.permits_after_sweep, kMinPermitsBeforeSweep)) {
    for (auto it = m.permits.begin(); it != m.permits.end();) {
      it = now < it->second ? std::next(it) : m.permits.erase(it);
    }
    m.permits_after_sweep = m.permits.size();
  }
}

std::optional<Endpoint> NatTable::translate_outbound(Instant now, const Endpoint& inner_src,
                                                     const Endpoint& remote_dst) {
  DropReason why = DropReason::kNone;
  return outbound(now, inner_src, remote_dst, why);
}

std::optional<Endpoint> NatTable::outbound(Instant now, const Endpoint& inner_src,
                                           const Endpoint& remote_dst, DropReason& why) {
  expire(now);
  if (!behaviour_.translating) {
    ++counters_.outbound_translated;
    return inner_src;
  }
  // A flow already moved off its mapping's port by a refused flow (header comment).
  const MappingKey flow{inner_src, remote_dst};
  if (auto displaced = by_flow_.find(flow); displaced != by_flow_.end()) {
    Mapping& m = mappings_.at(displaced->second);
    refresh(displaced->second, m, now, &remote_dst);
    ++counters_.outbound_translated;
    return m.external;
  }
  const MappingKey key = make_key(inner_src, remote_dst);
  if (auto found = by_key_.find(key); found != by_key_.end()) {
    Mapping& m = mappings_.at(found->second);
    if (!refused(now, m.external, remote_dst)) {
      refresh(found->second, m, now, &remote_dst);
      ++counters_.outbound_translated;
      return m.external;
    }
    // The reply tuple remote_dst -> m.external is held by a refused flow.
    if (behaviour_.port_allocation != PortAllocation::kPreserving) {
      // An explicit inner -> port map pins the port: netfilter's confirm sees the clash.
      why = DropReason::kTupleClash;
      ++counters_.drops_tuple_clash;
      return std::nullopt;
    }
    ++counters_.displaced_flows;
    return create(now, flow, /*displaced=*/true, inner_src, remote_dst, why);
  }
  return create(now, key, /*displaced=*/false, inner_src, remote_dst, why);
}

std::optional<Endpoint> NatTable::create(Instant now, const MappingKey& key, bool displaced,
                                         const Endpoint& inner_src, const Endpoint& remote_dst,
                                         DropReason& why) {
  // A new mapping: pair the inner IP with a public address, then find a port.
  auto [host_it, new_host] = hosts_.try_emplace(host_key(inner_src.address));
  Host& host = host_it->second;
  if (new_host) host.address_index = next_address_++ % public_addresses_.size();
  const Constraint constraint{now, behaviour_.icmp_on_unsolicited ? &remote_dst : nullptr,
                              displaced};
  auto allocation = allocate(host, inner_src.port, constraint, why);
  if (!allocation) {
    if (why == DropReason::kHostQuota) {
      ++counters_.drops_host_quota;
    } else if (why == DropReason::kTupleClash) {
      ++counters_.drops_tuple_clash;
    } else {
      ++counters_.drops_pool_exhausted;
    }
    if (host.mappings == 0 && host.blocks.empty()) hosts_.erase(host_it);
    return std::nullopt;
  }

  const MappingId id = next_id_++;
  Mapping& m = mappings_[id];
  m.key = key;
  m.displaced = displaced;
  m.external = Endpoint{public_addresses_[host.address_index], allocation->port};
  m.address_index = host.address_index;
  m.block = allocation->block;
  m.expires = now;  // raised by refresh below
  expiries_.insert({m.expires, id});
  (displaced ? by_flow_ : by_key_).emplace(key, id);
  by_external_.emplace(m.external, id);
  ++host.mappings;
  refresh(id, m, now, &remote_dst);
  ++counters_.mappings_created;
  ++counters_.outbound_translated;
  return m.external;
}

bool NatTable::refused(Instant now, const Endpoint& external, const Endpoint& remote) const {
  if (refused_.empty()) return false;
  auto it = refused_.find(MappingKey{external, remote});
  return it != refused_.end() && now < it->second;
}

void NatTable::note_refused(Instant now, const Endpoint& external, const Endpoint& remote) {
  auto [it, added] = refused_.insert_or_assign(MappingKey{external, remote},
                                               now + kRefusedFlowTimeout);
  if (!added) return;
  ++counters_.refused_flows;
  if (refused_.size() > 2 * std::max(refused_after_sweep_, kMinPermitsBeforeSweep)) {
    for (auto r = refused_.begin(); r != refused_.end();) {
      r = now < r->second ? std::next(r) : refused_.erase(r);
    }
    refused_after_sweep_ = refused_.size();
  }
}

std::optional<NatTable::Allocation> NatTable::allocate(Host& host, std::uint16_t inner_port,
                                                       const Constraint& c, DropReason& why) {
  AddressPool& pool = pools_[host.address_index];
  if (behaviour_.port_block_size == 0) {
    PortBlock& block = pool.blocks.front();
    if (block.used >= block.size()) {
      why = DropReason::kPoolExhausted;
      return std::nullopt;
    }
    auto port = allocate_in(host.address_index, block, inner_port, c, why);
    if (!port) return std::nullopt;
    return Allocation{0, *port};
  }

  for (std::size_t b : host.blocks) {
    PortBlock& block = pool.blocks[b];
    if (block.used < block.size()) {
      auto port = allocate_in(host.address_index, block, inner_port, c, why);
      if (!port) return std::nullopt;
      return Allocation{b, *port};
    }
  }
  if (behaviour_.max_blocks_per_host != 0 && host.blocks.size() >= behaviour_.max_blocks_per_host) {
    why = DropReason::kHostQuota;
    return std::nullopt;
  }
  if (pool.free_blocks == 0) {
    why = DropReason::kPoolExhausted;
    return std::nullopt;
  }
  // A free block: the lowest one, or a random one when ports are random (so that a subscriber's
  // block says nothing about when it arrived).
  const std::size_t n = pool.blocks.size();
  const std::size_t start =
      behaviour_.port_allocation == PortAllocation::kRandom ? random_.uniform(n) : 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t b = (start + i) % n;
    PortBlock& block = pool.blocks[b];
    if (block.owned) continue;
    // A fresh block has no mapping, so no refused flow can clash in every port of it.
    auto port = allocate_in(host.address_index, block, inner_port, c, why);
    if (!port) return std::nullopt;
    block.owned = true;
    --pool.free_blocks;
    host.blocks.push_back(b);
    return Allocation{b, *port};
  }
  why = DropReason::kPoolExhausted;  // unreachable while free_blocks is kept right
  return std::nullopt;
}

bool NatTable::port_free(std::size_t address_index, std::uint32_t port) const {
  return by_external_.count(
             Endpoint{public_addresses_[address_index], static_cast<std::uint16_t>(port)}) == 0;
}

// Precondition: block.used < block.size(), so a free port exists; without a constraint every
// path finds one. With one (c.remote), ports whose reply tuple with c.remote is held by a refused
// flow are not usable; nullopt (why = kTupleClash) when the strategy cannot avoid one.
std::optional<std::uint16_t> NatTable::allocate_in(std::size_t address_index, PortBlock& block,
                                                   std::uint16_t inner_port, const Constraint& c,
                                                   DropReason& why) {
  const std::uint32_t lo = block.lo;
  const std::uint32_t size = block.size();
  auto step = [&](std::uint32_t port, std::uint32_t by) { return lo + (port - lo + by) % size; };
  auto usable = [&](std::uint32_t port) {
    return port_free(address_index, port) &&
           (c.remote == nullptr ||
            !refused(c.now, Endpoint{public_addresses_[address_index],
                                     static_cast<std::uint16_t>(port)},
                     *c.remote));
  };
  // The first usable port at or above `start`, wrapping within the block (0: none).
  auto scan = [&](std::uint32_t start) {
    for (std::uint32_t i = 0; i < size; ++i) {
      const std::uint32_t p = step(start, i);
      if (usable(p)) return p;
    }
    return std::uint32_t{0};
  };

  std::uint32_t port = 0;
  switch (behaviour_.port_allocation) {
    case PortAllocation::kPreserving: {
      std::uint32_t start = inner_port >= block.lo && inner_port <= block.hi ? inner_port : lo;
      // netfilter keeps the source port when its tuple is unique, else searches from a random
      // offset.
      if (c.remote != nullptr && (c.random_start || !usable(start))) {
        start = static_cast<std::uint32_t>(lo + random_.uniform(size));
      }
      port = scan(start);
      break;
    }
    case PortAllocation::kRandom:
      for (int i = 0; i < kRandomProbes && port == 0; ++i) {
        const auto p = static_cast<std::uint32_t>(lo + random_.uniform(size));
        if (usable(p)) port = p;
      }
      if (port == 0) port = scan(static_cast<std::uint32_t>(lo + random_.uniform(size)));
      break;
    case PortAllocation::kSequential: {
      // The very first port of a block is random (a real counter starts wherever it stands).
      const std::uint32_t delta = behaviour_.sequential_delta % size;
      std::uint32_t p = block.last == 0 ? static_cast<std::uint32_t>(lo + random_.uniform(size))
                                        : step(block.last, delta);
      // Stepping by delta visits size / gcd(delta, size) ports before repeating; if all of those
      // are taken, fall back to the next free port.
      const std::uint32_t cycle = size / std::gcd(delta, size);
      for (std::uint32_t i = 0; i < cycle && port == 0; ++i, p = step(p, delta)) {
        if (!port_free(address_index, p)) continue;
        if (!usable(p)) {
          // The counter's value is spent on a flow whose tuple clashes: Linux drops the
          // datagram at confirm, and the next one takes the next value.
          block.last = p;
          why = DropReason::kTupleClash;
          return std::nullopt;
        }
        port = p;
      }
      if (port == 0) port = scan(p);
      break;
    }
  }
  if (port == 0) {
    why = DropReason::kTupleClash;  // every free port is held by a refused flow from the remote
    return std::nullopt;
  }
  block.last = port;
  ++block.used;
  return static_cast<std::uint16_t>(port);
}

InboundVerdict NatTable::refuse(DropReason reason) {
  switch (reason) {
    case DropReason::kNoMapping:
      ++counters_.drops_no_mapping;
      break;
    case DropReason::kFiltered:
      ++counters_.drops_filtered;
      break;
    case DropReason::kPoolExhausted:
      ++counters_.drops_pool_exhausted;
      break;
    case DropReason::kHostQuota:
      ++counters_.drops_host_quota;
      break;
    case DropReason::kHairpinDisabled:
      ++counters_.drops_hairpin_disabled;
      break;
    case DropReason::kTupleClash:
      ++counters_.drops_tuple_clash;
      break;
    case DropReason::kNone:
      break;
  }
  InboundVerdict v;
  v.action = InboundVerdict::Action::kDrop;
  v.reason = reason;
  const bool unsolicited = reason == DropReason::kNoMapping || reason == DropReason::kFiltered ||
                           reason == DropReason::kHairpinDisabled;
  if (unsolicited && behaviour_.icmp_on_unsolicited) {
    v.action = InboundVerdict::Action::kReject;
    ++counters_.rejects;
  }
  return v;
}

InboundVerdict NatTable::translate_inbound(Instant now, const Endpoint& external_dst,
                                           const Endpoint& remote_src) {
  expire(now);
  InboundVerdict v;
  v.action = InboundVerdict::Action::kForward;
  v.source = remote_src;
  if (!behaviour_.translating) {
    ++counters_.inbound_forwarded;
    v.inner = external_dst;
    return v;
  }
  auto found = by_external_.find(external_dst);
  const bool admitted =
      found != by_external_.end() && admits(mappings_.at(found->second), now, remote_src);
  if (!admitted) {
    // A hostile gateway accepts the datagram for itself: the flow it leaves behind (header).
    if (behaviour_.icmp_on_unsolicited && is_public(external_dst.address)) {
      note_refused(now, external_dst, remote_src);
    }
    return refuse(found == by_external_.end() ? DropReason::kNoMapping : DropReason::kFiltered);
  }
  Mapping& m = mappings_.at(found->second);
  if (behaviour_.inbound_refreshes) refresh(found->second, m, now, &remote_src);
  ++counters_.inbound_forwarded;
  v.inner = m.key.inner;
  return v;
}

InboundVerdict NatTable::translate_hairpin(Instant now, const Endpoint& inner_src,
                                           const Endpoint& external_dst) {
  expire(now);
  if (!behaviour_.translating) {
    // No NAT in the way: the "public endpoint" is the host itself.
    ++counters_.inbound_forwarded;
    ++counters_.hairpinned;
    InboundVerdict v;
    v.action = InboundVerdict::Action::kForward;
    v.inner = external_dst;
    v.source = inner_src;
    return v;
  }
  if (!behaviour_.hairpinning) return refuse(DropReason::kHairpinDisabled);
  // Outbound half: the sender's mapping toward the external endpoint, as for any remote
  // (RFC 4787 REQ-9b: the packet then carries the sender's external source endpoint).
  DropReason why = DropReason::kNone;
  auto external_src = outbound(now, inner_src, external_dst, why);
  if (!external_src) {
    InboundVerdict v;
    v.action = InboundVerdict::Action::kDrop;
    v.reason = why;  // already counted by outbound()
    return v;
  }
  // Inbound half, filters included, as if the packet had come back from outside.
  InboundVerdict v = translate_inbound(now, external_dst, *external_src);
  if (v.forwarded()) ++counters_.hairpinned;
  return v;
}

std::optional<Endpoint> NatTable::lookup_outbound(Instant now, const Endpoint& inner_src,
                                                  const Endpoint& remote_dst) const {
  if (!behaviour_.translating) return inner_src;
  if (auto displaced = by_flow_.find(MappingKey{inner_src, remote_dst});
      displaced != by_flow_.end()) {
    const Mapping& m = mappings_.at(displaced->second);
    if (now < m.expires) return m.external;
  }
  auto found = by_key_.find(make_key(inner_src, remote_dst));
  if (found == by_key_.end()) return std::nullopt;
  const Mapping& m = mappings_.at(found->second);
  if (!(now < m.expires) || refused(now, m.external, remote_dst)) return std::nullopt;
  return m.external;
}

std::size_t NatTable::expire(Instant now) {
  std::size_t removed = 0;
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    remove(expiries_.begin()->second);
    ++counters_.mappings_expired;
    ++removed;
  }
  return removed;
}

Instant NatTable::next_expiry() const {
  return expiries_.empty() ? kNever : expiries_.begin()->first;
}

void NatTable::remove(MappingId id) {
  auto it = mappings_.find(id);
  if (it == mappings_.end()) return;
  Mapping& m = it->second;
  expiries_.erase({m.expires, id});
  (m.displaced ? by_flow_ : by_key_).erase(m.key);
  by_external_.erase(m.external);

  AddressPool& pool = pools_[m.address_index];
  PortBlock& block = pool.blocks[m.block];
  --block.used;
  auto host_it = hosts_.find(host_key(m.key.inner.address));
  if (host_it != hosts_.end()) {
    Host& host = host_it->second;
    --host.mappings;
    if (behaviour_.port_block_size != 0 && block.used == 0) {
      // RFC 7422: an empty block goes back to the pool.
      block.owned = false;
      block.last = 0;
      ++pool.free_blocks;
      host.blocks.erase(std::remove(host.blocks.begin(), host.blocks.end(), m.block),
                        host.blocks.end());
    }
    if (host.mappings == 0 && host.blocks.empty()) hosts_.erase(host_it);
  }
  mappings_.erase(it);
}

}  // namespace qp2p::nat
