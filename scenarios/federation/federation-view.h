// What the federation scenario reads of a supernode: the directory as the supernode's public,
// read-only views show it (Supernode::online_peer and Supernode::for_each_online_peer, the views
// the management API's /v1/peers answers from, stack/management/peer_queries.cc). The scenario
// never looks inside the core: it sees what a client of that supernode would see. While each
// supernode indexes only its own peers these views are local; once the replicated directory
// (stack/federation/directory_*) feeds them they show the whole network, and the scenario's
// figures become network-wide with no change here or elsewhere in the scenario.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/identity/identity.h"

namespace qp2p {
class Supernode;
}

namespace ns3 {

// The metadata key each scenario peer publishes, counting its publishes (0 at login).
inline constexpr const char* kFederationSeqKey = "fed.seq";

// The fed.seq of the record `node` shows for `peer`, nullopt when it shows none (or one
// without that key).
std::optional<uint32_t> VisibleSeq(const qp2p::Supernode& node, const qp2p::PeerId& peer);

// An order-independent digest of every record `node` shows: a sum of one 64-bit hash per
// (peer id, record version), so two supernodes showing the same records have the same digest
// whatever order they learnt them in. `size` gets the number of peers shown.
uint64_t ViewDigest(const qp2p::Supernode& node, uint64_t* size);

}  // namespace ns3
