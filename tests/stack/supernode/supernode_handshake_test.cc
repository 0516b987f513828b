// The handshake service (docs/protocol.md section 8.5) against the wire format: connect ->
// offer -> accept -> a PunchStart to both sides at the same moment, with plans made from both
// published NAT profiles, candidates and RTTs; refusal, unknown peer, timeout, the callee
// leaving, answers to offers not made to the answering peer, retransmissions, bounds, and
// malformed or misdirected messages dropped and counted.
#include <gtest/gtest.h>

#include "stack/discovery/nat_profile.h"
#include "stack/supernode/handshake_service.h"
#include "stack/wire/punch_plan_fields.h"
#include "tests/stack/supernode/test_client.h"

namespace qp2p::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

NatProfile cone() {
  NatProfile p;
  p.mapping = NatProfile::Behaviour::kEndpointIndependent;
  p.filtering = NatProfile::Behaviour::kEndpointIndependent;
  p.allocation = NatProfile::Allocation::kPreserving;
  p.nat_levels = 1;
  return p;
}

NatProfile sequential_symmetric(int delta) {
  NatProfile p;
  p.mapping = NatProfile::Behaviour::kAddressAndPortDependent;
  p.filtering = NatProfile::Behaviour::kAddressAndPortDependent;
  p.allocation = NatProfile::Allocation::kSequential;
  p.sequential_delta = delta;
  p.nat_levels = 1;
  return p;
}

struct HandshakeFixture : ::testing::Test {
  TestNetwork net;
  TestClient alice{1, ep("203.0.113.10:40000"), net.primary()};
  TestClient bob{2, ep("198.51.100.20:41000"), net.primary()};
  TestClient carol{3, ep("198.51.100.30:42000"), net.primary()};
  const Endpoint alice_host = ep("100.64.0.10:5000");
  const Endpoint bob_host = ep("100.64.1.20:6000");

  void SetUp() override {
    ASSERT_TRUE(net.login(alice));
    ASSERT_TRUE(net.login(bob));
    ASSERT_TRUE(net.login(carol));
  }

  void publish(TestClient& c, const NatProfile& profile, wire::MetaEntries extra = {}) {
    wire::MetaEntries meta = profile.to_meta();
    for (auto& e : extra) meta.push_back(std::move(e));
    auto ack = net.request(c, wire::Publish{wire::SignedRecord::make(c.identity(), 1, meta)});
    ASSERT_TRUE(ack && std::holds_alternative<wire::PublishAck>(*ack));
  }

  // Alice asks for a tunnel to Bob; returns the attempt id (0 on failure).
  std::uint64_t connect_to_bob(std::uint32_t rtt_ms = 20) { return connect(rtt_ms); }
  std::uint64_t connect(std::uint32_t rtt_ms = 20) {
    auto r = net.request(alice, wire::TunnelConnect{bob.id(), {alice_host}, rtt_ms});
    if (!r || !std::holds_alternative<wire::TunnelConnectAccepted>(*r)) {
      ADD_FAILURE() << "no tunnel-connect-accepted";
      return 0;
    }
    return std::get<wire::TunnelConnectAccepted>(*r).attempt;
  }

  // Takes a push of type T from `c`, acknowledging it.
  template <typename T>
  std::optional<T> take_push(TestClient& c) {
    auto r = c.take<T>();
    if (!r) return std::nullopt;
    EXPECT_TRUE(r->sealed);
    net.ack(c, r->message.transaction);
    return std::get<T>(r->message.body);
  }
};

