// STUN Binding load generator (see load_generator.h). Single-threaded poll() loop: on a machine
// with two cores the server under test gets the other one.
#include "apps/stunload/load_generator.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "apps/runtime/udp_socket.h"
#include "stack/core/random.h"
#include "stack/stun/stun_message.h"

namespace qp2p::stunload {

namespace {

using Clock = std::chrono::steady_clock;

// How often outstanding requests are checked against the timeout.
constexpr auto kTimeoutScanInterval = std::chrono::milliseconds(10);
// Longest single poll() wait, so the deadline is noticed promptly.
constexpr int kMaxPollMs = 10;
// recvmmsg rounds per socket per loop turn before the others get a turn.
constexpr int kMaxReceiveRounds = 8;
// A response is small; anything longer than this is not a Binding response from our target.
constexpr std::size_t kReceiveSlotBytes = 1500;
// Latency samples kept (4 bytes each); past this only the counters grow.
constexpr std::size_t kMaxLatencySamples = 50'000'000;

// Transaction id layout: 4 random bytes per run (so a response to an earlier run is never
// mistaken for ours), socket index (2), slot index (2), slot generation (4).
struct TxnKey {
  std::uint16_t socket;
  std::uint16_t slot;
  std::uint32_t generation;
};

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get32(const std::uint8_t* p) { return std::uint32_t{get16(p)} << 16 | get16(p + 2); }

struct Slot {
  bool outstanding = false;
  bool queued = false;  // waiting to be (re)sent
  std::uint32_t generation = 0;
  Clock::time_point sent_at;
  Bytes request;  // reused buffer for this slot's current request
};

struct ClientSocket {
  int fd = -1;
  Endpoint local;
  Endpoint target;
  sockaddr_storage target_addr{};
  socklen_t target_len = 0;
  std::vector<Slot> slots;
  std::vector<std::uint16_t> send_queue;  // slot indexes to send
  bool blocked = false;                   // last sendmmsg hit EAGAIN: wait for POLLOUT
};

class Generator {
 public:
  explicit Generator(const LoadOptions& options) : options_(options) {
    Random random = Random::from_os();
    random.fill(prefix_, sizeof(prefix_));
    const std::size_t batch = std::clamp<std::size_t>(options_.batch, 1, 1024);
    options_.batch = batch;
    rx_buffer_.resize(batch * kReceiveSlotBytes);
    rx_msgs_.resize(batch);
    rx_iov_.resize(batch);
    rx_addr_.resize(batch);
    tx_msgs_.resize(batch);
    tx_iov_.resize(batch);
    for (std::size_t i = 0; i < batch; ++i) {
      rx_iov_[i] = {rx_buffer_.data() + i * kReceiveSlotBytes, kReceiveSlotBytes};
      std::memset(&rx_msgs_[i], 0, sizeof(mmsghdr));
      rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
      rx_msgs_[i].msg_hdr.msg_iovlen = 1;
      rx_msgs_[i].msg_hdr.msg_name = &rx_addr_[i];
      std::memset(&tx_msgs_[i], 0, sizeof(mmsghdr));
      tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
      tx_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
  }

  ~Generator() {
    for (auto& s : sockets_)
      if (s.fd >= 0) ::close(s.fd);
  }

  void open_sockets() {
    const std::size_t count = std::max(options_.sockets, options_.targets.size());
    const std::size_t window = std::clamp<std::size_t>(options_.window, 1, 65535);
    sockets_.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
      ClientSocket& s = sockets_[i];
      s.target = options_.targets[i % options_.targets.size()];
      s.fd = open_udp_socket(Endpoint{source_address_for(s.target), 0});
      s.local = socket_local_endpoint(s.fd);
      s.target_len = to_sockaddr(s.target, &s.target_addr);
      // Connected: the kernel reuses the cached route instead of looking it up per datagram,
      // which makes the generator cheaper than the servers it loads. The price: a response
      // from any other address is dropped by the kernel and shows up here as a timeout.
      if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&s.target_addr), s.target_len) != 0) {
        throw std::runtime_error("connect " + s.local.to_string() + " to " + s.target.to_string() +
                                 ": " + std::strerror(errno));
      }
      s.slots.resize(window);
      for (std::size_t k = 0; k < window; ++k) queue(s, static_cast<std::uint16_t>(k));
    }
  }

  LoadReport run() {
    latencies_.reserve(std::min<std::size_t>(kMaxLatencySamples, 1 << 22));
    const auto start = Clock::now();
    const auto deadline = start + options_.duration;
    auto next_scan = start + kTimeoutScanInterval;
    std::vector<pollfd> fds(sockets_.size());
    for (;;) {
      auto now = Clock::now();
      if (now >= deadline) break;
      for (std::size_t i = 0; i < sockets_.size(); ++i) {
        if (!sockets_[i].blocked) send_queued(static_cast<std::uint16_t>(i));
      }
      for (std::size_t i = 0; i < sockets_.size(); ++i) {
        fds[i] = {sockets_[i].fd, static_cast<short>(POLLIN | (sockets_[i].blocked ? POLLOUT : 0)),
                  0};
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::min(deadline, next_scan) - now);
      const int ready = ::poll(fds.data(), fds.size(),
                               static_cast<int>(std::clamp<long>(wait.count(), 0, kMaxPollMs)));
      if (ready < 0 && errno != EINTR)
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      for (std::size_t i = 0; ready > 0 && i < sockets_.size(); ++i) {
        if (fds[i].revents & POLLOUT) sockets_[i].blocked = false;
        if (fds[i].revents & (POLLIN | POLLERR)) receive(static_cast<std::uint16_t>(i));
      }
      now = Clock::now();
      if (now >= next_scan) {
        expire(now);
        next_scan = now + kTimeoutScanInterval;
      }
    }
    report_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (const auto& s : sockets_)
      for (const auto& slot : s.slots) report_.outstanding_at_end += slot.outstanding ? 1 : 0;
    finish_report();
    return report_;
  }

 private:
  // The address a client socket binds to: loopback of the target's family for loopback
  // targets, otherwise the source address the kernel routes towards the target (learnt with
  // a connected probe socket), so the mapped address can still be compared.
  static IpAddress source_address_for(const Endpoint& target) {
    if (target.address.is_loopback()) return target.address;
    const int family = target.address.is_v4() ? AF_INET : AF_INET6;
    int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(target, &ss);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw std::runtime_error("no route to " + target.to_string() + ": " + why);
    }
    Endpoint local = socket_local_endpoint(fd);
    ::close(fd);
    return local.address;
  }

  void queue(ClientSocket& s, std::uint16_t slot) {
    Slot& sl = s.slots[slot];
    sl.queued = true;
    sl.outstanding = false;
    ++sl.generation;
    s.send_queue.push_back(slot);
  }

  void build_request(std::uint16_t socket_index, std::uint16_t slot_index) {
    Slot& slot = sockets_[socket_index].slots[slot_index];
    stun::TransactionId id;
    std::memcpy(id.data(), prefix_, 4);
    put16(id.data() + 4, socket_index);
    put16(id.data() + 6, slot_index);
    put32(id.data() + 8, slot.generation);
    slot.request.clear();
    stun::MessageBuilder builder(slot.request, stun::Method::kBinding, stun::Class::kRequest, id);
    if (options_.fingerprint) builder.add_fingerprint();
  }

  void send_queued(std::uint16_t socket_index) {
    ClientSocket& s = sockets_[socket_index];
    std::size_t done = 0;
    while (done < s.send_queue.size()) {
      const std::size_t n = std::min(options_.batch, s.send_queue.size() - done);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint16_t k = s.send_queue[done + i];
        build_request(socket_index, k);
        tx_iov_[i] = {s.slots[k].request.data(), s.slots[k].request.size()};
        tx_msgs_[i].msg_hdr.msg_name = nullptr;  // connected to the target
        tx_msgs_[i].msg_hdr.msg_namelen = 0;
      }
      const int sent = ::sendmmsg(s.fd, tx_msgs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
      if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
          s.blocked = true;
          break;
        }
        if (errno == EINTR) continue;
        // Refused by the kernel (e.g. ECONNREFUSED after an ICMP error): count it; the slot
        // goes back on the queue with a new transaction at the next timeout scan.
        ++report_.send_errors;
        Slot& slot = s.slots[s.send_queue[done]];
        slot.queued = false;
        slot.outstanding = true;
        slot.sent_at = Clock::now();
        ++done;
        continue;
      }
      const auto now = Clock::now();
      for (int i = 0; i < sent; ++i) {
        Slot& slot = s.slots[s.send_queue[done + static_cast<std::size_t>(i)]];
        slot.queued = false;
        slot.outstanding = true;
        slot.sent_at = now;
      }
      report_.sent += static_cast<std::uint64_t>(sent);
      done += static_cast<std::size_t>(sent);
    }
    s.send_queue.erase(s.send_queue.begin(), s.send_queue.begin() + done);
  }

  void receive(std::uint16_t socket_index) {
    ClientSocket& s = sockets_[socket_index];
    for (int round = 0; round < kMaxReceiveRounds; ++round) {
      for (auto& m : rx_msgs_) m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      const int n = ::recvmmsg(s.fd, rx_msgs_.data(), static_cast<unsigned>(options_.batch),
                               MSG_DONTWAIT, nullptr);
      if (n <= 0) return;  // EAGAIN, or a pending ICMP error reported once
      const auto now = Clock::now();
      for (int i = 0; i < n; ++i) validate(s, socket_index, rx_msgs_[i], now);
      if (static_cast<std::size_t>(n) < options_.batch) return;
    }
  }

  void validate(ClientSocket& s, std::uint16_t socket_index, const mmsghdr& m,
                Clock::time_point now) {
    auto invalid = [this](std::uint64_t& reason) {
      ++reason;
      ++report_.invalid;
    };
    const auto* data = static_cast<const std::uint8_t*>(m.msg_hdr.msg_iov->iov_base);
    auto source =
        from_sockaddr(static_cast<const sockaddr*>(m.msg_hdr.msg_name), m.msg_hdr.msg_namelen);
    if (!source || *source != s.target) return invalid(report_.invalid_wrong_source);
    if (m.msg_hdr.msg_flags & MSG_TRUNC) return invalid(report_.invalid_parse);
    auto message = stun::MessageView::parse(data, m.msg_len);
    if (!message) return invalid(report_.invalid_parse);
    const auto& id = message->transaction_id();
    if (std::memcmp(id.data(), prefix_, 4) != 0 || get16(id.data() + 4) != socket_index)
      return invalid(report_.invalid_unknown_transaction);
    const std::uint16_t slot_index = get16(id.data() + 6);
    if (slot_index >= s.slots.size()) return invalid(report_.invalid_unknown_transaction);
    Slot& slot = s.slots[slot_index];
    const std::uint32_t generation = get32(id.data() + 8);
    if (generation != slot.generation || !slot.outstanding) {
      // An older generation of this slot was given up on; a newer one was never sent.
      if (generation < slot.generation) {
        ++report_.late;
        return;
      }
      return invalid(report_.invalid_unknown_transaction);
    }
    // From here the transaction is settled whatever the verdict: refill the window.
    queue(s, slot_index);
    if (message->method() != stun::Method::kBinding ||
        message->message_class() != stun::Class::kSuccess)
      return invalid(report_.invalid_not_success);
    if (message->has_fingerprint() && !message->check_fingerprint())
      return invalid(report_.invalid_bad_fingerprint);
    auto mapped = message->xor_address(stun::attr::kXorMappedAddress);
    if (!mapped || *mapped != s.local) return invalid(report_.invalid_wrong_mapped);
    ++report_.valid;
    if (latencies_.size() < kMaxLatencySamples) {
      latencies_.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - slot.sent_at).count()));
    }
  }

  void expire(Clock::time_point now) {
    for (auto& s : sockets_) {
      for (std::size_t k = 0; k < s.slots.size(); ++k) {
        Slot& slot = s.slots[k];
        if (slot.outstanding && now - slot.sent_at >= options_.timeout) {
          ++report_.timed_out;
          queue(s, static_cast<std::uint16_t>(k));
        }
      }
    }
  }

  void finish_report() {
    report_.valid_per_second = report_.seconds > 0 ? report_.valid / report_.seconds : 0;
    if (latencies_.empty()) return;
    auto quantile = [this](double q) {
      const auto index = static_cast<std::size_t>(q * static_cast<double>(latencies_.size() - 1));
      std::nth_element(latencies_.begin(), latencies_.begin() + index, latencies_.end());
      return static_cast<double>(latencies_[index]);
    };
    report_.latency_p50_us = quantile(0.50);
    report_.latency_p99_us = quantile(0.99);
    report_.latency_max_us = *std::max_element(latencies_.begin(), latencies_.end());
  }

  LoadOptions options_;
  std::uint8_t prefix_[4] = {};
  std::vector<ClientSocket> sockets_;
  LoadReport report_;
  std::vector<std::uint32_t> latencies_;
  std::vector<std::uint8_t> rx_buffer_;
  std::vector<mmsghdr> rx_msgs_;
  std::vector<iovec> rx_iov_;
  std::vector<sockaddr_storage> rx_addr_;
  std::vector<mmsghdr> tx_msgs_;
  std::vector<iovec> tx_iov_;
};

}  // namespace

LoadReport run_load(const LoadOptions& options) {
  if (options.targets.empty()) throw std::runtime_error("no target given");
  Generator generator(options);
  generator.open_sockets();
  return generator.run();
}

}  // namespace qp2p::stunload
