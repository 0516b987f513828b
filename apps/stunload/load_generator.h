// qp2p-stunload's client side: a closed-loop STUN Binding load generator. Each client socket
// keeps `window` requests outstanding against one target (the socket is connected to it, so the
// kernel only delivers datagrams from the target), moves them with sendmmsg/recvmmsg and
// validates every response (parse, success class, outstanding transaction id, source,
// XOR-MAPPED-ADDRESS is the socket's own address, FINGERPRINT when present). A request
// unanswered after `timeout` is forgotten and replaced, so a lossy server cannot stall the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "stack/core/endpoint.h"

namespace qp2p::stunload {

struct LoadOptions {
  std::vector<Endpoint> targets;  // socket i talks to targets[i % targets.size()]
  std::chrono::milliseconds duration{5000};
  std::size_t sockets = 4;
  std::size_t window = 64;  // outstanding requests per socket
  std::size_t batch = 32;   // datagrams per sendmmsg/recvmmsg
  // Past this a request counts as timed out and its slot gets a fresh transaction. Long
  // against loopback latency (tens of microseconds), short against the run.
  std::chrono::milliseconds timeout{200};
  bool fingerprint = false;  // add FINGERPRINT to requests (the server then checks a CRC)
};

struct LoadReport {
  double seconds = 0;  // measured length of the sending phase
  std::uint64_t sent = 0;
  std::uint64_t valid = 0;
  std::uint64_t invalid = 0;  // sum of the invalid_* reasons
  std::uint64_t invalid_parse = 0;
  std::uint64_t invalid_not_success = 0;  // error response or not a Binding response
  std::uint64_t invalid_unknown_transaction = 0;
  std::uint64_t invalid_wrong_source = 0;  // did not come from the target
  std::uint64_t invalid_wrong_mapped = 0;  // XOR-MAPPED-ADDRESS missing or not our address
  std::uint64_t invalid_bad_fingerprint = 0;
  std::uint64_t late = 0;  // answer to a request already counted as timed out
  std::uint64_t timed_out = 0;
  std::uint64_t outstanding_at_end = 0;
  std::uint64_t send_errors = 0;
  double valid_per_second = 0;
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  double latency_max_us = 0;
};

// Runs the load for options.duration and returns the counts. Throws std::runtime_error naming
// the address when a client socket cannot be opened.
LoadReport run_load(const LoadOptions& options);

}  // namespace qp2p::stunload
