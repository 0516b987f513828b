// qp2p-peer processes in emulated hosts (see emu_peer.h).
#include "scenarios/emulation/emu_peer.h"

#include "scenarios/emulation/command_runner.h"

namespace qp2p::emu {
namespace {
test::ChildProcess::Options discard_logs() {
  test::ChildProcess::Options o;
  o.stderr_mode = test::ChildProcess::Stderr::kDiscard;
  return o;
}
}  // namespace

EmuPeer::EmuPeer(const Topology& topology, const std::string& netns, const std::string& binary,
                 const std::vector<std::string>& args)
    : process_(topology.spawn_in(netns, binary, args, discard_logs())) {}

void EmuPeer::pump(std::chrono::milliseconds wait) {
  auto line = process_.read_line(wait);
  for (int i = 0; line && i < 1000; ++i) {
    Json j = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("event")) {
      events_.push_back({std::move(j), Clock::now()});
    } else {
      other_lines_.push_back(*line);
    }
    line = process_.read_line(std::chrono::milliseconds(0));
  }
}

const EmuPeer::Event* EmuPeer::find(const std::string& name,
                                    const std::function<bool(const Json&)>& match) const {
  for (const Event& e : events_) {
    if (e.json.value("event", "") == name && (!match || match(e.json))) return &e;
  }
  return nullptr;
}

std::string EmuPeer::transcript() const {
  std::string out;
  for (const Event& e : events_) out += e.json.dump() + "\n";
  for (const auto& l : other_lines_) out += "(not JSON) " + l + "\n";
  return out;
}

void EmuPeer::stop() {
  if (process_.running()) {
    process_.write_line("quit");
    process_.close_stdin();
    if (!process_.wait(std::chrono::milliseconds(500))) process_.stop(std::chrono::seconds(1));
  }
}

bool wait_until(std::vector<EmuPeer*> peers, const std::function<bool()>& done,
                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto slice = std::chrono::milliseconds(5);
  while (!done()) {
    if (interrupted() || std::chrono::steady_clock::now() >= deadline) return false;
    bool all_ended = true;
    for (EmuPeer* p : peers) {
      p->pump(slice);
      all_ended = all_ended && p->ended();
    }
    if (all_ended) return done();
  }
  return true;
}

}  // namespace qp2p::emu
