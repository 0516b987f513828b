// A qp2p-supernode process survives a bounded burst of garbage at every port it listens on
// (random bytes and mutated valid STUN and control messages, deterministic seed), counts the
// drops, and afterwards still serves: a STUN Binding gets a correct answer, and peers log in,
// publish, look up and exchange a message.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <regex>
#include <thread>

#include "apps/runtime/udp_socket.h"
#include "stack/stun/stun_message.h"
#include "stack/wire/control_message.h"
#include "tests/apps/asio_peer_driver.h"
#include "tests/apps/qp2p_processes.h"

namespace qp2p {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kSeed = 0x9a7ba9e;
constexpr int kBurstDatagrams = 20000;
// Every this many datagrams one is the largest a UDP/IPv4 datagram can be.
constexpr int kOversizedEvery = 250;
constexpr std::size_t kOversizedBytes = 65507;
// Sent in chunks with a short pause, so the supernode reads most of the burst rather than the
// kernel dropping it at a full receive buffer (both are fine, but decoding is what is tested).
constexpr int kChunk = 200;
constexpr auto kChunkPause = 2ms;

enum class Kind {
  kRandomBytes,        // 0-1500 random bytes, empty datagrams included
  kStunFlipped,        // a valid Binding request (with FINGERPRINT), 1-4 bytes flipped
  kStunTruncated,      // a valid Binding request cut short
  kStunBadLength,      // header length that disagrees with the datagram
  kStunBadAttribute,   // an attribute running past the end, or far too many attributes
  kControlRandomBody,  // 0x51 0x01, random type, flags, length and body
  kControlFlipped,     // a valid control message with 1-4 bytes flipped
  kControlBadLength,   // a valid control message with a wrong body length
  kControlTruncated,   // a valid control message cut short
  kControlSession,     // session flag with a random trailer (unknown session, bad MAC)
  kChannelData,        // TURN ChannelData-looking: first byte 0x40-0x4f
  kCount
};

class Garbage {
 public:
  explicit Garbage(std::uint64_t seed) : random_(Random::from_u64(seed)) {}

  Bytes next(int index) {
    if (index % kOversizedEvery == kOversizedEvery - 1) return oversized();
    switch (static_cast<Kind>(random_.uniform(static_cast<std::uint64_t>(Kind::kCount)))) {
      case Kind::kRandomBytes:
        return bytes(random_.uniform(1501));
      case Kind::kStunFlipped:
        return flipped(stun_binding());
      case Kind::kStunTruncated:
        return truncated(stun_binding());
      case Kind::kStunBadLength: {
        Bytes b = stun_binding();
        const std::uint16_t length = static_cast<std::uint16_t>(random_.uniform(65536));
        b[2] = static_cast<std::uint8_t>(length >> 8);
        b[3] = static_cast<std::uint8_t>(length);
        return b;
      }
      case Kind::kStunBadAttribute:
        return stun_bad_attribute();
      case Kind::kControlRandomBody: {
        Bytes b = bytes(wire::kHeaderSize + random_.uniform(1200));
        b[0] = wire::kMagic;
        b[1] = wire::kVersion;
        b[2] = 0;
        b[3] = static_cast<std::uint8_t>(random_.uniform(40));  // around the known types
        return b;
      }
      case Kind::kControlFlipped:
        return flipped(control_message());
      case Kind::kControlBadLength: {
        Bytes b = control_message();
        const std::uint16_t length = static_cast<std::uint16_t>(random_.uniform(65536));
        b[6] = static_cast<std::uint8_t>(length >> 8);
        b[7] = static_cast<std::uint8_t>(length);
        return b;
      }
      case Kind::kControlTruncated:
        return truncated(control_message());
      case Kind::kControlSession: {
        Bytes b = control_message();
        b[4] |= wire::kFlagSession;
        Bytes trailer = bytes(wire::kTrailerSize);
        b.insert(b.end(), trailer.begin(), trailer.end());
        return b;
      }
      case Kind::kChannelData: {
        Bytes b = bytes(4 + random_.uniform(200));
        b[0] = static_cast<std::uint8_t>(0x40 + random_.uniform(16));
        return b;
      }
      case Kind::kCount:
        break;
    }
    return {};
  }

 private:
  Bytes bytes(std::size_t n) {
    Bytes b(n);
    random_.fill(b.data(), b.size());
    return b;
  }

  Bytes oversized() {
    Bytes b = bytes(kOversizedBytes);
    if (random_.uniform(2) == 0) {
      // STUN-looking: Binding request type and the magic cookie.
      b[0] = 0x00;
      b[1] = 0x01;
      b[4] = 0x21, b[5] = 0x12, b[6] = 0xA4, b[7] = 0x42;
    } else {
      b[0] = wire::kMagic;
      b[1] = wire::kVersion;
    }
    return b;
  }

