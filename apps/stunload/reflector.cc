// Minimal STUN Binding reflector (see reflector.h). RFC 8489 sections 5 and 14.2 are all it
// needs: a 20-byte header and one XOR-MAPPED-ADDRESS attribute.
#include "apps/stunload/reflector.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "apps/runtime/udp_socket.h"

namespace qp2p::stunload {

namespace {

constexpr std::size_t kSlotBytes = 1500;
// Header (20) + XOR-MAPPED-ADDRESS header (4) + IPv6 value (20).
constexpr std::size_t kMaxResponseBytes = 44;
constexpr int kPollMs = 100;  // how often `stop` and the deadline are looked at when idle
constexpr std::uint8_t kCookie[4] = {0x21, 0x12, 0xA4, 0x42};

// Writes the response to the request `req` from `from` into `out`; returns its length, or 0
// when `req` is not a Binding request.
std::size_t answer(const std::uint8_t* req, std::size_t size, const Endpoint& from,
                   std::uint8_t* out) {
  // Binding request type 0x0001, body a multiple of 4 matching the datagram, magic cookie.
  if (size < 20 || req[0] != 0x00 || req[1] != 0x01 || std::memcmp(req + 4, kCookie, 4) != 0)
    return 0;
  if (((req[2] << 8) | req[3]) + 20u != size) return 0;
  const bool v4 = from.address.is_v4();
  const std::size_t value = v4 ? 8 : 20;
  out[0] = 0x01;  // Binding success response 0x0101
  out[1] = 0x01;
  out[2] = 0;
  out[3] = static_cast<std::uint8_t>(4 + value);
  std::memcpy(out + 4, req + 4, 16);  // cookie and transaction id
  std::uint8_t* a = out + 20;
  a[0] = 0x00;  // XOR-MAPPED-ADDRESS 0x0020
  a[1] = 0x20;
  a[2] = 0;
  a[3] = static_cast<std::uint8_t>(value);
  a[4] = 0;
  a[5] = v4 ? 0x01 : 0x02;
  a[6] = static_cast<std::uint8_t>((from.port >> 8) ^ kCookie[0]);
  a[7] = static_cast<std::uint8_t>((from.port & 0xFF) ^ kCookie[1]);
  // The address is XORed with the cookie followed by the transaction id (RFC 8489 14.2).
  const std::uint8_t* mask = req + 4;
  for (std::size_t i = 0; i < from.address.size(); ++i) a[8 + i] = from.address.data()[i] ^ mask[i];
  return 24 + value;
}

}  // namespace

ReflectorReport run_reflector(const Endpoint& local, std::size_t batch,
                              std::chrono::milliseconds max_duration, const std::atomic<bool>& stop,
                              void (*on_ready)(const Endpoint& bound)) {
  batch = std::clamp<std::size_t>(batch, 1, 1024);
  const int fd = open_udp_socket(local);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (on_ready) on_ready(socket_local_endpoint(fd));

  std::vector<std::uint8_t> rx(batch * kSlotBytes), tx(batch * kMaxResponseBytes);
  std::vector<mmsghdr> rx_msgs(batch), tx_msgs(batch);
  std::vector<iovec> rx_iov(batch), tx_iov(batch);
  std::vector<sockaddr_storage> addr(batch);
  for (std::size_t i = 0; i < batch; ++i) {
    rx_iov[i] = {rx.data() + i * kSlotBytes, kSlotBytes};
    std::memset(&rx_msgs[i], 0, sizeof(mmsghdr));
    rx_msgs[i].msg_hdr.msg_iov = &rx_iov[i];
    rx_msgs[i].msg_hdr.msg_iovlen = 1;
    rx_msgs[i].msg_hdr.msg_name = &addr[i];
    std::memset(&tx_msgs[i], 0, sizeof(mmsghdr));
    tx_msgs[i].msg_hdr.msg_iov = &tx_iov[i];
    tx_msgs[i].msg_hdr.msg_iovlen = 1;
  }

  ReflectorReport report;
  const auto deadline = std::chrono::steady_clock::now() + max_duration;
  while (!stop.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < deadline) {
    for (auto& m : rx_msgs) m.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    const int n =
        ::recvmmsg(fd, rx_msgs.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, kPollMs);
      continue;
    }
    report.received += static_cast<std::uint64_t>(n);
    std::size_t out = 0;
    for (int i = 0; i < n; ++i) {
      const mmsghdr& m = rx_msgs[i];
      auto from =
          from_sockaddr(static_cast<const sockaddr*>(m.msg_hdr.msg_name), m.msg_hdr.msg_namelen);
      std::size_t len = from ? answer(static_cast<const std::uint8_t*>(rx_iov[i].iov_base),
                                      m.msg_len, *from, tx.data() + out * kMaxResponseBytes)
                             : 0;
      if (len == 0) {
        ++report.ignored;
        continue;
      }
      tx_iov[out] = {tx.data() + out * kMaxResponseBytes, len};
      tx_msgs[out].msg_hdr.msg_name = &addr[i];  // reply to the source, address reused as is
      tx_msgs[out].msg_hdr.msg_namelen = m.msg_hdr.msg_namelen;
      ++out;
    }
    std::size_t done = 0;
    while (done < out) {
      const int sent = ::sendmmsg(fd, tx_msgs.data() + done, static_cast<unsigned>(out - done), 0);
      if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
          if (stop.load(std::memory_order_relaxed)) break;
          pollfd p{fd, POLLOUT, 0};
          ::poll(&p, 1, kPollMs);
          continue;
        }
        if (errno == EINTR) continue;
        ++report.send_errors;
        ++done;  // skip the refused datagram
        continue;
      }
      done += static_cast<std::size_t>(sent);
      report.answered += static_cast<std::uint64_t>(sent);
    }
  }
  return report;
}

}  // namespace qp2p::stunload
