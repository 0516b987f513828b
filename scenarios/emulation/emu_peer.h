// A qp2p-peer process inside an emulated host (emu_topology.h): commands in on stdin, JSON
// events out on stdout (apps/peer/main.cc), read without blocking so that one loop can follow
// several peers at once. Every event read is kept, in order, with the wall time it was read.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/emulation/emu_topology.h"

namespace qp2p::emu {

class EmuPeer {
 public:
  using Json = nlohmann::json;
  using Clock = std::chrono::steady_clock;

  struct Event {
    Json json;
    Clock::time_point at;
  };

  // Starts `binary` in `netns` with `args`; its logs (stderr) are discarded.
  EmuPeer(const Topology& topology, const std::string& netns, const std::string& binary,
          const std::vector<std::string>& args);

  // Reads what arrived within `wait` (at most one blocking wait, then what is buffered).
  void pump(std::chrono::milliseconds wait);
  bool command(const std::string& line) { return process_.write_line(line); }

  // The first event named `name` satisfying `match`, among those read so far.
  const Event* find(const std::string& name,
                    const std::function<bool(const Json&)>& match = nullptr) const;
  const std::vector<Event>& events() const { return events_; }
  bool ended() const { return process_.at_eof(); }
  std::string transcript() const;

  // "quit", then SIGTERM after a short grace, SIGKILL after that; always reaped.
  void stop();

 private:
  test::ChildProcess process_;
  std::vector<Event> events_;
  std::vector<std::string> other_lines_;  // stdout lines that were not JSON
};

// Pumps every peer in slices until `done` holds, `timeout` passes or an interrupt arrives;
// returns done().
bool wait_until(std::vector<EmuPeer*> peers, const std::function<bool()>& done,
                std::chrono::milliseconds timeout);

}  // namespace qp2p::emu
