// Scenario `federation` (issue 5): do many supernodes act as one? In ns-3, S supernodes federated
// by a network secret and two seeds, P peers behind a mix of NAT presets, churn, one supernode
// crash and one partition of the supernodes into two halves that later heals (federation-run.h
// has the run, federation-bed.h the measurement rules).
//
//   federation-scenario [--supernodes=4] [--peers=48] [--hosts-per-nat=2] [--churn=0.1]
//                       [--publishes=2] [--messages=0] [--login-spread=5s]
//                       [--push-interval=50ms] [--duration=100s] [--quiet=20s]
//                       [--crash-at=20s] [--partition-at=45s] [--heal-at=60s] [--loss=0]
//                       [--delay=10ms] [--json=federation.json] [--require-network]
//                       [--trace] [--RngRun=1] [--RngSeed=1]
//
// --crash-at=0 (no crash) and --partition-at=0 (no partition) switch those off.
//
// Output: one row per supernode (control bytes per second, federation and peers apart;
// directory size; records applied per second; the members it sees), then the network figures:
// publish-to-visible at the publishing supernode and at every supernode (p50/p99), message
// delivery on one supernode and across supernodes with latency, failure detection and
// membership convergence after the crash and the heal, directory convergence and the digests at
// the end. JSON (--json): {"config":{..},"supernodes":[..],"network":{"publishes":..,
// "messages":..,"membership":..,"directory":..},"run":{"wall_seconds":..,"peak_rss_mb":..}}.
//
// Exit status 1 when what one supernode guarantees fails: a publish not visible at the
// supernode it was made at, a message between two peers on one supernode not delivered, or the
// membership not converging after the crash or the heal. With --require-network also when a
// network-wide figure falls short (a record not visible everywhere, a message across
// supernodes lost, digests unequal at the end).
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "ns3/command-line.h"
#include "ns3/rng-seed-manager.h"
#include "scenarios/federation/federation-run.h"

using namespace ns3;
using Json = nlohmann::ordered_json;

