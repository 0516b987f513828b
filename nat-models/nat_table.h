// A NAT's session table as plain data with no clock of its own: every call carries `now`, so
// the ns-3 NAT node and unit tests drive the same code (DESIGN.md, "NAT models as plain
// tables"). UDP semantics; a runtime keeps one table per transport protocol.
//
//   RFC 4787 section 4.1    mappings are keyed by the inner endpoint plus, for address-
//                           (and-port-)dependent mapping, the remote address (and port);
//                           paired pooling (REQ-2): an inner IP always uses one public IP.
//   RFC 4787 section 4.2.1  ports come from NatBehaviour::port_allocation over a finite pool,
//                           one mapping per external port (REQ-4, no port overloading).
//   RFC 4787 section 4.3    a mapping lives until `mapping_timeout` after its last refresh:
//                           outbound always refreshes (REQ-6), inbound when configured.
//   RFC 4787 section 5      filtering: endpoint-independent admits any remote while the mapping
//                           lives; address-dependent admits remote IPs the mapping has sent to;
//                           address-and-port-dependent admits exactly the ip:port sent to.
//   RFC 4787 section 6      hairpinning: an inner host sending to the NAT's own public endpoint
//                           reaches the inner host behind it, from the sender's external mapping.
//
// Hostile gateways (icmp_on_unsolicited) model Linux conntrack's side effect: a refused
// unsolicited datagram remote -> external confirms a flow with that tuple (kRefusedFlowTimeout,
// refreshed by each further refused datagram). netfilter NAT gives a new outbound flow a source
// whose reply tuple is unique, so an inner host's flow to exactly that remote cannot leave from
// that external port while the refused flow lives:
//   - an existing mapping with preserving ports (Linux masquerade, where endpoint-independence
//     is only port preservation): the flow to that remote gets its own mapping on a random free
//     port (netfilter's random search offset), a "displaced" mapping keyed by the exact remote;
//   - an existing mapping with random or sequential ports (an explicit inner -> port map, as
//     the carrier of cgnat): the port is pinned, the tuple clashes and the datagram is dropped
//     (DropReason::kTupleClash);
//   - a new mapping: preserving takes a random free port instead of the inner one, random draws
//     again, sequential consumes the clashing counter value and drops the datagram (the next
//     datagram gets the next port).
//
// Each filter permission (remote admitted by the filter) has its own timer, refreshed by traffic
// to (and, if inbound refreshes, from) that remote, as Linux conntrack keeps one entry per remote;
// the mapping lives while any of its traffic is fresh. With one remote per mapping this is exactly
// RFC 4787's single mapping timer.
//
// Expiry is lazy: every call first expires what `now` has passed. A runtime that wants memory
// back without traffic calls expire(now) at next_expiry().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nat-models/nat_behaviour.h"
#include "stack/core/endpoint.h"
#include "stack/core/instant.h"
#include "stack/core/random.h"

namespace qp2p::nat {

enum class DropReason : std::uint8_t {
  kNone,
  kNoMapping,        // inbound to an external endpoint with no live mapping
  kFiltered,         // a mapping exists but its filter does not admit this remote
  kPoolExhausted,    // a new flow found no free external port (or port block)
  kHostQuota,        // a new flow would exceed the inner host's port-block limit
  kHairpinDisabled,  // an inner host sent to the NAT's own public endpoint, hairpinning off
  kTupleClash,       // outbound: the only port the flow may take is held by a refused flow from
                     // the same remote (icmp_on_unsolicited; see the header comment)
};
std::string_view to_string(DropReason r);

struct InboundVerdict {
  enum class Action : std::uint8_t {
    kForward,  // deliver to `inner`, from `source`
    kDrop,     // discard silently; `reason` says why
    kReject,   // discard and answer with an ICMP error (icmp_on_unsolicited); `reason` says why
  };
  Action action = Action::kDrop;
  DropReason reason = DropReason::kNone;
  Endpoint inner;   // kForward: the inner host's endpoint (new destination)
  Endpoint source;  // kForward: the source as delivered (the remote; for a hairpin, the
                    // sender's external endpoint)

