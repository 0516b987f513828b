// The federation scenario's measurements (rules in federation-bed.h): publish-to-visible per
// supernode, membership and directory convergence, message delivery, traffic; and the report.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "ns3/node-list.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "scenarios/federation/federation-bed.h"
#include "scenarios/federation/federation-view.h"
#include "scenarios/report_math.h"
#include "stack/federation/membership.h"
#include "stack/supernode/supernode.h"

namespace ns3 {

namespace {

using Json = nlohmann::ordered_json;
constexpr auto Round = qp2p::report::round_to;

const Time kMinCheck = MilliSeconds(10);
const Time kMaxCheck = Seconds(1);
const Time kMessageWindow = Seconds(10);  // as federation-bed.cc
// After membership agrees again following a heal: time for the catch-up round (a few round
// trips on the core links) before messages across the former halves count.
const Time kCatchUpAllowance = Seconds(1);
// Undelivered messages listed in the JSON (the rest are only counted).
constexpr size_t kMaxLostListed = 20;
// Directory sizes are sampled every this many membership checks (100 ms each).
constexpr uint64_t kSizeSampleEvery = 50;

Json Seconds3(Time t) { return t < Time(0) ? Json(nullptr) : Json(Round(t.GetSeconds(), 3)); }

Json Latency(const std::vector<double>& ms) {
  if (ms.empty()) return Json{{"p50", nullptr}, {"p99", nullptr}, {"max", nullptr}};
  return Json{{"p50", Round(qp2p::report::percentile(ms, 0.5), 1)},
              {"p99", Round(qp2p::report::percentile(ms, 0.99), 1)},
              {"max", Round(*std::max_element(ms.begin(), ms.end()), 1)}};
}

Json RatioJson(const Ratio& r) {
  return Json{{"ok", r.ok}, {"total", r.total}, {"ratio", Round(r.Value(), 6)}};
}

std::optional<double> Since(Time event, Time at) {
  if (event < Time(0) || at < Time(0)) return std::nullopt;
  return (at - event).GetSeconds();
}

Json Optional(const std::optional<double>& v) {
  return v ? Json(Round(*v, 3)) : Json(nullptr);
}

// What a supernode dropped in its federation layers, by reason (the counters /metrics shows):
// the membership's datagram drops, the directory sync's refused payloads and full queue, the
// replica's lost presence changes; and the push batching at work. Empty when it has none.
Json FederationCounters(const qp2p::Supernode* node) {
  Json j = Json::object();
  if (!node || !node->federation() || !node->directory()) return j;
  const qp2p::federation::MembershipCounters& m = node->federation()->counters();
  j["datagrams_in"] = m.datagrams_in;
  j["dropped_rate_limited"] = m.dropped_rate_limited;
  j["dropped_truncated"] = m.dropped_truncated;
  j["dropped_bad_version"] = m.dropped_bad_version;
  j["dropped_wrong_network"] = m.dropped_wrong_network;
  j["dropped_unauthenticated"] = m.dropped_unauthenticated;
  j["dropped_malformed"] = m.dropped_malformed;
  j["dropped_replayed"] = m.dropped_replayed;
  j["dropped_too_old"] = m.dropped_too_old;
  j["dropped_clock_skew"] = m.dropped_clock_skew;
  j["dropped_misdirected"] = m.dropped_misdirected;
  j["dropped_from_self"] = m.dropped_from_self;
  j["dropped_bad_signature"] = m.dropped_bad_signature;
  j["dropped_table_full"] = m.dropped_table_full;
  j["dropped_payload_not_member"] = m.dropped_payload_not_member;
  j["payloads_unsent"] = node->counters().federation_payloads_unsent;
  const qp2p::federation::SyncCounters& sync = node->directory()->sync_counters();
  uint64_t malformed = 0;
  for (uint64_t c : sync.malformed) malformed += c;
  j["sync_malformed"] = malformed;
  j["sync_dropped_queue_full"] = sync.dropped_queue_full;
  j["records_rejected"] = sync.records_rejected;
  j["changes_dropped"] = node->directory()->replica().counters().changes_dropped;
  const qp2p::federation::DirectoryNodeCounters& d = node->directory()->counters();
  j["records_pushed"] = d.pushes;
  j["push_payloads"] = d.push_batches;
  j["rounds_started"] = d.rounds_started;
  j["catch_up_rounds"] = d.catch_up_rounds;
  j["catch_up_skipped"] = d.catch_up_skipped;
  j["round_buckets_requested"] = sync.round.buckets_requested;
  j["round_requests_timed_out"] = sync.round.requests_timed_out;
  j["round_buckets_given_up"] = sync.round.buckets_given_up;
  j["messages_held"] = node->counters().messages_held;
  return j;
}

double PeakRssMb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

}  // namespace

void FederationBed::Track(uint32_t peer, uint32_t seq, int32_t home) {
  Publish p;
  p.peer = peer;
  p.seq = seq;
  p.issued = Simulator::Now();
  p.home = home;
  p.duringPartition = m_partitioned;
  p.seenNs.assign(m_supernodes.size(), -1);
  const auto index = static_cast<uint32_t>(m_publishes.size());
  m_publishes.push_back(std::move(p));
  m_peers[peer].publishes.push_back(index);
  m_due.emplace(Simulator::Now(), std::make_pair(index, kMinCheck));
}

bool FederationBed::CheckPublish(uint32_t index, Time now) {
  Publish& p = m_publishes[index];
  bool all = true;
  for (uint32_t s = 0; s < m_supernodes.size(); ++s) {
    if (!m_live[s] || p.seenNs[s] >= 0) continue;
    const qp2p::Supernode* node = m_supernodes[s]->GetSupernode();
    const auto seq = node ? VisibleSeq(*node, m_peers[p.peer].id) : std::nullopt;
    if (seq && *seq >= p.seq) {
      p.seenNs[s] = (now - p.issued).GetNanoSeconds();
      ++m_traffic[s].recordsApplied;
    } else {
      all = false;
    }
  }
  p.done = all;
  return all;
}

void FederationBed::CheckVisibility() {
  const Time now = Simulator::Now();
  // Bounded: each pass handles only what is due; each entry is re-queued at least 10 ms later.
  while (!m_due.empty() && m_due.begin()->first <= now) {
    const uint32_t index = m_due.begin()->second.first;
    m_due.erase(m_due.begin());
    const Publish& p = m_publishes[index];
    if (p.withdrawn || CheckPublish(index, now)) continue;
    const Time next =
        std::clamp(NanoSeconds((now - p.issued).GetNanoSeconds() / 10), kMinCheck, kMaxCheck);
    m_due.emplace(now + next, std::make_pair(index, next));
  }
  Simulator::Schedule(kMinCheck, &FederationBed::CheckVisibility, this);
}

void FederationBed::FinalPass() {
  // One last look at everything still pending, at the end time.
  const Time now = Simulator::Now();
  for (const auto& [at, entry] : m_due) {
    if (!m_publishes[entry.first].withdrawn) CheckPublish(entry.first, now);
  }
  m_due.clear();
}

std::set<int32_t> FederationBed::LiveMembers(uint32_t s) const {
  std::set<int32_t> out;
  const qp2p::Supernode* node = m_supernodes[s]->GetSupernode();
  if (!node || !node->federation()) return out;
  for (const auto& entry : node->federation()->members()) {
    auto it = m_supernodeOfId.find(entry.id);
    out.insert(it == m_supernodeOfId.end() ? -1 : it->second);
  }
  return out;
}

bool FederationBed::MembershipConverged() const {
  std::set<int32_t> live;
  for (uint32_t s = 0; s < m_live.size(); ++s) {
    if (m_live[s]) live.insert(static_cast<int32_t>(s));
  }
  for (int32_t s : live) {
    if (LiveMembers(s) != live) return false;
  }
  return true;
}

void FederationBed::CheckMembership() {
  const Time now = Simulator::Now();
  const bool agreed = MembershipConverged();
  if (now >= Seconds(5)) {
    ++m_membershipSamples;
    m_membershipAgreed += agreed;
  }
  if (m_crashed >= 0) {
    const qp2p::PeerId crashedId = *qp2p::PeerId::parse(m_supernodes[m_crashed]->GetPeerId());
    bool anySuspects = false;
    bool allDropped = true;
    for (uint32_t s = 0; s < m_live.size(); ++s) {
      if (!m_live[s]) continue;
      const qp2p::Supernode* node = m_supernodes[s]->GetSupernode();
      const auto* member = node->federation()->table().find(crashedId);
      const bool up = member && member->up();
      allDropped = allDropped && !up;
      anySuspects = anySuspects || !up || member->entry.state == qp2p::federation::MemberState::kSuspect;
    }
    if (m_crashFirstSuspect < Time(0) && anySuspects) m_crashFirstSuspect = now;
    if (m_crashDetected < Time(0) && allDropped) {
      m_crashDetected = now;
      Log("every live supernode declared the crashed one dead");
    }
    if (m_crashConverged < Time(0) && agreed) m_crashConverged = now;
  }
  if (m_partitioned && m_partitionDetected < Time(0)) {
    bool split = true;
    for (uint32_t s = 0; s < m_live.size() && split; ++s) {
      if (!m_live[s]) continue;
      std::set<int32_t> half;
      for (uint32_t j = 0; j < m_live.size(); ++j) {
        if (m_live[j] && m_group[j] == m_group[s]) half.insert(static_cast<int32_t>(j));
      }
      split = LiveMembers(s) == half;
    }
    if (split) {
      m_partitionDetected = now;
      Log("each half sees only itself");
    }
  }
  if (m_healTime >= Time(0) && m_healConverged < Time(0) && agreed) {
    m_healConverged = now;
    Log("membership agrees again after the heal");
  }
  if (m_membershipSamples % kSizeSampleEvery == 0) {
    for (uint32_t s = 0; s < m_live.size(); ++s) {
      const qp2p::Supernode* node = m_supernodes[s]->GetSupernode();
      if (!m_live[s] || !node) continue;
      uint64_t size = 0;
      ViewDigest(*node, &size);
      m_traffic[s].maxDirectory = std::max(m_traffic[s].maxDirectory, size);
    }
  }
  Simulator::Schedule(MilliSeconds(100), &FederationBed::CheckMembership, this);
}

bool FederationBed::DirectoryConverged(bool missingAlways, uint64_t* missing, bool* equal) {
  *equal = true;
  std::optional<uint64_t> reference;
  for (uint32_t s = 0; s < m_live.size(); ++s) {
    const qp2p::Supernode* node = m_supernodes[s]->GetSupernode();
    if (!m_live[s] || !node) continue;
    uint64_t size = 0;
    const uint64_t digest = ViewDigest(*node, &size);
    if (!reference) reference = digest;
    *equal = *equal && digest == *reference;
  }
  *missing = 0;
  if (!*equal && !missingAlways) return false;
  for (const PeerState& peer : m_peers) {
    if (peer.gone || peer.home < 0) continue;
    for (uint32_t s = 0; s < m_live.size(); ++s) {
      const qp2p::Supernode* node = m_supernodes[s]->GetSupernode();
      if (!m_live[s] || !node) continue;
      const auto seq = VisibleSeq(*node, peer.id);
      *missing += !seq || *seq < peer.seq;
    }
  }
  return *equal && *missing == 0;
}

void FederationBed::CheckDirectory() {
  const Time now = Simulator::Now();
  uint64_t missing = 0;
  bool equal = false;
  // During a partition the halves cannot agree: wait for the heal.
  const bool crashWatch = m_watchDirectoryCrash && m_directoryAfterCrash < Time(0);
  const bool healWatch = m_watchDirectoryHeal && m_directoryAfterHeal < Time(0);
  if ((crashWatch || healWatch) && !m_partitioned && DirectoryConverged(false, &missing, &equal)) {
    if (crashWatch) m_directoryAfterCrash = now;
    if (healWatch) m_directoryAfterHeal = now;
    Log("every live supernode shows the same directory, complete");
  }
  Simulator::Schedule(MilliSeconds(500), &FederationBed::CheckDirectory, this);
}

bool FederationBed::LoggedInThroughout(uint32_t peer, Time from, Time to, int32_t* home) const {
  for (const Segment& s : m_peers[peer].segments) {
    if (s.start <= from && s.end >= to) {
      *home = s.home;
      return true;
    }
  }
  return false;
}

Time FederationBed::LoginTime(uint32_t peer, Time at) const {
  for (const Segment& s : m_peers[peer].segments) {
    if (s.start <= at && s.end >= at) return s.start;
  }
  return Time(-1);
}

bool FederationBed::MessageCounts(const Message& m) const {
  const Time end = m.sent + kMessageWindow;
  int32_t from = -1, to = -1;
  if (!LoggedInThroughout(m.from, m.sent, end, &from) ||
      !LoggedInThroughout(m.to, m.sent, end, &to)) {
    return false;
  }
  if (m_crashTime >= Time(0) && m_crashTime <= end && (from == m_crashed || to == m_crashed)) {
    return false;
  }
  // The halves stay apart after the heal until their supernodes know each other again:
  // membership agreed, then the catch-up round that brings the records written on the other
  // side (a peer that logged in there meanwhile is unknown, and refused as such, until then).
  const Time rejoined = m_healConverged >= Time(0) ? m_healConverged + kCatchUpAllowance
                                                   : Time::Max();
  const bool partitionOverlaps = m_partitionTime >= Time(0) && m_partitionTime <= end &&
                                 (m_healTime < Time(0) || rejoined >= m.sent);
  return !(partitionOverlaps && m_group[from] != m_group[to]);
}

Json FederationBed::SupernodeJson(FederationReport& report, double seconds) const {
  Json list = Json::array();
  for (uint32_t s = 0; s < m_supernodes.size(); ++s) {
    const Traffic& t = m_traffic[s];
    const qp2p::Supernode* node = m_supernodes[s]->GetSupernode();
    uint64_t size = 0;
    const uint64_t digest = node && m_live[s] ? ViewDigest(*node, &size) : 0;
    Json members = Json::array();
    if (m_live[s]) {
      for (int32_t m : LiveMembers(s)) members.push_back(m);
    }
    auto perSecond = [seconds](uint64_t bytes) { return Round(double(bytes) / seconds, 1); };
    list.push_back(Json{
        {"index", s},
        {"id", m_supernodes[s]->GetPeerId()},
        {"group", m_group[s]},
        {"live", bool(m_live[s])},
        {"control_bytes_per_s",
         Json{{"federation_in", perSecond(t.federationIn)},
              {"federation_out", perSecond(t.federationOut)},
              {"peers_in", perSecond(t.peersIn)},
              {"peers_out", perSecond(t.peersOut)},
              {"total", perSecond(t.federationIn + t.federationOut + t.peersIn + t.peersOut)}}},
        {"directory_size", size},
        {"directory_size_max", std::max(size, t.maxDirectory)},
        {"records_applied_per_s", Round(double(t.recordsApplied) / seconds, 3)},
        {"records_applied", t.recordsApplied},
        {"link_queue_drops", Json{{"sent", t.uplinkDrops}, {"received", t.downlinkDrops}}},
        {"online_peers", node ? node->online_peers() : 0},
        {"supernode_list_pushes", node ? node->counters().supernode_list_pushes : 0},
        {"digest", m_live[s] ? Json(digest) : Json(nullptr)},
        {"federation_counters", FederationCounters(node)},
        {"members", members}});
  }
  (void)report;
  return list;
}

Json FederationBed::NetworkJson(FederationReport& report) const {
  // Publishes.
  // partitionMs from the publish; healMs from the heal: how long the repair of what one half
  // wrote took to reach every supernode of the other.
  std::vector<double> homeMs, everywhereMs, partitionMs, healMs;
  uint64_t withdrawn = 0, tracked = 0, duringPartition = 0, duringPartitionVisible = 0;
  for (const Publish& p : m_publishes) {
    if (p.withdrawn) {
      ++withdrawn;
      continue;
    }
    ++tracked;
    const bool homeSeen = p.home >= 0 && p.seenNs[p.home] >= 0;
    // A publish at the supernode that later crashed is judged at the others.
    report.visibleAtHome.total += p.home >= 0 && m_live[p.home];
    report.visibleAtHome.ok += p.home >= 0 && m_live[p.home] && homeSeen;
    if (homeSeen) homeMs.push_back(double(p.seenNs[p.home]) / 1e6);
    int64_t last = 0;
    bool everywhere = true;
    for (uint32_t s = 0; s < m_supernodes.size(); ++s) {
      if (!m_live[s]) continue;
      everywhere = everywhere && p.seenNs[s] >= 0;
      last = std::max(last, p.seenNs[s]);
    }
    ++report.visibleEverywhere.total;
    report.visibleEverywhere.ok += everywhere;
    if (p.duringPartition) {
      ++duringPartition;
      duringPartitionVisible += everywhere;
      if (everywhere) partitionMs.push_back(double(last) / 1e6);
      if (everywhere && m_healTime >= Time(0))
        healMs.push_back((double((p.issued - m_healTime).GetNanoSeconds()) + double(last)) / 1e6);
    } else if (everywhere) {
      everywhereMs.push_back(double(last) / 1e6);
    }
  }
  // Messages.
  std::vector<double> latencyMs;
  uint64_t excluded = 0, reports = 0;
  Json lost = Json::array();  // counted and not delivered: the first few, to look into
  for (const Message& m : m_messages) {
    if (!MessageCounts(m)) {
      ++excluded;
      continue;
    }
    Ratio& r = m.sameSupernode ? report.deliveredSame : report.deliveredCross;
    ++r.total;
    const bool delivered = m.received >= Time(0);
    r.ok += delivered;
    if (!delivered && lost.size() < kMaxLostListed) {
      int32_t from = -1, to = -1;
      LoggedInThroughout(m.from, m.sent, m.sent, &from);
      LoggedInThroughout(m.to, m.sent, m.sent, &to);
      lost.push_back(Json{{"index", &m - m_messages.data()},
                          {"sent_s", Round(m.sent.GetSeconds(), 3)},
                          {"from_peer", m.from},
                          {"to_peer", m.to},
                          {"from_supernode", from},
                          {"to_supernode", to},
                          {"to_logged_in_s", Round(LoginTime(m.to, m.sent).GetSeconds(), 3)},
                          {"reported", m.reported},
                          {"refused", m.refused}});
    }
    reports += m.reported;
    if (delivered) latencyMs.push_back((m.received - m.sent).GetSeconds() * 1e3);
  }
  Ratio all{report.deliveredSame.ok + report.deliveredCross.ok,
            report.deliveredSame.total + report.deliveredCross.total};

  report.failureDetection = Since(m_crashTime, m_crashDetected);
  report.membershipAfterCrash = Since(m_crashTime, m_crashConverged);
  report.membershipAfterHeal = Since(m_healTime, m_healConverged);
  report.directoryAfterCrash = Since(m_crashTime, m_directoryAfterCrash);
  report.directoryAfterHeal = Since(m_healTime, m_directoryAfterHeal);

  // Federation counters over the supernodes: sum and the largest at one supernode.
  Json counters = Json::object();
  for (uint32_t s = 0; s < m_supernodes.size(); ++s) {
    const Json one = FederationCounters(m_supernodes[s]->GetSupernode());
    for (const auto& [name, value] : one.items()) {
      Json& c = counters[name];
      if (c.is_null()) c = Json{{"sum", 0}, {"max", 0}};
      const uint64_t v = value.get<uint64_t>();
      c["sum"] = c["sum"].get<uint64_t>() + v;
      c["max"] = std::max(c["max"].get<uint64_t>(), v);
    }
  }

  uint64_t uplinkDrops = 0, downlinkDrops = 0;
  for (const Traffic& t : m_traffic) {
    uplinkDrops += t.uplinkDrops;
    downlinkDrops += t.downlinkDrops;
  }

  return Json{
      {"link_queue_drops", Json{{"sent", uplinkDrops}, {"received", downlinkDrops}}},
      {"publishes",
       Json{{"tracked", tracked},
            {"withdrawn", withdrawn},
            {"skipped_offline", m_publishesSkipped},
            {"visible_at_home", RatioJson(report.visibleAtHome)},
            {"visible_everywhere", RatioJson(report.visibleEverywhere)},
            {"publish_to_visible_at_home_ms", Latency(homeMs)},
            {"publish_to_visible_everywhere_ms", Latency(everywhereMs)},
            {"during_partition",
             Json{{"published", duringPartition},
                  {"visible_everywhere", duringPartitionVisible},
                  {"publish_to_visible_everywhere_ms", Latency(partitionMs)},
                  {"heal_to_visible_everywhere_ms", Latency(healMs)}}}}},
      {"messages",
       Json{{"sent", m_messages.size()},
            {"excluded", excluded},
            {"same_supernode", RatioJson(report.deliveredSame)},
            {"cross_supernode", RatioJson(report.deliveredCross)},
            {"all", RatioJson(all)},
            {"delivery_reports", reports},
            {"lost", lost},
            {"latency_ms", Latency(latencyMs)}}},
      {"membership",
       Json{{"first_suspicion_s", Optional(Since(m_crashTime, m_crashFirstSuspect))},
            {"failure_detection_s", Optional(report.failureDetection)},
            {"convergence_after_crash_s", Optional(report.membershipAfterCrash)},
            {"partition_detected_s", Optional(Since(m_partitionTime, m_partitionDetected))},
            {"convergence_after_heal_s", Optional(report.membershipAfterHeal)},
            {"agreement_ratio",
             Round(m_membershipSamples ? double(m_membershipAgreed) / m_membershipSamples : 0.0,
                   4)}}},
      {"directory",
       Json{{"convergence_after_crash_s", Optional(report.directoryAfterCrash)},
            {"convergence_after_heal_s", Optional(report.directoryAfterHeal)},
            {"records_missing_at_end", report.recordsMissingAtEnd},
            {"digests_equal_at_end", report.digestsEqualAtEnd}}},
      {"federation_counters", counters}};
}

FederationReport FederationBed::Run() {
  const auto wallStart = std::chrono::steady_clock::now();
  Simulator::Stop(m_options.duration);
  Simulator::Run();
  FinalPass();
  FederationReport report;
  DirectoryConverged(true, &report.recordsMissingAtEnd, &report.digestsEqualAtEnd);
  for (bool live : m_live) report.liveSupernodes += live;
  const double seconds = Simulator::Now().GetSeconds();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wallStart).count();