namespace {

std::string Pct(const Json& ratio) {
  std::ostringstream os;
  os << ratio["ok"].get<uint64_t>() << "/" << ratio["total"].get<uint64_t>() << " ("
     << std::fixed << std::setprecision(1) << ratio["ratio"].get<double>() * 100 << "%)";
  return os.str();
}

std::string Ms(const Json& latency) {
  if (latency["p50"].is_null()) return "-";
  std::ostringstream os;
  os << "p50 " << latency["p50"].get<double>() << " ms, p99 " << latency["p99"].get<double>()
     << " ms";
  return os.str();
}

std::string Sec(const Json& v) {
  if (v.is_null()) return "never";
  std::ostringstream os;
  os << v.get<double>() << " s";
  return os.str();
}

void PrintTable(const FederationReport& report) {
  const Json& j = report.json;
  const Json& c = j["config"];
  std::cout << "federation: " << c["supernodes"] << " supernodes, " << c["peers"] << " peers ("
            << c["nat_sites"] << " NAT sites), churn " << c["churn"] << ", crash at "
            << (c["crash_at_s"].is_null() ? "-" : c["crash_at_s"].dump()) << " s, partition "
            << (c["partition_at_s"].is_null() ? "-" : c["partition_at_s"].dump() + "-" +
                                                          c["heal_at_s"].dump())
            << " s, loss " << c["loss"] << ", seed " << c["seed"] << " run " << c["run"] << "\n";
  std::cout << std::left << std::setw(10) << "supernode" << std::setw(6) << "half" << std::setw(6)
            << "live" << std::right << std::setw(12) << "fed in B/s" << std::setw(13)
            << "fed out B/s" << std::setw(14) << "peers in B/s" << std::setw(15)
            << "peers out B/s" << std::setw(11) << "directory" << std::setw(6) << "max"
            << std::setw(11) << "records/s" << "  members\n";
  for (const Json& s : j["supernodes"]) {
    const Json& b = s["control_bytes_per_s"];
    // The member list while it is short, else how many it has.
    std::string members;
    for (const Json& m : s["members"]) members += (members.empty() ? "" : ",") + m.dump();
    if (s["members"].size() > 8) members = std::to_string(s["members"].size()) + " members";
    std::cout << std::left << std::setw(10) << s["index"].get<int>() << std::setw(6)
              << s["group"].get<int>() << std::setw(6) << (s["live"].get<bool>() ? "yes" : "no")
              << std::right << std::fixed << std::setprecision(0) << std::setw(12)
              << b["federation_in"].get<double>() << std::setw(13)
              << b["federation_out"].get<double>() << std::setw(14) << b["peers_in"].get<double>()
              << std::setw(15) << b["peers_out"].get<double>() << std::setw(11)
              << s["directory_size"].get<uint64_t>() << std::setw(6)
              << s["directory_size_max"].get<uint64_t>() << std::setprecision(2) << std::setw(11)
              << s["records_applied_per_s"].get<double>() << "  " << (members.empty() ? "-" : members)
              << "\n";
  }
  std::cout.unsetf(std::ios::fixed);
  std::cout << std::setprecision(6);
  const Json& n = j["network"];
  const Json& p = n["publishes"];
  const Json& m = n["messages"];
  const Json& mem = n["membership"];
  const Json& d = n["directory"];
  std::cout << std::left;
  std::cout << "  publish -> visible at its supernode     " << std::setw(22)
            << Pct(p["visible_at_home"]) << Ms(p["publish_to_visible_at_home_ms"]) << "\n";
  std::cout << "  publish -> visible at every supernode   " << std::setw(22)
            << Pct(p["visible_everywhere"]) << Ms(p["publish_to_visible_everywhere_ms"])
            << "  (outside the partition)\n";
  std::cout << "  published during the partition          " << p["during_partition"]["published"]
            << ", visible everywhere at the end: " << p["during_partition"]["visible_everywhere"];
  if (const Json& h = p["during_partition"]["heal_to_visible_everywhere_ms"]; !h["p50"].is_null())
    std::cout << "; after the heal p50 " << h["p50"] << " ms, p99 " << h["p99"] << " ms, max "
              << h["max"] << " ms";
  std::cout << "\n";
  std::cout << "  messages on one supernode               " << Pct(m["same_supernode"]) << "\n";
  std::cout << "  messages across supernodes              " << Pct(m["cross_supernode"]) << "\n";
  std::cout << "  message latency (delivered ones)        " << Ms(m["latency_ms"]) << "; "
            << m["excluded"] << " of " << m["sent"]
            << " not counted (a peer left, crashed or partitioned away)\n";
  std::cout << "  crash: first suspicion " << Sec(mem["first_suspicion_s"])
            << ", declared dead everywhere " << Sec(mem["failure_detection_s"])
            << ", membership converged " << Sec(mem["convergence_after_crash_s"]) << "\n";
  std::cout << "  partition: halves apart " << Sec(mem["partition_detected_s"])
            << "; after the heal membership converged " << Sec(mem["convergence_after_heal_s"])
            << "; agreement " << mem["agreement_ratio"].get<double>() * 100 << "% of samples\n";
  std::cout << "  directory converged after crash " << Sec(d["convergence_after_crash_s"])
            << ", after heal " << Sec(d["convergence_after_heal_s"]) << "; at the end digests "
            << (d["digests_equal_at_end"].get<bool>() ? "equal" : "differ") << ", "
            << d["records_missing_at_end"] << " (peer, supernode) records missing\n";
  uint64_t listPushes = 0;
  for (const Json& s : j["supernodes"]) listPushes += s["supernode_list_pushes"].get<uint64_t>();
  std::cout << "  supernode-list pushes to peers          " << listPushes << " (logins and "
            << "membership changes, debounced " << c["list_debounce_ms"] << " ms)\n";
  const Json& fc = n["federation_counters"];
  if (!fc.empty()) {
    // Drops (sum over supernodes / most at one), then how pushes were batched.
    auto count = [&fc](const char* name) {
      return fc[name]["sum"].dump() + "/" + fc[name]["max"].dump();
    };
    std::cout << "  federation drops (sum/max): rate-limited " << count("dropped_rate_limited")
              << ", other membership "
              << fc["dropped_truncated"]["sum"].get<uint64_t>() +
                     fc["dropped_bad_version"]["sum"].get<uint64_t>() +
                     fc["dropped_wrong_network"]["sum"].get<uint64_t>() +
                     fc["dropped_unauthenticated"]["sum"].get<uint64_t>() +
                     fc["dropped_malformed"]["sum"].get<uint64_t>() +
                     fc["dropped_replayed"]["sum"].get<uint64_t>() +
                     fc["dropped_too_old"]["sum"].get<uint64_t>() +
                     fc["dropped_clock_skew"]["sum"].get<uint64_t>() +
                     fc["dropped_misdirected"]["sum"].get<uint64_t>() +
                     fc["dropped_from_self"]["sum"].get<uint64_t>() +
                     fc["dropped_bad_signature"]["sum"].get<uint64_t>() +
                     fc["dropped_table_full"]["sum"].get<uint64_t>() +
                     fc["dropped_payload_not_member"]["sum"].get<uint64_t>()
              << ", unsent " << count("payloads_unsent") << ", sync queue full "
              << count("sync_dropped_queue_full") << ", sync malformed " << count("sync_malformed")
              << ", presence changes " << count("changes_dropped") << "\n";
    std::cout << "  pushes: " << fc["records_pushed"]["sum"] << " records in "
              << fc["push_payloads"]["sum"] << " payloads; federation datagrams in "
              << fc["datagrams_in"]["sum"] << " (most at one supernode "
              << fc["datagrams_in"]["max"] << ")\n";
    std::cout << "  anti-entropy: " << fc["rounds_started"]["sum"] << " rounds ("
              << fc["catch_up_rounds"]["sum"] << " catch-up, " << fc["catch_up_skipped"]["sum"]
              << " catch-up skipped); " << fc["round_buckets_requested"]["sum"]
              << " bucket requests, " << fc["round_requests_timed_out"]["sum"] << " timed out, "
              << fc["round_buckets_given_up"]["sum"] << " given up; "
              << fc["messages_held"]["sum"] << " messages held for a peer not yet known\n";
  }
  std::cout << "  supernode link queue drops: " << n["link_queue_drops"]["sent"] << " sent, "
            << n["link_queue_drops"]["received"] << " to be received\n";
  const Json& r = j["run"];
  std::cout << "wall " << r["wall_seconds"] << " s, peak RSS " << r["peak_rss_mb"]
            << " MB, simulated " << r["simulated_seconds"] << " s, " << r["nodes"] << " nodes, "
            << r["online_peers_at_end"] << " peers online at the end\n";
}

}  // namespace

