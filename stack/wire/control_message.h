// qp2p control messages: the peer <-> supernode protocol. Layout in docs/protocol.md.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  magic 0x51   |  version 1    |         message type          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     flags     |   reserved 0  |          body length          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    transaction id (64 bits)                   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                  body (body length bytes) ...                 |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | session trailer (flags bit 0): session id 64, counter 64, MAC 128 |
//
// The first byte 0x51 lies outside every range RFC 7983 assigns (STUN 0-3, TURN channels
// 64-79, DTLS 20-63, RTP 128-191), so control messages share a socket with STUN and TURN.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stack/core/datagram.h"
#include "stack/tunnel/tunnel_timing.h"
#include "stack/wire/records.h"

namespace qp2p::wire {

inline constexpr std::uint8_t kMagic = 0x51;
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kTrailerSize = 32;
// Largest control datagram we send or accept: fits a 1280-byte IPv6 minimum MTU path.
inline constexpr std::size_t kMaxDatagram = 1232;
inline constexpr std::size_t kMaxTextBytes = 1000;
inline constexpr std::size_t kMaxSearchTerms = 8;
inline constexpr std::uint8_t kFlagSession = 0x01;
// Tunnel negotiation (docs/protocol.md section 8.5). A peer offers its own socket addresses
// (LAN paths); a handful covers every interface of a host and keeps a PunchStart, which
// lists them all, far inside one datagram.
inline constexpr std::size_t kMaxHostCandidates = 8;
inline constexpr std::size_t kMaxTunnelReasonBytes = 200;
// A reported round-trip time above a minute is nonsense (the keepalive would have failed).
inline constexpr std::uint32_t kMaxRttMs = 60000;
// Other supernodes a supernode-leaving push may name (docs/protocol.md, 0x0208, section 8.7).
inline constexpr std::size_t kMaxLeavingAlternatives = 8;
// Supernodes a supernode-list push may name (docs/protocol.md, 0x0209, section 8.8).
inline constexpr std::size_t kMaxSupernodeList = 16;
// A PunchStart never asks a peer to wait longer than this before its synchronised start.
inline constexpr std::uint32_t kMaxStartAfterMs = 60000;

using Nonce = std::array<std::uint8_t, 32>;
using X25519Key = std::array<std::uint8_t, 32>;

enum class ErrorCode : std::uint16_t {
  kBadRequest = 400,
  kUnauthorized = 401,
  kNotFound = 404,        // unknown peer
  kPeerOffline = 410,     // peer known to be gone
  kStaleRecord = 409,     // a record with a version not above the stored one
  kUnknownSession = 440,  // a sealed message for a session the supernode does not hold
  kTooManyRequests = 429,
  kServerFull = 503,
};

// Requests from a peer.
struct Hello { PeerId peer; };
struct Login { PeerId peer; Nonce nonce{}; X25519Key ephemeral{}; Signature signature{}; };
struct Keepalive {};
struct Logout {};
struct Publish { SignedRecord record; };
struct Lookup { PeerId target; };
struct SearchTerm { std::string key; std::string value; bool prefix = false; };
// Results come in peer id order; `after` is the paging cursor (the last id of the previous
// page; all-zero for the first page).
struct Search { std::uint16_t limit = 20; std::vector<SearchTerm> terms; PeerId after; };
struct Watch { PeerId target; };
struct SendMessage { PeerId to; std::uint64_t message_id = 0; std::string text; };
// Asks for a tunnel to `to`. `host`: the caller's own socket addresses; `rtt_ms`: its smoothed
// round-trip time to this supernode (0: not measured yet).
struct TunnelConnect { PeerId to; std::vector<Endpoint> host; std::uint32_t rtt_ms = 0; };
// The callee's answer to the TunnelOffer `attempt` from `to`. Accepting sends its host
// candidates and rtt; refusing sends a reason (host empty).
struct TunnelAnswer {
  PeerId to;
  std::uint64_t attempt = 0;
  bool accept = false;
  std::vector<Endpoint> host;
  std::uint32_t rtt_ms = 0;
  std::string reason;
};
// Relay fallback of negotiation `attempt` with `to`: our relayed transport address (a TURN
// allocation on our supernode's relay service) for `to` to send its connectivity checks to.
struct TunnelRelay { PeerId to; std::uint64_t attempt = 0; Endpoint relayed; };
// Responses from the supernode.
struct Challenge { PeerId supernode; Nonce nonce{}; };
struct LoginOk {
  std::uint64_t session_id = 0;
  X25519Key ephemeral{};
  Signature signature{};  // by the supernode over the login transcript
  Endpoint mapped;
  std::uint32_t keepalive_ms = 0;
  std::uint32_t expiry_ms = 0;
};
struct KeepaliveAck { Endpoint mapped; };
struct LogoutAck {};
struct PublishAck { std::uint64_t version = 0; };
struct LookupResult { PeerInfo info; };
struct SearchResult { std::uint32_t total = 0; std::vector<PeerInfo> peers; };
struct WatchAck { bool online = false; };
struct SendAccepted {};
// The offer went out to the callee as negotiation `attempt`.
struct TunnelConnectAccepted { std::uint64_t attempt = 0; };
struct TunnelAnswerAck { std::uint64_t attempt = 0; };
struct TunnelRelayAck { std::uint64_t attempt = 0; };
struct Error { ErrorCode code = ErrorCode::kBadRequest; std::string reason; };
// Pushes from the supernode (each acknowledged by the peer with an Ack).
struct Deliver { PeerId from; std::uint64_t message_id = 0; std::string text; };
struct DeliveryReport { PeerId to; std::uint64_t message_id = 0; };
enum class PresenceReason : std::uint8_t { kLogin = 1, kLogout = 2, kExpired = 3 };
struct Presence { PeerId peer; bool online = false; PresenceReason reason = PresenceReason::kLogin; };
struct Ack {};
// To the callee: `from` (its id, mapped address and signed metadata) asks for a tunnel.
struct TunnelOffer { PeerInfo from; std::uint64_t attempt = 0; };
// To the caller: `peer` refused (or did not answer: reason "timeout"; went offline: "offline").
struct TunnelRefused { PeerId peer; std::uint64_t attempt = 0; std::string reason; };

// The receiving side's part of a hole-punching plan (tunnel::PunchPlan, converted by
// stack/wire/punch_plan_fields.h; plain numbers here so the codec does not depend on the tunnel
// layer). Only the fields of the chosen strategy travel.
enum class PlanStrategy : std::uint8_t {
  kSimultaneousOpen = 0,
  kPortPrediction = 1,
  kBirthday = 2,
};
// tunnel::CandidateKind: 0 host, 1 server-reflexive, 2 predicted, 3 birthday-probe,
// 4 peer-reflexive.
inline constexpr std::uint8_t kMaxCandidateKind = 4;
struct PlanCandidate { Endpoint endpoint; std::uint8_t kind = 0; };
struct PunchPlanFields {
  PlanStrategy strategy = PlanStrategy::kSimultaneousOpen;
  std::uint16_t local_sockets = 1;         // 1..kMaxLocalEndpoints
  std::uint32_t start_after_ms = 0;        // <= kMaxStartAfterMs
  std::uint32_t deadline_ms = 10000;       // 1..kMaxPunchDeadline
  std::vector<PlanCandidate> remote_candidates;  // <= kMaxRemoteCandidates
  // kPortPrediction
  Endpoint prediction_base;
  std::int32_t prediction_delta = 1;       // non-zero, |delta| <= 65535
  std::uint16_t prediction_before = 0;     // before + after <= kMaxPredictedPorts
  std::uint16_t prediction_after = 0;
  // kBirthday
  IpAddress birthday_address;
  std::uint16_t birthday_probes = 0;       // <= kMaxBirthdayProbes
  std::uint16_t birthday_port_min = 1024;  // 1 <= min <= max
  std::uint16_t birthday_port_max = 65535;
};
// Time-limited TURN credentials for the receiving peer on its supernode's relay service (TURN
// on the supernode's primary endpoint; RFC 8489 section 9.2 long-term credentials from the TURN
// REST API scheme, stack/relay/turn_credentials.h): username "<unix expiry>:<peer id>".
// Both empty when the supernode has no TURN configured. They travel only sealed.
inline constexpr std::size_t kMaxRelayUsernameBytes = 128;
inline constexpr std::size_t kMaxRelayPasswordBytes = 64;
struct RelayCredentials {
  std::string username;
  std::string password;
};
// To both sides of an accepted negotiation, at the same moment: punch towards `peer`.
struct PunchStart {
  PeerId peer;
  std::uint64_t attempt = 0;
  Nonce nonce{};                // 32 random bytes from the supernode, the same for both sides
  bool direct_feasible = true;  // false: do not punch, go to the relay
  PunchPlanFields plan;
  RelayCredentials relay;  // for the relay fallback of this attempt
};
// To the other side of a relay fallback: `peer` listens on `relayed` (its TUNNEL-RELAY); check
// towards it from the main socket.
struct TunnelRelayed { PeerId peer; std::uint64_t attempt = 0; Endpoint relayed; };

// How a tunnel attempt the handshake service coordinated ended, as its caller saw it
// (docs/protocol.md section 8.9): the path its tunnel took, or that it failed and why.
enum class OutcomePath : std::uint8_t { kDirect = 1, kRelay = 2, kFailed = 3 };
// A setup time above this is nonsense: a caller gives up a negotiation after 90 s
// (PeerConfig::negotiation_deadline) and a relay fallback after 40 s more.
inline constexpr std::uint32_t kMaxSetupMs = 300000;
// P->S: the outcome of attempt `attempt`, reported once by the caller. `setup_ms` from its
// connect to the tunnel (or to giving up), `rtt_ms` the tunnel's measured round trip (0 when
// failed), `reason` why it failed (empty otherwise).
struct TunnelOutcome {
  std::uint64_t attempt = 0;
  OutcomePath path = OutcomePath::kDirect;
  std::uint32_t setup_ms = 0;
  std::uint32_t rtt_ms = 0;
  std::string reason;
};
struct TunnelOutcomeAck { std::uint64_t attempt = 0; };

// To every peer, when the supernode shuts down: move to another supernode (e.g. one of
// `supernodes`, which may be empty) before this one stops answering.
struct SupernodeLeaving { std::vector<Endpoint> supernodes; };
// To a peer after its login and whenever the federation's membership changes: the live
// supernodes of the network (their primary endpoints, the sender's own included), the list a
// peer fails over along (docs/protocol.md section 8.8).
struct SupernodeList { std::vector<Endpoint> supernodes; };

using Body = std::variant<Hello, Login, Keepalive, Logout, Publish, Lookup, Search, Watch,
                          SendMessage, Challenge, LoginOk, KeepaliveAck, LogoutAck, PublishAck,
                          LookupResult, SearchResult, WatchAck, SendAccepted, Error, Deliver,
                          DeliveryReport, Presence, Ack, TunnelConnect, TunnelAnswer,
                          TunnelConnectAccepted, TunnelAnswerAck, TunnelOffer, TunnelRefused,
                          PunchStart, TunnelRelay, TunnelRelayAck, TunnelRelayed,
                          SupernodeLeaving, SupernodeList, TunnelOutcome, TunnelOutcomeAck>;

// Wire type numbers (docs/protocol.md); the variant index is not part of the wire format.
std::uint16_t type_number(const Body& body);
const char* type_name(const Body& body);

struct ControlMessage {
  std::uint64_t transaction = 0;
  Body body;
};

enum class DecodeError : std::uint8_t {
  kNone = 0,
  kTooShort,
  kNotControl,       // wrong magic
  kBadVersion,
  kBadLength,        // body length disagrees with the datagram
  kUnknownType,
  kMalformedBody,    // a field runs past the body, bad enum, trailing bytes, over a bound
  kTooLarge,
};
const char* to_string(DecodeError e);

inline bool looks_like_control(const std::uint8_t* data, std::size_t size) {
  return size >= 1 && data[0] == kMagic;
}

// Appends header and body; returns the offset of the header in `out`. The session trailer, if
// any, is added afterwards by Session::seal.
std::size_t encode(const ControlMessage& message, Bytes& out);

struct DecodedHeader {
  std::uint16_t type = 0;
  std::uint8_t flags = 0;
  std::uint16_t body_length = 0;
  std::uint64_t transaction = 0;
};
// Header only (cheap), validating magic, version and that the lengths fit the datagram.
std::optional<DecodedHeader> decode_header(const std::uint8_t* data, std::size_t size,
                                           DecodeError* error);
// Whole message (header + body; a trailer, if flagged, must already be verified by the caller).
std::optional<ControlMessage> decode(const std::uint8_t* data, std::size_t size,
                                     DecodeError* error);

}  // namespace qp2p::wire
