// A supernode: one identity hosting the checkpoint, two STUN, index, message-routing and relay
// (TURN, stack/relay) services behind one sans-IO object, and optionally a member of a
// federation (stack/federation). Datagrams are demultiplexed by their first byte (RFC 7983
// ranges: 0-3 STUN, 64-79 TURN channel data, 0x51 qp2p control, 0x53 federation) and by the
// socket they arrived on (relay sockets belong to TURN allocations).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stack/core/random.h"
#include "stack/core/sans_io.h"
#include "stack/federation/directory_node.h"
#include "stack/federation/membership.h"
#include "stack/identity/identity.h"
#include "stack/relay/turn_server.h"
#include "stack/supernode/handshake_service.h"
#include "stack/supernode/network_stats.h"
#include "stack/supernode/stats_reporter.h"
#include "stack/supernode/stun_service.h"
#include "stack/wire/records.h"

namespace qp2p {

struct SupernodeConfig {
  Endpoint primary;    // STUN service 1 and the qp2p control port
  Endpoint alternate;  // STUN service 2
  // A peer silent for this long is logged out (presence "offline", reason "expired").
  Duration peer_expiry = std::chrono::seconds(30);
  // Keepalive interval the supernode asks peers to use (well under the expiry and under
  // the 30 s UDP mapping timeout of common NATs).
  Duration keepalive_interval = std::chrono::seconds(10);
  std::size_t max_peers = 100000;
  std::size_t max_watches_per_peer = 256;
  std::string software = "qp2p";
  // The relay service (TURN, RFC 8656) on the primary endpoint; off while turn.secret is empty.
  // turn.listen is set to `primary`; turn.unix_offset_us is how the runtime tells wall time.
  turn::TurnConfig turn;
  // Federation with other supernodes (docs/protocol.md section 14): off while network_secret is
  // empty, and then the supernode behaves as a lone one. federation.local, .seeds and
  // .unix_offset_us are set from primary, seeds and turn.unix_offset_us.
  std::string network_secret;
  std::vector<Endpoint> seeds;
  federation::MembershipConfig federation;
  // The replicated directory of a federated supernode (docs/protocol.md section 14.5).
  federation::DirectoryNodeConfig directory;
  // Membership changes are told to the peers (the supernode-list push, section 8.8) once this
  // long after the first of them, in one push of the list as it is then: a healed partition or
  // many members starting together bring a burst of MemberUp events, one push each otherwise.
  // A peer's own login is answered with the list at once. 0: a push after every batch.
  Duration supernode_list_debounce = std::chrono::seconds(1);
  // A message or tunnel connect for a peer the directory does not know while it catches up with
  // members that came up is held for the peer's record, instead of refused at once
  // (held_requests.h): until the catch-up ends, at most this long; at most max_held_requests at
  // a time. Inside the sender's request schedule (its last copy at 9.75 s, given up at 10.75 s).
  Duration hold_unknown_target = std::chrono::seconds(8);
  std::size_t max_held_requests = 1024;
  // Stats reports to the other members, for the network view of /v1/stats (docs/protocol.md
  // section 14.7); federation only.
  StatsReportConfig stats_report;
};

// Counters of everything dropped, by reason, and of work done; read by logs and /metrics.
struct SupernodeCounters {
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint64_t dropped_unknown_protocol = 0;
  std::uint64_t dropped_stun_malformed = 0;
  std::uint64_t dropped_control_malformed = 0;
  std::uint64_t dropped_control_unauthenticated = 0;
  std::uint64_t dropped_control_replayed = 0;
  std::uint64_t dropped_control_unexpected = 0;
  std::uint64_t rejected_login = 0;
  std::uint64_t rejected_record = 0;
  std::uint64_t logins = 0;
  std::uint64_t logouts = 0;
  std::uint64_t expiries = 0;
  std::uint64_t messages_routed = 0;
  std::uint64_t messages_undeliverable = 0;
  std::uint64_t messages_held = 0;  // for a target unknown while the directory caught up
  std::uint64_t publishes = 0;
  std::uint64_t lookups = 0;
  std::uint64_t searches = 0;
  // Federation: payloads the membership would not carry (member gone, too long), and payloads
  // of a type nobody here handles.
  std::uint64_t federation_payloads_unsent = 0;
  std::uint64_t dropped_federation_payload = 0;
  // Supernode-list pushes (section 8.8) started: at logins and after membership changes.
  std::uint64_t supernode_list_pushes = 0;
};

// One logged-in peer as the management API reads it (stack/management/index_api.h).
struct OnlinePeerView {
  PeerId id;
  PeerId supernode;  // the supernode it is logged into
  Endpoint mapped;   // its public (server-reflexive) address
  Instant last_seen;  // at another supernode: when its presence record was last written
  const wire::SignedRecord* record = nullptr;  // its published record; valid until the next input
  bool local = true;  // logged in here (false: known from the replicated directory)
  // The same record when the view can share it (it then outlives the input); null otherwise.
  std::shared_ptr<const wire::SignedRecord> shared_record;
};

class SupernodeCore;

class Supernode final : public SansIoEndpoint {
 public:
  Supernode(SupernodeConfig config, Identity identity, Random random);
  ~Supernode() override;

