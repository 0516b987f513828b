// JSON forms of what a peer sees, shared by qp2p-peer (one object per stdout line), the tests
// and tools that read that output. Field names are the qp2p-peer output contract:
//
//   {"event":"registered","peer_id":ID,"mapped":"IP:PORT","supernode":"IP:PORT"}
//   {"event":"published","version":N}
//   {"event":"lookup","peer":PEER}
//   {"event":"search","total":N,"peers":[PEER,...]}
//   {"event":"watching","peer_id":ID,"online":BOOL}
//   {"event":"sent","to":ID}                      the supernode accepted a message
//   {"event":"message","from":ID,"text":TEXT}
//   {"event":"delivered","to":ID}                 the recipient acknowledged it
//   {"event":"presence","peer_id":ID,"online":BOOL,"reason":"login"|"logout"|"expired"}
//   {"event":"disconnected","supernode":"IP:PORT","reason":TEXT}
//   {"event":"logged_out"}
//   {"event":"nat",<nat_profile() fields>}        NAT discovery finished (when enabled)
//   {"event":"error","command":NAME,"reason":TEXT} also "netcheck" when NAT discovery failed
//
// where PEER is {"peer_id":ID,"meta":{KEY:VALUE,...},"online":BOOL,"mapped":"IP:PORT"|null}.
// Text that is not valid UTF-8 (message text and metadata come from other peers) is written
// with U+FFFD in place of the bad bytes, so a line is always valid JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "stack/identity/identity.h"
#include "stack/peer/peer_session.h"
#include "stack/wire/records.h"

namespace qp2p::peer_json {

// Keys stay in the order written ("event" first), which reads better in a terminal.
using Json = nlohmann::ordered_json;

const char* to_string(wire::PresenceReason reason);

Json peer_info(const wire::PeerInfo& info);
Json meta(const wire::MetaEntries& entries);

// `self` is the peer's own id (the "registered" line names it).
Json event(const PeerEvent& event, const PeerId& self);
Json error(const std::string& command, const std::string& reason);

// A NAT profile in RFC 4787 words: mapping, filtering, allocation (+ delta), hairpin,
// nat_levels, mapped, complete, notes.
Json nat_profile(const NatProfile& profile);

// One line of output, without the newline; never throws on invalid UTF-8.
std::string to_line(const Json& value);

}  // namespace qp2p::peer_json
