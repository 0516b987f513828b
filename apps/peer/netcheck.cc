// `qp2p-peer netcheck`: classifies the NAT in front of this host with the supernode's two STUN
// services (RFC 5780 tests, stack/discovery), in the spirit of `tailscale netcheck`: one JSON
// object on stdout in RFC 4787 words, or a human summary with --human. No login is needed.
#include "apps/peer/netcheck.h"

#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>

#include "apps/runtime/asio_peer.h"
#include "apps/runtime/clock.h"
#include "apps/runtime/logging.h"
#include "apps/runtime/peer_json.h"
#include "apps/runtime/udp_runtime.h"
#include "apps/runtime/udp_socket.h"
#include "stack/discovery/nat_discovery.h"

namespace qp2p {

namespace {
// One primary and five extra sockets: enough consecutive new mappings to tell sequential from
// random allocation behind an endpoint-independent NAT, even one drawing random ports from a
// small carrier port block (stack/discovery/nat_discovery.h, port_allocation.h).
constexpr std::size_t kExtraSockets = kDefaultNatDiscoveryExtraSockets;

// The source address the kernel picks toward `server` (a connected UDP socket sends nothing),
// or `fallback` when it will not tell. Discovery reads "no NAT" (level 0) from a mapped address
// equal to the socket's own, which a wildcard-bound socket cannot show.
Endpoint route_source(const Endpoint& server, const Endpoint& fallback) {
  sockaddr_storage to{};
  const socklen_t length = to_sockaddr(server, &to);
  const int fd = ::socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fallback;
  Endpoint source = fallback;
  sockaddr_storage local{};
  socklen_t local_length = sizeof(local);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), length) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) == 0) {
    if (auto ep = from_sockaddr(reinterpret_cast<const sockaddr*>(&local), local_length)) {
      source = Endpoint{ep->address, fallback.port};
    }
  }
  ::close(fd);
  return source;
}

[[noreturn]] void netcheck_usage_error(const std::string& why) {
  std::cerr << "qp2p-peer netcheck: " << why << "\n";
  std::exit(2);
}
}  // namespace

int run_netcheck(int argc, char** argv) {
  CLI::App app{
      "qp2p-peer netcheck: classify this host's NAT (RFC 4787 terms) with a supernode's "
      "two STUN services (RFC 5780)"};
  std::string server_text = "127.0.0.1:3478";
  std::string gateway_text;
  std::string log_level = "warn";
  bool human = false;
  int timeout_seconds = 20;
  app.add_option("--supernode", server_text, "supernode (STUN service 1) IP:PORT")
      ->capture_default_str();
  app.add_option("--gateway", gateway_text,
                 "default gateway IP (NAT-PMP, to count NAT levels); optional");
  app.add_flag("--human", human, "a human summary instead of JSON");
  app.add_option("--timeout", timeout_seconds, "give up after this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  app.add_option("--log-level", log_level, std::string(kLogLevelNames))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    netcheck_usage_error(e.what());
  }
  auto server = Endpoint::parse(server_text);
  if (!server || server->port == 0)
    netcheck_usage_error("--supernode: '" + server_text + "' is not IP:PORT");
  if (!parse_log_level(log_level))
    netcheck_usage_error("--log-level: unknown level '" + log_level + "'");
  setup_logging(log_level);

  NatDiscoveryConfig config;
  config.server = *server;
  config.deadline = std::chrono::seconds(timeout_seconds);
  if (!gateway_text.empty()) {
    auto gw = IpAddress::parse(gateway_text);
    if (!gw) netcheck_usage_error("--gateway: '" + gateway_text + "' is not an IP address");
    config.gateway = Endpoint{*gw, 5351};
  }

  std::vector<int> fds;
  try {
    Endpoint local = AsioPeer::default_local({*server});
    if (local.address.is_unspecified()) local = route_source(*server, local);
    fds.push_back(open_udp_socket(local));
    config.primary_local = socket_local_endpoint(fds.back());
    for (std::size_t i = 0; i < kExtraSockets; ++i) {
      fds.push_back(open_udp_socket(Endpoint{config.primary_local.address, 0}));
      config.extra_locals.push_back(socket_local_endpoint(fds.back()));
    }
  } catch (const std::exception& e) {
    for (int fd : fds) ::close(fd);
    std::cerr << "qp2p-peer netcheck: " << e.what() << "\n";
    return 1;
  }

  boost::asio::io_context io;
  NatDiscovery discovery(config, Random::from_os());
  UdpRuntime runtime(io, discovery);
  for (int fd : fds) runtime.adopt(fd);

  std::optional<NatDiscoveryEvent> result;
  runtime.on_activity = [&] {
    if (auto e = discovery.poll_event()) {
      result = std::move(e);
      io.stop();
    }
  };
  discovery.start(now());
  runtime.flush();
  // The core's deadline ends the run; this guard only protects against a runtime fault.
  boost::asio::steady_timer guard(io, std::chrono::seconds(timeout_seconds + 5));
  guard.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) io.stop();
  });
  io.run();

  if (!result) {
    std::cerr << "qp2p-peer netcheck: no result within " << timeout_seconds << " s\n";
    return 1;
  }
  if (auto* failed = std::get_if<nat_discovery_event::Failed>(&*result)) {
    if (human)
      std::cout << "netcheck failed: " << failed->reason << "\n";
    else
      std::cout << peer_json::to_line(
                       {{"error", failed->reason}, {"supernode", server->to_string()}})
                << "\n";
    return 1;
  }
  const NatProfile& profile = std::get<nat_discovery_event::Completed>(*result).profile;
  if (human) {
    std::cout << "supernode:  " << server->to_string() << "\n"
              << "local:      " << config.primary_local.to_string() << "\n"
              << "mapped:     " << profile.mapped.to_string() << "\n"
              << "profile:    " << profile.describe() << "\n";
    for (const auto& note : profile.notes) std::cout << "note:       " << note << "\n";
  } else {
    auto json = peer_json::nat_profile(profile);
    json["local"] = config.primary_local.to_string();
    json["supernode"] = server->to_string();
    std::cout << peer_json::to_line(json) << "\n";
  }
  return profile.complete ? 0 : 3;
}

}  // namespace qp2p
