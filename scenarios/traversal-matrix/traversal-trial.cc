// One trial of the traversal matrix: see traversal-trial.h.
#include "traversal-trial.h"

#include <algorithm>
#include <optional>
#include <variant>

#include "ns3/boolean.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"
#include "sim/helper/qp2p-application-helper.h"
#include "sim/helper/topology-helper.h"
#include "sim/model/peer-application.h"
#include "stack/discovery/nat_discovery.h"
#include "stack/discovery/nat_profile.h"
#include "stack/tunnel/punch_planner.h"

namespace ns3 {

const char* ToString(TrialOutcome::Kind kind) {
  switch (kind) {
    case TrialOutcome::Kind::kDirect:
      return "direct";
    case TrialOutcome::Kind::kRelay:
      return "relay";
    case TrialOutcome::Kind::kNoDirectPath:
      return "no-direct-path";
    case TrialOutcome::Kind::kFailed:
      return "failed";
  }
  return "?";
}

namespace {

namespace ev = qp2p::peer_event;

// One way from a host of `preset` to the core router: its LAN (and the carrier access link of
// the cgnat chain) and its core link; an open host sits on the core link itself.
Time HostToCore(const std::string& preset, const TrialParameters& p) {
  if (preset == "open") return p.coreDelay;
  if (preset == "cgnat") return p.accessDelay * 2 + p.coreDelay;
  return p.accessDelay + p.coreDelay;
}

double TopologyRttMs(const PairSpec& pair, const TrialParameters& p) {
  const Time a = HostToCore(pair.a, p);
  const Time b = HostToCore(pair.b, p);
  const Time toSupernodeMean = (a + b) / 2 + p.coreDelay;  // supernode: one core link
  // Behind one NAT the hosts share a LAN (one hop); two open hosts meet at the core router.
  const Time peerToPeer = !pair.same_nat ? a + b : pair.a == "open" ? a + b : p.accessDelay;
  return (toSupernodeMean * 2 + peerToPeer * 2).GetSeconds() * 1000.0;
}

// "mapping/filtering/allocation" in RFC 4787's initials: "EI/APD/random".
std::string ShortProfile(const qp2p::NatProfile& p) {
  auto initials = [](qp2p::NatProfile::Behaviour b) -> std::string {
    switch (b) {
      case qp2p::NatProfile::Behaviour::kEndpointIndependent:
        return "EI";
      case qp2p::NatProfile::Behaviour::kAddressDependent:
        return "AD";
      case qp2p::NatProfile::Behaviour::kAddressAndPortDependent:
        return "APD";
      case qp2p::NatProfile::Behaviour::kUnknown:
        break;
    }
    return "?";
  };
  return initials(p.mapping) + "/" + initials(p.filtering) + "/" +
         std::string(qp2p::to_string(p.allocation));
}

// What the trial watched on one peer.
struct Side {
  Ptr<PeerApplication> app;
  std::string id;
  bool classified = false;
  bool ready = false;  // profile published (or discovery failed: the service plans without it)
  std::string discoveryFailure;
  std::string lastRequestFailure;  // the first request that failed (e.g. the profile's publish)
  std::string profile;             // what discovery found, ShortProfile
  std::optional<Time> established;
  std::string path;
  double tunnelRttMs = 0.0;
  std::string closed;  // TunnelClosed / TunnelRefused reason
  uint32_t received = 0;
  std::optional<bool> directFeasible;  // from PunchStarted
  std::string strategy;
};

class Trial {
 public:
  Trial(const PairSpec& pair, const TrialParameters& p) : m_pair(pair), m_p(p) {}

