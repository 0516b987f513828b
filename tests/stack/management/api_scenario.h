// Scaffolding for the management API tests: one supernode with peers logged in on a virtual
// network (tests/stack/peer/peer_scenario.h), an IndexApi with a known token, and GET helpers
// that parse the JSON answers.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "stack/management/index_api.h"
#include "tests/stack/peer/peer_scenario.h"

namespace qp2p::management {

inline constexpr const char* kTestToken = "test-token-0123456789abcdef";

struct ApiScenario {
  explicit ApiScenario(std::uint64_t seed) : sc(seed) {}

  scenario::PeerScenario sc;
  SupernodeConfig config = scenario::supernode_config("192.0.2.1:3478", "192.0.2.1:3479");
  Supernode& node = sc.add_supernode("S1", config);
  Instant started = sc.net.now();
  IndexApi api{BearerToken(kTestToken)};

  ApiResponse request(const std::string& method, const std::string& target,
                      const std::string& authorization = std::string("Bearer ") + kTestToken) {
    ApiRequest r;
    r.method = method;
    r.target = target;
    r.authorization = authorization;
    return api.handle(r, node, ApiContext{sc.net.now(), started, {}, {}, {}});
  }
  // GET with the right token; the body parsed as JSON (a discarded value if it is not JSON).
  nlohmann::json get(const std::string& target, int expect_status = 200) {
    ApiResponse r = request("GET", target);
    EXPECT_EQ(r.status, expect_status) << target << ": " << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  }
};

}  // namespace qp2p::management
