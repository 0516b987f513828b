// Measurement, not a test: does the management API delay keepalive handling? One process runs
// what qp2p-supernode runs (a Supernode on the Asio UDP runtime on one thread, the management
// API's ApiService with its own HTTP thread fed with snapshots), then N clients on loopback log
// in over the wire protocol and send sealed keepalives at a fixed rate while, in a second phase,
// API threads fetch /v1/peers?limit=1000 and /metrics back to back (no rate limit). Prints
// keepalive round-trip percentiles for both phases, the API request rate, and what the
// snapshots cost the protocol thread. Nothing is asserted; the figures go in reports.
//
// With "inline" as the fourth argument the API is served the previous way instead, for the
// comparison: the HTTP server on the protocol's io_context, every request doing its work there
// (IndexApi::handle against the Supernode).
//
//   qp2p_api_keepalive_load [peers=500] [seconds-per-phase=3] [api-threads=2] [threaded|inline]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "apps/runtime/api_service.h"
#include "apps/runtime/clock.h"
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
// Keepalives per client per second: far above the real 1 per 10 s, to load the supernode; in
// all at most kMaxKeepalivesPerSecond (one client thread sends and receives them all).
constexpr std::size_t kKeepalivesPerSecond = 10;
constexpr std::size_t kMaxKeepalivesPerSecond = 5000;

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

double thread_cpu_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

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
  // A record with metadata, as real peers publish: the snapshots carry it.
  wire::MetaEntries meta = {{"name", "bench-" + c.identity.id().to_string().substr(0, 8)},
                            {"role", "sensor"}};
  send_to(c.fd, server,
          c.session.seal({c.txn++, wire::Publish{wire::SignedRecord::make(c.identity, 1, meta)}}));
  return receive(c, true).has_value();
}

// Sends keepalives round-robin at the fixed rate for `seconds`, collecting round-trip times.
std::vector<double> keepalive_phase(std::vector<Client>& clients, const Endpoint& server,
                                    int seconds, std::size_t per_second) {
  std::vector<double> rtts_us;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  const auto gap = std::chrono::microseconds(1000000) / per_second;
  auto next = Clock::now();
  std::size_t i = 0;
  std::vector<pollfd> fds;
  for (const Client& c : clients) fds.push_back({c.fd, POLLIN, 0});
  while (Clock::now() < end) {
    for (int burst = 0; burst < 64 && Clock::now() >= next; ++burst) {
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
  spdlog::set_level(spdlog::level::warn);  // one line per login would swamp the figures
  const std::size_t peers = argc > 1 ? std::stoul(argv[1]) : 500;
  const int seconds = argc > 2 ? std::stoi(argv[2]) : 3;
  const int api_threads = argc > 3 ? std::stoi(argv[3]) : 2;
  const bool inline_api = argc > 4 && std::string(argv[4]) == "inline";
  const std::size_t per_second = std::min(peers * kKeepalivesPerSecond, kMaxKeepalivesPerSecond);

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
  ApiServiceOptions options;
  options.http.listen = *Endpoint::parse("127.0.0.1:0");
  options.http.max_connections = 64;
  options.http.max_connections_per_client = 64;
  options.rate_limit.requests_per_second = 0;  // measure the worst case: no client is held back
  std::optional<ApiService> api;
  std::optional<HttpApiServer> inline_http;
  management::IndexApi inline_index{management::BearerToken(kToken),
                                    management::RateLimitConfig{0, 1, 1}};
  if (inline_api) {
    inline_http.emplace(io, options.http, [&](management::ApiRequest r, HttpApiServer::Respond respond) {
      respond(inline_index.handle(r, node, management::ApiContext{now(), now(), {}, {}, {}}));
    });
  } else {
    api.emplace(io, node, management::BearerToken(kToken), options, now());
  }
  const std::uint16_t api_port =
      inline_api ? inline_http->local_endpoint().port : api->local_endpoint().port;
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
  std::printf("%zu peers logged in; %zu keepalives/s in all, %d s per phase, %d API threads, "
              "API %s\n",
              peers, per_second, seconds, api_threads,
              inline_api ? "inline on the protocol thread" : "on its own thread, from snapshots");

  print("without API load", keepalive_phase(clients, config.primary, seconds, per_second), 0,
        seconds);

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
  auto loaded = keepalive_phase(clients, config.primary, seconds, per_second);
  const std::uint64_t during = api_ok - before;
  hammer = false;
  for (auto& h : hammers) h.join();
  print("with API load", std::move(loaded), during, seconds);
  std::printf("API requests: %llu ok, %llu failed\n",
              static_cast<unsigned long long>(api_ok.load()),
              static_cast<unsigned long long>(api_failed.load()));

  // The cost of one snapshot on the protocol thread, alone, in CPU time (the figures above are
  // wall clock, which counts the time the thread waited for a core).
  boost::asio::post(io, [&] {
    management::SnapshotBuilder builder;
    management::ApiContext context{now(), now(), {}, {}, {}};
    std::vector<double> warm;
    double cold = 0;
    for (int i = 0; i < 21; ++i) {
      const double t0 = thread_cpu_us();
      auto snapshot = builder.take(node, context);
      (i == 0 ? cold : warm.emplace_back()) = thread_cpu_us() - t0;
    }
    std::sort(warm.begin(), warm.end());
    std::printf("one snapshot of %zu peers on the protocol thread (CPU time): %.0f us the first, "
                "then %.0f us (median of 20, min %.0f)\n",
                node.online_peers(), cold, warm[warm.size() / 2], warm.front());
    if (api) api->close();
    if (inline_http) inline_http->close();
    runtime.close();
  });
  server.join();
  for (Client& c : clients) ::close(c.fd);
  if (!api) return 0;
  const ApiSnapshotCounters snap = api->snapshot_counters();
  const double taken = snap.taken ? static_cast<double>(snap.taken) : 1.0;
  std::printf("snapshots: %llu taken of %llu peers; protocol thread per snapshot: %.0f us CPU, "
              "%.0f us wall on average, %llu us the longest; %llu requests waited for one\n",
              static_cast<unsigned long long>(snap.taken),
              static_cast<unsigned long long>(snap.peers_last),
              static_cast<double>(snap.take_cpu_us_total) / taken,
              static_cast<double>(snap.take_us_total) / taken,
              static_cast<unsigned long long>(snap.take_us_max),
              static_cast<unsigned long long>(snap.requests_waited));
  return 0;
}
