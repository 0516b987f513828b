// qp2p-supernode's management API: an ApiService (apps/runtime/api_service.h: the IndexApi of
// stack/management on an HTTP thread of its own, fed with snapshots taken on the protocol's
// io_context), configured from the app's settings, with the UDP runtime's counters in /metrics.
#pragma once

#include <memory>

#include "apps/runtime/api_service.h"
#include "apps/runtime/supernode_config.h"
#include "apps/runtime/udp_runtime.h"
#include "stack/supernode/supernode.h"

namespace qp2p {

// nullptr when config.api_listen is unset. Reads the token file (ConfigError) and binds
// (std::runtime_error) at once; `node` and `runtime` must outlive the service, which is closed
// and destroyed on the thread running `io`.
std::unique_ptr<ApiService> start_management_api(boost::asio::io_context& io,
                                                 const SupernodeAppConfig& config,
                                                 const Supernode& node, const UdpRuntime& runtime,
                                                 Instant started);

}  // namespace qp2p
