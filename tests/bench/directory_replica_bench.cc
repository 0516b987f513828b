// Cost of the replicated directory (stack/federation): records applied per second (with the
// signature checks: Ed25519 for metadata, two for an online presence), the anti-entropy summary,
// and a full round between two replicas of 10,000 and 100,000 peers that differ in 10 records;
// and as a supernode runs it (DirectoryNode, 1000-byte payloads): a new member catching up on a
// directory of n peers by anti-entropy, with the sync bytes that takes.
//
//   ./build/tests/bench/directory_replica_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <vector>

#include "stack/federation/directory_node.h"
#include "stack/federation/directory_sync.h"
#include "stack/wire/session.h"

namespace {

using namespace qp2p;
using namespace qp2p::federation;

constexpr WallMs kT0 = 1'700'000'000'000;
constexpr WallMs kNow = kT0 + 1000;

Identity make_identity(std::uint32_t n) {
  Identity::Seed seed{};
  for (int i = 0; i < 4; ++i) seed[i] = static_cast<std::uint8_t>(n >> (8 * i));
  seed[31] = 0xbe;
  return Identity::from_seed(seed);
}

const Identity& supernode() {
  static const Identity s = make_identity(0xffffffff);
  return s;
}

// Presence and metadata records of n peers, signed once and kept for every benchmark.
const std::vector<DirectoryRecord>& population(std::size_t n) {
  static std::map<std::size_t, std::vector<DirectoryRecord>> cache;
  auto& v = cache[n];
  if (!v.empty()) return v;
  for (std::uint32_t p = 0; p < n; ++p) {
    const Identity peer = make_identity(p);
    PresenceRecord r;
    r.peer = peer.id();
    r.hlc = kT0 << kHlcCounterBits;
    r.expires_ms = kT0 + 120'000;
    r.mapped = *Endpoint::parse("198.51.100.1:40000");
    r.hosts = {*Endpoint::parse("192.0.2.1:40000")};
    Bytes t = wire::login_transcript(r.peer, supernode().id(), r.proof.nonce, r.proof.ephemeral);
    r.proof.signature = peer.sign(t.data(), t.size());
    r.sign(supernode());
    v.push_back({r});
    v.push_back({wire::SignedRecord::make(
        peer, 1, {{"app", "bench"}, {"name", "peer-" + std::to_string(p)}})});
  }
  return v;
}

// A replica holding population(n), built once; callers get a copy.
std::unique_ptr<DirectoryReplica> filled(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<DirectoryReplica>> cache;
  auto& base = cache[n];
  if (!base) {
    base = std::make_unique<DirectoryReplica>();
    base->authorise(supernode().id());
    for (const auto& rec : population(n)) base->apply(kNow, rec);
  }
  return std::make_unique<DirectoryReplica>(*base);
}

void BM_ApplyVerified(benchmark::State& state) {
  const auto& records = population(static_cast<std::size_t>(state.range(0)));
  std::size_t applied = 0;
  for (auto _ : state) {
    state.PauseTiming();
    DirectoryReplica r;
    r.authorise(supernode().id());
    state.ResumeTiming();
    for (const auto& rec : records) benchmark::DoNotOptimize(r.apply(kNow, rec));
    applied += records.size();
  }
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(applied), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ApplyVerified)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Duplicates (what most gossip is): rejected as stale before any signature check.
void BM_ApplyStale(benchmark::State& state) {
  const auto& records = population(static_cast<std::size_t>(state.range(0)));
  auto r = filled(static_cast<std::size_t>(state.range(0)));
  std::size_t applied = 0;
  for (auto _ : state) {
    for (const auto& rec : records) benchmark::DoNotOptimize(r->apply(kNow, rec));
    applied += records.size();
  }
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(applied), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ApplyStale)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

// A full round (summary, branch summaries, bucket requests, records, push) between replicas
// that differ in 10 records, 5 on each side; the replicas are restored after each round.
void BM_AntiEntropyRound(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto& records = population(n);
  std::uint64_t messages = 0, bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto a = filled(n), b = filled(n);
    // Each side has five peers' newer metadata the other lacks.
    for (std::uint32_t k = 0; k < 10; ++k) {
      const Identity peer = make_identity(k * static_cast<std::uint32_t>(n / 10));
      (k % 2 ? a : b)->apply(kNow, {wire::SignedRecord::make(peer, 2, {{"app", "new"}})});
    }
    DirectorySync sa(*a), sb(*b);
    state.ResumeTiming();
    sa.start_round(kNow, supernode().id());
    for (int guard = 0; guard < 1000; ++guard) {
      bool any = false;
      while (auto t = sa.poll_transmit()) {
        any = true;
        sb.handle_message(kNow, supernode().id(), t->payload.data(), t->payload.size());
      }
      while (auto t = sb.poll_transmit()) {
        any = true;
        sa.handle_message(kNow, supernode().id(), t->payload.data(), t->payload.size());
      }
      if (!any) break;
    }
    state.PauseTiming();
    if (a->digest() != b->digest()) state.SkipWithError("replicas differ after the round");
    messages += sa.counters().sent_messages + sb.counters().sent_messages;
    bytes += sa.counters().sent_bytes + sb.counters().sent_bytes;
    a.reset();  // freeing two directories is not part of the round
    b.reset();
    state.ResumeTiming();
  }
  state.counters["messages"] =
      benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kAvgIterations);
  state.counters["bytes"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kAvgIterations);
  state.counters["state_records"] = static_cast<double>(records.size());
}
BENCHMARK(BM_AntiEntropyRound)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(3);

