// Building and removing the emulation test-bed (see emu_topology.h for the address plan).
#include "scenarios/emulation/emu_topology.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "scenarios/emulation/command_runner.h"
#include "scenarios/emulation/nat_rules.h"

namespace qp2p::emu {
namespace {

constexpr int kMaxSites = 250;       // 198.18.1.i and 198.19.i.0/24, i in 1..250
// The core router's address on br0 (attach_to_core), outside every node's range.
constexpr const char* kCoreRouter = "198.18.255.254";
constexpr int kMaxHostsPerSite = 8;  // open hosts: 198.18.2.(i*8+j) must stay below 256*8
constexpr int kMaxSupernodes = 8;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string open_host_address(int site, int host) {
  const int n = site * kMaxHostsPerSite + host;
  return "198.18." + std::to_string(2 + n / 256) + "." + std::to_string(n % 256);
}

}  // namespace

std::string Topology::default_prefix() { return "qp2p-" + std::to_string(::getpid()) + "-"; }

void Topology::check_environment() {
  if (::geteuid() != 0) {
    throw Unavailable(
        "the emulation test-bed needs root (network namespaces, veths and nftables); "
        "run it as root or with sudo");
  }
  for (const char* tool : {"ip", "nft"}) {
    if (!test::find_program(tool)) {
      throw Unavailable(std::string("'") + tool +
                        "' is not installed (Debian packages iproute2 and nftables)");
    }
  }
  // A throw-away namespace proves that this kernel and container allow them.
  const std::string probe = default_prefix() + "probe";
  auto added = run_command({"ip", "netns", "add", probe});
  if (!added.ok()) {
    throw Unavailable(
        "network namespaces are unavailable here ('ip netns add' failed: " + added.output + ")");
  }
  auto nft = run_command({"ip", "netns", "exec", probe, "nft", "list", "tables"});
  run_command({"ip", "netns", "del", probe});
  if (!nft.ok()) {
    throw Unavailable("nftables does not work in a network namespace: " + nft.output);
  }
}

Topology::Topology(const TopologySpec& spec, std::string prefix) : prefix_(std::move(prefix)) {
  core_ = prefix_ + "core";
  try {
    build(spec);
  } catch (...) {
    teardown();
    throw;
  }
}

Topology::~Topology() { teardown(); }

void Topology::exec(const std::string& netns, const std::vector<std::string>& argv,
                    const std::string& input) {
  std::vector<std::string> full = {"ip", "netns", "exec", netns};
  full.insert(full.end(), argv.begin(), argv.end());
  auto r = run_command(full, input);
  if (!r.ok()) {
    throw std::runtime_error("emulation: '" + join(full) + "' failed (exit " +
                             std::to_string(r.exit_code) + (r.timed_out ? ", timed out" : "") +
                             "): " + r.output);
  }
}

void Topology::ip(const std::string& netns, const std::vector<std::string>& args) {
  std::vector<std::string> full = {"ip"};
  if (!netns.empty()) full.insert(full.end(), {"-n", netns});
  full.insert(full.end(), args.begin(), args.end());
  auto r = run_command(full);
  if (!r.ok()) {
    throw std::runtime_error("emulation: '" + join(full) + "' failed (exit " +
                             std::to_string(r.exit_code) + "): " + r.output);
  }
}

void Topology::add_netns(const std::string& name) {
  if (interrupted()) throw std::runtime_error("emulation: interrupted while building");
  ip("", {"netns", "add", name});
  namespaces_.push_back(name);
  ip(name, {"link", "set", "lo", "up"});
}

void Topology::base_sysctls(const std::string& netns, bool forwarding) {
  // -e: keys this kernel lacks (bridge netfilter without br_netfilter) are not errors.
  exec(netns, {"sysctl", "-q", "-e", "-w", "net.ipv6.conf.all.disable_ipv6=1", "-w",
               "net.ipv6.conf.default.disable_ipv6=1", "-w",
               std::string("net.ipv4.ip_forward=") + (forwarding ? "1" : "0")});
}

void Topology::attach_to_core(const std::string& netns, const std::string& ifname,
                              const std::string& core_ifname) {
  ip("", {"link", "add", core_ifname, "netns", core_, "type", "veth", "peer", "name", ifname,
          "netns", netns});
  ip(core_, {"link", "set", core_ifname, "master", "br0", "up"});
  ip(netns, {"link", "set", ifname, "up"});
  // Everything off this node's own networks goes to the core router, as on the Internet: a
  // datagram to another site's private address then leaves through the NAT (taking a mapping,
  // as a real home router's would) and dies on the core instead of failing to route in the
  // gateway (port prediction against a sequential NAT counts on those mappings); and between
  // two sites there is one router that decrements the TTL, so a hole-punching opening check
  // (stack/tunnel/hole_punch.h) expires there instead of reaching the far gateway. The node's
  // own core address is a /32: nothing on the bridge is on-link for it.
  ip(netns, {"route", "add", "default", "via", kCoreRouter, "dev", ifname, "onlink"});
}

void Topology::link(const std::string& ns_a, const std::string& if_a, const std::string& ns_b,
                    const std::string& if_b) {
  ip("", {"link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b, "netns", ns_b});
  ip(ns_a, {"link", "set", if_a, "up"});
  ip(ns_b, {"link", "set", if_b, "up"});
}

void Topology::add_gateway_netns(const std::string& netns) {
  add_netns(netns);
  base_sysctls(netns, true);
  exec(netns, {"sysctl", "-q", "-e", "-w", "net.bridge.bridge-nf-call-iptables=0"});
  ip(netns, {"link", "add", "lan", "type", "bridge"});
  ip(netns, {"link", "set", "lan", "up"});
}

void Topology::configure_gateway(Site& site, const nat::NatBehaviour& behaviour,
                                 const std::string& netns, const std::string& wan_address,
                                 const std::string& wan_cidr, const std::string& lan_cidr,
                                 const std::string& default_via, int loss_percent) {
  ip(netns, {"addr", "add", wan_cidr, "dev", "wan"});
  ip(netns, {"addr", "add", lan_cidr, "dev", "lan"});
  if (!default_via.empty()) ip(netns, {"route", "add", "default", "via", default_via});
  GatewayRules rules;
  rules.behaviour = behaviour;
  rules.wan_address = wan_address;
  rules.loss_percent = loss_percent;
  exec(netns, {"nft", "-f", "-"}, gateway_ruleset(rules));
  if (nat_pmp_) {
    start_nat_pmp(netns, lan_cidr.substr(0, lan_cidr.find('/')), wan_address);
  }
  site.gateway_netns.push_back(netns);
  site.gateways.push_back(behaviour);
}

void Topology::start_nat_pmp(const std::string& netns, const std::string& lan_address,
                             const std::string& wan_address) {
  const std::string dir = tool_dir_.empty() ? std::string(EMU_TOOL_DIR) : tool_dir_;
  test::ChildProcess::Options options;
  options.stderr_mode = test::ChildProcess::Stderr::kInherit;
  daemons_.push_back(spawn_in(netns, dir + "/emu-natpmp",
                              {"--listen", lan_address, "--external", wan_address}, options));
}

void Topology::build(const TopologySpec& spec) {
  nat_pmp_ = spec.nat_pmp;
  tool_dir_ = spec.tool_dir;
  if (spec.supernodes < 1 || spec.supernodes > kMaxSupernodes) {
    throw std::invalid_argument("emulation: 1.." + std::to_string(kMaxSupernodes) + " supernodes");
  }
  if (spec.sites.size() > static_cast<std::size_t>(kMaxSites)) {
    throw std::invalid_argument("emulation: at most " + std::to_string(kMaxSites) + " sites");
  }
  if (spec.loss_percent < 0 || spec.loss_percent > 100) {
    throw std::invalid_argument("emulation: loss must be 0..100 percent");
  }
  // Validate every preset before creating anything.
  for (const SiteSpec& s : spec.sites) {
    if (!nat::preset(s.preset) && !nat::chain_preset(s.preset)) {
      throw std::invalid_argument("emulation: unknown NAT preset '" + s.preset + "'");
    }
    if (s.hosts < 1 || s.hosts > kMaxHostsPerSite) {
      throw std::invalid_argument("emulation: 1.." + std::to_string(kMaxHostsPerSite) +
                                  " hosts per site");
    }
  }

  add_netns(core_);
  base_sysctls(core_, true);
  // New namespaces start with bridge-nf-call-iptables = 1 (DESIGN.md): bridged frames would
  // otherwise meet the IP hooks of the core namespace.
  exec(core_, {"sysctl", "-q", "-e", "-w", "net.bridge.bridge-nf-call-iptables=0", "-w",
               "net.bridge.bridge-nf-call-ip6tables=0"});
  // The core is also the Internet's one router (attach_to_core): it forwards between the nodes
  // of the bridge, back out of br0, without ICMP redirects (a redirected node would send to
  // its peer directly and skip the router's TTL decrement).
  exec(core_, {"sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=0", "-w",
               "net.ipv4.conf.default.send_redirects=0"});
  ip(core_, {"link", "add", "br0", "type", "bridge"});
  ip(core_, {"addr", "add", std::string(kCoreRouter) + "/16", "dev", "br0"});
  ip(core_, {"link", "set", "br0", "up"});

  for (int k = 0; k < spec.supernodes; ++k) {
    SupernodeNode sn;
    sn.netns = prefix_ + "sn" + std::to_string(k);
    sn.primary = "198.18.0." + std::to_string(2 * k + 1);
    sn.alternate = "198.18.0." + std::to_string(2 * k + 2);
    add_netns(sn.netns);
    base_sysctls(sn.netns, false);
    attach_to_core(sn.netns, "eth0", "sn" + std::to_string(k));
    ip(sn.netns, {"addr", "add", sn.primary + "/32", "dev", "eth0"});
    ip(sn.netns, {"addr", "add", sn.alternate + "/32", "dev", "lo"});
    supernodes_.push_back(sn);
  }

  for (std::size_t n = 0; n < spec.sites.size(); ++n) {
    const SiteSpec& s = spec.sites[n];
    const int i = static_cast<int>(n) + 1;
    const std::string is = std::to_string(i);
    Site site;
    site.preset = s.preset;
    const auto single = nat::preset(s.preset);
    if (single && !single->translating) {
      // Open: public hosts on the core itself.
      for (int j = 0; j < s.hosts; ++j) {
        Host h;
        h.netns = prefix_ + "h" + is + "-" + std::to_string(j);
        h.address = open_host_address(i, j);
        add_netns(h.netns);
        base_sysctls(h.netns, false);
        attach_to_core(h.netns, "eth0", "h" + is + "-" + std::to_string(j));
        ip(h.netns, {"addr", "add", h.address + "/32", "dev", "eth0"});
        site.hosts.push_back(h);
      }
      site.public_address = site.hosts.front().address;
      sites_.push_back(std::move(site));
      continue;
    }

    const std::string wan = "198.18.1." + is;
    const std::string outer_ns = prefix_ + "g" + is;
    const std::string lan_gateway = "198.19." + is + ".1";
    std::string hosts_behind = outer_ns;  // the gateway whose lan the hosts join
    if (single) {
      nat::NatBehaviour b = *single;
      if (s.hairpin) b.hairpinning = *s.hairpin;
      b.icmp_on_unsolicited = s.hostile;
      add_gateway_netns(outer_ns);
      attach_to_core(outer_ns, "wan", "g" + is);
      configure_gateway(site, b, outer_ns, wan, wan + "/32", lan_gateway + "/24", "",
                        spec.loss_percent);
    } else {
      // cgnat: the carrier faces the core, the home gateway sits on the carrier's lan.
      nat::NatChainPreset chain = *nat::chain_preset(s.preset);
      if (s.hairpin) chain.carrier.hairpinning = *s.hairpin;
      chain.carrier.icmp_on_unsolicited = s.hostile;
      const std::string home_ns = outer_ns + "h";
      const std::string carrier_lan = "100.64." + is + ".1";
      const std::string home_wan = "100.64." + is + ".2";
      add_gateway_netns(outer_ns);
      attach_to_core(outer_ns, "wan", "g" + is);
      configure_gateway(site, chain.carrier, outer_ns, wan, wan + "/32", carrier_lan + "/24", "",
                        spec.loss_percent);
      add_gateway_netns(home_ns);
      link(home_ns, "wan", outer_ns, "home");
      ip(outer_ns, {"link", "set", "home", "master", "lan"});
      configure_gateway(site, chain.home, home_ns, home_wan, home_wan + "/24", lan_gateway + "/24",
                        carrier_lan, 0);
      hosts_behind = home_ns;
    }
    site.public_address = wan;
    for (int j = 0; j < s.hosts; ++j) {
      Host h;
      h.netns = prefix_ + "h" + is + "-" + std::to_string(j);
      h.address = "198.19." + is + "." + std::to_string(j + 2);
      h.gateway = lan_gateway;
      add_netns(h.netns);
      base_sysctls(h.netns, false);
      const std::string lan_port = "h" + std::to_string(j);
      link(h.netns, "eth0", hosts_behind, lan_port);
      ip(hosts_behind, {"link", "set", lan_port, "master", "lan"});
      ip(h.netns, {"addr", "add", h.address + "/24", "dev", "eth0"});
      ip(h.netns, {"route", "add", "default", "via", h.gateway});
      site.hosts.push_back(h);
    }
    sites_.push_back(std::move(site));
  }
}

std::vector<std::string> Topology::list_namespaces(const std::string& prefix) {
  std::vector<std::string> out;
  auto r = run_command({"ip", "netns", "list"});
  for (const auto& line : lines_of(r.output)) {
    const std::string name = line.substr(0, line.find(' '));  // "name (id: 3)"
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

std::vector<std::string> Topology::remove_by_prefix(const std::string& prefix,
                                                    std::vector<std::string>* problems) {
  std::vector<std::string> removed;
  if (prefix.empty()) return removed;  // never everything
  for (const std::string& ns : list_namespaces(prefix)) {
    auto pids = run_command({"ip", "netns", "pids", ns});
    for (const auto& line : lines_of(pids.output)) {
      const long pid = std::strtol(line.c_str(), nullptr, 10);
      if (pid > 1 && pid != ::getpid()) ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
    auto del = run_command({"ip", "netns", "del", ns});
    if (del.ok()) {
      removed.push_back(ns);
    } else if (problems) {
      problems->push_back("ip netns del " + ns + ": " + del.output);
    }
  }
  return removed;
}

std::vector<std::string> Topology::teardown() {
  std::vector<std::string> problems;
  if (torn_down_) return problems;
  torn_down_ = true;
  for (auto& d : daemons_) d.stop(std::chrono::seconds(1));
  daemons_.clear();
  remove_by_prefix(prefix_, &problems);
  namespaces_.clear();
  return problems;
}

test::ChildProcess Topology::spawn_in(const std::string& netns, const std::string& program,
                                      const std::vector<std::string>& args,
                                      test::ChildProcess::Options options) const {
  std::vector<std::string> full = {"netns", "exec", netns, program};
  full.insert(full.end(), args.begin(), args.end());
  return test::ChildProcess::spawn("ip", full, std::move(options));
}

std::string Topology::describe() const {
  std::ostringstream os;
  os << "emulation " << prefix_ << ": core " << core_ << " (bridge br0, 198.18.0.0/16, router "
     << kCoreRouter << ")\n";
  for (const auto& sn : supernodes_) {
    os << "  supernode " << sn.netns << "  " << sn.primary << " + " << sn.alternate << "\n";
  }
  for (const auto& site : sites_) {
    os << "  site " << site.preset << "  public " << site.public_address;
    for (std::size_t g = 0; g < site.gateway_netns.size(); ++g) {
      os << (g ? " -> " : "  via ") << site.gateway_netns[g] << " ["
         << nat::describe(site.gateways[g]) << "]";
    }
    os << "\n";
    for (const auto& h : site.hosts) {
      os << "    host " << h.netns << "  " << h.address
         << (h.gateway.empty() ? "" : "  gw " + h.gateway) << "\n";
    }
  }
  return os.str();
}

}  // namespace qp2p::emu
