// qp2p-peer: a long-lived peer scripted through stdin, one command per line (the language is
// in apps/runtime/peer_command.h), reporting one JSON object per line on stdout (the fields
// are in apps/runtime/peer_json.h). Logs go to stderr only.
//
//   qp2p-peer --supernode 192.0.2.10:3478 --key alice.key --meta role=camera
//
// quit, end of stdin, SIGINT and SIGTERM log out and exit 0. A bad stdin line is answered
// with an "error" line and never ends the peer; a bad command line exits 2.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "apps/peer/netcheck.h"
#include "apps/runtime/asio_peer.h"
#include "apps/runtime/key_file.h"
#include "apps/runtime/logging.h"
#include "apps/runtime/peer_command.h"
#include "apps/runtime/peer_json.h"
#include "stack/discovery/nat_discovery.h"

namespace qp2p {
namespace {

// A line longer than this is refused (the longest useful one, a send of 1000 bytes of text
// or a publish of 32 entries, is well under it).
constexpr std::size_t kMaxLineBytes = 16 * 1024;
// quit and end of stdin first let requests already made finish (their answers are printed),
// but no longer than this: a request to an unreachable supernode can stay queued forever.
constexpr auto kQuitDrainLimit = std::chrono::seconds(10);
// The logout's own bound: the peer exits even when the supernode never answers.
constexpr auto kLogoutLimit = std::chrono::seconds(3);

struct Options {
  std::vector<Endpoint> supernodes;
  std::string key_path = "qp2p-peer.key";
  wire::MetaEntries meta;
  std::string log_level = "warn";
  std::optional<Endpoint> bind;
  std::optional<Endpoint> gateway;  // NAT-PMP endpoint of the default gateway (port 5351)
  bool nat_discovery = false;
  bool auto_accept = false;
  bool relay_only = false;
};

// Extra sockets for RFC 5780 discovery: enough allocation samples to tell sequential from
// random ports even inside a carrier's small port block (stack/discovery/nat_discovery.h).
constexpr std::size_t kDiscoverySockets = kDefaultNatDiscoveryExtraSockets;

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "qp2p-peer: " << message << " (see --help)\n";
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  CLI::App app{"qp2p-peer: a qp2p peer scripted by stdin lines, reporting JSON lines on stdout"};
  std::vector<std::string> supernodes{"127.0.0.1:3478"};
  std::vector<std::string> meta;
  std::string bind;
  std::string gateway;
  Options options;
  app.add_option("--supernode", supernodes, "supernode IP:PORT, repeatable (tried in order)")
      ->capture_default_str()
      ->type_name("IP:PORT");
  app.add_option("--key", options.key_path, "key file, created (mode 0600) when missing")
      ->capture_default_str();
  app.add_option("--meta", meta, "KEY=VALUE published at login, repeatable")
      ->type_name("KEY=VALUE");
  app.add_option("--log-level", options.log_level,
                 std::string(kLogLevelNames) + " (logs go to stderr)")
      ->capture_default_str();
  app.add_option("--bind", bind,
                 "local IP:PORT of the peer's socket (default: chosen to match "
                 "the supernodes: 127.0.0.1:0 for loopback ones, else 0.0.0.0:0)")
      ->type_name("IP:PORT");
  app.add_option("--gateway", gateway,
                 "the default gateway's IP: with --nat-discovery it is asked over NAT-PMP "
                 "(RFC 6886) for its external address, which tells a carrier NAT behind it; "
                 "tunnels then open every NAT level before the peer's checks arrive")
      ->type_name("IP");
  app.add_flag("--nat-discovery", options.nat_discovery,
               "after login, classify the NAT (RFC 4787/5780) with " +
                   std::to_string(kDiscoverySockets) +
                   " extra sockets, print a \"nat\" line and publish the profile as nat.* "
                   "metadata");
  app.add_flag("--auto-accept", options.auto_accept,
               "accept every tunnel request at once (otherwise answer with accept/refuse)");
  app.add_flag("--relay-only", options.relay_only,
               "Tunnels go through the supernode's relay (TURN) only, never direct, like ICE's "
               "relay transport policy: hides this host's addresses from its peers");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    usage_error(e.what());
  }

  for (const std::string& text : supernodes) {
    auto ep = Endpoint::parse(text);
    if (!ep || ep->port == 0) usage_error("--supernode: '" + text + "' is not IP:PORT");
    options.supernodes.push_back(*ep);
  }
  if (options.supernodes.empty()) usage_error("--supernode: at least one is needed");
  if (!bind.empty()) {
    options.bind = Endpoint::parse(bind);
    if (!options.bind) usage_error("--bind: '" + bind + "' is not IP:PORT");
  }
  if (!gateway.empty()) {
    auto ip = IpAddress::parse(gateway);
    if (!ip) usage_error("--gateway: '" + gateway + "' is not an IP address");
    options.gateway = Endpoint{*ip, 5351};
  }
  std::map<std::string, std::string> entries;  // a key given twice: the last one wins
  for (const std::string& text : meta) {
    std::string key, value, error;
    if (!peer_command::parse_entry(text, &key, &value, &error)) usage_error("--meta: " + error);
    entries[key] = value;
  }
  options.meta.assign(entries.begin(), entries.end());
  if (std::string error = wire::validate_entries(options.meta); !error.empty())
    usage_error("--meta: " + error);
  if (!parse_log_level(options.log_level))
    usage_error("--log-level: unknown level '" + options.log_level + "' (expected " +
                kLogLevelNames + ")");
  return options;
}