TEST_F(HandshakeFixture, AcceptedOfferStartsBothSidesWithPlansFromTheirProfiles) {
  publish(alice, cone(), {{"name", "alice"}});
  publish(bob, sequential_symmetric(2));
  const std::uint64_t attempt = connect(20);
  ASSERT_NE(attempt, 0u);

  auto offer = take_push<wire::TunnelOffer>(bob);
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->attempt, attempt);
  EXPECT_EQ(offer->from.id, alice.id());
  EXPECT_TRUE(offer->from.online);
  EXPECT_EQ(offer->from.mapped, alice.address);
  ASSERT_TRUE(offer->from.record);
  ASSERT_NE(offer->from.record->find("name"), nullptr);
  EXPECT_EQ(*offer->from.record->find("name"), "alice");
  EXPECT_TRUE(offer->from.record->verify());
  EXPECT_EQ(alice.count<wire::PunchStart>(), 0u) << "nothing starts before the answer";

  auto ack = net.request(bob, wire::TunnelAnswer{alice.id(), attempt, true, {bob_host}, 60, ""});
  ASSERT_TRUE(ack && std::holds_alternative<wire::TunnelAnswerAck>(*ack));

  auto a = take_push<wire::PunchStart>(alice);
  auto b = take_push<wire::PunchStart>(bob);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->peer, bob.id());
  EXPECT_EQ(b->peer, alice.id());
  EXPECT_EQ(a->attempt, attempt);
  EXPECT_EQ(b->attempt, attempt);
  EXPECT_EQ(a->nonce, b->nonce);
  EXPECT_NE(a->nonce, wire::Nonce{});
  EXPECT_TRUE(a->direct_feasible);
  EXPECT_TRUE(b->direct_feasible);

  // Alice punches towards Bob's sequential symmetric NAT: port prediction around the endpoint
  // his session comes from, stepping by his published delta. Bob punches towards Alice's cone.
  EXPECT_EQ(a->plan.strategy, wire::PlanStrategy::kPortPrediction);
  EXPECT_EQ(a->plan.prediction_base, bob.address);
  EXPECT_EQ(a->plan.prediction_delta, 2);
  EXPECT_EQ(b->plan.strategy, wire::PlanStrategy::kSimultaneousOpen);
  auto has = [](const wire::PunchPlanFields& p, const Endpoint& e, std::uint8_t kind) {
    for (const auto& c : p.remote_candidates)
      if (c.endpoint == e && c.kind == kind) return true;
    return false;
  };
  EXPECT_TRUE(has(a->plan, bob_host, 0));
  EXPECT_TRUE(has(a->plan, bob.address, 1));
  EXPECT_TRUE(has(b->plan, alice_host, 0));
  EXPECT_TRUE(has(b->plan, alice.address, 1));

  // One-way delays 10 ms (Alice) and 30 ms (Bob): both pushes leave now, so Alice waits 20 ms
  // longer than Bob and both start 30 ms (+ the planner's margin) from now.
  EXPECT_EQ(a->plan.start_after_ms + 10, b->plan.start_after_ms + 30);
  EXPECT_GE(b->plan.start_after_ms, 0u);

  // The plan decodes into a HolePunch-ready PunchPlan.
  const tunnel::PunchPlan plan = wire::from_fields(a->plan, a->peer);
  EXPECT_EQ(plan.remote, bob.id());
  EXPECT_EQ(plan.strategy, tunnel::PunchStrategy::kPortPrediction);

  const auto& c = net.supernode.handshake_counters();
  EXPECT_EQ(c.connects, 1u);
  EXPECT_EQ(c.accepted, 1u);
  EXPECT_EQ(c.relay_plans, 0u);
  // Every push was acknowledged: nothing is retransmitted.
  net.advance_keeping_alive(seconds(10), {&alice, &bob, &carol});
  EXPECT_EQ(alice.count<wire::PunchStart>() + bob.count<wire::PunchStart>(), 0u);
}

TEST_F(HandshakeFixture, UnknownProfilesGetAConservativePlan) {
  // Neither published a profile: each side's NAT may map per destination, so each predicts
  // around the other's reflexive port besides checking its candidates (punch_planner.h).
  const std::uint64_t attempt = connect();
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  ASSERT_TRUE(net.request(bob, wire::TunnelAnswer{alice.id(), attempt, true, {}, 0, ""}));
  auto a = take_push<wire::PunchStart>(alice);
  auto b = take_push<wire::PunchStart>(bob);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->direct_feasible);
  EXPECT_EQ(a->plan.strategy, wire::PlanStrategy::kPortPrediction);
  EXPECT_EQ(b->plan.strategy, wire::PlanStrategy::kPortPrediction);
  // Bob sent no host candidate: Alice gets his reflexive address only.
  ASSERT_EQ(a->plan.remote_candidates.size(), 1u);
  EXPECT_EQ(a->plan.remote_candidates[0].endpoint, bob.address);
}

