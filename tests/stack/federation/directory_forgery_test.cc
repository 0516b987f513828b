// Records that must not be stored: forged or altered signatures, presence written by a
// supernode that is not a member, and records from too far in the future.
#include <gtest/gtest.h>

#include "directory_lab.h"

namespace qp2p::federation {
namespace {

using namespace lab;

class DirectoryForgery : public ::testing::Test {
 protected:
  void SetUp() override {
    r.authorise(supernode(0).id());
    r.authorise(supernode(1).id());
    ASSERT_TRUE(r.apply(now, {online(peer(1), supernode(0), kT0)}).accepted());
    ASSERT_TRUE(r.apply(now, {metadata(peer(1), 3)}).accepted());
    digest = r.digest();
  }
  void TearDown() override { EXPECT_EQ(r.digest(), digest) << "a refused record changed state"; }

  DirectoryReplica r{limits()};
  WallMs now = kT0 + 100;
  std::uint64_t digest = 0;
};

TEST_F(DirectoryForgery, MetadataSignedByAnotherKey) {
  // A supernode (or anyone) makes up a newer version of peer 1's metadata.
  wire::SignedRecord forged = metadata(peer(2), 4);
  forged.owner = peer(1).id();
  EXPECT_EQ(r.apply(now, {forged}).reason, RejectReason::kBadSignature);
  wire::SignedRecord altered = metadata(peer(1), 4);
  altered.entries[0].second = "evil";
  EXPECT_EQ(r.apply(now, {altered}).reason, RejectReason::kBadSignature);
}

TEST_F(DirectoryForgery, PresenceWithBadSupernodeSignature) {
  PresenceRecord p = online(peer(1), supernode(0), kT0 + 10);
  p.mapped.port ^= 1;
  EXPECT_EQ(r.apply(now, {p}).reason, RejectReason::kBadSignature);
}

TEST_F(DirectoryForgery, PresenceByANonMember) {
  EXPECT_EQ(r.apply(now, {online(peer(1), supernode(7), kT0 + 10)}).reason,
            RejectReason::kUnknownSupernode);
  EXPECT_EQ(r.apply(now, {offline(peer(1), supernode(7), kT0 + 10, 3)}).reason,
            RejectReason::kUnknownSupernode);
  // A revoked member is refused from then on.
  r.revoke(supernode(1).id());
  EXPECT_EQ(r.apply(now, {online(peer(1), supernode(1), kT0 + 10)}).reason,
            RejectReason::kUnknownSupernode);
}

TEST_F(DirectoryForgery, MemberClaimsAPeerWithAnotherSupernodesLoginProof) {
  PresenceRecord p = online(peer(1), supernode(0), kT0 + 10);
  p.sign(supernode(1));
  EXPECT_EQ(r.apply(now, {p}).reason, RejectReason::kBadSignature);
}

TEST_F(DirectoryForgery, RefreshRepeatingTheStoredProofStillNeedsTheWritersSignature) {
  // The login proof equals the stored record's, so only the writer's signature is checked (the
  // proof was checked when stored): an altered refresh must still be refused.
  PresenceRecord p = *r.find(peer(1).id())->presence;
  p.hlc += 1;
  p.sign(supernode(0));
  p.mapped.port ^= 1;
  EXPECT_EQ(r.apply(now, {p}).reason, RejectReason::kBadSignature);
  // Another member re-using that proof has it checked in full (it names the first writer).
  PresenceRecord q = *r.find(peer(1).id())->presence;
  q.hlc += 1;
  q.sign(supernode(1));
  EXPECT_EQ(r.apply(now, {q}).reason, RejectReason::kBadSignature);
}

TEST_F(DirectoryForgery, RecordFromTheFuture) {
  const WallMs ahead = now + limits().max_clock_skew_ms + 1;
  EXPECT_EQ(r.apply(now, {online(peer(1), supernode(0), ahead)}).reason, RejectReason::kFromFuture);
}

}  // namespace
}  // namespace qp2p::federation