  bool forwarded() const { return action == Action::kForward; }
};

struct NatCounters {
  std::uint64_t mappings_created = 0;
  std::uint64_t mappings_expired = 0;
  std::uint64_t outbound_translated = 0;
  std::uint64_t inbound_forwarded = 0;  // includes hairpinned packets
  std::uint64_t hairpinned = 0;
  std::uint64_t drops_no_mapping = 0;
  std::uint64_t drops_filtered = 0;
  std::uint64_t drops_pool_exhausted = 0;
  std::uint64_t drops_host_quota = 0;
  std::uint64_t drops_hairpin_disabled = 0;
  std::uint64_t drops_tuple_clash = 0;
  std::uint64_t refused_flows = 0;     // flows recorded from refused datagrams (hostile)
  std::uint64_t displaced_flows = 0;   // outbound flows moved off a port by a refused flow
  std::uint64_t rejects = 0;  // how many of the drops above were reported as kReject
};

class NatTable {
 public:
  // `public_addresses` must not be empty when the behaviour translates. Throws
  // std::invalid_argument on an invalid behaviour (NatBehaviour::validate).
  NatTable(NatBehaviour behaviour, std::vector<IpAddress> public_addresses, Random random);
  NatTable(NatBehaviour behaviour, IpAddress public_address, Random random);

  // A packet from an inner host to a remote. Returns the external source endpoint to rewrite
  // it with, creating or refreshing the mapping; nullopt (counted) when no port can be had.
  std::optional<Endpoint> translate_outbound(Instant now, const Endpoint& inner_src,
                                             const Endpoint& remote_dst);

  // A packet from a remote to one of the NAT's external endpoints.
  InboundVerdict translate_inbound(Instant now, const Endpoint& external_dst,
                                   const Endpoint& remote_src);

  // A packet from an inner host to one of the NAT's own public endpoints (is_public(dst)).
  // With hairpinning on: the outbound side maps the sender as for any remote, then the packet
  // goes through the inbound side (filters included) with the sender's external endpoint as
  // its source. Off: dropped (rejected if icmp_on_unsolicited).
  InboundVerdict translate_hairpin(Instant now, const Endpoint& inner_src,
                                   const Endpoint& external_dst);

  // True when `address` is one of the NAT's public addresses (the runtime's hairpin test).
  bool is_public(const IpAddress& address) const;

  // Removes every mapping whose timer `now` has reached; returns how many.
  std::size_t expire(Instant now);
  // When the earliest mapping expires (kNever when there is none).
  Instant next_expiry() const;

  // The live external endpoint an outbound packet inner_src -> remote_dst would use, without
  // creating or refreshing anything (nullopt if it would need a new mapping, or the mapping's
  // port is held by a refused flow from remote_dst).
  std::optional<Endpoint> lookup_outbound(Instant now, const Endpoint& inner_src,
                                          const Endpoint& remote_dst) const;

  const NatBehaviour& behaviour() const { return behaviour_; }
  const std::vector<IpAddress>& public_addresses() const { return public_addresses_; }
  const NatCounters& counters() const { return counters_; }
  std::size_t mapping_count() const { return mappings_.size(); }

 private:
  using MappingId = std::uint64_t;

  // Inner endpoint + the part of the remote the mapping depends on (zeroed when independent).
  struct MappingKey {
    Endpoint inner;
    Endpoint remote;
    friend bool operator==(const MappingKey& a, const MappingKey& b) {
      return a.inner == b.inner && a.remote == b.remote;
    }
  };
  struct MappingKeyHash {
    std::size_t operator()(const MappingKey& k) const;
  };

