// RFC 5780 NAT behaviour discovery (stack/discovery/nat_discovery.h) as an ns-3 Application:
// one qp2p::NatDiscovery driven over several UDP sockets (S0 plus ExtraSockets) by one
// SansIoSocketAdapter, against a supernode's primary STUN endpoint. It runs once, from
// StartApplication, and reports the NatProfile in RFC 4787 terms.
//
// Attributes: Server ("IP:PORT", the supernode's primary STUN endpoint), LocalAddress (0.0.0.0:
// the node's first address), ExtraSockets (>= 1; the default, kDefaultNatDiscoveryExtraSockets
// = 5, lets allocation be told behind an endpoint-independent NAT), NatPmp (ask the default gateway for its external address, RFC
// 6886, to count NAT levels; default on), Gateway (0.0.0.0: the next hop of the node's default
// route), Seed (0: from RngSeedManager seed/run and the node id).
// Trace sources: Completed (NatProfile::describe() line), Failed (reason).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ns3/application.h"
#include "ns3/ipv4-address.h"
#include "ns3/traced-callback.h"
#include "stack/discovery/nat_profile.h"

namespace qp2p {
class NatDiscovery;
}  // namespace qp2p

namespace ns3 {

class SansIoSocketAdapter;

class NatDiscoveryApplication : public Application {
 public:
  static TypeId GetTypeId();
  NatDiscoveryApplication();
  ~NatDiscoveryApplication() override;

  typedef void (*CompletedTracedCallback)(const std::string& profile);
  typedef void (*FailedTracedCallback)(const std::string& reason);

  // The result, once discovery completed.
  const std::optional<qp2p::NatProfile>& GetProfile() const { return m_profile; }
  bool IsFinished() const { return m_finished; }
  // Why discovery failed (empty unless it did).
  const std::string& GetFailure() const { return m_failure; }
  // One line per probe, answer and conclusion (NatDiscovery::transcript()).
  std::vector<std::string> GetTranscript() const;

 protected:
  void DoDispose() override;

 private:
  void StartApplication() override;
  void StopApplication() override;
  void DrainEvents();

  std::string m_server;
  Ipv4Address m_localAddress;
  uint32_t m_extraSockets = 0;  // set from the attribute
  uint64_t m_seed = 0;
  bool m_natPmp = true;
  Ipv4Address m_gateway;

  std::unique_ptr<qp2p::NatDiscovery> m_discovery;
  std::unique_ptr<SansIoSocketAdapter> m_adapter;
  std::optional<qp2p::NatProfile> m_profile;
  bool m_finished = false;
  std::string m_failure;

  TracedCallback<const std::string&> m_completedTrace;
  TracedCallback<const std::string&> m_failedTrace;
};

}  // namespace ns3
