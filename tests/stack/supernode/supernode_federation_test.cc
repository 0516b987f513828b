// Supernodes with a network secret federate through their primary port (first byte 0x53,
// docs/protocol.md section 14): three on the virtual network, the second and third seeded with
// the first, all list each other and notice one going away; a supernode without a secret drops
// federation datagrams as an unknown protocol, exactly as before federation existed.
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include <memory>

#include "stack/federation/federation_seal.h"
#include "stack/supernode/supernode.h"
#include "tests/stack/harness/virtual_network.h"

namespace qp2p {
namespace {

constexpr char kSecret[] = "supernode federation test secret 0123456789";

SupernodeConfig config_for(int i, std::vector<Endpoint> seeds, std::string secret) {
  SupernodeConfig c;
  c.primary = *Endpoint::parse("203.0.113." + std::to_string(10 + i) + ":3478");
  c.alternate = *Endpoint::parse("203.0.113." + std::to_string(10 + i) + ":3479");
  c.turn.unix_offset_us = 1'780'000'000'000'000;
  c.network_secret = std::move(secret);
  c.seeds = std::move(seeds);
  return c;
}

std::set<PeerId> members_of(const Supernode& s) {
  std::set<PeerId> out;
  for (const auto& e : s.federation()->members()) out.insert(e.id);
  return out;
}

TEST(SupernodeFederation, ThreeSupernodesSeeEachOtherThroughTheirPrimaryPort) {
  spdlog::set_level(spdlog::level::warn);
  harness::VirtualNetwork net(5);
  std::vector<std::unique_ptr<Supernode>> nodes;
  const Endpoint seed = config_for(0, {}, "").primary;
  for (int i = 0; i < 3; ++i) {
    Random r = Random::from_u64(100 + i);
    Identity id = Identity::generate(r);
    nodes.push_back(std::make_unique<Supernode>(
        config_for(i, i == 0 ? std::vector<Endpoint>{} : std::vector<Endpoint>{seed}, kSecret),
        std::move(id), r.fork()));
    net.add_node("supernode" + std::to_string(i), *nodes.back(), nodes.back()->listen_endpoints());
  }
  std::set<PeerId> all;
  for (const auto& n : nodes) all.insert(n->identity().id());
  const auto converged = [&](std::size_t count) {
    std::set<PeerId> want;
    for (std::size_t i = 0; i < count; ++i) want.insert(nodes[i]->identity().id());
    for (std::size_t i = 0; i < count; ++i)
      if (members_of(*nodes[i]) != want) return false;
    return true;
  };
  ASSERT_TRUE(net.run_until([&] { return converged(3); }, std::chrono::seconds(20)))
      << net.error();
  for (const auto& n : nodes) {
    EXPECT_EQ(n->counters().dropped_unknown_protocol, 0u);
    EXPECT_GT(n->federation()->counters().datagrams_in, 0u);
  }
  net.set_offline(2, true);
  ASSERT_TRUE(net.run_until([&] { return converged(2); }, std::chrono::seconds(30)))
      << "the two left did not declare the third dead";
}

TEST(SupernodeFederation, WithoutSecretFederationDatagramsAreUnknownProtocol) {
  Random r = Random::from_u64(7);
  Supernode lone(config_for(0, {}, ""), Identity::generate(r), r.fork());
  EXPECT_EQ(lone.federation(), nullptr);
  EXPECT_EQ(lone.poll_timeout(), kNever);  // no federation timers: nothing to do
  const Bytes datagram(80, federation::kMagic);
  lone.handle_datagram(Instant{}, config_for(0, {}, "").primary,
                       *Endpoint::parse("203.0.113.99:1"), datagram.data(), datagram.size());
  EXPECT_EQ(lone.counters().dropped_unknown_protocol, 1u);
  EXPECT_FALSE(lone.poll_transmit());
}

TEST(SupernodeFederation, ShortSecretIsRefused) {
  Random r = Random::from_u64(8);
  EXPECT_THROW(Supernode(config_for(0, {}, "short"), Identity::generate(r), r.fork()),
               std::invalid_argument);
}

}  // namespace
}  // namespace qp2p
