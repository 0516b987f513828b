// Measurement, not a test: does the management API delay keepalive handling? One process runs
// what qp2p-supernode runs on one thread (a Supernode on the Asio UDP runtime and the HTTP API
// server on the same io_context), then N clients on loopback log in over the wire protocol and
// send sealed keepalives at a fixed rate while, in a second phase, API threads fetch
// /v1/peers?limit=1000 and /metrics back to back. Prints keepalive round-trip percentiles for
// both phases and the API request rate. Nothing is asserted; the figures go in reports.
//
//   qp2p_api_keepalive_load [peers=500] [seconds-per-phase=3] [api-threads=2]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "apps/runtime/clock.h"
#include "apps/runtime/http_api_server.h"
#include "apps/runtime/udp_runtime.h"
#include "apps/runtime/udp_socket.h"
#include "stack/management/index_api.h"
#include "stack/supernode/supernode.h"
#include "stack/wire/control_message.h"
#include "stack/wire/session.h"

namespace qp2p {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kToken = "measurement-token-0123456789";
// Keepalives per client per second: far above the real 1 per 10 s, to load the supernode.
constexpr int kKeepalivesPerSecond = 10;

struct Client {
  explicit Client(std::uint64_t seed)
      : random(Random::from_u64(seed)), identity(Identity::generate(random)) {}
  int fd = -1;
  Random random;
  Identity identity;
  wire::EphemeralKeyPair ephemeral;
  PeerId supernode;
  wire::Session session;
  std::uint64_t txn = 1;
  std::map<std::uint64_t, Clock::time_point> sent;
};

void send_to(int fd, const Endpoint& to, const Bytes& b) {
  sockaddr_storage sa{};
  const socklen_t len = to_sockaddr(to, &sa);
  ::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&sa), len);
}

// Waits up to 2 s for one datagram; opens it with the session when it is sealed.
std::optional<wire::ControlMessage> receive(Client& c, bool sealed) {
  pollfd p{c.fd, POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return std::nullopt;
  std::uint8_t buf[2048];
  const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  if (sealed && c.session.open(buf, static_cast<std::size_t>(n)) != wire::Session::OpenResult::kOk)
    return std::nullopt;
  wire::DecodeError e{};
  return wire::decode(buf, static_cast<std::size_t>(n), &e);
}

bool login(Client& c, const Endpoint& server) {
  Bytes hello;
  wire::encode({c.txn++, wire::Hello{c.identity.id()}}, hello);
  send_to(c.fd, server, hello);
  auto challenge_msg = receive(c, false);
  auto* challenge = challenge_msg ? std::get_if<wire::Challenge>(&challenge_msg->body) : nullptr;
  if (!challenge) return false;
  c.supernode = challenge->supernode;
  c.ephemeral = wire::EphemeralKeyPair::generate(c.random);
  wire::Login l{c.identity.id(), challenge->nonce, c.ephemeral.public_key, {}};
  Bytes t = wire::login_transcript(c.identity.id(), c.supernode, l.nonce, l.ephemeral);
  l.signature = c.identity.sign(t.data(), t.size());
  Bytes login_bytes;
  wire::encode({c.txn++, l}, login_bytes);
  send_to(c.fd, server, login_bytes);
  auto ok_msg = receive(c, false);
  auto* ok = ok_msg ? std::get_if<wire::LoginOk>(&ok_msg->body) : nullptr;
  if (!ok) return false;
  auto key = wire::derive_session_key(c.ephemeral, ok->ephemeral, c.identity.id(), c.supernode,
                                      c.ephemeral.public_key, ok->ephemeral);
  if (!key) return false;
  c.session = wire::Session(ok->session_id, *key, wire::Direction::kToSupernode);
  return true;
}

// Sends keepalives round-robin at the fixed rate for `seconds`, collecting round-trip times.
std::vector<double> keepalive_phase(std::vector<Client>& clients, const Endpoint& server,
                                    int seconds) {
  std::vector<double> rtts_us;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  const auto gap = std::chrono::microseconds(1000000 / kKeepalivesPerSecond) / clients.size();
  auto next = Clock::now();
  std::size_t i = 0;
  std::vector<pollfd> fds;
  for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
  while (Clock::now() < end) {
    if (Clock::now() >= next) {
      Client& c = clients[i++ % clients.size()];
      const std::uint64_t txn = c.txn++;
      c.sent[txn] = Clock::now();
      send_to(c.fd, server, c.session.seal({txn, wire::Keepalive{}}));
      next += gap;
    }
    if (::poll(fds.data(), fds.size(), 0) <= 0) continue;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & POLLIN)) continue;
      Client& c = clients[k];
      std::uint8_t buf[2048];
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0 || c.session.open(buf, static_cast<std::size_t>(n)) != wire::Session::OpenResult::kOk)
        continue;
      wire::DecodeError e{};
      auto m = wire::decode(buf, static_cast<std::size_t>(n), &e);
      if (!m) continue;
      auto it = c.sent.find(m->transaction);
      if (it == c.sent.end()) continue;
      rtts_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - it->second).count());
      c.sent.erase(it);
    }
  }
  return rtts_us;
}

