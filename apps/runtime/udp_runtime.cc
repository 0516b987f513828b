// Boost.Asio runtime for a sans-IO core (see udp_runtime.h). Asio is used only for readiness
// (async_wait) and the timer; the datagrams themselves move with recvmmsg/sendmmsg on the
// native descriptors, 64 at a time, because per-datagram system calls are what limits a UDP
// server on loopback.
#include "apps/runtime/udp_runtime.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>

#include "apps/runtime/clock.h"
#include "apps/runtime/udp_socket.h"

// Logs here use spdlog::debug() rather than SPDLOG_DEBUG: they sit on rare paths (drops and
// errors) and must appear with --log-level debug whatever SPDLOG_ACTIVE_LEVEL the build uses.

namespace qp2p {

namespace {
// Marks a timer that is not waiting for anything (distinct from kNever, a valid deadline).
constexpr Instant kNotArmed = Instant::min();
// sendmmsg/recvmmsg take at most UIO_MAXIOV (1024) messages per call.
constexpr std::size_t kMaxBatch = 1024;
}  // namespace

struct UdpRuntime::Socket {
  explicit Socket(boost::asio::io_context& io) : socket(io) {}
  boost::asio::ip::udp::socket socket;  // owns the descriptor; used for readiness only
  int fd = -1;
  Endpoint local;
  std::deque<Datagram> queue;  // transmits not yet accepted by the kernel
  bool write_waiting = false;  // an async_wait(wait_write) is pending
};

UdpRuntime::UdpRuntime(boost::asio::io_context& io, SansIoEndpoint& core, UdpRuntimeOptions options)
    : io_(io), core_(core), options_(options), timer_(io), armed_deadline_(kNotArmed) {
  options_.batch_size = std::clamp<std::size_t>(options_.batch_size, 1, kMaxBatch);
  options_.max_batches_per_wakeup = std::max<std::size_t>(options_.max_batches_per_wakeup, 1);
  options_.max_datagram_size = std::max<std::size_t>(options_.max_datagram_size, 1);
  const std::size_t n = options_.batch_size;
  rx_buffer_.resize(n * options_.max_datagram_size);
  rx_msgs_.resize(n);
  rx_iov_.resize(n);
  rx_addr_.resize(n);
  tx_msgs_.resize(n);
  tx_iov_.resize(n);
  tx_addr_.resize(n);
  tx_control_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    rx_iov_[i] = {rx_buffer_.data() + i * options_.max_datagram_size, options_.max_datagram_size};
    std::memset(&rx_msgs_[i], 0, sizeof(rx_msgs_[i]));
    rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
    rx_msgs_[i].msg_hdr.msg_iovlen = 1;
    rx_msgs_[i].msg_hdr.msg_name = &rx_addr_[i];
    std::memset(&tx_msgs_[i], 0, sizeof(tx_msgs_[i]));
    tx_msgs_[i].msg_hdr.msg_iov = &tx_iov_[i];
    tx_msgs_[i].msg_hdr.msg_iovlen = 1;
    tx_msgs_[i].msg_hdr.msg_name = &tx_addr_[i];
  }
}

UdpRuntime::~UdpRuntime() { close(); }

Endpoint UdpRuntime::bind(const Endpoint& local) {
  UdpSocketOptions socket_options;
  socket_options.buffer_bytes = options_.socket_buffer_bytes;
  return adopt(open_udp_socket(local, socket_options));
}

Endpoint UdpRuntime::adopt(int fd) {
  Endpoint local;
  try {
    local = socket_local_endpoint(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (find_socket(local)) {
    ::close(fd);
    throw std::runtime_error("UDP socket " + local.to_string() + ": already open in this runtime");
  }
  auto s = std::make_unique<Socket>(io_);
  boost::system::error_code ec;
  s->socket.assign(local.address.is_v4() ? boost::asio::ip::udp::v4() : boost::asio::ip::udp::v6(),
                   fd, ec);
  if (ec) {
    ::close(fd);
    throw std::runtime_error("UDP socket " + local.to_string() + ": " + ec.message());
  }
  s->fd = fd;
  s->local = local;
  sockets_.push_back(std::move(s));
  start_read(*sockets_.back());
  spdlog::debug("runtime: socket open on {}", local.to_string());
  return local;
}

bool UdpRuntime::close_socket(const Endpoint& local) {
  auto it = std::find_if(sockets_.begin(), sockets_.end(),
                         [&](const auto& s) { return s->local == local; });
  if (it == sockets_.end()) return false;
  boost::system::error_code ignored;
  (*it)->socket.close(ignored);  // pending waits complete with operation_aborted and return
  if (last_socket_ == it->get()) last_socket_ = nullptr;
  sockets_.erase(it);
  spdlog::debug("runtime: socket closed on {}", local.to_string());
  return true;
}

void UdpRuntime::close() {
  boost::system::error_code ignored;
  for (auto& s : sockets_) s->socket.close(ignored);
  sockets_.clear();
  last_socket_ = nullptr;
  timer_.cancel();
  armed_deadline_ = kNotArmed;
  ++timer_generation_;
}

std::vector<Endpoint> UdpRuntime::local_endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& s : sockets_) out.push_back(s->local);
  return out;
}

