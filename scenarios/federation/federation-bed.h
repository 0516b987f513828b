// Inside the federation scenario (federation-run.h): the test-bed (federation-bed.cc builds the
// topology and applications and schedules churn, publishes, messages, the crash and the
// partition) and its measurements (federation-measure.cc). Rules:
//
// - A publish is tracked from the moment it is issued (a peer's first record: from its first
//   registration, when its session publishes it) until every live supernode shows a record of
//   the peer with at least that fed.seq. Each tracked publish is checked on a schedule that backs
//   off with its age (every 10 ms at first, at most every second: the time resolution is 10 ms
//   or a tenth of the latency). "Home": the supernode the peer was logged into when it
//   published. A publish of a peer that leaves for good is withdrawn (not counted).
// - A message counts when both peers stay logged in at the same supernodes for the message
//   window after it is sent, neither supernode crashes in it, and no partition separates them
//   in it: from the split until membership agreed again after the heal and one second more
//   for the catch-up round (before, a peer that logged in on the other side meanwhile is
//   unknown to the sender's supernode, which refuses the message as "unknown or offline");
//   delivered when the target's session reports it (latency: send to receipt). Undelivered
//   ones are listed (the first 20) with the refusal reason, if any.
// - Membership: every 100 ms, each live supernode's live members (alive or suspect) against
//   the set of live supernodes; converged when all equal it.
// - Directory: every 500 ms after the crash and the heal until converged, and at the end: every
//   live supernode shows the same digest (federation-view.h) and the latest fed.seq of every
//   logged-in peer.
// - Traffic: bytes each supernode sent and received, federation (to and from other supernodes)
//   apart from its peers' control traffic.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ns3/address.h"
#include "ns3/nstime.h"
#include "ns3/ptr.h"
#include "scenarios/federation/federation-run.h"
#include "scenarios/federation/partition-error-model.h"
#include "sim/helper/topology-helper.h"
#include "sim/model/peer-application.h"
#include "sim/model/supernode-application.h"
#include "stack/core/random.h"

namespace ns3 {

class FederationBed {
 public:
  explicit FederationBed(const FederationOptions& options);
  void Build();
  void Schedule();
  FederationReport Run();
  // A datagram a supernode sent or received (its traces).
  void CountTraffic(uint32_t index, const Address& remote, uint32_t bytes, bool in);
  void CountLinkDrop(uint32_t index, bool uplink);

 private:
  struct Segment {  // a stretch of time a peer was logged in at one supernode
    Time start;
    Time end = Time::Max();
    int32_t home = -1;
  };
  struct PeerState {
    Ptr<PeerApplication> app;
    qp2p::PeerId id;
    std::string preset;
    int32_t home = -1;  // where logged in now (-1: nowhere)
    uint32_t seq = 0;   // its last fed.seq
    uint64_t version = 0;  // last record version the supernode confirmed
    bool lateJoin = false;
    bool leaves = false;
    bool gone = false;  // left for good
    std::vector<Segment> segments;
    std::vector<uint32_t> publishes;  // indices into m_publishes
  };
  struct Publish {
    uint32_t peer = 0;
    uint32_t seq = 0;
    Time issued;
    int32_t home = -1;
    bool duringPartition = false;
    bool withdrawn = false;
    bool done = false;
    std::vector<int64_t> seenNs;  // per supernode; -1: not yet
  };
  struct Message {
    uint32_t from = 0;
    uint32_t to = 0;
    Time sent;
    bool sameSupernode = false;
    Time received = Time(-1);
    bool reported = false;
    std::string refused;  // the sender's supernode refused it (its reason), e.g. target unknown
  };
  struct Traffic {
    uint64_t federationIn = 0, federationOut = 0, peersIn = 0, peersOut = 0;
    uint64_t recordsApplied = 0;  // tracked publishes that became visible here
    uint64_t maxDirectory = 0;
    // Datagrams the link's transmit queue dropped (full): on the supernode's side (sent) and on
    // the core's side towards it (to be received); a burst larger than the queue loses its tail.
    uint64_t uplinkDrops = 0, downlinkDrops = 0;
  };

