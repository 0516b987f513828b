// Membership of a supernode federation: SWIM (Das, Gupta and Motivala, "SWIM: Scalable
// Weakly-consistent Infection-style Process Group Membership Protocol", DSN 2002) with its
// suspicion and incarnation refinements and a periodic full-state push-pull (as HashiCorp
// memberlist), over datagrams sealed with the network key (federation_seal.h) and stamped
// against replay (replay_guard.h). Sans-IO (stack/core/sans_io.h).
//
// - Join: while it knows no live member, a supernode sends a Sync (reply wanted) to each seed
//   every `join_retry_interval`; the answer carries the seed's member table, gossip the rest.
// - Failure detection (failure_detector.h): ping one member per `probe_interval`, ping-req
//   through `indirect_probes` others after `ack_timeout`, suspect at the end of the period,
//   declare dead after the suspicion timeout (suspicion_multiplier x max(1, log10 n) periods)
//   unless the member refutes by raising its incarnation.
// - Every message carries the sender's own (incarnation, endpoint): a member that hears from
//   one it holds suspect, dead or left at a higher or equal incarnation tells it directly, so it
//   refutes; with `reconnect_interval` syncs to dead members and seeds, partitions heal.
// - Graceful leave: leave() tells every live member ("left"), then the object goes quiet.
// - Every message is signed with the sender's Ed25519 identity: a member cannot speak as another.
// - Opaque payloads (send_payload / PayloadReceived) travel sealed between members: the hook
//   the replicated directory's sync messages ride on. MemberUp / MemberDown report changes.
//
// Bounded: members (max_members), queued gossip, ping-req relays, replay state, inbound
// datagrams per second (a token bucket before any decryption). Every drop is counted by reason.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "stack/core/random.h"
#include "stack/core/sans_io.h"
#include "stack/federation/failure_detector.h"
#include "stack/federation/gossip_queue.h"
#include "stack/federation/member_table.h"
#include "stack/federation/network_key.h"
#include "stack/federation/replay_guard.h"

namespace qp2p::federation {

struct MembershipConfig {
  Endpoint local;               // the supernode's primary endpoint: sent from and advertised
  std::vector<Endpoint> seeds;  // where to join; may include this node's own (skipped)
  // unix microseconds = to_us(now) + unix_offset_us (the replay counters are wall time).
  std::int64_t unix_offset_us = 0;

  // One probe per period; long enough for an ack and a relayed ack over a slow link.
  Duration probe_interval = std::chrono::seconds(1);
  // Direct ack wait before asking others (a few round trips of a continental link).
  Duration ack_timeout = std::chrono::milliseconds(400);
  std::size_t indirect_probes = 3;
  // Suspicion timeout = multiplier x max(1, log10 n) x probe_interval: time for the suspicion
  // to reach the suspect through gossip and its refutation to come back.
  std::size_t suspicion_multiplier = 5;
  // Full push-pull with a random live member: repairs what piggybacked gossip lost.
  Duration sync_interval = std::chrono::seconds(10);
  Duration join_retry_interval = std::chrono::seconds(2);
  // A sync to a random dead member or seed: how a healed partition finds its other half.
  Duration reconnect_interval = std::chrono::seconds(5);
  Duration dead_retention = std::chrono::minutes(10);
  std::size_t max_members = 512;
  std::size_t gossip_per_message = 8;
  std::size_t retransmit_multiplier = 4;
  // News also goes out on its own, as memberlist's gossip: every `gossip_interval` while any is
  // queued, to `gossip_nodes` live members, suspects first, the rest at random. Piggybacked on
  // probes alone (one a second), news took several periods to reach everyone; and it no longer
  // rides on payloads, whose fan-out in member order spent its transmissions on the same few
  // members.
  Duration gossip_interval = std::chrono::milliseconds(200);
  std::size_t gossip_nodes = 3;
  // A sync carries at most this many datagrams of 16 entries (a random subset beyond).
  std::size_t max_sync_datagrams = 8;
  // Inbound datagrams per second (a token bucket, one second deep, checked before decryption):
  // the base, plus as many per known member (dead ones still remembered included). The base
  // covers full payloads, which grow with the network's record bytes (2000 x ~1.2 KB: about
  // 7,000 pushed records a second); the per-member share covers what every member sends
  // whatever the load: up to 20 non-full directory pushes (one per 50 ms, push_batch.h) and its
  // probes, acks, relays and syncs (docs/protocol.md §14.4).
  std::uint32_t max_inbound_per_second = 2000;
  std::uint32_t inbound_per_member_per_second = 25;
  Duration max_clock_skew = std::chrono::seconds(60);
};

struct MemberUp { PeerId id; Endpoint endpoint; };  // joined, came back, or moved
struct MemberDown { PeerId id; Endpoint endpoint; bool left = false; };  // dead or left
struct PayloadReceived { PeerId from; Bytes data; };
using MembershipEvent = std::variant<MemberUp, MemberDown, PayloadReceived>;

struct MembershipCounters {
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  // Dropped before authentication.
  std::uint64_t dropped_rate_limited = 0;
  std::uint64_t dropped_truncated = 0;
  std::uint64_t dropped_bad_version = 0;
  std::uint64_t dropped_wrong_network = 0;
  std::uint64_t dropped_unauthenticated = 0;  // bad AEAD tag
  // Dropped after authentication.
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_replayed = 0;
  std::uint64_t dropped_too_old = 0;
  std::uint64_t dropped_clock_skew = 0;
  std::uint64_t dropped_misdirected = 0;  // sealed for another member
  std::uint64_t dropped_from_self = 0;    // our own datagram reflected back
  std::uint64_t dropped_bad_signature = 0;  // not signed by the member it claims to be from
  std::uint64_t dropped_table_full = 0;
  std::uint64_t dropped_payload_not_member = 0;
  // Work.
  std::uint64_t pings_sent = 0;
  std::uint64_t ping_reqs_sent = 0;
  std::uint64_t acks_received = 0;
  std::uint64_t suspicions = 0;   // suspicions this node raised
  std::uint64_t refutations = 0;  // times this node refuted a rumour about itself
  std::uint64_t deaths = 0;       // members this node declared dead
  std::uint64_t syncs_sent = 0;
  std::uint64_t gossips_sent = 0;  // news sent on its own (gossip_tick), one per member
  std::uint64_t payloads_in = 0;
  std::uint64_t payloads_out = 0;
};

class Membership final : public SansIoEndpoint {
 public:
  Membership(MembershipConfig config, Identity self, NetworkKey key, Random random);

  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override;
  void handle_timeout(Instant now) override;
  std::optional<Datagram> poll_transmit() override;
  Instant poll_timeout() const override;
  std::optional<MembershipEvent> poll_event();