TEST_F(HandshakeFixture, ResentPunchStartStillNamesTheSameStartMoment) {
  // Alice 20 ms from the supernode, Bob 600 ms: Alice waits 300 - 10 + 5 = 295 ms.
  const std::uint64_t attempt = connect(20);
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  ASSERT_TRUE(net.request(bob, wire::TunnelAnswer{alice.id(), attempt, true, {}, 600, ""}));
  ASSERT_TRUE(take_push<wire::PunchStart>(bob));
  // Alice's first copy is "lost": taken but not acknowledged.
  auto first = alice.take<wire::PunchStart>();
  ASSERT_TRUE(first);
  EXPECT_EQ(std::get<wire::PunchStart>(first->message.body).plan.start_after_ms, 295u);
  // The copy 250 ms later (same transaction) carries what remains, so Alice still starts with
  // Bob; one after the moment passed says start now.
  net.advance(milliseconds(250));
  auto second = alice.take<wire::PunchStart>();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->message.transaction, first->message.transaction);
  EXPECT_EQ(std::get<wire::PunchStart>(second->message.body).plan.start_after_ms, 45u);
  EXPECT_EQ(std::get<wire::PunchStart>(second->message.body).nonce,
            std::get<wire::PunchStart>(first->message.body).nonce);
  net.advance(milliseconds(500));
  auto third = alice.take<wire::PunchStart>();
  ASSERT_TRUE(third);
  EXPECT_EQ(std::get<wire::PunchStart>(third->message.body).plan.start_after_ms, 0u);
  // Never acknowledged: tunnel pushes are copied 12 times within 10.75 s (kTunnelPushPolicy),
  // then given up.
  net.advance_keeping_alive(seconds(12), {&alice, &bob, &carol});
  EXPECT_EQ(3 + alice.count<wire::PunchStart>(),
            static_cast<std::size_t>(kTunnelPushPolicy.max_transmissions));
}

TEST_F(HandshakeFixture, RefusalIsPushedToTheCaller) {
  const std::uint64_t attempt = connect();
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  auto ack = net.request(bob, wire::TunnelAnswer{alice.id(), attempt, false, {}, 0, "busy"});
  ASSERT_TRUE(ack && std::holds_alternative<wire::TunnelAnswerAck>(*ack));
  auto refused = take_push<wire::TunnelRefused>(alice);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->peer, bob.id());
  EXPECT_EQ(refused->attempt, attempt);
  EXPECT_EQ(refused->reason, "busy");
  EXPECT_EQ(alice.count<wire::PunchStart>() + bob.count<wire::PunchStart>(), 0u);
  EXPECT_EQ(net.supernode.handshake_counters().refused, 1u);
}

TEST_F(HandshakeFixture, UnknownOrOfflineTargetIs404) {
  TestClient stranger{9, ep("198.51.100.90:1000"), net.primary()};
  EXPECT_EQ(error_code(net.request(alice, wire::TunnelConnect{stranger.id(), {}, 0})), 404);
  EXPECT_EQ(error_code(net.request(alice, wire::TunnelConnect{alice.id(), {}, 0})), 400);
  EXPECT_EQ(net.supernode.handshake_counters().connects_unknown_peer, 1u);
  EXPECT_EQ(net.supernode.handshake_counters().connects_to_self, 1u);
  EXPECT_EQ(net.supernode.handshake_counters().connects, 0u);
}

TEST_F(HandshakeFixture, UnansweredOfferTimesOut) {
  const std::uint64_t attempt = connect();
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  net.advance_keeping_alive(kNegotiationTimeout - seconds(1), {&alice, &bob, &carol});
  EXPECT_EQ(alice.count<wire::TunnelRefused>(), 0u);
  net.advance_keeping_alive(seconds(3), {&alice, &bob, &carol});
  auto refused = take_push<wire::TunnelRefused>(alice);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, "timeout");
  EXPECT_EQ(refused->attempt, attempt);
  EXPECT_EQ(net.supernode.handshake_counters().timeouts, 1u);
  // A late answer finds no offer.
  EXPECT_EQ(error_code(net.request(bob, wire::TunnelAnswer{alice.id(), attempt, true, {}, 0, ""})),
            404);
}