UdpRuntime::Socket* UdpRuntime::find_socket(const Endpoint& local) {
  if (last_socket_ && last_socket_->local == local) return last_socket_;
  for (auto& s : sockets_) {
    if (s->local == local) return last_socket_ = s.get();
  }
  return nullptr;
}

bool UdpRuntime::owns(const Socket* s) const {
  // A handler queued before close() may still run; it must not touch a freed Socket.
  return std::any_of(sockets_.begin(), sockets_.end(), [s](const auto& p) { return p.get() == s; });
}

// --- receive ---

void UdpRuntime::start_read(Socket& s) {
  // Asio's epoll reactor is edge-triggered: the wait completes on the next arrival, so it is
  // only armed after the socket was drained to EAGAIN (or a short batch).
  s.socket.async_wait(
      boost::asio::ip::udp::socket::wait_read,
      [this, sp = &s, life = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
        // Closed, or the runtime is gone.
        if (life.expired() || ec || !owns(sp)) return;
        on_readable(*sp);
      });
}

void UdpRuntime::on_readable(Socket& s) {
  const std::size_t batch = options_.batch_size;
  bool drained = false;
  for (std::size_t round = 0; round < options_.max_batches_per_wakeup && !drained; ++round) {
    for (std::size_t i = 0; i < batch; ++i)
      rx_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    const int n =
        ::recvmmsg(s.fd, rx_msgs_.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        drained = true;
        break;
      }
      if (errno == EINTR) continue;
      // Nothing in the queue is lost: a pending socket error (e.g. an ICMP report) is
      // returned once and cleared.
      ++counters_.receive_errors;
      spdlog::debug("runtime: recvmmsg on {}: {}", s.local.to_string(), std::strerror(errno));
      continue;
    }
    dispatch_batch(s, n);
    // A short batch means the queue was empty when the kernel looked; anything newer raises a
    // fresh edge, so there is no need to spend a system call on the EAGAIN.
    drained = static_cast<std::size_t>(n) < batch;
    if (on_activity) on_activity();
    flush();
    // The application may have closed the runtime from on_activity().
    if (!owns(&s)) return;
  }
  if (drained) {
    start_read(s);
  } else {
    // Still data queued: come back after the other ready handlers and the timer had a turn.
    // Not async_wait: with edge triggering no new event would come for data already queued.
    boost::asio::post(io_, [this, sp = &s, life = std::weak_ptr<char>(alive_)] {
      if (!life.expired() && owns(sp)) on_readable(*sp);
    });
  }
}

void UdpRuntime::dispatch_batch(Socket& s, int count) {
  ++counters_.receive_calls;
  // One clock read per batch: the datagrams of a batch arrived within microseconds.
  const Instant t = now();
  for (int i = 0; i < count; ++i) {
    const mmsghdr& m = rx_msgs_[i];
    if (m.msg_hdr.msg_flags & MSG_TRUNC) {
      ++counters_.dropped_truncated;
      spdlog::debug("runtime: datagram on {} longer than {} bytes, dropped", s.local.to_string(),
                    options_.max_datagram_size);
      continue;
    }
    auto remote =
        from_sockaddr(static_cast<const sockaddr*>(m.msg_hdr.msg_name), m.msg_hdr.msg_namelen);
    if (!remote) continue;  // not an IP source: cannot happen on an AF_INET(6) socket
    ++counters_.datagrams_received;
    core_.handle_datagram(t, s.local, *remote,
                          static_cast<const std::uint8_t*>(m.msg_hdr.msg_iov->iov_base), m.msg_len);
  }
}

// --- send ---

