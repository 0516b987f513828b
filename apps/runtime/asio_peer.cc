// AsioPeer: PeerSession on a UdpRuntime (see asio_peer.h).
#include "apps/runtime/asio_peer.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <utility>

#include "apps/runtime/clock.h"
#include "apps/runtime/udp_runtime.h"
#include "apps/runtime/udp_socket.h"

namespace qp2p {

namespace {

bool all_loopback(const std::vector<Endpoint>& endpoints) {
  for (const Endpoint& e : endpoints)
    if (!e.address.is_loopback()) return false;
  return !endpoints.empty();
}

// Microseconds of wall-clock time: record versions must grow across restarts of the peer.
std::uint64_t wall_clock_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Closes the descriptors it holds unless released (sockets opened before the session exists).
struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds) ::close(fd);
  }
  std::vector<int> release() { return std::exchange(fds, {}); }
};

// Opens the sockets before the session exists: the session names its local endpoints in every
// transmit, and only the kernel knows the ports it picked. The main socket comes first, then
// one per NAT discovery socket (an unspecified address means the main socket's address).
std::vector<int> open_sockets(PeerConfig& config) {
  Fds opened;
  const Endpoint wanted =
      config.local == Endpoint{} ? AsioPeer::default_local(config.supernodes) : config.local;
  opened.fds.push_back(open_udp_socket(wanted));
  config.local = socket_local_endpoint(opened.fds.back());
  // A wildcard socket is reachable on every interface: those are its tunnel host candidates.
  if (config.local.address.is_unspecified() && config.host_addresses.empty())
    config.host_addresses = interface_addresses(config.local.address, wire::kMaxHostCandidates);
  for (Endpoint& extra : config.discovery_locals) {
    if (extra.address.is_unspecified()) extra.address = config.local.address;
    opened.fds.push_back(open_udp_socket(extra));
    extra = socket_local_endpoint(opened.fds.back());
  }
  if (config.record_version_base == 0) config.record_version_base = wall_clock_us();
  return opened.release();
}

}  // namespace

struct AsioPeer::Impl {
  Impl(boost::asio::io_context& io, PeerConfig config, Identity identity, Random random)
      : fds(open_sockets(config)),
        session(std::move(config), std::move(identity), std::move(random)),
        runtime(io, session) {
    // adopt() takes each descriptor over (and closes it when it throws).
    for (std::size_t i = 0; i < fds.size(); ++i) {
      try {
        runtime.adopt(fds[i]);
      } catch (...) {
        for (std::size_t j = i + 1; j < fds.size(); ++j) ::close(fds[j]);
        throw;
      }
    }
    runtime.on_activity = [this] { deliver_events(); };
  }

  // Hands every queued event to the handler. A handler that calls back into AsioPeer makes
  // the nested call skip delivery; this loop then picks up what that call produced.
  void deliver_events() {
    if (delivering) return;
    delivering = true;
    struct Reset {
      bool& flag;
      ~Reset() { flag = false; }
    } reset{delivering};
    while (auto event = session.poll_event()) {
      if (auto* needed = std::get_if<peer_event::TunnelSocketsNeeded>(&*event)) {
        bind_tunnel_sockets(*needed);
        continue;
      }
      if (auto* released = std::get_if<peer_event::TunnelSocketsReleased>(&*event)) {
        for (const Endpoint& local : released->locals) runtime.close_socket(local);
        continue;
      }
      if (handler) handler(*event);
    }
  }

  // Binds what an attempt asked for on the main socket's address; fewer when the system
  // refuses (file descriptors), which the attempt copes with by probing from fewer ports.
  void bind_tunnel_sockets(const peer_event::TunnelSocketsNeeded& needed) {
    std::vector<Endpoint> locals;
    const Endpoint main_local = runtime.local_endpoints().front();
    try {
      for (std::size_t i = 0; i < needed.count; ++i)
        locals.push_back(runtime.bind(Endpoint{main_local.address, 0}));
    } catch (const std::exception& e) {
      spdlog::warn("tunnel to {}: bound {} of {} extra sockets: {}", needed.peer.to_string(),
                   locals.size(), needed.count, e.what());
    }
    session.provide_tunnel_sockets(now(), needed.peer, std::move(locals));
  }

