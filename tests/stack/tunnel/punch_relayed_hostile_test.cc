// The relay fallback behind a hostile carrier NAT (issue 7: "the hostile ICMP gateway is
// handled: direct if possible, relay otherwise, never a failure"). The relayed side of the
// attempt runs from its TURN relayed address, a public endpoint with no NAT in front of it
// (played here by an `open` site); the caller sits behind cgnat's carrier, which pins each inner
// endpoint to one port, made hostile (icmp_on_unsolicited, nat-models/nat_table.h). The caller
// learns the relayed address one control round trip after the relayed side has it, so it starts
// later. If the relayed side checks at once, its checks reach the carrier before the caller sent
// to the relay: refused, and the refused flow (relayed address -> the caller's port) clashes
// with the caller's own flow to the relay, which the carrier then drops for as long as the
// relayed side keeps retransmitting (the emulated cgnat x cgnat failure). Waiting for the
// caller's first check (HolePunchConfig::wait_for_peer) lets the caller's flow open first.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

NatBehaviour hostile_carrier() {
  NatBehaviour b = nat::chain_preset("cgnat")->carrier;
  b.icmp_on_unsolicited = true;
  return b;
}

Scenario relayed(bool wait_for_peer, std::uint64_t seed) {
  Scenario s;
  s.seed = seed;
  s.a.nat = hostile_carrier();  // the caller
  s.a.start_skew = 100ms;       // a control round trip after the relayed side is ready
  s.b.nat = preset("open");     // the relayed address
  s.b.wait_for_peer = wait_for_peer;
  s.deadline = tunnel::kRelayedAttemptDeadline;
  return s;
}

TEST(PunchRelayedHostile, CheckingFirstFromTheRelayedAddressLocksTheCallerOut) {
  PunchLab lab(relayed(false, 1));
  EXPECT_FALSE(lab.run_punch());
  ASSERT_TRUE(lab.a().failed);
  EXPECT_NE(lab.a().failed->find("no check from the peer arrived"), std::string::npos)
      << *lab.a().failed;
  const auto& carrier = lab.net().nat(lab.a().site).counters();
  EXPECT_GE(carrier.refused_flows, 1u);
  EXPECT_GE(carrier.drops_tuple_clash, 1u) << "the caller's flow to the relay was blocked";
}

TEST(PunchRelayedHostile, WaitingForTheCallersCheckConnects) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    PunchLab lab(relayed(true, seed));
    ASSERT_TRUE(lab.run_punch());
    // Nothing left the relayed side before the caller's first check arrived (one way: 15 ms).
    EXPECT_GE(lab.b().established_at, lab.start() + 100ms + 2 * 15ms);
    EXPECT_EQ(lab.net().nat(lab.a().site).counters().refused_flows, 0u);
    EXPECT_EQ(lab.a().established->remote.address, lab.b().locals[0].address);
    EXPECT_LE(lab.a().established_at - (lab.start() + 100ms), 200ms) << "a few round trips";
  }
}

// Waiting costs nothing when the caller's NAT is friendly: the caller's checks open it anyway.
TEST(PunchRelayedHostile, WaitingBehindAnOrdinaryCarrierIsAsFast) {
  for (bool wait : {false, true}) {
    SCOPED_TRACE(wait ? "waiting" : "checking first");
    Scenario s = relayed(wait, 3);
    s.a.nat = nat::chain_preset("cgnat")->carrier;
    PunchLab lab(s);
    ASSERT_TRUE(lab.run_punch());
    EXPECT_LE(lab.a().established_at - (lab.start() + 100ms), 200ms);
  }
}

}  // namespace
}  // namespace qp2p::tunnel_lab