  struct Mapping {
    MappingKey key;
    Endpoint external;
    std::size_t address_index = 0;  // into public_addresses_ / pools_
    std::size_t block = 0;          // into the pool's blocks
    Instant expires;
    // A flow of key.inner to exactly key.remote moved off the mapping's port by a refused flow
    // (indexed by by_flow_, not by_key_).
    bool displaced = false;
    // Filter permissions (remote key -> expiry); empty for endpoint-independent filtering.
    std::unordered_map<Endpoint, Instant, EndpointHash> permits;
    std::size_t permits_after_sweep = 0;
  };

  // A run of external ports. Without port blocks the whole pool is one shared block.
  struct PortBlock {
    std::uint16_t lo = 0;
    std::uint16_t hi = 0;
    std::uint32_t used = 0;
    std::uint32_t last = 0;  // last port handed out (kSequential); 0 = none yet
    bool owned = false;
    std::uint32_t size() const { return std::uint32_t{hi} - lo + 1; }
  };
  struct AddressPool {
    std::vector<PortBlock> blocks;
    std::size_t free_blocks = 0;  // port-block mode: blocks with no owner
  };
  // An inner IP address: its paired public address and, with port blocks, the blocks it holds.
  struct Host {
    std::size_t address_index = 0;
    std::vector<std::size_t> blocks;
    std::size_t mappings = 0;
  };

  struct Allocation {
    std::size_t block = 0;
    std::uint16_t port = 0;
  };

  MappingKey make_key(const Endpoint& inner, const Endpoint& remote) const;
  Endpoint permit_key(const Endpoint& remote) const;
  bool admits(const Mapping& m, Instant now, const Endpoint& remote) const;
  void refresh(MappingId id, Mapping& m, Instant now, const Endpoint* remote);
  std::optional<Endpoint> outbound(Instant now, const Endpoint& inner_src,
                                   const Endpoint& remote_dst, DropReason& why);
  std::optional<Endpoint> create(Instant now, const MappingKey& key, bool displaced,
                                 const Endpoint& inner_src, const Endpoint& remote_dst,
                                 DropReason& why);
  // Ports whose reply tuple with `remote` is held by a refused flow are skipped (see above).
  struct Constraint {
    Instant now;
    const Endpoint* remote = nullptr;
    bool random_start = false;  // preserving: netfilter's random search offset
  };
  std::optional<Allocation> allocate(Host& host, std::uint16_t inner_port, const Constraint& c,
                                     DropReason& why);
  std::optional<std::uint16_t> allocate_in(std::size_t address_index, PortBlock& block,
                                           std::uint16_t inner_port, const Constraint& c,
                                           DropReason& why);
  bool port_free(std::size_t address_index, std::uint32_t port) const;
  bool refused(Instant now, const Endpoint& external, const Endpoint& remote) const;
  void note_refused(Instant now, const Endpoint& external, const Endpoint& remote);
  void remove(MappingId id);
  InboundVerdict refuse(DropReason reason);

  NatBehaviour behaviour_;
  std::vector<IpAddress> public_addresses_;
  Random random_;
  NatCounters counters_;

  MappingId next_id_ = 1;
  std::unordered_map<MappingId, Mapping> mappings_;
  std::unordered_map<MappingKey, MappingId, MappingKeyHash> by_key_;
  std::unordered_map<MappingKey, MappingId, MappingKeyHash> by_flow_;  // displaced: {inner, remote}
  // Refused flows {external, remote} -> expiry (icmp_on_unsolicited), swept like permits.
  std::unordered_map<MappingKey, Instant, MappingKeyHash> refused_;
  std::size_t refused_after_sweep_ = 0;
  std::unordered_map<Endpoint, MappingId, EndpointHash> by_external_;
  std::set<std::pair<Instant, MappingId>> expiries_;
  std::vector<AddressPool> pools_;                          // one per public address
  std::unordered_map<Endpoint, Host, EndpointHash> hosts_;  // keyed by {inner IP, port 0}
  std::size_t next_address_ = 0;  // round-robin pairing of new hosts to public addresses
};

}  // namespace qp2p::nat