int main(int argc, char* argv[]) {
  FederationOptions o;
  std::string jsonPath = "federation.json";
  bool requireNetwork = false;
  CommandLine cmd(__FILE__);
  cmd.Usage("Federated supernodes under churn, a crash and a partition; prints per-supernode "
            "load and network-wide visibility, delivery and convergence, writes JSON.");
  cmd.AddValue("supernodes", "Number of supernodes", o.supernodes);
  cmd.AddValue("peers", "Number of peers", o.peers);
  cmd.AddValue("hosts-per-nat", "Peers behind one NAT site", o.hostsPerNat);
  cmd.AddValue("churn", "Fraction of peers joining late, and as many leaving", o.churn);
  cmd.AddValue("publishes", "Record updates per peer", o.publishesPerPeer);
  cmd.AddValue("messages", "Instant messages in all (0: one per peer)", o.messages);
  cmd.AddValue("login-spread", "Initial peers' logins spread over this, from 1 s",
               o.loginSpread);
  cmd.AddValue("push-interval",
               "Directory push batching: one non-full push per member this often (0: none)",
               o.pushInterval);
  cmd.AddValue("duration", "Simulated time", o.duration);
  cmd.AddValue("quiet", "Quiet end: nothing new starts", o.quiet);
  cmd.AddValue("crash-at", "When the last supernode crashes (0: never)", o.crashAt);
  cmd.AddValue("partition-at", "When the supernodes split in two halves (0: never)",
               o.partitionAt);
  cmd.AddValue("heal-at", "When the partition heals", o.healAt);
  cmd.AddValue("loss", "Packet loss probability on every receiving device", o.loss);
  cmd.AddValue("delay", "One-way delay of every core link", o.delay);
  cmd.AddValue("json", "Where to write the results", jsonPath);
  cmd.AddValue("require-network", "Exit 1 also when a network-wide figure falls short",
               requireNetwork);
  cmd.AddValue("trace", "Print crash, partition and convergence moments", o.trace);
  cmd.AddValue("list-debounce",
               "Membership changes within this window reach peers in one supernode-list push",
               o.listDebounce);
  cmd.Parse(argc, argv);
  if (o.supernodes == 0 || o.peers < 2 || o.quiet + Seconds(15) >= o.duration ||
      o.loginSpread.IsNegative() || o.quiet < Seconds(10) ||
      (!o.partitionAt.IsZero() && (o.healAt <= o.partitionAt || o.healAt >= o.duration))) {
    std::cerr << "federation: need supernodes >= 1, peers >= 2, login-spread >= 0, "
                 "quiet >= 10 s, duration > quiet + 15 s, partition-at < heal-at < duration\n";
    return 2;
  }

  const FederationReport report = RunFederation(o);
  PrintTable(report);
  std::ofstream file(jsonPath);
  file << report.json.dump(1) << "\n";
  if (!file) {
    std::cerr << "federation: cannot write " << jsonPath << "\n";
    return 2;
  }
  std::cout << "results: " << jsonPath << "\n";

  const bool crashOk = o.crashAt.IsZero() || o.supernodes < 2 || report.membershipAfterCrash;
  const bool healOk = o.partitionAt.IsZero() || o.supernodes < 2 || report.membershipAfterHeal;
  const bool local =
      report.visibleAtHome.All() && report.deliveredSame.All() && crashOk && healOk;
  const bool network = report.visibleEverywhere.All() && report.deliveredCross.All() &&
                       report.digestsEqualAtEnd && report.recordsMissingAtEnd == 0;
  if (!network) {
    std::cout << "network-wide: FAILED: not every record visible everywhere, message delivered "
                 "across supernodes, or digest equal at the end (see the lines above)\n";
  }
  return local && (network || !requireNetwork) ? 0 : 1;
}
