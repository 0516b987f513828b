// qp2p-supernode's management API: the IndexApi (stack/management/index_api.h) served by an
// HttpApiServer (apps/runtime/http_api_server.h) on the protocol's io_context, with the
// runtime's own counters (UDP sockets, the HTTP server) added to /metrics.
#pragma once

#include <memory>

#include "apps/runtime/http_api_server.h"
#include "apps/runtime/supernode_config.h"
#include "apps/runtime/udp_runtime.h"
#include "stack/supernode/supernode.h"

namespace qp2p {

// nullptr when config.api_listen is unset. Reads the token file (ConfigError) and binds
// (std::runtime_error) at once; `node` and `runtime` must outlive the server.
std::unique_ptr<HttpApiServer> start_management_api(boost::asio::io_context& io,
                                                    const SupernodeAppConfig& config,
                                                    const Supernode& node,
                                                    const UdpRuntime& runtime, Instant started);

}  // namespace qp2p