  // Seals `data` to member `to`; false when `to` is not a live member or data is too long.
  bool send_payload(Instant now, const PeerId& to, Bytes data);
  // Tells every live member this node leaves; afterwards it sends and accepts nothing.
  void leave(Instant now);

  // Smoothed round-trip time to member `id` from the failure detector's direct probes
  // (MemberTable's Member::srtt); zero when unknown.
  Duration rtt_to(const PeerId& id) const;
  // Live members (alive or suspect), this node first.
  std::vector<Entry> members() const;
  const MemberTable& table() const { return table_; }
  const MembershipCounters& counters() const { return counters_; }
  Duration suspicion_timeout() const;
  bool has_left() const { return left_; }

 private:
  void on_message(Instant now, const Endpoint& remote, Message& m);
  void on_update(Instant now, const Entry& update);
  void refute(Instant now, std::uint32_t incarnation);
  void correct(Instant now, const Endpoint& remote, const Entry& stored);
  void probe_tick(Instant now);
  void send_indirect(Instant now);
  void housekeeping(Instant now);
  void reconnect(Instant now);
  void send_sync(Instant now, const PeerId& to, const Endpoint& endpoint, bool reply_wanted);
  void send(Instant now, const PeerId& to, const Endpoint& endpoint, Body body,
            bool piggyback = true, std::vector<Entry> entries = {});
  std::vector<PeerId> up_ids() const;
  // Queued news to `gossip_nodes` random live members (a Sync that wants no reply).
  void gossip_tick(Instant now);
  // The inbound bucket's rate now: the base plus the per-member share of every known member.
  double inbound_rate() const;
  bool allow_inbound(Instant now);
  std::int64_t wall_us(Instant now) const { return to_us(now) + config_.unix_offset_us; }

  MembershipConfig config_;
  Identity identity_;
  NetworkKey key_;
  Random random_;
  MemberTable table_;
  GossipQueue gossip_;
  FailureDetector detector_;
  ReplayGuard replay_;
  CounterClock counter_clock_;
  MembershipCounters counters_;
  std::deque<Datagram> transmits_;
  std::deque<MembershipEvent> events_;
  std::map<PeerId, Instant> last_correction_;
  bool left_ = false;
  // Timers; Instant{} fires at the first handle_timeout.
  Instant next_probe_{};
  Instant next_housekeeping_{};
  Instant next_sync_{};
  Instant next_gossip_{};
  Instant next_reconnect_{};
  // Inbound token bucket.
  double tokens_ = 0;
  Instant tokens_at_{};
};

}  // namespace qp2p::federation
