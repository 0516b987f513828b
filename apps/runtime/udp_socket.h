// The one place where qp2p::Endpoint meets the socket API: conversion to and from sockaddr, and
// opening a non-blocking UDP socket bound to an endpoint. Used by the Asio runtime and by the
// tools that drive raw sockets (qp2p-stunload), so address handling is written once.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <vector>

#include "stack/core/endpoint.h"

namespace qp2p {

// Fills `out` with `ep` (sockaddr_in or sockaddr_in6) and returns the length to pass to the
// socket calls.
socklen_t to_sockaddr(const Endpoint& ep, sockaddr_storage* out);
// nullopt for families other than AF_INET / AF_INET6 or a short length. An IPv4-mapped IPv6
// address (::ffff:a.b.c.d) stays IPv6: our sockets are IPV6_V6ONLY, so it never arrives.
std::optional<Endpoint> from_sockaddr(const sockaddr* addr, socklen_t length);

struct UdpSocketOptions {
  // Requested SO_RCVBUF / SO_SNDBUF. Best effort: the kernel caps it at net.core.rmem_max /
  // wmem_max; a large receive buffer absorbs bursts while the loop is busy with a batch.
  int buffer_bytes = 4 * 1024 * 1024;
};

// Opens a non-blocking, close-on-exec UDP socket bound to `local` (port 0: the kernel picks
// one). SO_REUSEADDR stays off so two processes can never share a port by accident; IPv6
// sockets are IPV6_V6ONLY. Throws std::runtime_error naming the address and the failing call.
int open_udp_socket(const Endpoint& local, const UdpSocketOptions& options = {});
// The address the socket is bound to (getsockname); throws std::runtime_error on failure.
Endpoint socket_local_endpoint(int fd);

// Addresses of the host's interfaces that are up (getifaddrs), of the family of `like`, without
// loopback, unspecified and IPv6 link-local ones, at most `limit`: a socket bound to the
// wildcard address is reachable on each, so they are its host candidates (RFC 8445 section
// 5.1.1.1). Empty when the system will not tell.
std::vector<IpAddress> interface_addresses(const IpAddress& like, std::size_t limit);

}  // namespace qp2p