TEST_F(HandshakeFixture, OfferIsCopiedForTheLifeOfTheNegotiation) {
  // Every copy of the offer for 12 s is lost (more than the other tunnel pushes' whole
  // schedule): the service keeps copying it, and Bob's answer to a late copy still makes the
  // tunnel.
  const std::uint64_t attempt = connect();
  net.advance_keeping_alive(seconds(12), {&alice, &bob, &carol});
  EXPECT_GT(bob.count<wire::TunnelOffer>(),
            static_cast<std::size_t>(kTunnelPushPolicy.max_transmissions));
  while (bob.take<wire::TunnelOffer>()) {
  }
  net.advance_keeping_alive(seconds(1), {&alice, &bob, &carol});
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  ASSERT_TRUE(net.request(bob, wire::TunnelAnswer{alice.id(), attempt, true, {}, 20, ""}));
  EXPECT_TRUE(take_push<wire::PunchStart>(alice));
  EXPECT_TRUE(take_push<wire::PunchStart>(bob));
  EXPECT_EQ(net.supernode.handshake_counters().timeouts, 0u);
  // The schedule ends before the negotiation would time out.
  Duration last = kTunnelOfferPushPolicy.initial_rto;
  Duration span{};
  for (int i = 1; i < kTunnelOfferPushPolicy.max_transmissions; ++i) {
    span += last;
    last = std::min(last * 2, kTunnelOfferPushPolicy.max_rto);
  }
  EXPECT_LT(span + kTunnelOfferPushPolicy.initial_rto * kTunnelOfferPushPolicy.final_wait_multiplier,
            kNegotiationTimeout);
}

TEST_F(HandshakeFixture, CalleeLeavingRefusesAsOffline) {
  connect();
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  ASSERT_TRUE(net.request(bob, wire::Logout{}));
  auto refused = take_push<wire::TunnelRefused>(alice);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reason, "offline");
  EXPECT_EQ(net.supernode.handshake_counters().callee_offline, 1u);
}

TEST_F(HandshakeFixture, OnlyTheCalleeCanAnswerItsOffer) {
  const std::uint64_t attempt = connect();
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  // Carol answers the offer made to Bob; Alice answers her own; Bob names the wrong caller.
  EXPECT_EQ(
      error_code(net.request(carol, wire::TunnelAnswer{alice.id(), attempt, true, {}, 0, ""})),
      404);
  EXPECT_EQ(error_code(net.request(alice, wire::TunnelAnswer{bob.id(), attempt, true, {}, 0, ""})),
            404);
  EXPECT_EQ(error_code(net.request(bob, wire::TunnelAnswer{carol.id(), attempt, true, {}, 0, ""})),
            404);
  EXPECT_EQ(net.supernode.handshake_counters().answers_unexpected, 3u);
  EXPECT_EQ(alice.count<wire::PunchStart>() + carol.count<wire::PunchStart>(), 0u);
  // Bob's own answer still works.
  auto ack = net.request(bob, wire::TunnelAnswer{alice.id(), attempt, true, {}, 0, ""});
  ASSERT_TRUE(ack && std::holds_alternative<wire::TunnelAnswerAck>(*ack));
  EXPECT_TRUE(take_push<wire::PunchStart>(alice));
  EXPECT_EQ(carol.count<wire::PunchStart>(), 0u);
}

TEST_F(HandshakeFixture, RetransmittedConnectAndAnswerAreIdempotent) {
  const std::uint64_t attempt = connect();
  EXPECT_EQ(connect(), attempt) << "a repeated connect joins the pending negotiation";
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  EXPECT_EQ(bob.count<wire::TunnelOffer>(), 0u) << "one offer";
  const wire::TunnelAnswer answer{alice.id(), attempt, true, {bob_host}, 10, ""};
  ASSERT_TRUE(net.request(bob, answer));
  auto again = net.request(bob, answer);  // the first ack was lost
  ASSERT_TRUE(again && std::holds_alternative<wire::TunnelAnswerAck>(*again));
  EXPECT_TRUE(take_push<wire::PunchStart>(alice));
  EXPECT_EQ(alice.count<wire::PunchStart>(), 0u) << "one PunchStart per negotiation";
  EXPECT_EQ(net.supernode.handshake_counters().accepted, 1u);
  EXPECT_EQ(net.supernode.handshake_counters().connects, 1u);
}

