// Boost.Beast HTTP/1.1 server for the management API (http_api_server.h). Everything is async on
// the caller's io_context; each connection is a Session owned by its pending operation (or by
// the respond callback while the handler prepares the answer).
#include "apps/runtime/http_api_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

namespace qp2p {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// After an accept error (out of descriptors, ...) wait this long before accepting again, so the
// error does not spin the protocol's thread.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// Room in the read buffer past the header limit: the start of a pipelined request.
constexpr std::size_t kReadBufferSlack = 1024;

}  // namespace

class HttpApiSession;

struct HttpApiServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io, HttpApiOptions options, Handler handler)
      : acceptor(io), retry(io), options(std::move(options)), handler(std::move(handler)) {}

  void accept();

  tcp::acceptor acceptor;
  boost::asio::steady_timer retry;
  HttpApiOptions options;
  Handler handler;
  HttpApiCounters counters;
  std::set<HttpApiSession*> sessions;
  std::map<std::string, std::size_t> per_client;  // open connections by remote address
  bool open = true;
};

class HttpApiSession : public std::enable_shared_from_this<HttpApiSession> {
 public:
  HttpApiSession(tcp::socket socket, std::shared_ptr<HttpApiServer::Impl> server)
      : stream_(std::move(socket)),
        server_(std::move(server)),
        buffer_(server_->options.max_header_bytes + kReadBufferSlack),
        client_(remote_address()) {
    server_->sessions.insert(this);
    over_client_limit_ =
        ++server_->per_client[client_] > server_->options.max_connections_per_client;
    if (over_client_limit_) ++server_->counters.connections_refused_per_client;
  }
  ~HttpApiSession() {
    server_->sessions.erase(this);
    auto it = server_->per_client.find(client_);
    if (it != server_->per_client.end() && --it->second == 0) server_->per_client.erase(it);
  }

  void start() { read(); }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
    stream_.expires_after(server_->options.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (!server_->open || ec == boost::asio::error::operation_aborted) return;
    if (ec == http::error::end_of_stream || ec == boost::asio::error::connection_reset ||
        ec == boost::asio::error::eof)
      return close();
    if (ec == beast::error::timeout) {
      ++server_->counters.timeouts;
      return close();
    }
    if (ec) {
      ++server_->counters.bad_http;
      std::string reason = "malformed HTTP request: " + ec.message();
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        reason = "request header larger than " +
                 std::to_string(server_->options.max_header_bytes) + " bytes";
      if (ec == http::error::unexpected_body) reason = "a GET request takes no body";
      spdlog::debug("api: {} from {}", reason, remote());
      management::ApiResponse r;
      r.status = 400;
      r.body = "{\"error\":\"bad_request\",\"reason\":\"" + reason + "\"}\n";
      return write(r, false, 11);
    }
    const auto& req = parser_->get();
    if (over_client_limit_) {
      management::ApiResponse r;
      r.status = 429;
      r.body = "{\"error\":\"too_many_requests\",\"reason\":\"more than " +
               std::to_string(server_->options.max_connections_per_client) +
               " connections from " + client_ + "\"}\n";
      r.headers.emplace_back("Retry-After", "1");
      return write(r, false, req.version());
    }
    management::ApiRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.authorization = std::string(req[http::field::authorization]);
    request.has_body = req.has_content_length() || req.chunked();
    request.client = client_;
    ++server_->counters.requests;
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    std::string line = request.method + " " + request.target.substr(0, 200);
    server_->handler(std::move(request), [self = shared_from_this(), keep_alive, version,
                                          line = std::move(line)](management::ApiResponse r) {
      if (!self->server_->open) return;
      spdlog::debug("api: {} from {}: {}", line, self->remote(), r.status);
      self->write(r, keep_alive, version);
    });
  }

  void write(const management::ApiResponse& r, bool keep_alive, unsigned version) {
    response_ = {};
    response_.version(version);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::server, "qp2p-supernode");
    response_.set(http::field::content_type, r.content_type);
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : r.headers) response_.set(name, value);
    response_.body() = r.body;
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    stream_.expires_after(server_->options.idle_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(beast::error_code ec) {
    if (!server_->open || ec == boost::asio::error::operation_aborted) return;
    if (ec == beast::error::timeout) ++server_->counters.timeouts;
    if (ec || !response_.keep_alive()) return close();
    read();
  }

  std::string remote_address() const {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    return ec ? "?" : ep.address().to_string();
  }

  std::string remote() const {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpApiServer::Impl> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
  std::string client_;  // remote address, for the per-client limits
  bool over_client_limit_ = false;
};

void HttpApiServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (!self->open || ec == boost::asio::error::operation_aborted) return;
    if (ec) {
      spdlog::warn("api: accept on {}: {}", self->options.listen.to_string(), ec.message());
      self->retry.expires_after(kAcceptRetryDelay);
      self->retry.async_wait([self](beast::error_code wait_ec) {
        if (!wait_ec && self->open) self->accept();
      });
      return;
    }
    if (self->sessions.size() >= self->options.max_connections) {
      ++self->counters.connections_refused;
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      ++self->counters.connections_accepted;
      std::make_shared<HttpApiSession>(std::move(socket), self)->start();
    }
    self->accept();
  });
}

HttpApiServer::HttpApiServer(boost::asio::io_context& io, HttpApiOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {
  const Endpoint& listen = impl_->options.listen;
  beast::error_code ec;
  const auto address = boost::asio::ip::make_address(listen.address.to_string(), ec);
  if (ec) throw std::runtime_error("API endpoint " + listen.to_string() + ": " + ec.message());
  const tcp::endpoint endpoint(address, listen.port);
  auto fail = [&](const char* what) {
    throw std::runtime_error("API endpoint " + listen.to_string() + ": " + what + ": " +
                             ec.message());
  };
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (ec) fail("open");
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  impl_->acceptor.bind(endpoint, ec);
  if (ec) fail("bind");
  impl_->acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
  impl_->accept();
}

HttpApiServer::~HttpApiServer() { close(); }

Endpoint HttpApiServer::local_endpoint() const {
  beast::error_code ec;
  const tcp::endpoint ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return {};
  auto address = IpAddress::parse(ep.address().to_string());
  return Endpoint{address.value_or(IpAddress{}), ep.port()};
}

void HttpApiServer::close() {
  if (!impl_->open) return;
  impl_->open = false;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->retry.cancel();
  for (HttpApiSession* s : std::set<HttpApiSession*>(impl_->sessions)) s->close();
}

const HttpApiCounters& HttpApiServer::counters() const { return impl_->counters; }
std::size_t HttpApiServer::open_connections() const { return impl_->sessions.size(); }

}  // namespace qp2p
