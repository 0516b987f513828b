// Port allocation classification (see port_allocation.h).
#include "stack/discovery/port_allocation.h"

#include <cstdlib>
#include <map>
#include <string>

namespace qp2p {
namespace {

std::string signed_delta(int delta) { return (delta > 0 ? "+" : "") + std::to_string(delta); }

}  // namespace

AllocationVerdict classify_port_allocation(const std::vector<NewMapping>& mappings) {
  using A = NatProfile::Allocation;
  AllocationVerdict v;

  std::size_t firsts = 0, preserved = 0;
  for (const auto& m : mappings) {
    if (!m.first_of_local_port) continue;
    ++firsts;
    if (m.external.port == *m.first_of_local_port) ++preserved;
  }
  if (preserved > 0 && 2 * preserved >= firsts) {
    v.allocation = A::kPreserving;
    if (preserved < firsts) {
      v.notes.push_back("allocation: " + std::to_string(firsts - preserved) + " of " +
                        std::to_string(firsts) + " local ports taken, moved");
    }
    return v;
  }

  std::map<int, std::size_t> deltas;
  std::size_t steps = 0;
  bool one_address = true;
  for (std::size_t i = 1; i < mappings.size(); ++i) {
    const Endpoint& a = mappings[i - 1].external;
    const Endpoint& b = mappings[i].external;
    one_address = one_address && b.address == mappings[0].external.address;
    ++deltas[int{b.port} - int{a.port}];
    ++steps;
  }
  if (!one_address) v.notes.push_back("allocation: mappings on several public addresses");
  if (steps < 2) {
    v.notes.push_back("allocation: " + std::to_string(mappings.size()) +
                      " new mappings seen, too few to tell sequential from random");
    return v;
  }
  auto best = deltas.end();
  for (auto it = deltas.begin(); it != deltas.end(); ++it) {
    if (it->first == 0) continue;
    if (best == deltas.end() || it->second > best->second ||
        (it->second == best->second && std::abs(it->first) < std::abs(best->first))) {
      best = it;
    }
  }
  if (best != deltas.end() && 2 * best->second > steps) {
    if (best->second >= kMinSequentialSteps) {
      v.allocation = A::kSequential;
      v.delta = best->first;
      return v;
    }
    if (best->second >= 2) {
      // One repeat: as likely a random allocator's coincidence in a small range (a carrier's
      // port block) as a sequential NAT with a stray allocation (port_allocation.h).
      v.notes.push_back("allocation: step " + signed_delta(best->first) + " in " +
                        std::to_string(best->second) + " of " + std::to_string(steps) +
                        " steps: sequential, or random ports by chance; more sockets would tell");
      return v;
    }
  }
  v.allocation = A::kRandom;
  return v;
}

}  // namespace qp2p