  // federation-bed.cc
  void InstallSupernodes();
  void InstallPeers();
  // Counts what the transmit queues of each supernode's core link drop (Traffic).
  void WatchLinkQueues();
  void OnPeerEvent(uint32_t peer, const qp2p::PeerEvent& event);
  void PeerPublish(uint32_t peer);
  void PeerLeave(uint32_t peer);
  void SendRandomMessage(uint32_t index);
  void Crash();
  void SetPartition(bool active);
  int32_t SupernodeOf(const qp2p::Endpoint& endpoint) const;
  bool Separated(int32_t a, int32_t b) const;
  void Log(const std::string& what) const;

  // federation-measure.cc
  void Track(uint32_t peer, uint32_t seq, int32_t home);
  void CheckVisibility();
  // Looks for publish `index` at every live supernode it was not seen at; true when seen at all.
  bool CheckPublish(uint32_t index, Time now);
  void CheckMembership();
  void CheckDirectory();
  // Every live supernode shows the same digest and, when `missingAlways` or the digests agree,
  // how many (logged-in peer, live supernode) pairs lack the peer's latest fed.seq.
  bool DirectoryConverged(bool missingAlways, uint64_t* missing, bool* digestsEqual);
  std::set<int32_t> LiveMembers(uint32_t supernode) const;
  void FinalPass();
  bool MembershipConverged() const;
  bool MessageCounts(const Message& m) const;
  bool LoggedInThroughout(uint32_t peer, Time from, Time to, int32_t* home) const;
  // When the session the peer had at `at` began (-1: not logged in then).
  Time LoginTime(uint32_t peer, Time at) const;
  nlohmann::ordered_json SupernodeJson(FederationReport& report, double seconds) const;
  nlohmann::ordered_json NetworkJson(FederationReport& report) const;

  FederationOptions m_options;
  qp2p::Random m_random;
  Topology m_topology;
  std::vector<Ptr<SupernodeApplication>> m_supernodes;
  std::vector<bool> m_live;
  std::vector<int> m_group;  // 0 or 1: the partition's halves
  std::map<uint32_t, int32_t> m_supernodeOfAddress;  // primary and alternate address -> index
  std::map<qp2p::PeerId, int32_t> m_supernodeOfId;
  std::vector<Ptr<PartitionErrorModel>> m_partition;
  bool m_partitioned = false;
  int32_t m_crashed = -1;

  std::vector<PeerState> m_peers;
  std::map<qp2p::PeerId, uint32_t> m_peerOfId;
  std::vector<Publish> m_publishes;
  // Tracked publishes not yet visible everywhere, by next check time.
  std::multimap<Time, std::pair<uint32_t, Time>> m_due;  // time -> (publish, interval)
  std::vector<Message> m_messages;
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> m_messageOfRequest;  // (sender, request)
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> m_messageOfId;       // (sender, message id)
  std::vector<Traffic> m_traffic;
  uint64_t m_publishesSkipped = 0;  // the peer was not logged in at its publish time

  // Membership and directory convergence.
  Time m_crashTime = Time(-1), m_healTime = Time(-1), m_partitionTime = Time(-1);
  Time m_crashDetected = Time(-1), m_crashConverged = Time(-1), m_healConverged = Time(-1);
  Time m_partitionDetected = Time(-1);
  Time m_crashFirstSuspect = Time(-1);
  Time m_directoryAfterCrash = Time(-1), m_directoryAfterHeal = Time(-1);
  bool m_watchDirectoryCrash = false, m_watchDirectoryHeal = false;
  uint64_t m_membershipSamples = 0, m_membershipAgreed = 0;
};

}  // namespace ns3
