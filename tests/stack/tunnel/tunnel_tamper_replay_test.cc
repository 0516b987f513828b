// Tunnel integrity: an altered data packet fails its AEAD tag and is dropped (and does not
// disturb what follows); a replayed packet, from its original source or from anywhere else, is
// dropped by the replay window and does not move the path; random sealed-looking packets from a
// stranger are dropped.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

bool is_data(const Datagram& d) {
  return d.payload.size() > tunnel::kSealedHeaderSize && d.payload[0] == tunnel::kMagic &&
         d.payload[2] == static_cast<std::uint8_t>(tunnel::PacketType::kData);
}

TEST(TunnelTamper, AlteredDataIsRejected) {
  PunchLab lab{Scenario{}};
  ASSERT_TRUE(lab.run_punch());
  int tampered = 0;
  lab.net().set_tap([&](Instant, std::size_t from, Datagram& d) {
    if (from == lab.a().site && is_data(d) && tampered == 0) {
      d.payload[tunnel::kSealedHeaderSize + 1] ^= 0x04;  // one ciphertext bit
      ++tampered;
    }
    return true;
  });
  lab.a().tunnel->send(lab.net().now(), text("one"));
  lab.net().run_for(100ms);
  EXPECT_EQ(tampered, 1);
  EXPECT_TRUE(lab.b().received.empty());
  EXPECT_EQ(lab.b().tunnel->counters().dropped_bad_aead, 1u);

  lab.a().tunnel->send(lab.net().now(), text("two"));
  lab.net().run_for(100ms);
  ASSERT_EQ(lab.b().received.size(), 1u);
  EXPECT_EQ(lab.b().received[0], text("two"));
  EXPECT_FALSE(lab.b().tunnel->closed());
}

TEST(TunnelTamper, AlteredHeaderIsRejected) {
  PunchLab lab{Scenario{}};
  ASSERT_TRUE(lab.run_punch());
  lab.net().set_tap([&](Instant, std::size_t from, Datagram& d) {
    if (from == lab.a().site && is_data(d)) d.payload[19] ^= 0x01;  // counter's last bit
    return true;
  });
  lab.a().tunnel->send(lab.net().now(), text("x"));
  lab.net().run_for(100ms);
  EXPECT_TRUE(lab.b().received.empty());
  EXPECT_EQ(lab.b().tunnel->counters().dropped_bad_aead, 1u);
}

TEST(TunnelReplay, ReplaysAreRejectedAndDoNotMoveThePath) {
  Scenario s;
  s.b.nat = preset("full-cone");  // B's NAT admits anyone: replays from elsewhere reach B
  PunchLab lab(s);
  ASSERT_TRUE(lab.run_punch());
  std::optional<Datagram> captured;
  lab.net().set_tap([&](Instant, std::size_t from, Datagram& d) {
    if (from == lab.a().site && is_data(d) && !captured) captured = d;
    return true;
  });
  lab.a().tunnel->send(lab.net().now(), text("once"));
  lab.net().run_for(100ms);
  ASSERT_TRUE(captured.has_value());
  ASSERT_EQ(lab.b().received.size(), 1u);
  const Endpoint path = lab.b().tunnel->remote();

  lab.net().inject(captured->local, captured->remote, captured->payload);  // same source
  lab.net().inject(kAttacker, captured->remote, captured->payload);        // elsewhere
  lab.net().run_for(100ms);
  EXPECT_EQ(lab.b().received.size(), 1u);
  EXPECT_EQ(lab.b().tunnel->counters().dropped_replayed, 2u);
  EXPECT_EQ(lab.b().tunnel->remote(), path);
  EXPECT_TRUE(lab.b().path_changes.empty());

  // Junk that looks sealed: wrong tunnel id, or right id and a random tag.
  Bytes junk;
  tunnel::append_sealed_header(tunnel::PacketType::kData, 12345, 99, junk);
  junk.resize(junk.size() + 40, 0xab);
  lab.net().inject(kAttacker, captured->remote, junk);
  Bytes forged = captured->payload;
  forged[19] = 0x7f;  // a fresh counter with the old ciphertext
  lab.net().inject(kAttacker, captured->remote, forged);
  lab.net().run_for(100ms);
  EXPECT_EQ(lab.b().received.size(), 1u);
  EXPECT_EQ(lab.b().tunnel->counters().dropped_wrong_tunnel, 1u);
  EXPECT_EQ(lab.b().tunnel->counters().dropped_bad_aead, 1u);
  EXPECT_EQ(lab.b().tunnel->remote(), path);

  // The tunnel still works.
  lab.a().tunnel->send(lab.net().now(), text("again"));
  lab.net().run_for(100ms);
  ASSERT_EQ(lab.b().received.size(), 2u);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