// The event loop: stdin lines in, JSON lines out, the peer in between.
class PeerApp {
 public:
  PeerApp(boost::asio::io_context& io, AsioPeer& peer)
      : io_(io), peer_(peer), stdin_(io), signals_(io, SIGINT, SIGTERM), timer_(io) {}
  // The fallback reader only reads what never blocks (a file, /dev/null), so it has ended or
  // is about to.
  ~PeerApp() {
    if (reader_.joinable()) reader_.join();
  }

  void run() {
    peer_.on_event([this](const PeerEvent& e) { on_event(e); });
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      SPDLOG_INFO("signal {}: logging out", signal);
      quit(/*drain=*/false);
    });
    start_stdin();
    peer_.start();
    io_.run();
  }

 private:
  void emit(const peer_json::Json& value) {
    std::cout << peer_json::to_line(value) << '\n' << std::flush;
    if (!std::cout && !quitting_) {
      // Whoever read our output is gone: nothing more can be reported.
      SPDLOG_WARN("stdout closed: logging out");
      boost::asio::post(io_, [this] { quit(false); });
    }
  }

  void on_event(const PeerEvent& event) {
    emit(peer_json::event(event, peer_.id()));
    if (auto request = request_of(event)) finished(*request);
    if (std::holds_alternative<peer_event::LoggedOut>(event) && quitting_)
      boost::asio::post(io_, [this] { io_.stop(); });
    if (draining_ && outstanding_.empty()) boost::asio::post(io_, [this] { logout(); });
  }

  template <class T, class = void>
  struct HasRequest : std::false_type {};
  template <class T>
  struct HasRequest<T, std::void_t<decltype(std::declval<T>().request)>> : std::true_type {};

  // The request an event answers, for the events that answer one.
  static std::optional<std::uint64_t> request_of(const PeerEvent& event) {
    return std::visit(
        [](const auto& e) -> std::optional<std::uint64_t> {
          if constexpr (HasRequest<std::decay_t<decltype(e)>>::value)
            return e.request;
          else
            return std::nullopt;
        },
        event);
  }

  // Request ids whose outcome was printed; an outcome may be reported before the call that
  // made the request has returned its id (e.g. a publish refused at once).
  void finished(std::uint64_t request) {
    if (outstanding_.erase(request) == 0) {
      if (early_.size() > 1024) early_.clear();  // outcomes of requests the core made itself
      early_.insert(request);
    }
  }
  void track(std::uint64_t request) {
    if (early_.erase(request) == 0) outstanding_.insert(request);
  }

  // --- stdin ---

  void start_stdin() {
    boost::system::error_code ec;
    int fd = ::dup(STDIN_FILENO);
    if (fd >= 0) stdin_.assign(fd, ec);
    if (fd < 0 || ec) {
      // epoll refuses regular files and /dev/null; reads on those never block for long, so a
      // reader thread hands the bytes over instead.
      if (fd >= 0 && !stdin_.is_open()) ::close(fd);
      SPDLOG_DEBUG("stdin is not pollable ({}): reading it from a thread", ec.message());
      reader_ = std::thread([this] {
        std::array<char, 4096> chunk;
        while (true) {
          ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
          if (n < 0 && errno == EINTR) continue;
          std::string bytes(chunk.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
          boost::asio::post(io_, [this, bytes] { bytes.empty() ? on_eof() : on_bytes(bytes); });
          if (n <= 0) return;
        }
      });
      return;
    }
    read_stdin();
  }

  void read_stdin() {
    stdin_.async_read_some(boost::asio::buffer(chunk_),
                           [this](const boost::system::error_code& ec, std::size_t n) {
                             if (ec) {
                               if (ec != boost::asio::error::operation_aborted) on_eof();
                               return;
                             }
                             on_bytes(std::string(chunk_.data(), n));
                             if (!quitting_ && !draining_) read_stdin();
                           });
  }

  void on_bytes(const std::string& bytes) {
    for (char c : bytes) {
      if (draining_ || quitting_) return;  // nothing after quit is read
      if (c != '\n') {
        if (line_.size() < kMaxLineBytes)
          line_ += c;
        else
          too_long_ = true;
        continue;
      }
      if (too_long_)
        emit(peer_json::error("", "line longer than " + std::to_string(kMaxLineBytes) + " bytes"));
      else
        on_line(line_);
      line_.clear();
      too_long_ = false;
    }
  }

  void on_eof() {
    if (!line_.empty() && !too_long_) on_line(line_);  // a last line without a newline
    line_.clear();
    SPDLOG_DEBUG("end of stdin");
    quit(/*drain=*/true);
  }

  void on_line(const std::string& line) {
    using namespace peer_command;
    std::visit(
        [this](auto&& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, Publish>)
            track(peer_.publish(c.entries));
          else if constexpr (std::is_same_v<T, Lookup>)
            track(peer_.lookup(c.target));
          else if constexpr (std::is_same_v<T, Search>)
            track(peer_.search(std::move(c.terms)));
          else if constexpr (std::is_same_v<T, Send>)
            track(peer_.send_message(c.to, std::move(c.text)));
          else if constexpr (std::is_same_v<T, Watch>)
            track(peer_.watch(c.target));
          else if constexpr (std::is_same_v<T, Connect>)
            track(peer_.connect(c.peer));
          else if constexpr (std::is_same_v<T, Accept>)
            track(peer_.accept(c.peer));
          else if constexpr (std::is_same_v<T, Refuse>)
            track(peer_.refuse(c.peer, std::move(c.reason)));
          else if constexpr (std::is_same_v<T, TunnelSend>)
            tunnel_send(c.to, c.text);
          else if constexpr (std::is_same_v<T, Close>)
            tunnel_close(c.peer);
          else if constexpr (std::is_same_v<T, Quit>)
            quit(/*drain=*/true);
          else if constexpr (std::is_same_v<T, Invalid>)
            emit(peer_json::error(c.command, c.reason));
        },
        parse(line));
  }

  // --- tunnels ---

  void tunnel_send(const PeerId& to, const std::string& text) {
    if (!peer_.tunnel_send(to, Bytes(text.begin(), text.end())))
      emit(peer_json::error("tsend", "no tunnel to " + to.to_string() + " (or text over " +
                                         std::to_string(tunnel::kMaxPlaintext) + " bytes)"));
  }

  void tunnel_close(const PeerId& peer) {
    const auto& tunnels = peer_.session().tunnels();
    if (!tunnels.has_tunnel(peer) && !tunnels.has_attempt(peer)) {
      emit(peer_json::error("close", "no tunnel to " + peer.to_string()));
      return;
    }
    peer_.tunnel_close(peer);
  }

  // --- quitting ---

  // drain: let the requests already made finish first (bounded by kQuitDrainLimit).
  void quit(bool drain) {
    if (quitting_) return;
    if (stdin_.is_open()) {
      boost::system::error_code ignored;
      stdin_.close(ignored);
    }
    if (drain && !outstanding_.empty()) {
      if (draining_) return;
      draining_ = true;
      timer_.expires_after(kQuitDrainLimit);
      timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) logout();
      });
      return;
    }
    logout();
  }

  void logout() {
    if (quitting_) return;
    quitting_ = true;
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) io_.stop();  // a second signal: leave without waiting for the logout
    });
    // Tell every tunnel's peer we are leaving, rather than let it time out.
    peer_.close_all_tunnels();
    timer_.cancel();
    timer_.expires_after(kLogoutLimit);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      SPDLOG_WARN("no answer to logout: leaving anyway");
      io_.stop();
    });
    peer_.logout();
  }

  boost::asio::io_context& io_;
  AsioPeer& peer_;
  boost::asio::posix::stream_descriptor stdin_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer timer_;
  std::thread reader_;
  std::array<char, 4096> chunk_{};
  std::string line_;
  bool too_long_ = false;
  bool draining_ = false;
  bool quitting_ = false;
  std::set<std::uint64_t> outstanding_;
  std::set<std::uint64_t> early_;
};

}  // namespace
}  // namespace qp2p

