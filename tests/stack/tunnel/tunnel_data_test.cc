// Tunnel data after a punch between port-restricted cone NATs: data both ways, in order on this
// loss-free path, up to the largest payload; close() tells the peer.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

class TunnelData : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(lab.run_punch()); }
  Tunnel& a() { return *lab.a().tunnel; }
  Tunnel& b() { return *lab.b().tunnel; }
  Instant now() { return lab.net().now(); }
  PunchLab lab{Scenario{}};
};

TEST_F(TunnelData, BothWays) {
  ASSERT_TRUE(a().send(now(), text("hello from a")));
  ASSERT_TRUE(b().send(now(), text("hello from b")));
  lab.net().run_for(100ms);
  ASSERT_EQ(lab.b().received.size(), 1u);
  ASSERT_EQ(lab.a().received.size(), 1u);
  EXPECT_EQ(lab.b().received[0], text("hello from a"));
  EXPECT_EQ(lab.a().received[0], text("hello from b"));
  EXPECT_EQ(a().peer(), lab.b().identity.id());
  EXPECT_EQ(b().peer(), lab.a().identity.id());
}

TEST_F(TunnelData, ManyMessagesAndTheLargestPayload) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(a().send(now(), text("a" + std::to_string(i))));
    ASSERT_TRUE(b().send(now(), text("b" + std::to_string(i))));
  }
  const Bytes big(tunnel::kMaxPlaintext, 0x5a);
  ASSERT_TRUE(a().send(now(), big));
  EXPECT_FALSE(a().send(now(), Bytes(tunnel::kMaxPlaintext + 1, 0)));
  ASSERT_TRUE(a().send(now(), Bytes{}));  // empty datagrams are data too
  lab.net().run_for(100ms);
  ASSERT_EQ(lab.b().received.size(), 202u);
  ASSERT_EQ(lab.a().received.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(lab.b().received[i], text("a" + std::to_string(i)));
    EXPECT_EQ(lab.a().received[i], text("b" + std::to_string(i)));
  }
  EXPECT_EQ(lab.b().received[200], big);
  EXPECT_TRUE(lab.b().received[201].empty());
  EXPECT_EQ(b().counters().data_received, 202u);
  EXPECT_EQ(b().counters().dropped_bad_aead + b().counters().dropped_replayed, 0u);
}

TEST_F(TunnelData, CloseReachesThePeer) {
  a().close(now());
  EXPECT_TRUE(a().closed());
  EXPECT_FALSE(a().send(now(), text("too late")));
  lab.net().run_for(100ms);
  ASSERT_TRUE(lab.a().closed.has_value());
  EXPECT_EQ(*lab.a().closed, "closed locally");
  ASSERT_TRUE(lab.b().closed.has_value());
  EXPECT_EQ(*lab.b().closed, "closed by peer");
  EXPECT_TRUE(b().closed());
  EXPECT_EQ(a().poll_timeout(), kNever);
  EXPECT_EQ(b().poll_timeout(), kNever);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