  // Every local endpoint the runtime must open (2 or 4, see StunService).
  std::vector<Endpoint> listen_endpoints() const;

  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override;
  void handle_timeout(Instant now) override;
  std::optional<Datagram> poll_transmit() override;
  Instant poll_timeout() const override;

  // Relay sockets (TURN allocations): drain after every input like poll_transmit(); answer each
  // kOpen with handle_socket_result() (opened or not), before sending the transmits.
  std::optional<turn::SocketChange> poll_socket_change();
  void handle_socket_result(Instant now, const Endpoint& local, bool opened);

  const SupernodeCounters& counters() const;
  const turn::TurnCounters& turn_counters() const;
  std::size_t relay_allocations() const;
  const StunCounters& stun_counters() const;
  const HandshakeCounters& handshake_counters() const;  // defined in handshake_service.cc
  std::size_t online_peers() const;
  const Identity& identity() const;
  // The federation membership, or nullptr when federation is off.
  const federation::Membership* federation() const;
  // The replicated directory, or nullptr when federation is off.
  const federation::DirectoryNode* directory() const;
  // The supernode the peer is logged into as this supernode knows it (itself for its own
  // peers; any member's with federation); nullopt when it is offline or unknown.
  std::optional<PeerId> home_supernode_of(const PeerId& peer) const;

  // Read-only views for the management API (supernode_views.cc). The peers online, in no
  // particular order: logged in here, and with federation those the replicated directory holds
  // online at other supernodes (the whole network); valid until the next input.
  void for_each_online_peer(const std::function<void(const OnlinePeerView&)>& visit) const;
  std::optional<OnlinePeerView> online_peer(const PeerId& id) const;
  const SupernodeConfig& config() const;
  const HandshakeStats& handshake_stats() const;
  std::size_t negotiations_in_flight() const;
  std::size_t pushes_in_flight() const;
  // What /v1/stats shows of this supernode (supernode_stats.cc), and the latest stats reports
  // of the other members (nullptr when federation is off).
  StatsFigures stats_figures() const;
  const NetworkStats* network_stats() const;

  // Graceful shutdown (supernode_leaving.cc, docs/protocol.md 0x0208): pushes supernode-leaving
  // naming `others` (at most wire::kMaxLeavingAlternatives) to every logged-in peer and refuses
  // logins from then on. Drain as after any input; the pushes are retransmitted until acked, so
  // the runtime waits until pushes_in_flight() is 0 (or its grace period ends), then stops.
  void announce_leaving(Instant now, std::vector<Endpoint> others);
  bool leaving() const;

 private:
  std::unique_ptr<SupernodeCore> core_;
};

}  // namespace qp2p
