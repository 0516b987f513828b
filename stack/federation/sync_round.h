// One anti-entropy round this node began, seen from its side (directory_sync.h), sans-IO: the
// buckets a level-2 summary showed different wait their turn and are requested under a window,
// so a round with thousands of differing buckets never puts more than the window in flight on
// the supernode link. A datagram burst larger than a link or socket queue loses its tail (a
// partition heal differs in most of the 4,096 buckets), and a lost request silently left its
// bucket to the next random round.
//
// The window follows TCP's congestion control (RFC 5681 §3.1): it starts small, grows by one
// bucket per answer (doubling per round trip, as in slow start) up to a ceiling, and halves
// when a request goes unanswered within the timeout. Each answer frees a slot, so requests go
// out clocked by the answers after the first window. A request that timed out is asked again,
// up to `max_attempts` times in the round; a bucket given up waits for a later round.
//
// A window bounds what is in flight, not the rate: over a supernode link of a few
// milliseconds, 64 in flight is thousands of requests a second, past the inbound bucket of the
// supernode channel (membership.h) when several members round with one at once (a partition
// heal). So requests are also paced by a token bucket at the rate the responder grants (its
// share of what it answers, carried in each of its answers, directory_sync.h), at most a window
// deep; a round with no pace set is not paced.
//
// The round ends when nothing is pending or outstanding and nothing arrived for `idle_end_ms`
// (an in-sync member answers nothing at all: equal roots), or after `max_round_ms` whatever
// is left. Time is wall milliseconds, passed in.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "stack/federation/directory_replica.h"

namespace qp2p::federation {

struct SyncRoundConfig {
  std::size_t initial_window = 8;    // buckets in flight at the start (RFC 5681's IW, in buckets)
  std::size_t max_window = 64;       // well inside a 100-datagram link queue, with other traffic
  WallMs request_timeout_ms = 1000;  // far above a supernode round trip
  std::uint8_t max_attempts = 2;
  WallMs idle_end_ms = 500;
  WallMs max_round_ms = 30'000;
};

struct SyncRoundCounters {
  std::uint64_t buckets_requested = 0;  // request attempts, retries included
  std::uint64_t requests_timed_out = 0;
  std::uint64_t buckets_given_up = 0;
};

class SyncRound {
 public:
  SyncRound(WallMs now, const SyncRoundConfig& config);

  // Buckets a level-2 summary from the member showed different (duplicates are ignored).
  void add_buckets(WallMs now, const std::vector<std::uint16_t>& buckets);
  // A records response for `bucket` arrived: the slot is free and the window grows.
  void answered(WallMs now, std::uint16_t bucket);
  // Something else of this round arrived (a level-2 summary): the round is alive.
  void heard(WallMs now) { last_heard_ = now; }
  // Requests per second from now on (0: not paced). Tokens earned so far at the old pace stay.
  void set_pace(WallMs now, double per_second);
  // The pace the responder last granted this round (0: none yet); a message granting 0 (a
  // responder that grants nothing) leaves it as it was.
  void granted(double per_second) {
    if (per_second > 0) granted_ = per_second;
  }
  double granted() const { return granted_; }
  // Buckets to request now, within the window and the pace; they become outstanding.
  std::vector<std::uint16_t> take_sendable(WallMs now);
  // Unanswered requests past their timeout: retried or given up, and the window halves.
  void handle_timeout(WallMs now, SyncRoundCounters& counters);

  bool finished(WallMs now) const;
  // The next instant handle_timeout() or finished() can change anything.
  WallMs deadline() const;
  std::size_t window() const { return window_; }

 private:
  void refill(WallMs now);

  struct Pending {
    std::uint16_t bucket;
    std::uint8_t attempts;  // made so far
  };
  struct Outstanding {
    WallMs timeout;
    std::uint8_t attempts;
  };

  SyncRoundConfig config_;
  WallMs started_;
  WallMs last_heard_;
  std::size_t window_;
  double granted_ = 0;
  double pace_ = 0;  // requests per second; 0: not paced
  double tokens_;    // requests that may go now, at most a window
  WallMs tokens_at_;
  std::deque<Pending> pending_;
  std::map<std::uint16_t, Outstanding> outstanding_;
  std::vector<bool> seen_;  // buckets ever added this round, so duplicate summaries add nothing
};

}  // namespace qp2p::federation
