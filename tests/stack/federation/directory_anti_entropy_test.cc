// Anti-entropy alone repairs replicas: one that missed updates catches up, a new one receives
// everything, a partition heals with no record lost, and the traffic for a few differences in a
// large directory stays proportional to the differences.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <set>

#include "directory_lab.h"

namespace qp2p::federation {
namespace {

using namespace lab;

const WallMs kNow = kT0 + 5000;

// Peers [from, to) logged in at supernode `s`, each with a metadata record, stored in every
// replica given (signed once).
void populate(std::vector<DirectoryReplica*> replicas, std::uint32_t from, std::uint32_t to,
              std::uint32_t s) {
  for (std::uint32_t p = from; p < to; ++p) {
    const DirectoryRecord presence{online(peer(p), supernode(s), kT0)};
    const DirectoryRecord meta{metadata(peer(p), 1)};
    for (DirectoryReplica* r : replicas) {
      ASSERT_TRUE(r->apply(kNow, presence).accepted());
      ASSERT_TRUE(r->apply(kNow, meta).accepted());
    }
  }
}

TEST(DirectoryAntiEntropy, EqualReplicasExchangeOneSummary) {
  Mesh mesh(2);
  populate({mesh.replicas[0].get(), mesh.replicas[1].get()}, 0, 50, 0);
  mesh.round(kNow, 0, 1);
  EXPECT_EQ(mesh.delivered_messages, 1u);
  EXPECT_TRUE(mesh.converged());
}

TEST(DirectoryAntiEntropy, ReplicaThatMissedUpdatesCatchesUpInOneRound) {
  Mesh mesh(2);
  populate({mesh.replicas[0].get(), mesh.replicas[1].get()}, 0, 300, 0);
  // Replica 0 alone sees three new peers and a newer metadata version of another; replica 1
  // alone sees a failover of peer 7 to supernode 1 (a later write).
  populate({mesh.replicas[0].get()}, 300, 303, 0);
  ASSERT_TRUE(mesh.replicas[0]->apply(kNow, {metadata(peer(5), 2)}).accepted());
  ASSERT_TRUE(mesh.replicas[1]->apply(kNow, {online(peer(7), supernode(1), kT0 + 10)}).accepted());
  ASSERT_FALSE(mesh.converged());

  mesh.round(kNow, 1, 0);  // started by either side: both end up equal
  EXPECT_TRUE(mesh.converged());
  EXPECT_EQ(mesh.replicas[1]->size(), 303u);
  EXPECT_EQ(mesh.replicas[0]->find(peer(7).id())->presence->supernode, supernode(1).id());
  EXPECT_EQ(mesh.replicas[1]->find(peer(5).id())->metadata->version, 2u);
  EXPECT_LE(mesh.delivered_messages, 20u);
}

TEST(DirectoryAntiEntropy, NewReplicaReceivesEverything) {
  Mesh mesh(3);
  populate({mesh.replicas[0].get()}, 0, 500, 0);
  populate({mesh.replicas[1].get()}, 500, 800, 1);
  mesh.round(kNow, 2, 0);
  mesh.round(kNow, 2, 1);
  EXPECT_EQ(mesh.replicas[2]->size(), 800u);
  mesh.round(kNow, 0, 1);
  EXPECT_TRUE(mesh.converged());
  EXPECT_EQ(state_bytes(*mesh.replicas[0]), state_bytes(*mesh.replicas[2]));
}

TEST(DirectoryAntiEntropy, FewDifferencesInALargeDirectoryCostFewBytes) {
  Mesh mesh(2);
  populate({mesh.replicas[0].get(), mesh.replicas[1].get()}, 0, 2000, 0);
  for (std::uint32_t p = 0; p < 5; ++p)
    ASSERT_TRUE(mesh.replicas[0]->apply(kNow, {metadata(peer(p * 397), 2)}).accepted());
  mesh.round(kNow, 1, 0);
  EXPECT_TRUE(mesh.converged());
  // State: 4,000 records of ~150-330 bytes (about 1 MB). Five differences: a summary, at
  // most five branch summaries, five bucket requests, five responses.
  EXPECT_LE(mesh.delivered_messages, 16u);
  EXPECT_LT(mesh.delivered_bytes, 16'000u);
  EXPECT_EQ(mesh.syncs[1]->counters().records_accepted, 5u);
}

TEST(DirectoryAntiEntropy, BucketListsSplitAcrossSmallPayloadsStillTileTheBucket) {
  // One digest entry per request-bucket message: a bucket's entries travel in several messages
  // whose key ranges tile the bucket; absent, older and newer entries are all found.
  SyncConfig small;
  small.max_payload_bytes = 140;
  Mesh mesh(2, small);
  std::map<std::uint16_t, std::vector<std::uint32_t>> by_bucket;
  for (std::uint32_t p = 0; p < 600; ++p) by_bucket[bucket_of(peer(p).id())].push_back(p);
  auto fullest = std::max_element(by_bucket.begin(), by_bucket.end(), [](auto& a, auto& b) {
    return a.second.size() < b.second.size();
  });
  const std::vector<std::uint32_t> crowd = fullest->second;
  ASSERT_GE(crowd.size(), 3u);
  // Both hold every peer but the bucket's second, which only replica 1 (the responder) holds:
  // an entry absent from the middle of the requester's list.
  for (std::uint32_t p = 0; p < 600; ++p) {
    std::vector<DirectoryReplica*> holders{mesh.replicas[1].get()};
    if (p != crowd[1]) holders.push_back(mesh.replicas[0].get());
    populate(holders, p, p + 1, 0);
  }
  // Replica 0 has newer metadata of the bucket's first peer; replica 1 of its last.
  ASSERT_TRUE(mesh.replicas[0]->apply(kNow, {metadata(peer(crowd.front()), 2)}).accepted());
  ASSERT_TRUE(mesh.replicas[1]->apply(kNow, {metadata(peer(crowd.back()), 2)}).accepted());
  mesh.round(kNow, 0, 1);
  EXPECT_TRUE(mesh.converged());
  // The requester holds crowd.size() - 1 entries of the bucket: one message each.
  EXPECT_GE(mesh.syncs[1]->counters().received[static_cast<std::size_t>(SyncType::kRequestBucket)],
            crowd.size() - 1);
  EXPECT_EQ(mesh.replicas[1]->find(peer(crowd.front()).id())->metadata->version, 2u);
  EXPECT_EQ(mesh.replicas[0]->find(peer(crowd.back()).id())->metadata->version, 2u);
  ASSERT_NE(mesh.replicas[0]->find(peer(crowd[1]).id()), nullptr);
  EXPECT_EQ(mesh.replicas[0]->find(peer(crowd[1]).id())->metadata->version, 1u);
}

TEST(DirectoryAntiEntropy, WantsAndALargeRecordNeverExceedThePayloadBound) {
  // Two peers of one bucket, both online at both replicas; the responder holds a large metadata
  // record of the first, the requester one of the second. The response carries a want and the
  // large record, which together exceed the bound: the want goes in one message, the record in
  // the next (it used to go with the want, over the bound, and the channel refused it).
  std::map<std::uint16_t, std::vector<std::uint32_t>> by_bucket;
  for (std::uint32_t p = 0; p < 600; ++p) by_bucket[bucket_of(peer(p).id())].push_back(p);
  auto pair = std::find_if(by_bucket.begin(), by_bucket.end(),
                           [](const auto& b) { return b.second.size() >= 2; });
  ASSERT_NE(pair, by_bucket.end());
  const std::uint32_t a = pair->second[0], b = pair->second[1];
  const DirectoryRecord large{wire::SignedRecord::make(
      peer(a), 2, {{"blob", std::string(250, 'x')}, {"more", std::string(250, 'y')}})};
  SyncConfig config;
  // A records header (7) and the record, with 16 bytes to spare: no room for a 32-byte want.
  config.max_payload_bytes = 7 + encoded_size(large) + 16;
  Mesh mesh(2, config);
  populate({mesh.replicas[0].get(), mesh.replicas[1].get()}, a, a + 1, 0);
  populate({mesh.replicas[0].get(), mesh.replicas[1].get()}, b, b + 1, 0);
  ASSERT_TRUE(mesh.replicas[1]->apply(kNow, large).accepted());
  ASSERT_TRUE(mesh.replicas[0]->apply(kNow, {metadata(peer(b), 2)}).accepted());

  mesh.syncs[0]->start_round(kNow, supernode(1).id());
  std::size_t largest = 0;
  for (int guard = 0; guard < 100; ++guard) {
    bool any = false;
    for (std::size_t i = 0; i < 2; ++i) {
      while (auto t = mesh.syncs[i]->poll_transmit()) {
        any = true;
        largest = std::max(largest, t->payload.size());
        mesh.syncs[1 - i]->handle_message(kNow, supernode(i).id(), t->payload.data(),
                                          t->payload.size());
      }
    }
    if (!any) break;
  }
  EXPECT_LE(largest, config.max_payload_bytes);
  EXPECT_TRUE(mesh.converged());
  EXPECT_EQ(mesh.replicas[0]->find(peer(a).id())->metadata->signature,
            large.metadata()->signature);
  EXPECT_EQ(mesh.replicas[1]->find(peer(b).id())->metadata->version, 2u);
}

// Bucket requests received from each sender, by second of the clock.
struct RequestLog {
  std::map<std::pair<std::size_t, WallMs>, std::size_t> per_second;
  void count(std::size_t from, WallMs now, const Bytes& payload) {
    if (payload[0] == static_cast<std::uint8_t>(SyncType::kRequestBucket))
      ++per_second[{from, (now - kNow) / 1000}];
  }
  std::size_t max_of(std::size_t from) const {
    std::size_t m = 0;
    for (const auto& [key, n] : per_second)
      if (key.first == from) m = std::max(m, n);
    return m;
  }
};

// Delivers in steps of one round trip: everything `from` queued reaches the other, then the
// other's answers come back. Returns how many bucket requests `from` sent in that step.
std::size_t round_trip(Mesh& mesh, std::size_t from, WallMs now,
                       const std::function<bool(const Bytes&)>& lose = {},
                       RequestLog* log = nullptr) {
  std::size_t requests = 0;
  std::vector<SyncTransmit> out;
  while (auto t = mesh.syncs[from]->poll_transmit()) out.push_back(std::move(*t));
  for (const auto& t : out) {
    requests += t.payload[0] == static_cast<std::uint8_t>(SyncType::kRequestBucket);
    if (log) log->count(from, now, t.payload);
    if (lose && lose(t.payload)) continue;
    mesh.syncs[1 - from]->handle_message(now, supernode(from).id(), t.payload.data(),
                                         t.payload.size());
  }
  while (auto t = mesh.syncs[1 - from]->poll_transmit())
    mesh.syncs[from]->handle_message(now, supernode(1 - from).id(), t->payload.data(),
                                     t->payload.size());
  return requests;
}

// Runs the round `from` began with the other replica to its end: the summaries first, then
// everything queued goes out before the clock moves to the round's next deadline (bounded).
void run_round(Mesh& mesh, std::size_t from, WallMs now,
               const std::function<bool(const Bytes&)>& lose = {}, RequestLog* log = nullptr) {
  const PeerId other = supernode(1 - from).id();
  round_trip(mesh, from, now, lose, log);
  for (int step = 0; step < 100'000 && mesh.syncs[from]->round_active(other); ++step) {
    for (int trip = 0; trip < 100 && round_trip(mesh, from, now, lose, log) > 0; ++trip) {
    }
    now = std::max(now + 1, mesh.syncs[from]->poll_timeout());
    mesh.syncs[from]->handle_timeout(now);
  }
}

// n replicas granting `requests_per_second`; the first alone holds 3,000 peers, so the others
// differ from it in nearly every bucket.
Mesh only_first_holds_3000(std::size_t n, std::uint32_t requests_per_second) {
  SyncConfig config;
  config.requests_per_second = requests_per_second;
  Mesh mesh(n, config);
  populate({mesh.replicas[0].get()}, 0, 3000, 0);
  return mesh;
}

TEST(DirectoryAntiEntropy, ARoundKeepsAtMostItsWindowOfRequestsInFlight) {
  // A replica that missed everything of 3,000 peers differs in nearly every bucket. Its round
  // used to send a request for each at once, thousands of datagrams in one burst, and a link
  // queue dropped the tail. Now: the initial window, then doubling per round trip, capped.
  // The pace is set far above what a trip of 10 ms can use, so the window alone shows.
  Mesh mesh = only_first_holds_3000(2, 65535);
  const SyncRoundConfig window = mesh.config.round;
  WallMs now = kNow;
  mesh.syncs[1]->start_round(now, supernode(0).id());
  round_trip(mesh, 1, now);  // summary out, the 64 branch summaries back
  std::vector<std::size_t> per_trip;
  for (int trip = 0; trip < 200 && !mesh.converged(); ++trip) {
    now += 10;
    mesh.syncs[1]->handle_timeout(now);
    per_trip.push_back(round_trip(mesh, 1, now));
    ASSERT_LE(per_trip.back(), window.max_window);
  }
  EXPECT_TRUE(mesh.converged());
  ASSERT_GE(per_trip.size(), 4u);
  EXPECT_EQ(per_trip[0], window.initial_window);
  EXPECT_EQ(per_trip[1], 2 * window.initial_window);
  EXPECT_EQ(per_trip[2], 4 * window.initial_window);
  EXPECT_EQ(*std::max_element(per_trip.begin(), per_trip.end()), window.max_window);
  EXPECT_EQ(mesh.syncs[1]->counters().round.requests_timed_out, 0u);
}

TEST(DirectoryAntiEntropy, ARoundIsPacedAtTheRateItsResponderGrants) {
  // A window bounds what is in flight, not the rate: with answers back at once, a window of 64
  // alone would ask for all 4,096 buckets in a few milliseconds. The responder grants its
  // requests_per_second; each second carries at most that, plus the window the round may have
  // saved up.
  Mesh mesh = only_first_holds_3000(2, 400);
  const SyncConfig& config = mesh.config;
  RequestLog log;
  mesh.syncs[1]->start_round(kNow, supernode(0).id());
  run_round(mesh, 1, kNow, {}, &log);
  EXPECT_TRUE(mesh.converged());
  const std::size_t requested = mesh.syncs[1]->counters().round.buckets_requested;
  ASSERT_GT(requested, 2000u);  // nearly every bucket differed
  EXPECT_LE(log.max_of(1), config.requests_per_second + config.round.max_window);
  // Paced, not stalled: the round took about requested / rate seconds.
  EXPECT_GE(log.per_second.size(), requested / config.requests_per_second);
  EXPECT_LE(log.per_second.size(), requested / config.requests_per_second + 2);
  EXPECT_EQ(mesh.syncs[1]->counters().round.requests_timed_out, 0u);
}

TEST(DirectoryAntiEntropy, MembersRoundingWithOneShareWhatItGrants) {
  // A partition heal: three members that missed everything round with the one that holds it,
  // at once. Together they ask no more than it grants in a second (each its share, from the
  // pace in its answers), so its inbound bucket (membership.h) is not overrun.
  Mesh mesh = only_first_holds_3000(4, 600);
  const SyncConfig& config = mesh.config;
  RequestLog log;
  WallMs now = kNow;
  for (std::size_t i = 1; i < 4; ++i) mesh.syncs[i]->start_round(now, supernode(0).id());
  auto active = [&] {
    for (std::size_t i = 1; i < 4; ++i)
      if (mesh.syncs[i]->round_active(supernode(0).id())) return true;
    return false;
  };
  for (int step = 0; step < 100'000 && active(); ++step) {
    // Everything queued goes out before the clock moves (bounded).
    for (int trip = 0; trip < 100; ++trip) {
      bool any = false;
      for (std::size_t i = 1; i < 4; ++i)
        while (auto t = mesh.syncs[i]->poll_transmit()) {
          any = true;
          log.count(i, now, t->payload);
          mesh.syncs[0]->handle_message(now, supernode(i).id(), t->payload.data(),
                                        t->payload.size());
        }
      while (auto t = mesh.syncs[0]->poll_transmit()) {
        any = true;
        mesh.syncs[mesh.index_of(t->to)]->handle_message(now, supernode(0).id(),
                                                         t->payload.data(), t->payload.size());
      }
      if (!any) break;
    }
    WallMs next = std::numeric_limits<WallMs>::max();
    for (std::size_t i = 1; i < 4; ++i) next = std::min(next, mesh.syncs[i]->poll_timeout());
    now = std::max(now + 1, next);
    for (std::size_t i = 1; i < 4; ++i) mesh.syncs[i]->handle_timeout(now);
  }
  EXPECT_TRUE(mesh.converged());
  std::map<WallMs, std::size_t> at_responder;
  for (const auto& [key, n] : log.per_second) at_responder[key.second] += n;
  std::size_t busiest = 0;
  for (const auto& [second, n] : at_responder) busiest = std::max(busiest, n);
  // The first second: each began with its initial window before the first grant.
  EXPECT_LE(busiest, config.requests_per_second + 3 * config.round.max_window);
  for (std::size_t i = 1; i < 4; ++i)
    EXPECT_LE(log.max_of(i), config.requests_per_second / 3 + config.round.max_window) << i;
}

TEST(DirectoryAntiEntropy, ALostRequestIsAskedAgainInTheSameRound) {
  Mesh mesh(2);
  populate({mesh.replicas[0].get()}, 0, 400, 0);
  std::set<Bytes> seen;
  // Every bucket request is lost the first time it is sent.
  auto lose_first = [&seen](const Bytes& p) {
    return p[0] == static_cast<std::uint8_t>(SyncType::kRequestBucket) && seen.insert(p).second;
  };
  mesh.syncs[1]->start_round(kNow, supernode(0).id());
  run_round(mesh, 1, kNow, lose_first);
  EXPECT_FALSE(mesh.syncs[1]->round_active(supernode(0).id()));
  EXPECT_TRUE(mesh.converged());  // one round, no second one needed
  const SyncCounters& c = mesh.syncs[1]->counters();
  EXPECT_GT(c.round.requests_timed_out, 0u);
  EXPECT_EQ(c.round.buckets_given_up, 0u);
  EXPECT_EQ(c.rounds_finished, 1u);
}

TEST(DirectoryAntiEntropy, PartitionHealsWithNoRecordLost) {
  const std::size_t n = 6;
  Mesh mesh(n);
  Random rng = Random::from_u64(11);
  std::vector<DirectoryRecord> all;
  // Shared history before the partition.
  for (std::uint32_t p = 0; p < 60; ++p) {
    mesh.write(kNow, p % n, {online(peer(p), supernode(p % n), kT0)});
    mesh.write(kNow, p % n, {metadata(peer(p), 1)});
  }
  mesh.deliver(kNow);
  ASSERT_TRUE(mesh.converged());
  // Partition: {0,1,2} | {3,4,5}. Each side writes different updates, some to the same peers.
  mesh.link = [](std::size_t a, std::size_t b) { return (a < 3) == (b < 3); };
  for (std::uint32_t p = 0; p < 30; ++p) {
    const std::size_t left = rng.uniform(3), right = 3 + rng.uniform(3);
    mesh.write(kNow, left, {metadata(peer(p), 2, "left")});
    mesh.write(kNow, right, {online(peer(p), supernode(right), kT0 + 100 + p)});
    mesh.write(kNow, right, {metadata(peer(60 + p), 1)});  // parked: no presence yet
    mesh.write(kNow, right, {online(peer(60 + p), supernode(right), kT0 + 50)});
    mesh.write(kNow, left, {offline(peer(30 + p), supernode(left), kT0 + 200, 1)});
  }
  mesh.deliver(kNow);
  EXPECT_NE(mesh.replicas[0]->digest(), mesh.replicas[3]->digest());
  // Heal; lose a fifth of the messages to make repair work harder; rounds between random pairs
  // until equal (bounded).
  Random loss = Random::from_u64(12);
  mesh.link = [&](std::size_t, std::size_t) { return loss.uniform(5) != 0; };
  int rounds = 0;
  for (; rounds < 200 && !mesh.converged(); ++rounds) {
    const std::size_t a = rng.uniform(n), b = (a + 1 + rng.uniform(n - 1)) % n;
    mesh.round(kNow, a, b);
  }
  EXPECT_TRUE(mesh.converged()) << "after " << rounds << " rounds";
  // No record lost: each side's writes are there, the greatest of each kind.
  const DirectoryReplica& r = *mesh.replicas[5];
  EXPECT_EQ(r.size(), 90u);
  for (std::uint32_t p = 0; p < 30; ++p) {
    const DirectoryEntry* e = r.find(peer(p).id());
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->metadata->version, 2u);
    EXPECT_EQ(hlc_wall_ms(e->presence->hlc), kT0 + 100 + p);
    EXPECT_FALSE(r.find(peer(30 + p).id())->presence->online());
    EXPECT_EQ(r.find(peer(30 + p).id())->visible_metadata(), nullptr);
    EXPECT_NE(r.find(peer(60 + p).id())->visible_metadata(), nullptr);
  }
}

}  // namespace
}  // namespace qp2p::federation
