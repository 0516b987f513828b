// qp2p-stunload --reflect: the yardstick for the STUN load benchmark. A bare recvmmsg/sendmmsg
// loop that answers each Binding request with a success response holding only
// XOR-MAPPED-ADDRESS, written by hand into a fixed buffer: no parser, no allocation, no event
// loop. Whatever rate it reaches is the ceiling the kernel and the load generator allow, so a
// real server's rate can be read as a fraction of it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "stack/core/endpoint.h"

namespace qp2p::stunload {

struct ReflectorReport {
  std::uint64_t received = 0;
  std::uint64_t answered = 0;
  std::uint64_t ignored = 0;  // not a Binding request
  std::uint64_t send_errors = 0;
};

// Binds `local`, calls `on_ready(bound endpoint)` once listening, then answers until `stop`
// becomes true or `max_duration` passes. Throws std::runtime_error naming the address when the
// socket cannot be opened.
ReflectorReport run_reflector(const Endpoint& local, std::size_t batch,
                              std::chrono::milliseconds max_duration, const std::atomic<bool>& stop,
                              void (*on_ready)(const Endpoint& bound));

}  // namespace qp2p::stunload
