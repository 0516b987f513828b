// The answer to the controlling side's nominating check is lost after the controlled side
// established. The controlling side still completes: either on the controlled side's first
// authenticated tunnel packet on the nominated pair (which it keeps for its own tunnel, so
// early data is not lost), or, when those are lost too, when the controlled side's tunnel
// answers the repeated nominating check.
#include <gtest/gtest.h>

#include <memory>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

std::uint8_t type_of(const Datagram& d) { return d.payload.size() >= 3 ? d.payload[2] : 0; }

// Drops, from the controlled side once it established and for `window`, its check responses
// and (if `sealed_too`) its sealed packets.
void drop_after_controlled_establishes(PunchLab& lab, Duration window, bool sealed_too) {
  auto since = std::make_shared<std::optional<Instant>>();
  lab.net().set_tap([&lab, window, sealed_too, since](Instant now, std::size_t from,
                                                      Datagram& d) {
    PeerState& p = from == lab.a().site ? lab.a() : lab.b();
    // The punch's own state, not the event: its answer to the nominating check leaves in the
    // same drain as the event.
    if (!p.punch->established() || p.punch->controlling()) return true;
    if (!*since) *since = now;
    if (now >= **since + window) return true;
    const std::uint8_t t = type_of(d);
    if (t == static_cast<std::uint8_t>(tunnel::PacketType::kCheckResponse)) return false;
    if (sealed_too && t >= static_cast<std::uint8_t>(tunnel::PacketType::kData)) return false;
    return true;
  });
}

PeerState& controlled(PunchLab& lab) {
  return lab.a().punch->controlling() ? lab.b() : lab.a();
}
PeerState& controlling(PunchLab& lab) {
  return lab.a().punch->controlling() ? lab.a() : lab.b();
}

TEST(PunchLostNomination, ConfirmedByTheFirstTunnelPacketWithEarlyDataKept) {
  PunchLab lab{Scenario{}};
  drop_after_controlled_establishes(lab, 1s, false);
  // The controlled side sends data the moment its tunnel exists.
  bool sent = false;
  lab.net().on_step([&](Instant now) {
    PeerState& c = controlled(lab);
    if (!sent && c.tunnel) sent = c.tunnel->send(now, text("early"));
  });
  ASSERT_TRUE(lab.run_punch());
  lab.net().run_for(100ms);
  EXPECT_EQ(controlling(lab).established->remote, controlled(lab).reflexive);
  ASSERT_EQ(controlling(lab).received.size(), 1u);
  EXPECT_EQ(controlling(lab).received[0], text("early"));
}

TEST(PunchLostNomination, ConfirmedByTheTunnelAnsweringTheRepeatedCheck) {
  PunchLab lab{Scenario{}};
  drop_after_controlled_establishes(lab, 200ms, true);
  ASSERT_TRUE(lab.run_punch());
  EXPECT_GE(controlling(lab).established_at - controlled(lab).established_at, 200ms);
  EXPECT_GT(controlled(lab).tunnel->counters().checks_answered, 0u);
  lab.net().run_for(100ms);
  controlling(lab).tunnel->send(lab.net().now(), text("late"));
  controlled(lab).tunnel->send(lab.net().now(), text("fine"));
  lab.net().run_for(100ms);
  ASSERT_EQ(controlled(lab).received.size(), 1u);
  ASSERT_EQ(controlling(lab).received.size(), 1u);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
