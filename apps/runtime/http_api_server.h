// The HTTP/1.1 server that carries the management API (stack/management/index_api.h) on an
// io_context of its own thread (apps/supernode/management_api.h): Boost.Beast behind this header
// (kept out of it, it is heavy), async accept, read and write, so a slow or idle client never
// holds a thread.
//
//   accept -> over max_connections? close at once (counted)
//          -> over max_connections_per_client from that address? 429 + Retry-After, close
//          -> read request header (<= max_header_bytes, within idle_timeout; no body)
//          -> handler(ApiRequest, respond): respond(ApiResponse) later, on this io_context
//          -> write the response (within idle_timeout) -> keep-alive: read the next one
//
// Malformed HTTP, an oversized header or a body get a JSON 400 and the connection is closed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "stack/core/endpoint.h"
#include "stack/core/instant.h"
#include "stack/management/api_request.h"

namespace boost::asio {
class io_context;
}

namespace qp2p {

class HttpApiSession;  // one connection (http_api_server.cc)

struct HttpApiOptions {
  Endpoint listen;
  // Connections served at once; more are closed as soon as they are accepted.
  std::size_t max_connections = 16;
  // Connections from one address at once; more are answered 429 (RFC 6585) and closed, so one
  // client cannot take every connection.
  std::size_t max_connections_per_client = 4;
  // Request line and headers together (Beast's header_limit); a GET has no body.
  std::size_t max_header_bytes = 8 * 1024;
  // A connection that sends no complete request (or does not take the response) for this long
  // is closed; also the keep-alive idle time.
  Duration idle_timeout = std::chrono::seconds(10);
};

struct HttpApiCounters {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;  // over max_connections
  std::uint64_t connections_refused_per_client = 0;  // over max_connections_per_client (429)
  std::uint64_t requests = 0;             // handed to the API
  std::uint64_t bad_http = 0;             // unparsable, header too large, a body: 400 and close
  std::uint64_t timeouts = 0;             // idle or slow connections closed
};

class HttpApiServer {
 public:
  // Called with each request (request.client: the peer's address); the handler calls respond
  // once, at once or later, on the server's io_context.
  using Respond = std::function<void(management::ApiResponse)>;
  using Handler = std::function<void(management::ApiRequest, Respond)>;

  // Binds and listens at once (throws std::runtime_error naming the endpoint on failure).
  HttpApiServer(boost::asio::io_context& io, HttpApiOptions options, Handler handler);
  ~HttpApiServer();
  HttpApiServer(const HttpApiServer&) = delete;
  HttpApiServer& operator=(const HttpApiServer&) = delete;

  // The bound endpoint (the real port when options.listen had port 0).
  Endpoint local_endpoint() const;
  // Stops accepting and closes every connection.
  void close();
  const HttpApiCounters& counters() const;
  std::size_t open_connections() const;

 private:
  friend class HttpApiSession;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace qp2p