int main(int argc, char** argv) {
  using namespace qp2p;
  if (argc > 1 && std::string_view(argv[1]) == "netcheck") return run_netcheck(argc - 1, argv + 1);
  Options options = parse_options(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  setup_logging(options.log_level);

  std::optional<Identity> identity;
  try {
    Random random = Random::from_os();
    bool created = false;
    identity = load_or_create_key_file(options.key_path, random, &created);
    if (created) SPDLOG_INFO("created key file {}", options.key_path);
  } catch (const std::exception& e) {
    std::cerr << "qp2p-peer: " << e.what() << "\n";
    return 1;
  }

  PeerConfig config;
  config.supernodes = options.supernodes;
  config.initial_meta = options.meta;
  if (options.bind) config.local = *options.bind;
  config.gateway = options.gateway;
  if (options.nat_discovery) config.discovery_locals.assign(kDiscoverySockets, Endpoint{});
  config.auto_accept_tunnels = options.auto_accept;
  config.relay_only = options.relay_only;

  boost::asio::io_context io;
  std::unique_ptr<AsioPeer> peer;
  try {
    peer = std::make_unique<AsioPeer>(io, config, *identity);
  } catch (const std::exception& e) {
    std::cerr << "qp2p-peer: cannot open the UDP socket: " << e.what() << "\n";
    return 1;
  }
  SPDLOG_INFO("peer {} on {}", peer->id().to_string(), peer->local_endpoint().to_string());
  PeerApp(io, *peer).run();
  return 0;
}
