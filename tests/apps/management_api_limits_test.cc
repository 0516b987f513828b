// The management API of a real qp2p-supernode serves answers from snapshots at most
// api-snapshot-max-age-ms old, and holds back clients that ask too much: a peer that logs in
// shows up in every answer to a request made once that bound has passed, and every answer
// names its snapshot's age (Qp2p-Snapshot-Age-Ms, "snapshot_age_ms") within the bound; a client
// over api-rate-limit gets 429 with Retry-After (RFC 6585), counted in /metrics; a client with
// more than api-max-connections-per-client connections open gets 429 on the extra one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <thread>

#include "tests/apps/management_api_client.h"

namespace qp2p::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kMaxAgeMs = 300;

// A TCP connection to the API on 127.0.0.1, with 5 s timeouts on every call.
class RawClient {
 public:
  explicit RawClient(const std::string& base) {
    const std::uint16_t port =
        static_cast<std::uint16_t>(std::stoi(base.substr(base.rfind(':') + 1)));
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(0x7F000001);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }

  // One GET with the token; the whole answer (the server closes after it).
  HttpReply get(const std::string& path) {
    const std::string request = "GET " + path +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                kApiToken + "\r\nConnection: close\r\n\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) < 0) return {};
    std::string all;
    char buf[4096];
    for (int i = 0; i < 10000; ++i) {  // bounded; ends when the server closes
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      all.append(buf, static_cast<std::size_t>(n));
    }
    return parse_http_reply(all);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string header(const HttpReply& r, const std::string& name) {
  const std::string key = "\r\n" + name + ": ";
  const auto at = r.headers.find(key);
  if (at == std::string::npos) return {};
  const auto start = at + key.size();
  return r.headers.substr(start, r.headers.find("\r\n", start) - start);
}

TEST(ManagementApiLimits, APeerLoggingInShowsUpWithinTheSnapshotBound) {
  ApiSupernode api({"api-snapshot-max-age-ms = " + std::to_string(kMaxAgeMs)});
  ASSERT_TRUE(api.start()) << api.supernode().failure() << api.supernode().process().transcript();
  auto before = api.get("/v1/peers");
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(before.json()["total"], 0);

  TempDir keys{"qp2p-api-limits"};
  PeerProcess peer("p0", api.supernode().primary(), keys.file("p0.key"),
                   {"--bind", "127.0.0.1:0", "--meta", "role=sensor"});
  ASSERT_TRUE(peer.await_registered()) << peer.transcript();
  ASSERT_TRUE(peer.expect("published")) << peer.transcript();
  const auto logged_in = Clock::now();

  bool seen = false;
  int after_bound = 0;
  for (int i = 0; i < 40 && after_bound < 3; ++i) {  // bounded: about 2 s of requests
    const auto asked = Clock::now();
    HttpReply r = RawClient(api.base()).get("/v1/peers");
    ASSERT_EQ(r.status, 200) << r.headers << r.body;
    const auto page = r.json();
    const std::int64_t age = page["snapshot_age_ms"].get<std::int64_t>();
    // The bound holds when the answer is chosen; serialising it may add a little.
    EXPECT_LE(age, kMaxAgeMs + 50) << "answer " << i;
    EXPECT_NE(header(r, "Qp2p-Snapshot-Age-Ms"), "") << r.headers;
    EXPECT_LE(std::stoll(header(r, "Qp2p-Snapshot-Age-Ms")), kMaxAgeMs + 50);
    seen = seen || page["total"] == 1;
    if (asked >= logged_in + milliseconds(kMaxAgeMs + 5)) {
      ++after_bound;
      EXPECT_EQ(page["total"], 1) << "asked " << kMaxAgeMs << " ms after the login: " << page;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(after_bound, 3);
}

TEST(ManagementApiLimits, AClientOverItsRateGets429WithRetryAfter) {
  ApiSupernode api({"api-rate-limit = 1", "api-rate-burst = 2"});
  ASSERT_TRUE(api.start()) << api.supernode().failure() << api.supernode().process().transcript();
  int ok = 0, refused = 0;
  for (int i = 0; i < 6; ++i) {  // well within a second
    HttpReply r = RawClient(api.base()).get("/healthz");
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++refused;
      EXPECT_EQ(r.json()["error"], "too_many_requests") << r.body;
      const std::string retry = header(r, "Retry-After");
      ASSERT_FALSE(retry.empty()) << r.headers;
      EXPECT_GE(std::stoi(retry), 1);
    }
  }
  EXPECT_GE(ok, 2);
  EXPECT_GE(refused, 1);
  EXPECT_EQ(ok + refused, 6);
  std::this_thread::sleep_for(milliseconds(1100));
  HttpReply metrics = RawClient(api.base()).get("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_NE(metrics.body.find("qp2p_api_requests_total{code=\"429\"} " + std::to_string(refused)),
            std::string::npos)
      << metrics.body;
}

TEST(ManagementApiLimits, ExtraConnectionsOfOneClientGet429) {
  ApiSupernode api({"api-max-connections-per-client = 1"});
  ASSERT_TRUE(api.start()) << api.supernode().failure() << api.supernode().process().transcript();
  RawClient first(api.base());
  ASSERT_TRUE(first.connected());
  std::this_thread::sleep_for(milliseconds(100));  // accepted before the second
  RawClient second(api.base());
  HttpReply extra = second.get("/healthz");
  EXPECT_EQ(extra.status, 429) << extra.headers << extra.body;
  EXPECT_EQ(header(extra, "Retry-After"), "1");
  EXPECT_EQ(first.get("/healthz").status, 200);
  std::this_thread::sleep_for(milliseconds(100));  // both closed now
  HttpReply metrics = RawClient(api.base()).get("/metrics");
  EXPECT_NE(metrics.body.find("qp2p_api_connections_total{outcome=\"refused_per_client\"} 1"),
            std::string::npos)
      << metrics.body;
}

}  // namespace
}  // namespace qp2p::test
