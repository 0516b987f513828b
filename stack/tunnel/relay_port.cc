// A peer's shared TURN allocation for relayed tunnels (relay_port.h; RFC 8656).
#include "stack/tunnel/relay_port.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <type_traits>

#include "stack/stun/stun_message.h"

namespace qp2p::tunnel {

RelayPort::RelayPort(Endpoint main_local, Random random)
    : main_local_(main_local), random_(std::move(random)) {}

RelayPort::~RelayPort() = default;

void RelayPort::acquire(Instant now, const PeerId& peer, const Endpoint& server,
                        const turn::TurnCredentials& credentials,
                        const std::vector<Endpoint>& permit_for) {
  users_.erase(peer);
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [&](const auto& w) { return w.first == peer; }),
                 waiting_.end());
  if (client_ && client_->state() == turn::TurnClient::State::kAllocated &&
      client_->config().server == server) {
    permit(now, permit_for);
    users_.insert(peer);
    events_.push_back(relay_event::Ready{peer, *client_->relayed()});
    pump(now);
    return;
  }
  if (client_ && client_->config().server != server &&
      client_->state() != turn::TurnClient::State::kFailed && !users_.empty()) {
    events_.push_back(relay_event::Failed{
        peer, "the relayed address is in use on another supernode (" +
                  client_->config().server.to_string() + ")"});
    return;
  }
  waiting_.emplace_back(peer, permit_for);
  server_ = server;
  credentials_ = credentials;
  if (client_ && (client_->state() == turn::TurnClient::State::kAllocating ||
                  client_->state() == turn::TurnClient::State::kClosing))
    return;  // Ready when allocated (a closing allocation is replaced once it is gone)
  allocate(now);
}

void RelayPort::allocate(Instant now) {
  turn::TurnClientConfig config;
  config.local = main_local_;
  config.server = server_;
  config.credentials = credentials_;
  config.software = "qp2p";
  config.retransmit = kRelayRetransmitPolicy;
  client_ = std::make_unique<turn::TurnClient>(config, Random::from_u64(random_.next_u64()));
  client_->allocate(now);
  pump(now);
}

void RelayPort::release(Instant now, const PeerId& peer) {
  users_.erase(peer);
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [&](const auto& w) { return w.first == peer; }),
                 waiting_.end());
  if (users_.empty() && waiting_.empty() && client_ &&
      client_->state() == turn::TurnClient::State::kAllocated) {
    SPDLOG_DEBUG("relay: no relayed tunnel left; deleting the allocation");
    client_->close(now);
    pump(now);
  }
}

bool RelayPort::send(Instant now, const Endpoint& remote, const std::uint8_t* data,
                     std::size_t size) {
  if (!client_ || client_->state() != turn::TurnClient::State::kAllocated ||
      !client_->send(now, remote, data, size)) {
    ++counters_.dropped_send;
    return false;
  }
  ++counters_.datagrams_relayed_out;
  pump(now);
  return true;
}

void RelayPort::bind_channel(Instant now, const Endpoint& remote) {
  if (!client_ || client_->state() != turn::TurnClient::State::kAllocated) return;
  if (client_->channel(remote)) return;
  client_->bind_channel(now, remote);
  pump(now);
}

std::optional<Endpoint> RelayPort::relayed() const {
  if (!client_ || client_->state() != turn::TurnClient::State::kAllocated) return std::nullopt;
  return client_->relayed();
}

bool RelayPort::is_relayed(const Endpoint& local) const {
  const auto r = relayed();
  return r && *r == local;
}

bool RelayPort::handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                                const std::uint8_t* data, std::size_t size) {
  if (!client_ || local != main_local_ || remote != client_->config().server) return false;
  // NAT discovery talks STUN Binding to the same server: leave that to it. ChannelData is
  // taken only in RFC 8656's channel range 0x4000-0x4FFF (our client binds from 0x4000 up): the
  // control protocol's first byte 0x51 lies in RFC 5766's wider one.
  const bool channel_data = size >= 1 && data[0] >= 0x40 && data[0] <= 0x4F;
  if (!channel_data) {
    auto view = stun::MessageView::parse(data, size);
    if (!view || view->method() == stun::Method::kBinding) return false;
  }
  const bool handled = client_->handle_datagram(now, local, remote, data, size);
  pump(now);
  return handled;
}

void RelayPort::handle_timeout(Instant now) {
  if (!client_) return;
  if (client_->poll_timeout() <= now) client_->handle_timeout(now);
  pump(now);
}

std::optional<Datagram> RelayPort::poll_transmit() {
  if (!client_) return std::nullopt;
  return client_->poll_transmit();
}

Instant RelayPort::poll_timeout() const { return client_ ? client_->poll_timeout() : kNever; }

std::optional<RelayEvent> RelayPort::poll_event() {
  if (events_.empty()) return std::nullopt;
  RelayEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void RelayPort::permit(Instant now, const std::vector<Endpoint>& peers) {
  for (const Endpoint& p : peers)
    if (!client_->has_permission(p)) client_->create_permission(now, p);
}

// Turns the client's events into ours; starts a queued allocation once an old one is gone.
void RelayPort::pump(Instant now) {
  namespace ce = turn::client_event;
  bool closed = false;
  while (auto event = client_->poll_event()) {
    std::visit(
        [&](auto&& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, ce::Allocated>) {
            ++counters_.allocations;
            SPDLOG_INFO("relay: allocated {} on {} (lifetime {} s)", e.relayed.to_string(),
                        client_->config().server.to_string(),
                        std::chrono::duration_cast<std::chrono::seconds>(e.lifetime).count());
            auto waiting = std::move(waiting_);
            waiting_.clear();
            for (auto& [peer, peers] : waiting) {
              permit(now, peers);
              users_.insert(peer);
              events_.push_back(relay_event::Ready{peer, e.relayed});
            }
          } else if constexpr (std::is_same_v<T, ce::Data>) {
            ++counters_.datagrams_relayed_in;
            events_.push_back(
                relay_event::Data{*client_->relayed(), e.peer, std::move(e.payload)});
          } else if constexpr (std::is_same_v<T, ce::Failed>) {
            SPDLOG_INFO("relay: {} {} failed: {} {}", turn::to_string(e.operation),
                        e.peer.to_string(), e.code, e.reason);
            if (e.operation == turn::TurnOperation::kAllocate) {
              ++counters_.allocation_failures;
              for (auto& [peer, peers] : waiting_)
                events_.push_back(relay_event::Failed{
                    peer, "relay allocation failed: " + std::to_string(e.code) + " " + e.reason});
              waiting_.clear();
            }
          } else if constexpr (std::is_same_v<T, ce::AllocationLost>) {
            for (const PeerId& peer : users_)
              events_.push_back(relay_event::Lost{peer, "relay allocation lost: " + e.reason});
            for (auto& [peer, peers] : waiting_)
              events_.push_back(relay_event::Failed{peer, "relay allocation lost: " + e.reason});
            users_.clear();
            waiting_.clear();
          } else if constexpr (std::is_same_v<T, ce::Closed>) {
            closed = true;
          }
        },
        *event);
  }
  if (closed && !waiting_.empty()) {
    // Someone asked while the old allocation was being deleted: allocate anew.
    allocate(now);
  }
}

}  // namespace qp2p::tunnel
