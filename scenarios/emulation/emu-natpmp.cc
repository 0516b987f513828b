// emu-natpmp: the NAT-PMP (RFC 6886 section 3.2) external address answer of an emulated NAT
// gateway, the part of a home router that Linux netfilter lacks. The ns-3 NatGateway answers
// these requests by default (its NatPmp attribute), and NAT discovery counts NAT levels with
// them (stack/discovery/nat_discovery.h): a gateway whose external address differs from the
// STUN-mapped one sits behind a further NAT. The topology (emu_topology.h) runs one per
// gateway, bound to the gateway's inside address, port 5351; the codec is stack/discovery's.
//
//   emu-natpmp --listen 198.19.3.1 --external 198.18.1.3
//
// Answers until SIGTERM/SIGINT; logs nothing. Exit status 0 on a signal, 1 on a socket error,
// 2 on a bad command line.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <iostream>

#include "apps/runtime/udp_socket.h"
#include "stack/discovery/nat_pmp.h"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  using namespace qp2p;
  CLI::App app{"NAT-PMP external address responder for an emulated gateway"};
  std::string listen_text;
  std::string external_text;
  app.add_option("--listen", listen_text, "inside address to answer on (port 5351)")->required();
  app.add_option("--external", external_text, "the gateway's external IPv4 address")->required();
  CLI11_PARSE(app, argc, argv);
  auto listen = IpAddress::parse(listen_text);
  auto external = IpAddress::parse(external_text);
  if (!listen || !external || !external->is_v4()) {
    std::cerr << "emu-natpmp: --listen and --external must be IPv4 addresses\n";
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  int fd = -1;
  try {
    fd = open_udp_socket(Endpoint{*listen, nat_pmp::kServerPort}, UdpSocketOptions{65536});
  } catch (const std::exception& e) {
    std::cerr << "emu-natpmp: " << e.what() << "\n";
    return 1;
  }
  const auto epoch_start = std::chrono::steady_clock::now();
  std::array<std::uint8_t, nat_pmp::kMaxRequestSize + 1> buffer{};
  while (!g_stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;  // timeout or EINTR: re-check the flag
    sockaddr_storage from{};
    socklen_t from_length = sizeof(from);
    const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n <= 0 || static_cast<std::size_t>(n) > nat_pmp::kMaxRequestSize) continue;
    const auto request = nat_pmp::parse_request(buffer.data(), static_cast<std::size_t>(n));
    if (!request) continue;  // a response or a stub: ignored (section 3.5)
    const auto epoch =
        static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::steady_clock::now() - epoch_start)
                                       .count());
    Bytes answer;
    if (request->version != nat_pmp::kVersion) {
      nat_pmp::append_unsupported_version_response(answer, request->opcode, epoch);
    } else if (request->opcode != nat_pmp::kOpExternalAddress) {
      nat_pmp::append_unsupported_opcode_response(answer, buffer.data(),
                                                  static_cast<std::size_t>(n));
    } else {
      nat_pmp::append_external_address_response(answer, nat_pmp::ResultCode::kSuccess, epoch,
                                                *external);
    }
    ::sendto(fd, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), from_length);
  }
  ::close(fd);
  return 0;
}
