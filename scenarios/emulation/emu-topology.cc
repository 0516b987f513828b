// emu-topology: builds the emulation test-bed (emu_topology.h) and keeps it up until SIGINT /
// SIGTERM or --hold seconds, for poking at the real NATs by hand (`ip netns exec ... `);
// removes everything on the way out. Also prints a gateway's nftables ruleset, and removes the
// leftovers of a run that was killed with SIGKILL.
//
//   emu-topology [--preset NAME]... [--hosts 1] [--hairpin on|off] [--hostile] [--loss 0]
//                [--supernodes 1] [--hold 0]
//   emu-topology --print-rules PRESET [--hairpin on|off] [--hostile] [--loss 0]
//   emu-topology --cleanup qp2p-1234-
//
// Exit status: 0 done, 1 failure, 2 bad command line, 77 not root / no namespaces.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <thread>

#include "scenarios/emulation/command_runner.h"
#include "scenarios/emulation/emu_topology.h"
#include "scenarios/emulation/nat_rules.h"

using namespace qp2p;

int main(int argc, char** argv) {
  CLI::App app{"Builds real Linux NATs in network namespaces for qp2p (docs/emulation.md)"};
  std::vector<std::string> presets;
  int hosts = 1;
  std::string hairpin;
  bool hostile = false;
  int loss = 0;
  int supernodes = 1;
  int hold = 0;
  std::string print_rules;
  std::string cleanup;
  app.add_option("--preset", presets, "a NAT site of this preset, repeatable (default: all)");
  app.add_option("--hosts", hosts, "hosts behind each site")->check(CLI::Range(1, 8));
  app.add_option("--hairpin", hairpin, "override hairpinning of every site")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_flag("--hostile", hostile, "gateways answer unsolicited UDP with ICMP");
  app.add_option("--loss", loss, "random UDP loss in percent on every gateway")
      ->check(CLI::Range(0, 100));
  app.add_option("--supernodes", supernodes, "supernode namespaces")->check(CLI::Range(1, 8));
  app.add_option("--hold", hold, "seconds to keep the test-bed up (0: until SIGINT)")
      ->check(CLI::Range(0, 86400));
  app.add_option("--print-rules", print_rules, "print the nft ruleset of a preset's gateway(s)");
  app.add_option("--cleanup", cleanup, "delete the namespaces named PREFIX* and exit");
  CLI11_PARSE(app, argc, argv);

  std::optional<bool> hairpin_override;
  if (!hairpin.empty()) hairpin_override = hairpin == "on";

  if (!print_rules.empty()) {
    std::vector<nat::NatBehaviour> gateways;
    if (auto single = nat::preset(print_rules)) {
      gateways.push_back(*single);
    } else if (auto chain = nat::chain_preset(print_rules)) {
      gateways = {chain->carrier, chain->home};
    } else {
      std::cerr << "emu-topology: unknown preset '" << print_rules << "'\n";
      return 2;
    }
    for (std::size_t g = 0; g < gateways.size(); ++g) {
      if (!gateways[g].translating) {
        std::cout << "# " << print_rules << ": no gateway (a public host)\n";
        continue;
      }
      emu::GatewayRules rules;
      rules.behaviour = gateways[g];
      if (g == 0 && hairpin_override) rules.behaviour.hairpinning = *hairpin_override;
      if (g == 0) rules.behaviour.icmp_on_unsolicited = hostile;
      rules.wan_address = g == 0 ? "198.18.1.1" : "100.64.1.2";
      rules.loss_percent = g == 0 ? loss : 0;
      std::cout << "# " << print_rules << " gateway " << g << ": " << nat::describe(rules.behaviour)
                << "\n"
                << emu::gateway_ruleset(rules);
    }
    return 0;
  }

  try {
    emu::Topology::check_environment();
  } catch (const emu::Unavailable& e) {
    std::cerr << "emu-topology: " << e.what() << "\n";
    return 77;
  }
  if (!cleanup.empty()) {
    std::vector<std::string> problems;
    for (const auto& ns : emu::Topology::remove_by_prefix(cleanup, &problems)) {
      std::cout << "removed " << ns << "\n";
    }
    for (const auto& p : problems) std::cerr << "emu-topology: " << p << "\n";
    return problems.empty() ? 0 : 1;
  }

  emu::install_interrupt_handlers();
  emu::TopologySpec spec;
  spec.supernodes = supernodes;
  spec.loss_percent = loss;
  if (presets.empty()) {
    for (auto n : nat::preset_names()) presets.emplace_back(n);
    for (auto n : nat::chain_preset_names()) presets.emplace_back(n);
  }
  for (const auto& p : presets) {
    emu::SiteSpec s;
    s.preset = p;
    s.hosts = hosts;
    s.hairpin = hairpin_override;
    s.hostile = hostile;
    spec.sites.push_back(s);
  }
  try {
    const auto start = std::chrono::steady_clock::now();
    emu::Topology topology(spec);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << topology.describe() << "built in " << seconds << " s; "
              << (hold > 0 ? "holding " + std::to_string(hold) + " s" : "Ctrl-C to remove")
              << std::endl;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(hold);
    while (!emu::interrupted() && (hold == 0 || std::chrono::steady_clock::now() < until)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto problems = topology.teardown();
    for (const auto& p : problems) std::cerr << "emu-topology: " << p << "\n";
    std::cout << "removed " << topology.prefix() << "*" << std::endl;
    if (!problems.empty()) return 1;
  } catch (const std::exception& e) {
    std::cerr << "emu-topology: " << e.what() << "\n";
    return 1;
  }
  return emu::interrupted() ? 128 + emu::interrupt_signal() : 0;
}