void UdpRuntime::flush() {
  while (auto d = core_.poll_transmit()) {
    Socket* s = find_socket(d->local);
    if (!s) {
      ++counters_.dropped_no_socket;
      spdlog::debug("runtime: no socket on {} for a datagram to {}, dropped", d->local.to_string(),
                    d->remote.to_string());
      continue;
    }
    if (s->queue.size() >= options_.max_queued_transmits) {
      ++counters_.dropped_queue_full;
      continue;
    }
    s->queue.push_back(std::move(*d));
    // Send full batches as they form, so a burst of transmits does not pile up in memory.
    if (s->queue.size() >= options_.batch_size && !s->write_waiting) send_queued(*s);
  }
  for (auto& s : sockets_) {
    if (!s->queue.empty() && !s->write_waiting) send_queued(*s);
  }
  rearm_timer();
}

// An IP_TTL (IPv6: IPV6_HOPLIMIT) control message for one datagram of a sendmmsg batch, or
// none (ttl 0: the socket's default). Linux takes both as ancillary data on send.
void UdpRuntime::set_ttl_control(msghdr& m, TtlControl& control, bool v4, std::uint8_t ttl) {
  if (ttl == 0) {
    m.msg_control = nullptr;
    m.msg_controllen = 0;
    return;
  }
  std::memset(&control, 0, sizeof(control));
  m.msg_control = control.buf;
  m.msg_controllen = sizeof(control.buf);
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = v4 ? IPPROTO_IP : IPPROTO_IPV6;
  c->cmsg_type = v4 ? IP_TTL : IPV6_HOPLIMIT;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int value = ttl;
  std::memcpy(CMSG_DATA(c), &value, sizeof(value));
}

void UdpRuntime::send_queued(Socket& s) {
  while (!s.queue.empty()) {
    const std::size_t n = std::min(s.queue.size(), options_.batch_size);
    for (std::size_t i = 0; i < n; ++i) {
      Datagram& d = s.queue[i];
      tx_iov_[i].iov_base = d.payload.data();
      tx_iov_[i].iov_len = d.payload.size();
      tx_msgs_[i].msg_hdr.msg_namelen = to_sockaddr(d.remote, &tx_addr_[i]);
      set_ttl_control(tx_msgs_[i].msg_hdr, tx_control_[i], s.local.address.is_v4(), d.ttl);
    }
    const int sent = ::sendmmsg(s.fd, tx_msgs_.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        // Keep the datagrams and wait until the kernel has room; flush() keeps queueing.
        ++counters_.send_would_block;
        s.write_waiting = true;
        s.socket.async_wait(boost::asio::ip::udp::socket::wait_write,
                            [this, sp = &s, life = std::weak_ptr<char>(alive_)](
                                const boost::system::error_code& ec) {
                              if (life.expired() || ec || !owns(sp)) return;
                              sp->write_waiting = false;
                              send_queued(*sp);
                            });
        return;
      }
      if (errno == EINTR) continue;
      // The first datagram of the batch was refused (EMSGSIZE, ENETUNREACH, EPERM from a
      // firewall, EAFNOSUPPORT for a v6 destination on a v4 socket...): drop it, keep going.
      ++counters_.dropped_send_error;
      spdlog::debug("runtime: send from {} to {} ({} bytes): {}", s.local.to_string(),
                    s.queue.front().remote.to_string(), s.queue.front().payload.size(),
                    std::strerror(errno));
      s.queue.pop_front();
      continue;
    }
    ++counters_.send_calls;
    counters_.datagrams_sent += static_cast<std::uint64_t>(sent);
    s.queue.erase(s.queue.begin(), s.queue.begin() + sent);
  }
}

// --- timer ---

void UdpRuntime::rearm_timer() {
  const Instant deadline = core_.poll_timeout();
  if (deadline == armed_deadline_) return;
  armed_deadline_ = deadline;
  const std::uint64_t generation = ++timer_generation_;
  if (deadline == kNever) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(to_steady(deadline));
  timer_.async_wait(
      [this, generation, life = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
        // A wait that was cancelled, or superseded by a re-arm after it had already expired.
        if (life.expired() || ec || generation != timer_generation_) return;
        on_timer();
      });
}

void UdpRuntime::on_timer() {
  armed_deadline_ = kNotArmed;
  core_.handle_timeout(now());
  if (on_activity) on_activity();
  flush();
}

}  // namespace qp2p