TEST_F(HandshakeFixture, ConnectRepeatedAfterTheNegotiationEndedMakesNoSecondOffer) {
  const std::uint64_t txn = alice.new_txn();
  const wire::TunnelConnect connect{bob.id(), {alice_host}, 20};
  net.send(alice, alice.seal(txn, connect));
  auto first = alice.take_response(txn);
  ASSERT_TRUE(first);
  const auto attempt = std::get<wire::TunnelConnectAccepted>(first->message.body).attempt;
  ASSERT_TRUE(take_push<wire::TunnelOffer>(bob));
  ASSERT_TRUE(net.request(bob, wire::TunnelAnswer{alice.id(), attempt, false, {}, 0, "no"}));
  ASSERT_TRUE(take_push<wire::TunnelRefused>(alice));
  // Alice never saw the first answer and retransmits her connect (same transaction).
  net.send(alice, alice.seal(txn, connect));
  auto again = alice.take_response(txn);
  ASSERT_TRUE(again);
  ASSERT_TRUE(std::holds_alternative<wire::TunnelConnectAccepted>(again->message.body));
  EXPECT_EQ(std::get<wire::TunnelConnectAccepted>(again->message.body).attempt, attempt);
  EXPECT_EQ(bob.count<wire::TunnelOffer>(), 0u);
  EXPECT_EQ(net.supernode.handshake_counters().connects, 1u);
  // A new connect (new transaction) is a new negotiation.
  EXPECT_NE(connect_to_bob(), attempt);
  EXPECT_EQ(bob.count<wire::TunnelOffer>(), 1u);
}

TEST_F(HandshakeFixture, NegotiationsPerPeerAreBounded) {
  std::vector<std::unique_ptr<TestClient>> callees;
  for (std::size_t i = 0; i <= kMaxNegotiationsPerPeer; ++i) {
    auto address = ep("198.51.100.100:" + std::to_string(2000 + i));
    callees.push_back(std::make_unique<TestClient>(100 + i, address, net.primary()));
    ASSERT_TRUE(net.login(*callees.back()));
  }
  for (std::size_t i = 0; i < kMaxNegotiationsPerPeer; ++i) {
    auto r = net.request(alice, wire::TunnelConnect{callees[i]->id(), {}, 0});
    ASSERT_TRUE(r && std::holds_alternative<wire::TunnelConnectAccepted>(*r)) << i;
  }
  EXPECT_EQ(error_code(net.request(alice, wire::TunnelConnect{callees.back()->id(), {}, 0})), 429);
  EXPECT_EQ(net.supernode.handshake_counters().connects_over_limit, 1u);
  // With her slots full, Alice cannot call anyone else either.
  EXPECT_EQ(error_code(net.request(alice, wire::TunnelConnect{bob.id(), {}, 0})), 429);
  // Once one negotiation ends, Alice may start another.
  auto offer = callees[0]->take<wire::TunnelOffer>();
  ASSERT_TRUE(offer);
  const auto attempt = std::get<wire::TunnelOffer>(offer->message.body).attempt;
  ASSERT_TRUE(
      net.request(*callees[0], wire::TunnelAnswer{alice.id(), attempt, false, {}, 0, "no"}));
  auto r = net.request(alice, wire::TunnelConnect{bob.id(), {}, 0});
  EXPECT_TRUE(r && std::holds_alternative<wire::TunnelConnectAccepted>(*r));
}

TEST_F(HandshakeFixture, MalformedAndMisdirectedMessagesAreDroppedAndCounted) {
  const auto before = net.supernode.counters();
  const std::size_t received = alice.datagrams_received;
  // An RTT over the bound (the encoder does not check it): authenticated, but malformed.
  net.send(alice,
           alice.seal(alice.new_txn(), wire::TunnelConnect{bob.id(), {}, wire::kMaxRttMs + 1}));
  // Supernode-to-peer messages sent by a peer.
  net.send(alice, alice.seal(alice.new_txn(), wire::PunchStart{bob.id(), 1, {}, true, {}, {}}));
  net.send(alice, alice.seal(alice.new_txn(), wire::TunnelOffer{{}, 1}));
  EXPECT_EQ(alice.datagrams_received, received) << "dropped, not answered";
  EXPECT_EQ(net.supernode.counters().dropped_control_malformed,
            before.dropped_control_malformed + 1);
  EXPECT_EQ(net.supernode.counters().dropped_control_unexpected,
            before.dropped_control_unexpected + 2);
  EXPECT_EQ(bob.count<wire::TunnelOffer>() + bob.count<wire::PunchStart>(), 0u);
  EXPECT_EQ(net.supernode.handshake_counters().connects, 0u);
}

}  // namespace
}  // namespace qp2p::test