// Blocking HTTP GET over a fresh connection; true on a complete 200 answer.
bool http_get(std::uint16_t port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(0x7F000001);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return false;
  }
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                          kToken + "\r\nConnection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), 0);
  std::string head;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    if (head.size() < 16) head.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return head.compare(0, 12, "HTTP/1.1 200") == 0;
}

void print(const char* phase, std::vector<double> v, std::uint64_t api_requests, int seconds) {
  if (v.empty()) {
    std::printf("%-22s no keepalive answered\n", phase);
    return;
  }
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) { return v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))]; };
  std::printf("%-22s keepalives=%zu  rtt_us p50=%.0f p90=%.0f p99=%.0f max=%.0f  api_req/s=%.1f\n",
              phase, v.size(), pct(0.5), pct(0.9), pct(0.99), v.back(),
              static_cast<double>(api_requests) / seconds);
}

}  // namespace
}  // namespace qp2p

int main(int argc, char** argv) {
  using namespace qp2p;
  const std::size_t peers = argc > 1 ? std::stoul(argv[1]) : 500;
  const int seconds = argc > 2 ? std::stoi(argv[2]) : 3;
  const int api_threads = argc > 3 ? std::stoi(argv[3]) : 2;

  // The supernode side: exactly qp2p-supernode's single-threaded composition.
  Random random = Random::from_u64(42);
  SupernodeConfig config;
  int primary_fd = open_udp_socket(*Endpoint::parse("127.0.0.1:0"), {});
  int alternate_fd = open_udp_socket(*Endpoint::parse("127.0.0.1:0"), {});
  config.primary = socket_local_endpoint(primary_fd);
  config.alternate = socket_local_endpoint(alternate_fd);
  Supernode node(config, Identity::generate(random), random.fork());
  boost::asio::io_context io;
  UdpRuntime runtime(io, node);
  runtime.adopt(primary_fd);
  runtime.adopt(alternate_fd);
  management::IndexApi api{management::BearerToken(kToken)};
  const Instant started = now();
  HttpApiOptions options;
  options.listen = *Endpoint::parse("127.0.0.1:0");
  options.max_connections = 64;
  HttpApiServer http(io, options, [&](const management::ApiRequest& r) {
    return api.handle(r, node, management::ApiContext{now(), started, {}});
  });
  const std::uint16_t api_port = http.local_endpoint().port;
  runtime.flush();
  std::thread server([&] { io.run(); });

  std::vector<Client> clients;
  clients.reserve(peers);
  for (std::size_t i = 0; i < peers; ++i) {
    Client& c = clients.emplace_back(1000 + i);
    c.fd = open_udp_socket(*Endpoint::parse("127.0.0.1:0"), {});
    if (!login(c, config.primary)) {
      std::fprintf(stderr, "client %zu could not log in\n", i);
      return 1;
    }
  }
  std::printf("%zu peers logged in; %d keepalives/s each (%zu/s), %d s per phase, %d API threads\n",
              peers, kKeepalivesPerSecond, peers * kKeepalivesPerSecond, seconds, api_threads);

  print("without API load", keepalive_phase(clients, config.primary, seconds), 0, seconds);

  std::atomic<bool> hammer{true};
  std::atomic<std::uint64_t> api_ok{0}, api_failed{0};
  std::vector<std::thread> hammers;
  for (int t = 0; t < api_threads; ++t) {
    hammers.emplace_back([&, t] {
      const std::string target = t % 2 ? "/metrics" : "/v1/peers?limit=1000";
      while (hammer) (http_get(api_port, target) ? api_ok : api_failed)++;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::uint64_t before = api_ok;
  auto loaded = keepalive_phase(clients, config.primary, seconds);
  const std::uint64_t during = api_ok - before;
  hammer = false;
  for (auto& h : hammers) h.join();
  print("with API load", std::move(loaded), during, seconds);
  std::printf("API requests: %llu ok, %llu failed\n",
              static_cast<unsigned long long>(api_ok.load()),
              static_cast<unsigned long long>(api_failed.load()));

  boost::asio::post(io, [&] {
    http.close();
    runtime.close();
  });
  server.join();
  for (Client& c : clients) ::close(c.fd);
  return 0;
}
