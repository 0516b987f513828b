// The federation scenario's test-bed (federation-bed.h): topology, applications, and the
// scheduled churn, publishes, messages, crash and partition; peers' events kept for the
// measurements (federation-measure.cc).
#include "scenarios/federation/federation-bed.h"

#include <algorithm>
#include <iostream>

#include "nat-models/nat_behaviour.h"
#include "ns3/boolean.h"
#include "ns3/channel.h"
#include "ns3/node.h"
#include "ns3/point-to-point-net-device.h"
#include "ns3/queue.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "scenarios/federation/federation-view.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/model/qp2p-sim-utils.h"

namespace ns3 {

namespace {

// Before this, supernodes federate and peers log in: no churn, crash, publish or message.
const Time kWarmup = Seconds(5);
// Messages are sent only this long before the quiet end, and judged over this window.
const Time kMessageWindow = Seconds(10);

void OnSupernodeRx(FederationBed* bed, uint32_t index, Ptr<const Packet> p, const Address& from,
                   const Address& to);
void OnSupernodeTx(FederationBed* bed, uint32_t index, Ptr<const Packet> p, const Address& from,
                   const Address& to);
void OnLinkDrop(FederationBed* bed, uint32_t index, bool uplink, Ptr<const Packet>) {
  bed->CountLinkDrop(index, uplink);
}

}  // namespace

FederationBed::FederationBed(const FederationOptions& options)
    : m_options(options),
      m_random(qp2p::Random::from_u64(DeriveSeed(0, 0, Qp2pSeedRole::kPeer, 0xFEDu))) {}

void FederationBed::Log(const std::string& what) const {
  if (m_options.trace) {
    std::cout << "  [" << Simulator::Now().GetSeconds() << " s] " << what << "\n";
  }
}

void FederationBed::Build() {
  TopologyHelper builder;
  builder.SetDelaysAndLoss(m_options.delay, MilliSeconds(1), m_options.loss);
  builder.AddSupernodes(m_options.supernodes);
  std::vector<std::string> presets;
  for (auto n : qp2p::nat::preset_names()) presets.emplace_back(n);
  for (auto n : qp2p::nat::chain_preset_names()) presets.emplace_back(n);
  const uint32_t perSite = std::max<uint32_t>(1, m_options.hostsPerNat);
  for (uint32_t placed = 0, site = 0; placed < m_options.peers; ++site) {
    const uint32_t hosts = std::min(perSite, m_options.peers - placed);
    builder.AddNat(presets[site % presets.size()], hosts);
    placed += hosts;
  }
  m_topology = builder.Build();

  const uint32_t s = m_options.supernodes;
  m_live.assign(s, true);
  m_traffic.assign(s, Traffic{});
  for (uint32_t i = 0; i < s; ++i) {
    m_group.push_back(i < s / 2 ? 0 : 1);
    m_supernodeOfAddress[m_topology.supernodes[i].primary.Get()] = i;
    m_supernodeOfAddress[m_topology.supernodes[i].alternate.Get()] = i;
  }
  if (!m_options.partitionAt.IsZero() && s >= 2) {
    for (uint32_t i = 0; i < s; ++i) {
      // Device 0 is the loopback; 1 the link to the core.
      Ptr<PartitionErrorModel> model =
          PartitionErrorModel::Install(m_topology.supernodes[i].node->GetDevice(1));
      for (uint32_t j = 0; j < s; ++j) {
        if (m_group[j] != m_group[i]) {
          model->Block(m_topology.supernodes[j].primary);
          model->Block(m_topology.supernodes[j].alternate);
        }
      }
      m_partition.push_back(model);
    }
  }
  InstallSupernodes();
  InstallPeers();
  WatchLinkQueues();
}

void FederationBed::WatchLinkQueues() {
  for (uint32_t i = 0; i < m_topology.supernodes.size(); ++i) {
    // Device 0 is the loopback; 1 the link to the core.
    Ptr<NetDevice> uplink = m_topology.supernodes[i].node->GetDevice(1);
    Ptr<Channel> channel = uplink->GetChannel();
    for (std::size_t d = 0; d < channel->GetNDevices(); ++d) {
      auto device = DynamicCast<PointToPointNetDevice>(channel->GetDevice(d));
      if (!device) continue;
      const bool up = device == uplink;
      device->GetQueue()->TraceConnectWithoutContext(
          "Drop", MakeBoundCallback(&OnLinkDrop, this, i, up));
    }
  }
}

void FederationBed::CountLinkDrop(uint32_t index, bool uplink) {
  ++(uplink ? m_traffic[index].uplinkDrops : m_traffic[index].downlinkDrops);
}

void FederationBed::InstallSupernodes() {
  SupernodeHelper helper;
  helper.SetAttribute("NetworkSecret", StringValue(m_options.networkSecret));
  helper.SetAttribute("SupernodeListDebounce", TimeValue(m_options.listDebounce));
  helper.SetAttribute("PushInterval", TimeValue(m_options.pushInterval));
  // Two seeds, as an operator would configure: every supernode knows the first two.
  std::string seeds;
  for (uint32_t i = 0; i < std::min<uint32_t>(2, m_options.supernodes); ++i) {
    seeds += (seeds.empty() ? "" : ",") +
             ToEndpoint(m_topology.supernodes[i].primary, 3478).to_string();
  }
  helper.SetAttribute("Seeds", StringValue(seeds));
  for (uint32_t i = 0; i < m_options.supernodes; ++i) {
    auto app = DynamicCast<SupernodeApplication>(
        helper.Install(m_topology.supernodes[i].node).Get(0));
    app->SetStartTime(MilliSeconds(10) * i);
    app->TraceConnectWithoutContext("RxWithAddresses", MakeBoundCallback(&OnSupernodeRx, this, i));
    app->TraceConnectWithoutContext("TxWithAddresses", MakeBoundCallback(&OnSupernodeTx, this, i));
    m_supernodes.push_back(app);
  }
}

void FederationBed::InstallPeers() {
  const uint32_t p = m_options.peers;
  const uint32_t s = m_options.supernodes;
  const std::vector<InetSocketAddress> endpoints = m_topology.SupernodeEndpoints();
  // Churn: a random permutation; the first ones log in late, the next ones leave.
  std::vector<uint32_t> order(p);
  for (uint32_t i = 0; i < p; ++i) order[i] = i;
  for (uint32_t i = p; i > 1; --i) std::swap(order[i - 1], order[m_random.uniform(i)]);
  const auto churners = static_cast<uint32_t>(m_options.churn * p);
  const uint32_t lateJoiners = std::min(churners, p / 2);
  const uint32_t leavers = std::min(churners, p - lateJoiners);

  const Time churnSpan = m_options.duration - m_options.quiet - kWarmup;
  auto randomTime = [&]() {
    return kWarmup + NanoSeconds(static_cast<int64_t>(
                         m_random.uniform(static_cast<uint64_t>(churnSpan.GetNanoSeconds()))));
  };
  m_peers.resize(p);
  for (uint32_t k = 0; k < lateJoiners; ++k) m_peers[order[k]].lateJoin = true;
  for (uint32_t k = 0; k < leavers; ++k) m_peers[order[lateJoiners + k]].leaves = true;

  PeerHelper helper;
  uint32_t k = 0;
  for (const NatSite& site : m_topology.nats) {
    for (uint32_t h = 0; h < site.hosts.GetN(); ++h, ++k) {
      PeerState& peer = m_peers[k];
      peer.preset = site.preset;
      // Its own supernode first, then the others in order: where it fails over to.
      std::vector<InetSocketAddress> list;
      for (uint32_t j = 0; j < s; ++j) list.push_back(endpoints[(k + j) % s]);
      helper.SetSupernodes(list);
      helper.SetAttribute("Metadata", StringValue(std::string(kFederationSeqKey) +
                                                  "=0,fed.preset=" + site.preset));
      // Half the leavers vanish without a logout: their supernode expires them.
      helper.SetAttribute("LogoutOnStop", BooleanValue(!(peer.leaves && k % 2 == 1)));
      peer.app = DynamicCast<PeerApplication>(helper.Install(site.hosts.Get(h)).Get(0));
      peer.id = *qp2p::PeerId::parse(peer.app->GetPeerId());
      m_peerOfId[peer.id] = k;
      peer.app->SetStartTime(peer.lateJoin ? randomTime()
                                           : Seconds(1) + m_options.loginSpread * (double(k) / p));
      if (peer.leaves) {
        const Time at = randomTime();
        peer.app->SetStopTime(at);
        Simulator::Schedule(at, &FederationBed::PeerLeave, this, k);
      }
      peer.app->SetEventHook([this, k](const qp2p::PeerEvent& e) { OnPeerEvent(k, e); });
    }
  }
}

void FederationBed::Schedule() {
  const Time end = m_options.duration - m_options.quiet;
  const Time span = end - kWarmup;
  auto randomTime = [&](Time within) {
    return kWarmup + NanoSeconds(static_cast<int64_t>(
                         m_random.uniform(static_cast<uint64_t>(within.GetNanoSeconds()))));
  };
  for (uint32_t k = 0; k < m_options.peers; ++k) {
    for (uint32_t n = 0; n < m_options.publishesPerPeer; ++n) {
      Simulator::Schedule(randomTime(span), &FederationBed::PeerPublish, this, k);
    }
  }
  const uint32_t messages = m_options.messages ? m_options.messages : m_options.peers;
  std::vector<Time> times;
  for (uint32_t i = 0; i < messages; ++i) times.push_back(randomTime(span - kMessageWindow));
  std::sort(times.begin(), times.end());
  for (uint32_t i = 0; i < messages; ++i) {
    Simulator::Schedule(times[i], &FederationBed::SendRandomMessage, this, i);
  }
  if (!m_options.crashAt.IsZero() && m_options.supernodes >= 2) {
    m_supernodes.back()->SetStopTime(m_options.crashAt);
    Simulator::Schedule(m_options.crashAt, &FederationBed::Crash, this);
  }
  if (!m_partition.empty()) {
    Simulator::Schedule(m_options.partitionAt, &FederationBed::SetPartition, this, true);
    Simulator::Schedule(m_options.healAt, &FederationBed::SetPartition, this, false);
  }
  // The supernodes' ids, once they exist (all started within the first second).
  Simulator::Schedule(Seconds(1), [this] {
    for (uint32_t i = 0; i < m_supernodes.size(); ++i) {
      m_supernodeOfId[*qp2p::PeerId::parse(m_supernodes[i]->GetPeerId())] = i;
    }
  });
  Simulator::Schedule(MilliSeconds(10), &FederationBed::CheckVisibility, this);
  Simulator::Schedule(MilliSeconds(100), &FederationBed::CheckMembership, this);
  Simulator::Schedule(MilliSeconds(500), &FederationBed::CheckDirectory, this);
}

int32_t FederationBed::SupernodeOf(const qp2p::Endpoint& endpoint) const {
  auto it = m_supernodeOfAddress.find(ToIpv4Address(endpoint.address).Get());
  return it == m_supernodeOfAddress.end() ? -1 : it->second;
}

bool FederationBed::Separated(int32_t a, int32_t b) const {
  return m_partitioned && a >= 0 && b >= 0 && m_group[a] != m_group[b];
}

void FederationBed::OnPeerEvent(uint32_t k, const qp2p::PeerEvent& event) {
  namespace ev = qp2p::peer_event;
  PeerState& peer = m_peers[k];
  const Time now = Simulator::Now();
  if (auto* r = std::get_if<ev::Registered>(&event)) {
    const bool first = peer.segments.empty();
    if (!peer.segments.empty() && peer.segments.back().end == Time::Max()) {
      peer.segments.back().end = now;  // logged in elsewhere without a Disconnected
    }
    peer.home = SupernodeOf(r->supernode_endpoint);
    peer.segments.push_back(Segment{now, Time::Max(), peer.home});
    if (first) Track(k, 0, peer.home);  // the session publishes its record now
  } else if (std::get_if<ev::Disconnected>(&event)) {
    if (!peer.segments.empty() && peer.segments.back().end == Time::Max()) {
      peer.segments.back().end = now;
    }
    peer.home = -1;
  } else if (auto* p = std::get_if<ev::Published>(&event)) {
    peer.version = std::max(peer.version, p->version);
  } else if (auto* m = std::get_if<ev::MessageReceived>(&event)) {
    constexpr std::string_view kPrefix = "fed-msg ";
    if (m->text.compare(0, kPrefix.size(), kPrefix) == 0) {
      const auto index = std::stoul(m->text.substr(kPrefix.size()));
      if (index < m_messages.size() && m_messages[index].received < Time(0)) {
        m_messages[index].received = now;
      }
    }
  } else if (auto* a = std::get_if<ev::MessageAccepted>(&event)) {
    m_messageOfId[{k, a->message_id}] = m_messageOfRequest[{k, a->request}];
  } else if (auto* f = std::get_if<ev::RequestFailed>(&event)) {
    auto it = m_messageOfRequest.find({k, f->request});
    if (it != m_messageOfRequest.end()) m_messages[it->second].refused = f->reason;
  } else if (auto* d = std::get_if<ev::Delivered>(&event)) {
    auto it = m_messageOfId.find({k, d->message_id});
    if (it != m_messageOfId.end()) m_messages[it->second].reported = true;
  }
}

void FederationBed::PeerPublish(uint32_t k) {
  PeerState& peer = m_peers[k];
  if (peer.gone || peer.home < 0 || !peer.app->IsRegistered()) {
    ++m_publishesSkipped;
    return;
  }
  ++peer.seq;
  peer.app->Publish(std::string(kFederationSeqKey) + "=" + std::to_string(peer.seq));
  Track(k, peer.seq, peer.home);
}

void FederationBed::PeerLeave(uint32_t k) {
  PeerState& peer = m_peers[k];
  peer.gone = true;
  if (!peer.segments.empty() && peer.segments.back().end == Time::Max()) {
    peer.segments.back().end = Simulator::Now();
  }
  peer.home = -1;
  for (uint32_t index : peer.publishes) {
    if (!m_publishes[index].done) m_publishes[index].withdrawn = true;
  }
}

void FederationBed::SendRandomMessage(uint32_t index) {
  // Even messages go to a peer on the sender's supernode, odd ones to a peer on another.
  const bool same = index % 2 == 0;
  std::vector<uint32_t> online;
  for (uint32_t k = 0; k < m_peers.size(); ++k) {
    if (!m_peers[k].gone && m_peers[k].home >= 0) online.push_back(k);
  }
  if (online.size() < 2) return;
  const uint32_t from = online[m_random.uniform(online.size())];
  std::vector<uint32_t> targets;
  for (uint32_t k : online) {
    if (k != from && (m_peers[k].home == m_peers[from].home) == same) targets.push_back(k);
  }
  if (targets.empty()) return;
  const uint32_t to = targets[m_random.uniform(targets.size())];
  Message m;
  m.from = from;
  m.to = to;
  m.sent = Simulator::Now();
  m.sameSupernode = same;
  m_messages.push_back(m);
  const uint64_t request = m_peers[from].app->SendMessage(
      m_peers[to].id.to_string(), "fed-msg " + std::to_string(m_messages.size() - 1));
  m_messageOfRequest[{from, request}] = static_cast<uint32_t>(m_messages.size() - 1);
}

void FederationBed::Crash() {
  m_crashed = static_cast<int32_t>(m_supernodes.size() - 1);
  m_live[m_crashed] = false;
  m_crashTime = Simulator::Now();
  m_watchDirectoryCrash = true;
  Log("supernode " + std::to_string(m_crashed) + " crashes");
}

void FederationBed::SetPartition(bool active) {
  for (auto& model : m_partition) model->SetActive(active);
  m_partitioned = active;
  if (active) {
    m_partitionTime = Simulator::Now();
    Log("partition: supernodes split in two halves");
  } else {
    m_healTime = Simulator::Now();
    m_watchDirectoryHeal = true;
    Log("partition heals");
  }
}

void FederationBed::CountTraffic(uint32_t index, const Address& remote, uint32_t bytes,
                                 bool in) {
  const bool federation =
      InetSocketAddress::IsMatchingType(remote) &&
      m_supernodeOfAddress.count(InetSocketAddress::ConvertFrom(remote).GetIpv4().Get()) != 0;
  Traffic& t = m_traffic[index];
  (federation ? (in ? t.federationIn : t.federationOut) : (in ? t.peersIn : t.peersOut)) += bytes;
}

namespace {

void OnSupernodeRx(FederationBed* bed, uint32_t index, Ptr<const Packet> p, const Address& from,
                   const Address&) {
  bed->CountTraffic(index, from, p->GetSize(), true);
}

void OnSupernodeTx(FederationBed* bed, uint32_t index, Ptr<const Packet> p, const Address&,
                   const Address& to) {
  bed->CountTraffic(index, to, p->GetSize(), false);
}

}  // namespace

}  // namespace ns3
