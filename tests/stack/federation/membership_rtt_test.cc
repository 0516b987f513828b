// Round-trip times to members from the failure detector's own probes (Membership::rtt_to):
// the handshake service adds the hop to the callee's supernode to the callee's delay when it
// synchronises a punch across supernodes (docs/protocol.md section 14.6). Direct acks give
// samples; acks relayed through a ping-req helper do not (their path is another one).
#include <gtest/gtest.h>

#include "tests/stack/federation/membership_bed.h"

namespace qp2p::federation::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(MembershipRtt, EachMembersRoundTripFromDirectProbes) {
  MembershipBed bed(3, 61);
  bed.net().set_link(0, 1, {milliseconds(40), 0.0});
  bed.net().set_link(0, 2, {milliseconds(5), 0.0});
  bed.net().set_link(1, 2, {milliseconds(15), 0.0});
  EXPECT_EQ(bed.node(0).rtt_to(bed.id(1)), Duration::zero()) << "unknown before any probe";
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); }, seconds(30)));
  ASSERT_TRUE(bed.net().run_for(seconds(20)));
  // The virtual network adds nothing to the link delay: every sample is exactly 2 x one way.
  EXPECT_EQ(bed.node(0).rtt_to(bed.id(1)), milliseconds(80));
  EXPECT_EQ(bed.node(0).rtt_to(bed.id(2)), milliseconds(10));
  EXPECT_EQ(bed.node(1).rtt_to(bed.id(0)), milliseconds(80));
  EXPECT_EQ(bed.node(2).rtt_to(bed.id(1)), milliseconds(30));
  EXPECT_GT(bed.node(0).table().find(bed.id(1))->rtt_samples, 3u);
  EXPECT_EQ(bed.node(0).rtt_to(bed.id(0)), Duration::zero()) << "self is no member of its table";
}

TEST(MembershipRtt, SmoothsAChangeOfPathLikeRfc6298) {
  MembershipBed bed(2, 62);
  bed.net().set_link(0, 1, {milliseconds(10), 0.0});
  ASSERT_TRUE(bed.net().run_until([&] { return bed.converged(bed.all()); }, seconds(30)));
  ASSERT_TRUE(bed.net().run_for(seconds(10)));
  ASSERT_EQ(bed.node(0).rtt_to(bed.id(1)), milliseconds(20));
  // The path gets slower: the estimate moves towards 100 ms by 1/8 of the gap per sample.
  bed.net().set_link(0, 1, {milliseconds(50), 0.0});
  ASSERT_TRUE(bed.net().run_for(seconds(2)));
  const Duration early = bed.node(0).rtt_to(bed.id(1));
  EXPECT_GT(early, milliseconds(20));
  EXPECT_LT(early, milliseconds(60));
  ASSERT_TRUE(bed.net().run_for(seconds(60)));
  EXPECT_GT(bed.node(0).rtt_to(bed.id(1)), milliseconds(99));
  EXPECT_LE(bed.node(0).rtt_to(bed.id(1)), milliseconds(100));
}

}  // namespace
}  // namespace qp2p::federation::test