  Bytes stun_binding() {
    stun::TransactionId id;
    random_.fill(id.data(), id.size());
    Bytes b;
    stun::MessageBuilder builder(b, stun::Method::kBinding, stun::Class::kRequest, id);
    if (random_.uniform(2)) builder.add_u32(stun::attr::kChangeRequest, stun::kChangePort);
    if (random_.uniform(2)) builder.add_string(stun::attr::kSoftware, "garbage");
    builder.add_fingerprint();
    return b;
  }

  Bytes stun_bad_attribute() {
    stun::TransactionId id;
    random_.fill(id.data(), id.size());
    Bytes b;
    stun::MessageBuilder builder(b, stun::Method::kBinding, stun::Class::kRequest, id);
    if (random_.uniform(2)) {
      // Far more attributes than the parser keeps.
      for (int i = 0; i < 64; ++i) builder.add_u32(stun::attr::kPadding, 0);
      return b;
    }
    builder.add_u32(stun::attr::kChangeRequest, 0);
    // Attribute length (bytes 22-23) claims more than the message holds.
    const std::uint16_t length = static_cast<std::uint16_t>(8 + random_.uniform(65000));
    b[22] = static_cast<std::uint8_t>(length >> 8);
    b[23] = static_cast<std::uint8_t>(length);
    return b;
  }

  Bytes control_message() {
    PeerId someone;
    random_.fill(someone.key.data(), someone.key.size());
    wire::ControlMessage m;
    m.transaction = random_.next_u64();
    switch (random_.uniform(6)) {
      case 0:
        m.body = wire::Hello{someone};
        break;
      case 1:
        m.body = wire::Lookup{someone};
        break;
      case 2:
        m.body = wire::Search{20, {{"role", "cam", true}, {"site", "x", false}}, someone};
        break;
      case 3:
        m.body = wire::SendMessage{someone, random_.next_u64(), "garbage"};
        break;
      case 4:
        m.body = wire::Login{someone, {}, {}, {}};
        break;
      default:
        m.body = wire::Keepalive{};
        break;
    }
    Bytes b;
    wire::encode(m, b);
    return b;
  }

  Bytes flipped(Bytes b) {
    const std::uint64_t flips = 1 + random_.uniform(4);
    for (std::uint64_t i = 0; i < flips && !b.empty(); ++i)
      b[random_.uniform(b.size())] ^= static_cast<std::uint8_t>(1 + random_.uniform(255));
    return b;
  }

  Bytes truncated(Bytes b) {
    b.resize(random_.uniform(b.size()));
    return b;
  }

  Random random_;
};

// A UDP socket of the test's own on 127.0.0.1, closed on scope exit.
struct TestSocket {
  TestSocket() : fd(open_udp_socket(*Endpoint::parse("127.0.0.1:0"))) {}
  ~TestSocket() { ::close(fd); }
  Endpoint local() const { return socket_local_endpoint(fd); }

  bool send(const Endpoint& to, const Bytes& payload) const {
    sockaddr_storage addr;
    socklen_t len = to_sockaddr(to, &addr);
    return ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                    len) == static_cast<ssize_t>(payload.size());
  }
  // Throws away whatever arrived (answers to the valid-looking garbage).
  void drain() const {
    std::uint8_t buffer[2048];
    while (::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT) >= 0) {
    }
  }
  // The next datagram from `from` within `limit`, or nothing.
  std::optional<Bytes> receive_from(const Endpoint& from, std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    Bytes buffer(65536);
    while (std::chrono::steady_clock::now() < deadline) {
      sockaddr_storage addr;
      socklen_t len = sizeof(addr);
      ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&addr), &len);
      if (n < 0) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      auto source = from_sockaddr(reinterpret_cast<sockaddr*>(&addr), len);
      if (source && *source == from) return Bytes(buffer.begin(), buffer.begin() + n);
    }
    return std::nullopt;
  }

  int fd;
};

// Sends a Binding request to `server` and checks the answer: a success response with our
// transaction id, XOR-MAPPED-ADDRESS equal to our socket's address, and a good FINGERPRINT.
void expect_binding_answer(const Endpoint& server) {
  TestSocket socket;
  socket.drain();
  stun::TransactionId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xA0 + i);
  Bytes request;
  stun::MessageBuilder(request, stun::Method::kBinding, stun::Class::kRequest, id)
      .add_fingerprint();
  std::optional<Bytes> answer;
  // UDP: a few tries, as a STUN client would retransmit.
  for (int attempt = 0; attempt < 5 && !answer; ++attempt) {
    ASSERT_TRUE(socket.send(server, request));
    answer = socket.receive_from(server, 500ms);
  }
  ASSERT_TRUE(answer) << "no Binding response from " << server.to_string();
  auto view = stun::MessageView::parse(answer->data(), answer->size());
  ASSERT_TRUE(view) << "unparseable Binding response from " << server.to_string();
  EXPECT_EQ(view->method(), stun::Method::kBinding);
  EXPECT_EQ(view->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(view->transaction_id(), id);
  auto mapped = view->xor_address(stun::attr::kXorMappedAddress);
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*mapped, socket.local());
  EXPECT_TRUE(!view->has_fingerprint() || view->check_fingerprint());
}

