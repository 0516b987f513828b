// sockaddr conversion and UDP socket setup (see udp_socket.h).
#include "apps/runtime/udp_socket.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace qp2p {

socklen_t to_sockaddr(const Endpoint& ep, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  if (ep.address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(ep.port);
    std::memcpy(&sin->sin_addr, ep.address.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(ep.port);
  std::memcpy(&sin6->sin6_addr, ep.address.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<Endpoint> from_sockaddr(const sockaddr* addr, socklen_t length) {
  if (addr->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(addr);
    std::array<std::uint8_t, 4> bytes;
    std::memcpy(bytes.data(), &sin->sin_addr, 4);
    return Endpoint{IpAddress::v4(bytes), ntohs(sin->sin_port)};
  }
  if (addr->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(addr);
    std::array<std::uint8_t, 16> bytes;
    std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
    return Endpoint{IpAddress::v6(bytes), ntohs(sin6->sin6_port)};
  }
  return std::nullopt;
}

namespace {

[[noreturn]] void fail(const Endpoint& local, const char* call, int error) {
  throw std::runtime_error("UDP socket " + local.to_string() + ": " + call + ": " +
                           std::strerror(error));
}

// Closes the descriptor unless released, so a failing setup step does not leak it.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

void set_buffer(int fd, int option, int bytes, const char* name, const Endpoint& local) {
  if (::setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof(bytes)) != 0) {
    spdlog::debug("{}: setsockopt({}, {}): {}", local.to_string(), name, bytes,
                  std::strerror(errno));
  }
}

}  // namespace

int open_udp_socket(const Endpoint& local, const UdpSocketOptions& options) {
  const int family = local.address.is_v4() ? AF_INET : AF_INET6;
  FdGuard fd{::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0) fail(local, "socket", errno);
  if (family == AF_INET6) {
    // One socket per address family keeps a v4 and a v6 listener on the same port apart.
    int on = 1;
    if (::setsockopt(fd.fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
      fail(local, "setsockopt(IPV6_V6ONLY)", errno);
  }
  if (options.buffer_bytes > 0) {
    set_buffer(fd.fd, SO_RCVBUF, options.buffer_bytes, "SO_RCVBUF", local);
    set_buffer(fd.fd, SO_SNDBUF, options.buffer_bytes, "SO_SNDBUF", local);
  }
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(local, &ss);
  if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) fail(local, "bind", errno);
  return fd.release();
}

Endpoint socket_local_endpoint(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    throw std::runtime_error("getsockname(fd " + std::to_string(fd) + "): " + std::strerror(errno));
  auto ep = from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
  if (!ep) throw std::runtime_error("getsockname(fd " + std::to_string(fd) + "): not an IP socket");
  return *ep;
}

std::vector<IpAddress> interface_addresses(const IpAddress& like, std::size_t limit) {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr && out.size() < limit; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || !(i->ifa_flags & IFF_UP)) continue;
    const socklen_t length =
        i->ifa_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    auto endpoint = from_sockaddr(i->ifa_addr, length);
    if (!endpoint || endpoint->address.is_v4() != like.is_v4()) continue;
    const IpAddress& a = endpoint->address;
    if (a.is_loopback() || a.is_unspecified()) continue;
    // fe80::/10: only meaningful with a scope id, which candidates do not carry.
    if (!a.is_v4() && a.data()[0] == 0xfe && (a.data()[1] & 0xc0) == 0x80) continue;
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace qp2p
