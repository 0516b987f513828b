// The emulation test-bed: network namespaces, veths, a bridge and nftables NAT gateways built
// with `ip` and `nft` (bounded commands, command_runner.h), so the real qp2p-supernode and
// qp2p-peer binaries run behind real Linux NATs. Addresses from the benchmarking range only:
//
//   core namespace      bridge br0, the "Internet": 198.18.0.0/16 on one link, and its one
//                       router 198.18.255.254 (every core node has a /32 and a default route
//                       via it, so site to site is one routed hop that decrements the TTL)
//   supernode k         198.18.0.(2k+1) on its veth, 198.18.0.(2k+2) on lo (two public
//                       addresses for RFC 5780; the bridge answers ARP for both)
//   site i, "open"      its host(s) directly on the core: 198.18.2.(i*8+j)
//   site i, one NAT     gateway wan 198.18.1.i, lan 198.19.i.1/24; hosts 198.19.i.(j+2)
//   site i, cgnat       carrier wan 198.18.1.i, lan 100.64.i.1/24 (RFC 6598 shared space);
//                       home gateway wan 100.64.i.2, lan 198.19.i.1/24; hosts behind home
//
// Gateways get their ruleset from nat_rules.h, built from the nat-models preset of the site
// (nat/nat_behaviour.h), so the ns-3 models and the real NATs start from one description.
// Every namespace name starts with the run prefix ("qp2p-<pid>-"); teardown() (also run by the
// destructor) kills what runs in them and deletes every namespace carrying the prefix, so a
// failed build or an interrupt leaves nothing behind. Nothing is created in the caller's own
// namespace: veths are made directly inside their namespaces, nft tables live in them.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nat-models/nat_behaviour.h"
#include "tests/apps/process_helper.h"

namespace qp2p::emu {

// Not root, no `ip netns`, no nft: the environment cannot host the test-bed (callers skip).
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SiteSpec {
  std::string preset;  // nat::preset_names() or nat::chain_preset_names()
  int hosts = 1;
  std::optional<bool> hairpin;  // override the preset's (outermost NAT's) hairpinning
  bool hostile = false;         // outermost gateway answers unsolicited UDP with ICMP
};

struct TopologySpec {
  int supernodes = 1;
  std::vector<SiteSpec> sites;
  int loss_percent = 0;  // random UDP loss on every gateway's forward path
  // Every gateway answers NAT-PMP external address requests (emu-natpmp), as the ns-3
  // NatGateway does by default: how discovery counts NAT levels.
  bool nat_pmp = true;
  std::string tool_dir;  // where emu-natpmp is; empty: this build tree
};

struct Host {
  std::string netns;
  std::string address;
  std::string gateway;  // its default gateway ("" for an open host)
};

struct Site {
  std::string preset;
  // Outermost first (the carrier of cgnat), with the behaviour each one was configured with.
  std::vector<std::string> gateway_netns;
  std::vector<nat::NatBehaviour> gateways;
  std::string public_address;  // the outermost gateway's wan address (the host's for "open")
  std::vector<Host> hosts;
};

struct SupernodeNode {
  std::string netns;
  std::string primary;    // IPv4 address on its veth
  std::string alternate;  // second IPv4 address, on lo
};

class Topology {
 public:
  // "qp2p-<pid>-": unique per process on this machine.
  static std::string default_prefix();
  // Throws Unavailable when not root or without network namespaces / nft.
  static void check_environment();

  // Builds everything in `spec`; on any failure tears down what was made and throws
  // std::runtime_error naming the command and its output.
  Topology(const TopologySpec& spec, std::string prefix = default_prefix());
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  const std::string& prefix() const { return prefix_; }
  const std::vector<SupernodeNode>& supernodes() const { return supernodes_; }
  const std::vector<Site>& sites() const { return sites_; }

  // `program args...` inside `netns` (via `ip netns exec`), as a ChildProcess.
  test::ChildProcess spawn_in(const std::string& netns, const std::string& program,
                              const std::vector<std::string>& args,
                              test::ChildProcess::Options options = {}) const;

  // A human description: one line per node with its addresses.
  std::string describe() const;

  // Kills every process in our namespaces and deletes every namespace with our prefix.
  // Idempotent; returns the problems met (empty when clean).
  std::vector<std::string> teardown();

  // The same for any prefix (e.g. a run that was SIGKILLed): deletes namespaces named
  // prefix*, killing what runs in them. Returns the names removed.
  static std::vector<std::string> remove_by_prefix(const std::string& prefix,
                                                   std::vector<std::string>* problems = nullptr);
  // Namespaces currently named prefix*.
  static std::vector<std::string> list_namespaces(const std::string& prefix);

 private:
  void build(const TopologySpec& spec);
  void add_netns(const std::string& name);
  void ip(const std::string& netns, const std::vector<std::string>& args);
  void exec(const std::string& netns, const std::vector<std::string>& argv,
            const std::string& input = {});
  // A veth from `netns`/`ifname` to the core bridge (core side named `core_ifname`).
  void attach_to_core(const std::string& netns, const std::string& ifname,
                      const std::string& core_ifname);
  // A veth pair between two namespaces.
  void link(const std::string& ns_a, const std::string& if_a, const std::string& ns_b,
            const std::string& if_b);
  void base_sysctls(const std::string& netns, bool forwarding);
  // A forwarding namespace with an empty bridge "lan"; its wan veth is added by the caller.
  void add_gateway_netns(const std::string& netns);
  void configure_gateway(Site& site, const nat::NatBehaviour& behaviour, const std::string& netns,
                         const std::string& wan_address, const std::string& wan_cidr,
                         const std::string& lan_cidr, const std::string& default_via,
                         int loss_percent);
  void start_nat_pmp(const std::string& netns, const std::string& lan_address,
                     const std::string& wan_address);

  std::string prefix_;
  std::string core_;
  std::vector<std::string> namespaces_;  // in creation order
  std::vector<SupernodeNode> supernodes_;
  std::vector<Site> sites_;
  std::vector<test::ChildProcess> daemons_;  // emu-natpmp per gateway
  bool nat_pmp_ = true;
  std::string tool_dir_;
  bool torn_down_ = false;
};

}  // namespace qp2p::emu
