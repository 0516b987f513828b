// A TunnelManager's attempts end in AttemptFailed when they cannot succeed: over the configured
// number of attempts or tunnels (at once; replacing a peer's tunnel does not count), and at the deadline when the peer never answers (then the
// caller falls back to the relay), or when the sockets a birthday plan needs never come; either
// way nothing is left running.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/manager_lab.h"

namespace qp2p::tunnel_lab {
namespace {

TEST(TunnelManagerBounds, AttemptsOverTheLimitFailAtOnce) {
  ManagerLabConfig c;
  c.limits.max_attempts = 1;
  ManagerLab lab(c);
  lab.connect();
  Random r = Random::from_u64(5);
  tunnel::PunchPlan other;
  other.remote = Identity::generate(r).id();
  lab.a().manager->start_attempt(lab.now(), other, tunnel::AttemptNonce{}, lab.now());
  lab.net().run_for(1ms);
  const auto failed = lab.a().first<mev::AttemptFailed>();
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->peer, other.remote);
  EXPECT_EQ(failed->reason, "too many attempts running");
  EXPECT_EQ(lab.a().manager->counters().attempts_refused, 1u);
  // The first attempt is unaffected.
  ASSERT_TRUE(lab.run_until_established());
}

TEST(TunnelManagerBounds, TunnelsOverTheLimitAreRefusedButReplacementsAreNot) {
  ManagerLabConfig c;
  c.limits.max_tunnels = 1;
  ManagerLab lab(c);
  lab.connect();
  ASSERT_TRUE(lab.run_until_established());
  Random r = Random::from_u64(6);
  tunnel::PunchPlan third;
  third.remote = Identity::generate(r).id();
  lab.a().manager->start_attempt(lab.now(), third, tunnel::AttemptNonce{}, lab.now());
  lab.net().run_for(1ms);
  const auto failed = lab.a().first<mev::AttemptFailed>();
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->peer, third.remote);
  EXPECT_EQ(failed->reason, "too many tunnels");
  // A new attempt to the peer we already have a tunnel with replaces it: allowed.
  lab.connect();
  ASSERT_TRUE(lab.run_until_established(2));
  EXPECT_EQ(lab.a().manager->tunnel_count(), 1u);
  EXPECT_EQ(lab.a().manager->counters().attempts_refused, 1u);
}

TEST(TunnelManagerBounds, AnAbsentPeerFailsAtTheDeadline) {
  ManagerLabConfig c;
  c.b = "symmetric";  // a birthday plan: B would bind sockets, A probes
  ManagerLab lab(c);
  lab.net().set_offline(lab.b().site, true);
  const auto plan = lab.connect();
  const Instant started = lab.now();
  lab.net().run_until([&] { return !lab.a().all<mev::AttemptFailed>().empty(); }, 20s);
  const auto failed = lab.a().first<mev::AttemptFailed>();
  ASSERT_TRUE(failed.has_value());
  EXPECT_NE(failed->reason.find("deadline"), std::string::npos) << failed->reason;
  EXPECT_EQ(lab.now() - started, plan.a.start_after + plan.a.deadline);
  EXPECT_FALSE(lab.a().manager->has_attempt(lab.b().identity.id()));
  EXPECT_EQ(lab.a().manager->poll_timeout(), kNever);
  // B's attempt (its K sockets) ends the same way and every extra socket is given back.
  lab.net().run_until([&] { return !lab.b().all<mev::AttemptFailed>().empty(); }, 5s);
  ASSERT_TRUE(lab.b().first<mev::AttemptFailed>().has_value());
  EXPECT_GT(lab.b().sockets_bound, 0u);
  EXPECT_EQ(lab.b().sockets_released, lab.b().sockets_bound);
}

TEST(TunnelManagerBounds, SocketsThatNeverComeFailTheAttemptAtItsDeadline) {
  Random r = Random::from_u64(8);
  TunnelManager m(Identity::generate(r), TunnelConfig{}, ep("192.0.2.10:40000"),
                  Random::from_u64(9));
  tunnel::PunchPlan plan;
  plan.remote = Identity::generate(r).id();
  plan.local_sockets = 4;
  plan.start_after = 10ms;
  plan.deadline = 2s;
  const Instant t0 = instant_from_us(1'000'000);
  m.start_attempt(t0, plan, tunnel::AttemptNonce{}, t0);
  auto e = m.poll_event();
  ASSERT_TRUE(e.has_value());
  ASSERT_NE(std::get_if<mev::SocketsNeeded>(&*e), nullptr);
  EXPECT_EQ(std::get<mev::SocketsNeeded>(*e).count, 3u);
  EXPECT_FALSE(m.poll_transmit().has_value());  // nothing sent before the sockets exist
  EXPECT_EQ(m.poll_timeout(), t0 + 10ms + 2s);
  m.handle_timeout(t0 + 1s);  // early: harmless
  EXPECT_TRUE(m.has_attempt(plan.remote));
  m.handle_timeout(t0 + 10ms + 2s);
  e = m.poll_event();
  ASSERT_TRUE(e.has_value());
  const auto* failed = std::get_if<mev::AttemptFailed>(&*e);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->reason, "deadline: the sockets never came");
  EXPECT_FALSE(m.has_attempt(plan.remote));
  EXPECT_EQ(m.poll_timeout(), kNever);
  // Sockets arriving now are handed straight back.
  m.provide_sockets(t0 + 3s, plan.remote, {ep("192.0.2.10:40001")});
  e = m.poll_event();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(std::get_if<mev::SocketsReleased>(&*e), nullptr);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
