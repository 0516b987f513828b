// TURN allocation state (RFC 8656 sections 2.2, 9, 11) and the relay port pool
// (section 7.2); see turn_allocation.h.
#include "stack/relay/turn_allocation.h"

#include <algorithm>

namespace qp2p::turn {

bool Allocation::has_permission(Instant now, const IpAddress& peer) const {
  auto it = permissions.find(peer);
  return it != permissions.end() && now < it->second;
}

std::optional<std::uint16_t> Allocation::channel_for(Instant now, const Endpoint& peer) const {
  auto it = channel_of_peer.find(peer);
  if (it == channel_of_peer.end()) return std::nullopt;
  const ChannelBinding* b = binding(now, it->second);
  return b ? std::optional<std::uint16_t>(it->second) : std::nullopt;
}

const ChannelBinding* Allocation::binding(Instant now, std::uint16_t channel) const {
  auto it = channels.find(channel);
  if (it == channels.end() || now >= it->second.expires) return nullptr;
  return &it->second;
}

Instant Allocation::prune(Instant now) {
  Instant next = expires;
  for (auto it = permissions.begin(); it != permissions.end();) {
    if (now >= it->second) {
      it = permissions.erase(it);
    } else {
      next = std::min(next, it->second);
      ++it;
    }
  }
  for (auto it = channels.begin(); it != channels.end();) {
    if (now >= it->second.released) {
      channel_of_peer.erase(it->second.peer);
      it = channels.erase(it);
    } else {
      next = std::min(next, now < it->second.expires ? it->second.expires : it->second.released);
      ++it;
    }
  }
  return next;
}

RelayPortPool::RelayPortPool(std::uint16_t min_port, std::uint16_t max_port)
    : min_(std::min(min_port, max_port)), max_(std::max(min_port, max_port)) {}

bool RelayPortPool::free(std::uint32_t port) const {
  return port >= min_ && port <= max_ && used_.count(static_cast<std::uint16_t>(port)) == 0;
}

std::optional<std::uint16_t> RelayPortPool::take(Random& random, bool even, bool reserve_next) {
  const std::uint32_t span = std::uint32_t{max_} - min_ + 1;
  const std::uint32_t start = static_cast<std::uint32_t>(random.uniform(span));
  // One pass over the range from a random point: bounded by the range size.
  for (std::uint32_t i = 0; i < span; ++i) {
    const std::uint32_t port = min_ + (start + i) % span;
    if (even && port % 2 != 0) continue;
    if (!free(port)) continue;
    if (reserve_next && !free(port + 1)) continue;
    used_.insert(static_cast<std::uint16_t>(port));
    if (reserve_next) used_.insert(static_cast<std::uint16_t>(port + 1));
    return static_cast<std::uint16_t>(port);
  }
  return std::nullopt;
}

bool RelayPortPool::take_exact(std::uint16_t port) {
  if (!free(port)) return false;
  used_.insert(port);
  return true;
}

void RelayPortPool::release(std::uint16_t port) { used_.erase(port); }

}  // namespace qp2p::turn
