// Datagrams a TunnelManager cannot attribute are dropped and counted, never crash it and never
// disturb a live tunnel: non-tunnel bytes, a truncated tunnel packet, a sealed packet for an
// unknown tunnel id, a replayed copy of a real data packet from an attacker, a check from an
// identity with no attempt.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/manager_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(TunnelManagerGarbage, UnattributableDatagramsAreCountedAndDropped) {
  ManagerLab lab(ManagerLabConfig{});
  lab.connect();
  ASSERT_TRUE(lab.run_until_established());
  const PeerId a = lab.a().identity.id(), b = lab.b().identity.id();
  TunnelManager& m = *lab.a().manager;
  const Endpoint local = lab.a().main;
  const auto before = m.counters();

  const Bytes stun{0x00, 0x01, 0x00, 0x00};
  m.handle_datagram(lab.now(), local, kAttacker, stun.data(), stun.size());
  m.handle_datagram(lab.now(), local, kAttacker, nullptr, 0);
  const Bytes truncated{tunnel::kMagic, tunnel::kVersion, 3};
  m.handle_datagram(lab.now(), local, kAttacker, truncated.data(), truncated.size());
  Bytes sealed;
  tunnel::append_sealed_header(tunnel::PacketType::kData, 0x1234567890abcdefULL, 1, sealed);
  sealed.resize(sealed.size() + tunnel::kAeadTagSize, 0);
  m.handle_datagram(lab.now(), local, kAttacker, sealed.data(), sealed.size());
  // A check from an identity nobody is punching with.
  Random r = Random::from_u64(99);
  const Identity mallory = Identity::generate(r);
  tunnel::CheckPacket check;
  r.fill(check.transaction.data(), check.transaction.size());
  check.tie_breaker = 1;
  check.tunnel_id = 7;
  check.sender_ephemeral[0] = 1;
  tunnel::AttemptNonce nonce{};
  tunnel::sign_check(check, mallory, a, nonce);
  Bytes check_bytes;
  tunnel::append_check(check, check_bytes);
  m.handle_datagram(lab.now(), local, kAttacker, check_bytes.data(), check_bytes.size());

  EXPECT_EQ(m.counters().dropped_not_tunnel - before.dropped_not_tunnel, 2u);
  EXPECT_EQ(m.counters().dropped_malformed - before.dropped_malformed, 1u);
  EXPECT_EQ(m.counters().dropped_unattributed - before.dropped_unattributed, 2u);
  EXPECT_FALSE(m.poll_transmit().has_value());  // nothing answered

  // A copy of B's real data packet replayed with B's source (spoofed, so A's NAT lets it in):
  // attributed to the tunnel by its id, rejected there as a replay; the tunnel carries on.
  std::optional<Bytes> captured;
  lab.net().set_tap([&](Instant, std::size_t from, Datagram& d) {
    if (from == lab.b().site && !captured && d.payload.size() > 2 &&
        d.payload[2] == static_cast<std::uint8_t>(tunnel::PacketType::kData))
      captured = d.payload;
    return true;
  });
  ASSERT_TRUE(lab.b().manager->send(lab.now(), a, text("real")));
  lab.net().run_for(100ms);
  ASSERT_TRUE(captured.has_value());
  lab.net().inject(lab.a().first<mev::Established>()->remote,
                   lab.b().first<mev::Established>()->remote, *captured);
  lab.net().run_for(100ms);
  EXPECT_EQ(lab.a().texts(), std::vector<std::string>{"real"});
  EXPECT_EQ(m.tunnel(b)->counters().dropped_replayed, 1u);
  ASSERT_TRUE(m.send(lab.now(), b, text("still fine")));
  lab.net().run_for(100ms);
  EXPECT_EQ(lab.b().texts(), std::vector<std::string>{"still fine"});
  EXPECT_TRUE(lab.a().all<mev::Closed>().empty());
}

}  // namespace
}  // namespace qp2p::tunnel_lab