  // After an API call: events first (the handler may add requests), then the transmits and
  // the timer.
  void after_change() {
    deliver_events();
    runtime.flush();
  }

  std::vector<int> fds;  // owned by `runtime` once adopted
  PeerSession session;
  UdpRuntime runtime;  // after `session`: destroyed first, it holds a reference to it
  EventHandler handler;
  bool delivering = false;
};

AsioPeer::AsioPeer(boost::asio::io_context& io, PeerConfig config, Identity identity,
                   std::optional<Random::Seed> seed)
    : impl_(std::make_unique<Impl>(io, std::move(config), std::move(identity),
                                   seed ? Random(*seed) : Random::from_os())) {}

AsioPeer::~AsioPeer() = default;

Endpoint AsioPeer::default_local(const std::vector<Endpoint>& supernodes) {
  const bool v6 = !supernodes.empty() && supernodes.front().address.is_v6();
  Endpoint local;  // 0.0.0.0:0
  if (all_loopback(supernodes)) {
    local.address = v6 ? *IpAddress::parse("::1") : IpAddress::v4(0x7F000001);
  } else if (v6) {
    local.address = *IpAddress::parse("::");
  }
  return local;
}

void AsioPeer::on_event(EventHandler handler) { impl_->handler = std::move(handler); }

void AsioPeer::start() {
  impl_->session.start(now());
  impl_->after_change();
}

std::uint64_t AsioPeer::publish(const wire::MetaEntries& entries) {
  const std::uint64_t id = impl_->session.publish(now(), entries);
  impl_->after_change();
  return id;
}

std::uint64_t AsioPeer::lookup(const PeerId& target) {
  const std::uint64_t id = impl_->session.lookup(now(), target);
  impl_->after_change();
  return id;
}

std::uint64_t AsioPeer::search(std::vector<wire::SearchTerm> terms, std::uint16_t limit) {
  const std::uint64_t id = impl_->session.search(now(), std::move(terms), limit);
  impl_->after_change();
  return id;
}

std::uint64_t AsioPeer::watch(const PeerId& target) {
  const std::uint64_t id = impl_->session.watch(now(), target);
  impl_->after_change();
  return id;
}

std::uint64_t AsioPeer::send_message(const PeerId& to, std::string text) {
  const std::uint64_t id = impl_->session.send_message(now(), to, std::move(text));
  impl_->after_change();
  return id;
}

void AsioPeer::logout() {
  impl_->session.logout(now());
  impl_->after_change();
}

std::uint64_t AsioPeer::connect(const PeerId& peer) {
  const std::uint64_t id = impl_->session.connect(now(), peer);
  impl_->after_change();
  return id;
}

std::uint64_t AsioPeer::accept(const PeerId& peer) {
  const std::uint64_t id = impl_->session.accept(now(), peer);
  impl_->after_change();
  return id;
}

std::uint64_t AsioPeer::refuse(const PeerId& peer, std::string reason) {
  const std::uint64_t id = impl_->session.refuse(now(), peer, std::move(reason));
  impl_->after_change();
  return id;
}

bool AsioPeer::tunnel_send(const PeerId& peer, const Bytes& data) {
  const bool sent = impl_->session.tunnel_send(now(), peer, data.data(), data.size());
  impl_->after_change();
  return sent;
}

void AsioPeer::tunnel_close(const PeerId& peer) {
  impl_->session.tunnel_close(now(), peer);
  impl_->after_change();
}

void AsioPeer::close_all_tunnels() {
  impl_->session.close_all_tunnels(now());
  impl_->after_change();
}

const PeerId& AsioPeer::id() const { return impl_->session.id(); }
Endpoint AsioPeer::local_endpoint() const { return impl_->runtime.local_endpoints().front(); }
const PeerSession& AsioPeer::session() const { return impl_->session; }

}  // namespace qp2p