  uint32_t online = 0;
  for (const PeerState& p : m_peers) online += !p.gone && p.home >= 0;
  Json config{{"supernodes", m_options.supernodes},
              {"peers", m_options.peers},
              {"hosts_per_nat", m_options.hostsPerNat},
              {"nat_sites", m_topology.nats.size()},
              {"churn", m_options.churn},
              {"publishes_per_peer", m_options.publishesPerPeer},
              {"login_spread_s", m_options.loginSpread.GetSeconds()},
              {"push_interval_ms", m_options.pushInterval.GetMilliSeconds()},
              {"duration_s", m_options.duration.GetSeconds()},
              {"quiet_s", m_options.quiet.GetSeconds()},
              {"crash_at_s", m_crashTime < Time(0) ? Json(nullptr) : Json(m_crashTime.GetSeconds())},
              {"crashed", m_crashed >= 0 ? Json(m_crashed) : Json(nullptr)},
              {"partition_at_s", Seconds3(m_partitionTime)},
              {"heal_at_s", Seconds3(m_healTime)},
              {"loss", m_options.loss},
              {"core_delay_ms", m_options.delay.GetMilliSeconds()},
              {"list_debounce_ms", m_options.listDebounce.GetMilliSeconds()},
              {"seed", RngSeedManager::GetSeed()},
              {"run", RngSeedManager::GetRun()},
              {"view", "Supernode::online_peer / for_each_online_peer"}};
  report.json["config"] = std::move(config);
  report.json["supernodes"] = SupernodeJson(report, seconds);
  report.json["network"] = NetworkJson(report);
  report.json["run"] = Json{{"online_peers_at_end", online},
                            {"live_supernodes", report.liveSupernodes},
                            {"nodes", NodeList::GetNNodes()},
                            {"simulated_seconds", Round(seconds, 3)},
                            {"wall_seconds", Round(wall, 3)},
                            {"peak_rss_mb", Round(PeakRssMb(), 1)}};
  return report;
}

FederationReport RunFederation(const FederationOptions& options) {
  FederationReport report;
  {
    FederationBed bed(options);
    bed.Build();
    bed.Schedule();
    report = bed.Run();
  }
  Simulator::Destroy();
  return report;
}

}  // namespace ns3