// "name=value" pairs of a supernode counters log line.
std::map<std::string, std::uint64_t> parse_counters(const std::string& line) {
  std::map<std::string, std::uint64_t> out;
  static const std::regex pair(R"(([a-z_]+)=([0-9]+))");
  for (auto it = std::sregex_iterator(line.begin(), line.end(), pair); it != std::sregex_iterator();
       ++it)
    out[(*it)[1]] = std::stoull((*it)[2]);
  return out;
}

TEST(SupernodeGarbage, SurvivesBurstCountsDropsAndStillServes) {
  test::SupernodeProcess supernode;
  ASSERT_TRUE(supernode.start()) << supernode.failure();
  const std::vector<Endpoint> targets = {supernode.primary(), supernode.alternate()};

  {
    TestSocket socket;
    Garbage garbage(kSeed);
    int sent = 0;
    for (int i = 0; i < kBurstDatagrams; ++i) {
      if (socket.send(targets[static_cast<std::size_t>(i) % targets.size()], garbage.next(i)))
        ++sent;
      if (i % kChunk == kChunk - 1) {
        socket.drain();
        std::this_thread::sleep_for(kChunkPause);
      }
    }
    EXPECT_GT(sent, kBurstDatagrams * 9 / 10);
  }

  ASSERT_TRUE(supernode.alive()) << "the supernode died during the burst";

  // STUN still answers correctly on both services.
  for (const Endpoint& target : targets) expect_binding_answer(target);

  // Peers still log in, publish, look up and exchange messages.
  boost::asio::io_context io;
  test::RecordingPeer a(io, supernode.primary(), 1, {{"role", "survivor"}});
  test::RecordingPeer b(io, supernode.primary(), 2);
  a.peer->start();
  b.peer->start();
  ASSERT_TRUE(test::run_until(
      io, [&] { return a.find<peer_event::Published>() && b.find<peer_event::Registered>(); }));
  b.peer->lookup(a.id());
  ASSERT_TRUE(test::run_until(io, b.has<peer_event::LookupDone>()));
  const auto* found = b.find<peer_event::LookupDone>();
  EXPECT_TRUE(found->info.online);
  ASSERT_TRUE(found->info.record);
  ASSERT_NE(found->info.record->find("role"), nullptr);
  EXPECT_EQ(*found->info.record->find("role"), "survivor");
  b.peer->send_message(a.id(), "still there?");
  ASSERT_TRUE(test::run_until(io, [&] {
    return a.find<peer_event::MessageReceived>() && b.find<peer_event::Delivered>();
  }));
  EXPECT_EQ(a.find<peer_event::MessageReceived>()->text, "still there?");
  EXPECT_EQ(a.find<peer_event::MessageReceived>()->from, b.id());

  // The drops were counted: the supernode logs its counters when it stops.
  std::string counters_line = supernode.stop_and_find_log("counters at exit");
  ASSERT_FALSE(counters_line.empty()) << "no counters at exit in the supernode's log";
  std::printf("supernode %s\n", counters_line.substr(counters_line.find("counters")).c_str());
  auto c = parse_counters(counters_line);
  EXPECT_GT(c["unknown_protocol"], 0u) << counters_line;
  EXPECT_GT(c["stun_malformed"], 0u) << counters_line;
  EXPECT_GT(c["control_malformed"], 0u) << counters_line;
  EXPECT_GT(c["unauthenticated"], 0u) << counters_line;
  const std::uint64_t dropped = c["unknown_protocol"] + c["stun_malformed"] +
                                c["control_malformed"] + c["unauthenticated"] + c["replayed"] +
                                c["unexpected"] + c["not_request"] + c["bad_fingerprint"] +
                                c["unknown_attr"] + c["truncated"];
  // Most of the burst reached the supernode and was refused (a full socket buffer may have
  // lost some in the kernel, which no counter here sees).
  EXPECT_GT(dropped, static_cast<std::uint64_t>(kBurstDatagrams) / 2) << counters_line;
  EXPECT_EQ(supernode.exit_code(), 0);
}

}  // namespace
}  // namespace qp2p
