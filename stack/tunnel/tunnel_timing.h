// Every timing constant and bound of hole punching (hole_punch.h) and tunnels (tunnel.h), with
// its unit in the name and its reason. Values tests change live in HolePunchConfig / TunnelConfig;
// these are the defaults and the hard limits configs are checked against.
#pragma once

#include <chrono>
#include <cstddef>

#include "stack/core/instant.h"

namespace qp2p::tunnel {

// --- Hole punching -------------------------------------------------------------------------

// A check on the same candidate pair is repeated this often until it succeeds. Simultaneous
// open only works once both NATs hold a mapping towards each other; the side that starts
// first has its early checks dropped by the other NAT, so a short period keeps the time lost
// after the second NAT opens to ~20 ms (ICE's Ta of RFC 8445 section 14.2 is 50 ms for a whole
// agent; here a pair is retried, the whole attempt is rate-bounded below).
inline constexpr Duration kDefaultCheckPairInterval = std::chrono::milliseconds(20);

// At most one check leaves an attempt per this gap, whatever the number of pairs: 500 checks/s,
// about 770 kbit/s of 192-byte checks, for at most the deadline (so at most 5,000 checks per
// attempt). This bounds birthday probing, where hundreds of pairs exist, and keeps a punch from
// looking like a flood to the NATs and networks on the path (RFC 8445 section 14.3's concern).
inline constexpr Duration kDefaultCheckMinGap = std::chrono::milliseconds(2);
// Configs may not go below this: 10,000 checks/s is the hard ceiling.
inline constexpr Duration kMinCheckGapFloor = std::chrono::microseconds(100);

// Opening checks (hole_punch.h) leave one per this gap, from the moment the attempt is launched:
// they expire at the first router behind our own NATs, so they load only our own network and
// NATs (5,000 small datagrams per second, about 8 Mbit/s), never the path or the peer's NAT
// that kDefaultCheckMinGap protects. Fast enough that an ordinary attempt (a few pairs, or a
// port-prediction window) is opened within the planner's 5 ms start margin, and the 512 pairs
// of the side that opens 256 sockets for birthday probing within about 100 ms.
inline constexpr Duration kOpeningCheckGap = std::chrono::microseconds(200);
// At most this many opening checks per attempt (one per pair, birthday probes excluded).
inline constexpr std::size_t kMaxOpeningChecks = 2048;

// An attempt gives up this long after its synchronised start. A working pair succeeds within a
// few round trips of both sides starting; port prediction within a round of its predicted
// ports; birthday probing needs a few seconds of rounds (hole_punch.h). Past this, the
// handshake service falls back to the relay.
inline constexpr Duration kDefaultPunchDeadline = std::chrono::seconds(10);
// Hard ceiling on a configured deadline (bounds the packets an attempt can ever send).
inline constexpr Duration kMaxPunchDeadline = std::chrono::seconds(120);
// A relayed attempt (the relay fallback) includes a TURN allocation and a control round trip
// to tell the peer the relayed address before its checks can flow; at 20% loss per link each
// of those may need several retransmissions (RFC 8489 RTO 500 ms doubling).
inline constexpr Duration kRelayedAttemptDeadline = std::chrono::seconds(30);

// Bounds on an attempt's size.
inline constexpr std::size_t kMaxLocalEndpoints = 1024;     // birthday: K local ports
inline constexpr std::size_t kMaxRemoteCandidates = 64;     // host + reflexive from handshake
inline constexpr std::size_t kMaxPredictedPorts = 256;      // port prediction range
inline constexpr std::size_t kMaxBirthdayProbes = 4096;     // birthday: random remote ports
inline constexpr std::size_t kMaxCandidatePairs = 8192;     // locals x remote endpoints
inline constexpr std::size_t kMaxPeerReflexivePairs = 64;   // pairs learnt from the peer's checks
// A peer-reflexive pair's repeated checks stop after this many: the peer is already reaching
// us from there, so a few checks suffice even at 20% loss, and a replayed check from a spoofed
// source cannot make us send to a third party for the whole attempt. Past it, each request the
// peer gets through still triggers one check (RFC 8445 section 7.3.1.4): one check besides
// the answer per datagram received, so a replay cannot start a stream, and on a path that loses most datagrams (a
// relayed pair at 20% loss per link) the pair still succeeds while the peer keeps checking.
inline constexpr int kMaxChecksPerPeerReflexivePair = 25;
// Outstanding check transactions remembered for matching responses (oldest forgotten first).
inline constexpr std::size_t kMaxOutstandingChecks = 16384;
// Sealed packets that arrive after the peer established but before we did (a lost nominate
// response) are kept for the tunnel, at most this many.
inline constexpr std::size_t kMaxEarlyPackets = 16;

// --- Tunnel --------------------------------------------------------------------------------

// A keepalive leaves when nothing else was sent for this long. Linux conntrack forgets an
// unreplied UDP flow after 30 s and many home routers after 30-60 s (RFC 4787 REQ-5's two
// minutes is widely ignored); half of the shortest common timeout lets one keepalive be lost
// without losing the mapping.
inline constexpr Duration kDefaultKeepaliveInterval = std::chrono::seconds(15);

// A new tunnel keeps sending keepalives this often until the peer's first authenticated packet
// arrives. The peer may still be punching: when the answers to its own checks were lost (on a
// relayed path at 20% loss per link three of four datagrams are), the first authenticated
// packet of our tunnel is what establishes it (hole_punch.h), and waiting
// kDefaultKeepaliveInterval for the next one would stall it for 15 s each time. Without loss
// the peer's opening keepalive arrives within a round trip, so this costs nothing there.
inline constexpr Duration kUnconfirmedKeepaliveInterval = std::chrono::milliseconds(250);

// The tunnel is declared dead when nothing authenticated was heard for this long: three missed
// keepalive intervals plus 5 s for jitter and path delay, so a single lost keepalive (or two)
// never closes a working tunnel.
inline constexpr Duration kDefaultDeadInterval = std::chrono::seconds(50);

}  // namespace qp2p::tunnel
