// One supernode's part of the replicated directory, sans-IO: its replica (directory_replica.h),
// the sync protocol (directory_sync.h) and the presence records it writes about its own peers
// (presence_writer.h), joined to the membership's events. What it decides (docs/protocol.md
// §14.5):
//
// - every record written or accepted from a local peer (login, refresh, logout, expiry,
//   publish) is pushed to every live member, batched (push_batch.h): at once when the node
//   was idle, else in the next full payload or within `push.interval_ms`;
// - a member that comes up (joins, returns after a crash or a partition) is authorised and
//   gets an anti-entropy round, so it receives what it missed; when several come up together
//   (a partition heals: the other half at once) their rounds run one after the other, in a
//   random order (in the order they came up, every member of one half began with the same
//   member of the other and split its grant many ways, directory_sync.h): the next starts
//   when the last ended (sync_round.h), at least `catch_up_spacing_ms` and at most `catch_up_max_wait_ms` after it began, so the first
//   repairs the difference and the next ones find little left instead of each carrying the
//   whole difference again at once; a member that begins a round with us before our catch-up
//   with it is skipped, as its round repairs both sides; every `anti_entropy_interval_ms` a
//   round runs with one live member chosen at random;
// - a member that goes down stays authorised: a crash or a partition is not distrust, its
//   records stop being refreshed and expire everywhere within one lease, and records it wrote
//   before the split must still be accepted when a third member relays them afterwards;
// - replica expiry runs on the timer.
//
// Time is the network's wall clock in milliseconds (hybrid_clock.h), passed in. Outputs:
// poll_transmit() (a payload for one member; the caller seals it with Membership::send_payload)
// and take_changes() (peers whose online state changed, for presence watchers).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <vector>

#include "stack/core/random.h"
#include "stack/federation/directory_replica.h"
#include "stack/federation/directory_sync.h"
#include "stack/federation/federation_wire.h"
#include "stack/federation/presence_writer.h"
#include "stack/federation/push_batch.h"

namespace qp2p::federation {

struct DirectoryNodeConfig {
  DirectoryLimits limits;
  // Payloads must fit the membership's Payload message (federation_wire.h kMaxPayload).
  SyncConfig sync;  // its default payload bound is kMaxPayload (checked in directory_sync.cc)
  // Records per push payload and how long a non-full one may wait (push_batch.h).
  PushBatchConfig push{kMaxPayload};
  PresenceWriterConfig presence;
  // A round with a random live member this often: repairs pushes lost to loss or a partition
  // well inside one lease (120 s), at one summary (~540 bytes) per round when nothing differs.
  WallMs anti_entropy_interval_ms = 10'000;
  // Rounds with members that came up start one after the other (the first at once): a round
  // over the supernode channel takes a few round trips, so the next starts after it repaired
  // most. At least this far apart, and at most this long after the last began when it is slow.
  WallMs catch_up_spacing_ms = 500;
  WallMs catch_up_max_wait_ms = 5'000;
  // Presence changes kept between two take_changes() (the supernode drains after every input).
  std::size_t max_changes = 4096;
};

// A sync payload starts with its type, 1..4 (directory_sync_messages.h).
inline bool is_directory_payload(const Bytes& payload) {
  return !payload.empty() && payload[0] >= 1 && payload[0] <= 4;
}

struct DirectoryNodeCounters {
  std::uint64_t pushes = 0;          // records pushed (one per member)
  std::uint64_t push_batches = 0;    // push payloads sent (one per member)
  std::uint64_t rounds_started = 0;  // anti-entropy rounds this node began
  std::uint64_t catch_up_rounds = 0;  // of which with a member that came up
  std::uint64_t catch_up_skipped = 0;  // the member began a round with us first
  std::uint64_t payloads_in = 0;
};

class DirectoryNode {
 public:
  // `self` must outlive the node (the supernode's identity).
  DirectoryNode(const Identity& self, DirectoryNodeConfig config, Random random);
  DirectoryNode(const DirectoryNode&) = delete;
  DirectoryNode& operator=(const DirectoryNode&) = delete;

  // Local peers: writes (or refreshes) the peer's presence, tombstones it, stores its
  // metadata; each stored record is pushed to every live member.
  void peer_online(WallMs now, const PeerId& peer, const PeerPresence& presence);
  void peer_offline(WallMs now, const PeerId& peer, PresenceState why);
  ApplyResult published(WallMs now, const wire::SignedRecord& record);

  // Membership events.
  void member_up(WallMs now, const PeerId& member);
  void member_down(const PeerId& member);
  // A directory payload (is_directory_payload) from live member `from`.
  void handle_payload(WallMs now, const PeerId& from, const Bytes& payload);
  // True while members that came up wait for their catch-up round or the last one runs: the
  // replica may still lack what they hold (a message to an unknown peer is then held).
  bool catching_up() const;

  void handle_timeout(WallMs now);
  // The next deadline; UINT64_MAX when there is none.
  WallMs poll_timeout() const;
  std::optional<SyncTransmit> poll_transmit() { return sync_.poll_transmit(); }
  std::vector<PresenceChange> take_changes() { return replica_.take_changes(); }

  const DirectoryReplica& replica() const { return replica_; }
  const SyncCounters& sync_counters() const { return sync_.counters(); }
  const DirectoryNodeCounters& counters() const { return counters_; }
  const std::set<PeerId>& live_members() const { return live_; }

 private:
  // Batches `records` (push_batch.h) and pushes what is ready to every live member.
  void push_all(WallMs now, std::vector<DirectoryRecord> records);
  void push_batch(const PushBatch::Batch& batch);
  // Starts the next catch-up round when one is due.
  void catch_up(WallMs now);
  // When the next may start: the spacing after the last one, or its end (or overdue).
  WallMs catch_up_due() const;
  // The last catch-up round has not ended.
  bool catch_up_round_running() const;

  const Identity& self_;
  DirectoryNodeConfig config_;
  Random random_;
  DirectoryReplica replica_;
  DirectorySync sync_;
  PushBatch batch_;
  PresenceWriter writer_;
  std::set<PeerId> live_;
  WallMs next_round_ = 0;
  // Members that came up and still wait for their round, in the order they came up.
  std::deque<PeerId> catch_up_;
  WallMs next_catch_up_ = 0;
  // The member of the last catch-up round and when the next may overtake it.
  std::optional<PeerId> catching_up_with_;
  WallMs catch_up_overdue_ = 0;
  DirectoryNodeCounters counters_;
};

}  // namespace qp2p::federation