  TrialOutcome Run() {
    TopologyHelper builder;
    builder.SetDelaysAndLoss(m_p.coreDelay, m_p.accessDelay, m_p.loss);
    builder.AddSupernodes(1);
    if (m_pair.same_nat) {
      builder.AddNat(m_pair.a, 2);
    } else {
      builder.AddNat(m_pair.a, 1);
      builder.AddNat(m_pair.b, 1);
    }
    Topology topology = builder.Build();
    if (m_p.hostile) {
      for (const NatSite& site : topology.nats) {
        if (site.gateways.empty()) continue;
        qp2p::nat::NatBehaviour outer = site.gateways.front()->GetBehaviour();
        outer.icmp_on_unsolicited = true;
        site.gateways.front()->SetBehaviour(outer);
      }
    }
    Ptr<Node> hostA = topology.nats[0].hosts.Get(0);
    Ptr<Node> hostB =
        m_pair.same_nat ? topology.nats[0].hosts.Get(1) : topology.nats[1].hosts.Get(0);

    SupernodeHelper supernodes;
    // The relay fallback (TURN on the supernode's primary endpoint) for pairs without a direct
    // path.
    supernodes.SetAttribute("TurnSecret", StringValue("traversal-matrix"));
    supernodes.Install(topology.supernodes[0].node);
    PeerHelper peers(topology.SupernodeEndpoints());
    peers.SetAttribute("DiscoverySockets", UintegerValue(qp2p::kDefaultNatDiscoveryExtraSockets));
    peers.SetAttribute("OpeningChecks", BooleanValue(m_p.openingChecks));
    m_a.app = DynamicCast<PeerApplication>(peers.Install(hostA).Get(0));
    peers.SetAttribute("AutoAccept", BooleanValue(true));
    m_b.app = DynamicCast<PeerApplication>(peers.Install(hostB).Get(0));
    m_a.app->SetStartTime(MilliSeconds(100));
    m_b.app->SetStartTime(MilliSeconds(110));
    m_a.id = m_a.app->GetPeerId();
    m_b.id = m_b.app->GetPeerId();
    m_a.app->SetEventHook([this](const qp2p::PeerEvent& e) { OnEvent(m_a, e); });
    m_b.app->SetEventHook([this](const qp2p::PeerEvent& e) { OnEvent(m_b, e); });

    m_readyDeadline =
        Simulator::Schedule(m_p.readyTimeout, [this] { Finish("peers not ready in time"); });
    Simulator::Run();

    TrialOutcome out = Judge();
    out.rttMs = TopologyRttMs(m_pair, m_p);
    out.simulatedSeconds = Simulator::Now().GetSeconds();
    m_a.app = nullptr;
    m_b.app = nullptr;
    Simulator::Destroy();
    return out;
  }

 private:
  void OnEvent(Side& side, const qp2p::PeerEvent& event) {
    if (m_finished) return;
    if (auto* classified = std::get_if<ev::NatClassified>(&event)) {
      side.classified = true;
      side.profile = ShortProfile(classified->profile);
    } else if (auto* failed = std::get_if<ev::NatDiscoveryFailed>(&event)) {
      side.discoveryFailure = failed->reason;
      side.ready = true;
      MaybeConnect();
    } else if (std::holds_alternative<ev::Published>(event)) {
      // The publish that follows NatClassified carries the profile.
      if (side.classified && !side.ready) {
        side.ready = true;
        MaybeConnect();
      }
    } else if (auto* punch = std::get_if<ev::PunchStarted>(&event)) {
      side.directFeasible = punch->direct_feasible;
      side.strategy =
          punch->direct_feasible ? qp2p::tunnel::to_string(punch->plan.strategy) : "none (relay)";
    } else if (auto* up = std::get_if<ev::TunnelEstablished>(&event)) {
      if (!side.established) {
        side.established = Simulator::Now();
        side.path = qp2p::tunnel::to_string(up->path);
        side.tunnelRttMs = std::chrono::duration<double, std::milli>(up->rtt).count();
      }
      if (m_a.established && m_b.established && !m_dataScheduled) ScheduleData();
    } else if (std::holds_alternative<ev::TunnelData>(event)) {
      ++side.received;
      if (m_a.received >= m_p.dataMessages && m_b.received >= m_p.dataMessages) {
        Finish("");
      }
    } else if (auto* closed = std::get_if<ev::TunnelClosed>(&event)) {
      if (side.closed.empty()) side.closed = closed->reason;
      // Without a tunnel the trial is over once the attempt ended (the other side's end
      // arrives with it or not at all: it may never have heard of the request).
      if (!m_dataScheduled) FinishSoon();
    } else if (auto* refused = std::get_if<ev::TunnelRefused>(&event)) {
      side.closed = "refused: " + refused->reason;
      FinishSoon();
    } else if (auto* failed = std::get_if<ev::RequestFailed>(&event)) {
      if (failed->request != 0 && failed->request == m_connectRequest && &side == &m_a) {
        side.closed = "connect failed: " + failed->reason;
        // The service may have sent the plans even so (its answer to A was what got lost):
        // then the punch decides, within the tunnel deadline.
        if (!m_a.directFeasible) FinishSoon();
      } else if (side.lastRequestFailure.empty()) {
        side.lastRequestFailure = failed->command + ": " + failed->reason;
      }
    }
  }

  void MaybeConnect() {
    if (m_connectScheduled || !m_a.ready || !m_b.ready) return;
    m_connectScheduled = true;
    m_readyDeadline.Cancel();
    // Not from inside the peer's event drain: the next event at this instant.
    Simulator::ScheduleNow([this] {
      m_connectAt = Simulator::Now();
      m_connectRequest = m_a.app->Connect(m_b.id);
      m_tunnelDeadline = Simulator::Schedule(m_p.tunnelTimeout, [this] {
        Finish("no tunnel " + std::to_string(m_p.tunnelTimeout.GetSeconds()) +
               " s after the request");
      });
    });
  }

  void ScheduleData() {
    m_dataScheduled = true;
    m_tunnelDeadline.Cancel();
    SendData(0);
  }

