// The one I/O contract every protocol object in stack/ follows (DESIGN.md, "Sans-IO core"):
// inputs carry the current time; outputs are drained until empty ("one change, then drain").
// Runtimes (apps/runtime for Boost.Asio, sim/ for ns-3) feed datagrams and timeouts in and
// re-arm a single timer at poll_timeout(). Protocol events are typed per object (poll_event()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "stack/core/datagram.h"
#include "stack/core/instant.h"

namespace qp2p {

class SansIoEndpoint {
 public:
  virtual ~SansIoEndpoint() = default;

  // A datagram arrived on `local` from `remote`. Never throws on bad input: it is dropped and
  // counted by the object.
  virtual void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                               const std::uint8_t* data, std::size_t size) = 0;
  // Timers due at or before `now` fire; calling it early is harmless.
  virtual void handle_timeout(Instant now) = 0;
  // Next datagram to send, naming the local endpoint (socket) it must leave from.
  virtual std::optional<Datagram> poll_transmit() = 0;
  // Earliest deadline, or kNever.
  virtual Instant poll_timeout() const = 0;
};

}  // namespace qp2p
