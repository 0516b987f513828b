// HolePunch configuration: invalid configs fail at the start (not before), candidate pairs for
// each strategy, and the pacing bound (one check per min_send_gap however many pairs).
#include <gtest/gtest.h>

#include "stack/tunnel/hole_punch.h"

namespace qp2p::tunnel {
namespace {

using namespace std::chrono_literals;

Endpoint ep(std::string_view t) { return Endpoint::parse(t).value(); }

HolePunchConfig base_config() {
  HolePunchConfig c;
  c.identity = Identity::from_seed(Identity::Seed{1});
  c.remote = Identity::from_seed(Identity::Seed{2}).id();
  c.locals = {ep("192.0.2.10:40000")};
  c.remote_candidates = {{ep("198.51.100.20:40000"), CandidateKind::kHost},
                         {ep("203.0.113.2:50000"), CandidateKind::kServerReflexive}};
  c.start = instant_from_us(1'000'000);
  return c;
}

std::optional<std::string> failure_at_start(HolePunchConfig c) {
  HolePunch p(c, Random::from_u64(1));
  EXPECT_EQ(p.poll_timeout(), c.start);
  p.handle_timeout(c.start - 1ms);  // early: harmless
  EXPECT_FALSE(p.poll_event().has_value());
  p.handle_timeout(c.start);
  auto e = p.poll_event();
  if (!e) return std::nullopt;
  auto* f = std::get_if<hole_punch_event::Failed>(&*e);
  return f ? std::optional<std::string>(f->reason) : std::nullopt;
}

TEST(HolePunchConfig, InvalidConfigsFailAtStart) {
  auto c = base_config();
  c.locals.clear();
  EXPECT_NE(failure_at_start(c).value_or("").find("no local endpoints"), std::string::npos);
  c = base_config();
  c.remote = c.identity.id();
  EXPECT_TRUE(failure_at_start(c).has_value());
  c = base_config();
  c.pacing.min_send_gap = 1us;
  EXPECT_TRUE(failure_at_start(c).has_value());
  c = base_config();
  c.deadline = 0s;
  EXPECT_TRUE(failure_at_start(c).has_value());
  c = base_config();
  c.strategy = PunchStrategy::kBirthday;
  c.birthday.probes = static_cast<int>(kMaxBirthdayProbes) + 1;
  EXPECT_TRUE(failure_at_start(c).has_value());
  c = base_config();
  c.strategy = PunchStrategy::kPortPrediction;
  c.prediction.delta = 0;
  EXPECT_TRUE(failure_at_start(c).has_value());
  c = base_config();
  c.remote_candidates = {{ep("[2001:db8::1]:5000"), CandidateKind::kHost}};
  EXPECT_NE(failure_at_start(c).value_or("").find("no candidate pairs"), std::string::npos);
  EXPECT_FALSE(failure_at_start(base_config()).has_value());
}

TEST(HolePunchConfig, PairsPerStrategy) {
  auto c = base_config();
  EXPECT_EQ(HolePunch(c, Random::from_u64(1)).pair_count(), 2u);

  c.strategy = PunchStrategy::kPortPrediction;
  c.prediction.base = ep("203.0.113.2:50000");
  c.prediction.delta = 2;
  c.prediction.before = 3;
  c.prediction.after = 10;
  EXPECT_EQ(HolePunch(c, Random::from_u64(1)).pair_count(), 2u + 13u);

  c = base_config();
  c.strategy = PunchStrategy::kBirthday;
  c.locals.clear();
  for (int i = 0; i < 100; ++i)
    c.locals.push_back(Endpoint{ep("192.0.2.10:1").address, static_cast<std::uint16_t>(40000 + i)});
  c.birthday.address = ep("203.0.113.2:1").address;
  c.birthday.probes = 50;
  EXPECT_EQ(HolePunch(c, Random::from_u64(1)).pair_count(), 100u * 2u + 50u);  // K x 2 + M
}

TEST(HolePunchConfig, PacingBoundsTheCheckRate) {
  auto c = base_config();
  c.strategy = PunchStrategy::kBirthday;
  c.birthday.address = ep("203.0.113.2:1").address;
  c.birthday.probes = 1000;
  c.deadline = 2s;
  HolePunch p(c, Random::from_u64(3));
  std::size_t sent = 0;
  Instant now = c.start;
  Instant first{}, last{};
  for (int guard = 0; guard < 100000 && !p.finished(); ++guard) {
    p.handle_timeout(now);
    while (auto d = p.poll_transmit()) {
      if (sent == 0) first = now;
      last = now;
      ++sent;
      EXPECT_EQ(d->local, c.locals[0]);
      EXPECT_EQ(d->payload.size(), kCheckSize);
    }
    now = std::max(now, p.poll_timeout());
  }
  ASSERT_TRUE(p.finished());
  // 2 s at one check per 2 ms.
  EXPECT_EQ(sent, 1000u);
  EXPECT_EQ(first, c.start);
  EXPECT_EQ(last, c.start + 2s - 2ms);
  auto e = p.poll_event();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(std::get<hole_punch_event::Failed>(*e).reason.find("no check from the peer"),
            std::string::npos);
}

}  // namespace
}  // namespace qp2p::tunnel