// The first message of a round (64 branch hashes) and the digest of one bucket.
void BM_Summary(benchmark::State& state) {
  auto r = filled(static_cast<std::size_t>(state.range(0)));
  DirectorySync s(*r);
  for (auto _ : state) {
    s.start_round(kNow, supernode().id());
    benchmark::DoNotOptimize(s.poll_transmit());
    benchmark::DoNotOptimize(r->range_digest(bucket_first(7), bucket_last(7)));
  }
}
BENCHMARK(BM_Summary)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

// A supernode that joins (or comes back empty) receives a directory of n peers: the member-up
// round of DirectoryNode (as SupernodeCore runs it) between a full node and an empty one,
// payloads handed over directly. records/s: records the new node applied (signatures checked)
// per second of the whole exchange; bytes: sync bytes both ways.
void BM_MemberCatchUp(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const auto& records = population(n);
  const Identity full_id = make_identity(0xfffffffe), empty_id = make_identity(0xfffffffd);
  std::uint64_t bytes = 0, applied = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto full = std::make_unique<DirectoryNode>(full_id, DirectoryNodeConfig{}, Random::from_u64(1));
    auto empty = std::make_unique<DirectoryNode>(empty_id, DirectoryNodeConfig{}, Random::from_u64(2));
    for (std::size_t i = 0; i < records.size(); i += 3) {  // as pushes from the writer
      std::vector<DirectoryRecord> batch(records.begin() + i,
                                         records.begin() + std::min(records.size(), i + 3));
      full->handle_payload(kNow, supernode().id(), encode(SyncMessage{Push{std::move(batch)}}));
    }
    empty->handle_payload(kNow, supernode().id(), {});  // authorises the writer (a member)
    state.ResumeTiming();
    full->member_up(kNow, empty_id.id());
    empty->member_up(kNow, full_id.id());
    for (int guard = 0; guard < 100000; ++guard) {
      bool any = false;
      while (auto t = full->poll_transmit()) {
        any = true;
        bytes += t->payload.size();
        empty->handle_payload(kNow, full_id.id(), t->payload);
      }
      while (auto t = empty->poll_transmit()) {
        any = true;
        bytes += t->payload.size();
        full->handle_payload(kNow, empty_id.id(), t->payload);
      }
      if (!any) break;
    }
    state.PauseTiming();
    if (full->replica().digest() != empty->replica().digest())
      state.SkipWithError("the new member did not catch up");
    applied += empty->replica().record_count();
    full.reset();
    empty.reset();
    state.ResumeTiming();
  }
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(applied), benchmark::Counter::kIsRate);
  state.counters["bytes"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kAvgIterations);
  state.counters["bytes/record"] = static_cast<double>(bytes) / static_cast<double>(applied);
}
BENCHMARK(BM_MemberCatchUp)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
