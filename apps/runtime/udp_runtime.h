// The Boost.Asio adapter for a sans-IO core (DESIGN.md, "Sans-IO core"): it owns the UDP
// sockets and one timer, feeds datagrams and timeouts into the core and sends whatever the core
// has to transmit. No protocol logic lives here.
//
//   socket readable -> recvmmsg batch -> core.handle_datagram(now, local, remote, ...) each
//                   -> on_activity() -> flush()
//   timer fires     -> core.handle_timeout(now) -> on_activity() -> flush()
//   flush()         -> drain core.poll_transmit() -> sendmmsg per local socket
//                   -> re-arm the timer at core.poll_timeout()
//
// Single-threaded: everything runs on the io_context's thread, the core is never touched
// concurrently. An application that calls into the core itself (API calls) calls flush()
// afterwards, which is the "one change, then drain" rule.
#pragma once

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "stack/core/sans_io.h"

namespace qp2p {

struct UdpRuntimeOptions {
  // Datagrams per recvmmsg/sendmmsg call.
  std::size_t batch_size = 64;
  // recvmmsg calls per socket wakeup before yielding to the io_context, so a flood on one
  // socket cannot starve the timer or the other sockets.
  std::size_t max_batches_per_wakeup = 16;
  // Receive slot size; a longer datagram is truncated by the kernel and dropped (counted).
  std::size_t max_datagram_size = 65535;
  // Transmits held per socket while its send buffer is full; beyond this they are dropped
  // (counted) rather than growing memory without bound.
  std::size_t max_queued_transmits = 65536;
  // SO_RCVBUF / SO_SNDBUF request, best effort (capped by net.core.rmem_max / wmem_max).
  int socket_buffer_bytes = 4 * 1024 * 1024;
};

// What the runtime did and dropped; the core counts its own drops.
struct UdpRuntimeCounters {
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t receive_calls = 0;       // recvmmsg calls that returned at least one datagram
  std::uint64_t send_calls = 0;          // sendmmsg calls that sent at least one datagram
  std::uint64_t send_would_block = 0;    // send buffer full: waited for writable, nothing lost
  std::uint64_t dropped_truncated = 0;   // longer than max_datagram_size
  std::uint64_t dropped_no_socket = 0;   // transmit from a local endpoint we have no socket on
  std::uint64_t dropped_queue_full = 0;  // max_queued_transmits reached
  std::uint64_t dropped_send_error = 0;  // the kernel refused the datagram (EMSGSIZE, ...)
  std::uint64_t receive_errors = 0;
};

class UdpRuntime {
 public:
  UdpRuntime(boost::asio::io_context& io, SansIoEndpoint& core, UdpRuntimeOptions options = {});
  // Closes the sockets; handlers still queued in the io_context become no-ops.
  ~UdpRuntime();
  UdpRuntime(const UdpRuntime&) = delete;
  UdpRuntime& operator=(const UdpRuntime&) = delete;

  // Opens a UDP socket on `local` and starts reading from it. Returns the endpoint actually
  // bound (the kernel's port when local.port is 0). Throws std::runtime_error naming the
  // address when the socket cannot be opened or bound.
  Endpoint bind(const Endpoint& local);
  // Takes over a socket already bound with open_udp_socket() (udp_socket.h), for applications
  // that must learn their ports before constructing the core. Returns its local endpoint.
  Endpoint adopt(int fd);
  // Closes the socket on `local` (transmits still queued on it are dropped); false when there
  // is none. For sockets a core opens and closes as it runs (TURN relay ports).
  bool close_socket(const Endpoint& local);
  // Closes every socket and stops the timer. The core is left as it is.
  void close();

  // Drains the core's transmits onto the sockets and re-arms the timer at poll_timeout().
  // Call after every API call into the core.
  void flush();

  // Called after each input batch and each timeout, before the transmits are drained, so the
  // application can drain the core's events (and make API calls, which flush() then sends).
  std::function<void()> on_activity;

  std::vector<Endpoint> local_endpoints() const;
  const UdpRuntimeCounters& counters() const { return counters_; }

 private:
  struct Socket;

  void start_read(Socket& s);
  void on_readable(Socket& s);
  void dispatch_batch(Socket& s, int count);
  void send_queued(Socket& s);
  Socket* find_socket(const Endpoint& local);
  bool owns(const Socket* s) const;
  void rearm_timer();
  void on_timer();

  boost::asio::io_context& io_;
  SansIoEndpoint& core_;
  UdpRuntimeOptions options_;
  UdpRuntimeCounters counters_;
  std::vector<std::unique_ptr<Socket>> sockets_;
  Socket* last_socket_ = nullptr;  // transmits usually leave from the socket used last

  // Receive and send scratch, shared by all sockets (one batch is handled at a time).
  std::vector<std::uint8_t> rx_buffer_;
  std::vector<struct mmsghdr> rx_msgs_;
  std::vector<struct iovec> rx_iov_;
  std::vector<sockaddr_storage> rx_addr_;
  std::vector<struct mmsghdr> tx_msgs_;
  std::vector<struct iovec> tx_iov_;
  std::vector<sockaddr_storage> tx_addr_;
  // Per-datagram IP TTL (Datagram::ttl): one control message (IP_TTL or IPV6_HOPLIMIT) each.
  union TtlControl {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  };
  std::vector<TtlControl> tx_control_;
  static void set_ttl_control(msghdr& m, TtlControl& control, bool v4, std::uint8_t ttl);

  boost::asio::steady_timer timer_;
  Instant armed_deadline_;              // what timer_ waits for; kNotArmed when idle
  std::uint64_t timer_generation_ = 0;  // a wait superseded by a re-arm is ignored

  // Handlers hold a weak reference, so one that runs after destruction does nothing.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace qp2p