  // One datagram each way every dataInterval: dataMessages of them, then more while a direction
  // has received none (up to maxDataMessages). Lost datagrams are not resent: what arrived is
  // judged one second after the last one left.
  void SendData(uint32_t i) {
    if (m_finished) return;
    m_a.app->TunnelSend(m_b.id, "a->b " + std::to_string(i));
    m_b.app->TunnelSend(m_a.id, "b->a " + std::to_string(i));
    const bool silentDirection = m_a.received == 0 || m_b.received == 0;
    if (i + 1 < m_p.dataMessages || (silentDirection && i + 1 < m_p.maxDataMessages)) {
      Simulator::Schedule(m_p.dataInterval, [this, i] { SendData(i + 1); });
    } else {
      m_dataSent = i + 1;
      Simulator::Schedule(Seconds(1), [this] { Finish(""); });
    }
  }

  // A grace for the other side's last events (its TunnelClosed): short once both sides ended;
  // otherwise as long as the supernode re-sends its punch-start (a tunnel push: 10.75 s), so
  // a side whose first copies were lost still learns its plan (e.g. that direct is infeasible).
  void FinishSoon() {
    if (!m_a.closed.empty() && !m_b.closed.empty()) {
      Simulator::Schedule(MilliSeconds(500), [this] { Finish(""); });
      return;
    }
    if (m_finishScheduled) return;
    m_finishScheduled = true;
    Simulator::Schedule(Seconds(11), [this] { Finish(""); });
  }

  void Finish(const std::string& why) {
    if (m_finished) return;
    m_finished = true;
    m_finishReason = why;
    Simulator::Stop();
  }

  TrialOutcome Judge() const {
    TrialOutcome out;
    out.strategy = m_a.strategy;
    out.dataAtoB = m_b.received;
    out.dataBtoA = m_a.received;
    out.tunnelRttMs = m_a.tunnelRttMs;
    if (m_a.established && m_b.established) {
      out.setupMs =
          (std::max(*m_a.established, *m_b.established) - m_connectAt).GetSeconds() * 1000.0;
      if (out.dataAtoB == 0 || out.dataBtoA == 0) {
        out.failure = "tunnel up but no data " +
                      std::string(out.dataAtoB == 0 ? "a->b" : "b->a") + " (of " +
                      std::to_string(m_dataSent) + " sent each way)";
        return out;
      }
      out.kind = m_a.path == "direct" && m_b.path == "direct" ? TrialOutcome::Kind::kDirect
                                                              : TrialOutcome::Kind::kRelay;
      return out;
    }
    std::string why;
    if (!m_connectScheduled) {
      why = m_finishReason;
      for (const Side* s : {&m_a, &m_b}) {
        why +=
            std::string(s == &m_a ? "; a: " : "; b: ") +
            (s->ready                             ? "ready"
             : !s->app || !s->app->IsRegistered() ? "not registered"
             : !s->discoveryFailure.empty()       ? s->discoveryFailure
             : s->classified ? "profile not published" + (s->lastRequestFailure.empty()
                                                              ? std::string()
                                                              : " (" + s->lastRequestFailure + ")")
                             : "discovery not finished");
      }
    } else {
      why = !m_a.closed.empty()   ? "a: " + m_a.closed
            : !m_b.closed.empty() ? "b: " + m_b.closed
            : m_a.established     ? "only a established"
            : m_b.established     ? "only b established"
                                  : m_finishReason;
      // The profiles the plan came from (a profile misread under loss misleads the planner).
      why += " [profiles a " + (m_a.profile.empty() ? "-" : m_a.profile) + ", b " +
             (m_b.profile.empty() ? "-" : m_b.profile) + "]";
      // Which side never received the service's plan (its push lost beyond the retries).
      if (!m_a.directFeasible || !m_b.directFeasible) {
        why += std::string(" [no plan at ") +
               (!m_a.directFeasible && !m_b.directFeasible ? "a and b"
                : !m_a.directFeasible                      ? "a"
                                                           : "b") +
               "]";
      }
    }
    out.failure = why;
    if (m_a.directFeasible && !*m_a.directFeasible) {
      out.kind = TrialOutcome::Kind::kNoDirectPath;
    }
    return out;
  }

  const PairSpec& m_pair;
  const TrialParameters& m_p;
  Side m_a;
  Side m_b;
  bool m_connectScheduled = false;
  bool m_dataScheduled = false;
  uint32_t m_dataSent = 0;  // datagrams sent each way when the last one left
  bool m_finishScheduled = false;
  bool m_finished = false;
  std::string m_finishReason;
  Time m_connectAt;
  uint64_t m_connectRequest = 0;
  EventId m_readyDeadline;
  EventId m_tunnelDeadline;
};

}  // namespace

TrialOutcome RunTrial(const PairSpec& pair, uint64_t run, const TrialParameters& parameters) {
  RngSeedManager::SetRun(run);
  Trial trial(pair, parameters);
  return trial.Run();
}

}  // namespace ns3
