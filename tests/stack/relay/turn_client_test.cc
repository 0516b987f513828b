// The TURN client (RFC 8656 client side) against the real TurnServer in virtual time:
// Allocate through the long-term credential challenge, permissions, channels, data both ways,
// refreshes over an hour (with stale nonces on the way), expired credentials, lost responses
// and a silent server.
#include <gtest/gtest.h>

#include "stack/relay/channel_data.h"
#include "tests/stack/relay/turn_client_lab.h"

namespace qp2p::turn_test {
namespace {

using turn::TurnClient;
using turn::TurnOperation;
namespace ev = turn::client_event;

const Bytes kHello = {'h', 'e', 'l', 'l', 'o'};
const Bytes kWorld = {'w', 'o', 'r', 'l', 'd', '!'};

TEST(TurnClient, AllocatesThroughTheChallenge) {
  ClientLab lab;
  ASSERT_TRUE(lab.allocate());
  auto allocated = lab.events_of<ev::Allocated>();
  ASSERT_EQ(allocated.size(), 1u);
  EXPECT_EQ(allocated[0].relayed.address, lab.server.config().listen.address);
  EXPECT_GE(allocated[0].relayed.port, 50000);
  EXPECT_LE(allocated[0].relayed.port, 50099);
  EXPECT_EQ(allocated[0].mapped, kClientEp);
  EXPECT_EQ(allocated[0].lifetime, std::chrono::seconds(600));
  EXPECT_EQ(lab.client.relayed(), allocated[0].relayed);
  EXPECT_EQ(lab.client.counters().challenges, 1u);
  EXPECT_EQ(lab.server.counters().challenges, 1u);
  EXPECT_EQ(lab.server.allocation_count(), 1u);
  EXPECT_EQ(lab.client_sent, 2) << "unsigned Allocate, then the signed one";
  EXPECT_FALSE(lab.client.allocate(lab.now)) << "a second allocate() while allocated is refused";
}

TEST(TurnClient, WrongSecretIsAFailedEvent) {
  ClientLab lab(test_turn_config(), 3600, "not-the-secret");
  EXPECT_FALSE(lab.allocate());
  auto failed = lab.events_of<ev::Failed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].operation, TurnOperation::kAllocate);
  EXPECT_EQ(failed[0].code, 401);
  EXPECT_EQ(lab.client.state(), TurnClient::State::kFailed);
  EXPECT_EQ(lab.client_sent, 2) << "one signed retry, not a loop";
  EXPECT_EQ(lab.server.allocation_count(), 0u);
}

TEST(TurnClient, PermissionThenSendAndDataIndications) {
  ClientLab lab;
  ASSERT_TRUE(lab.allocate());
  EXPECT_FALSE(lab.client.send(lab.now, kPeerEp, kHello.data(), kHello.size()))
      << "no permission for that peer";
  ASSERT_TRUE(lab.client.create_permission(lab.now, kPeerEp));
  lab.run_for(0);
  ASSERT_EQ(lab.events_of<ev::PermissionCreated>().size(), 1u);
  EXPECT_TRUE(lab.client.has_permission(kPeerEp));

  ASSERT_TRUE(lab.client.send(lab.now, kPeerEp, kHello.data(), kHello.size()));
  lab.run_for(0);
  ASSERT_EQ(lab.at_peer.size(), 1u);
  EXPECT_EQ(lab.at_peer[0].local, *lab.client.relayed());
  EXPECT_EQ(lab.at_peer[0].remote, kPeerEp);
  EXPECT_EQ(lab.at_peer[0].payload, kHello);
  EXPECT_EQ(lab.client.counters().send_indications, 1u);

  lab.from_peer(kPeerEp, kWorld);
  auto data = lab.events_of<ev::Data>();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].peer, kPeerEp);
  EXPECT_EQ(data[0].payload, kWorld);
  EXPECT_EQ(lab.client.counters().data_indications_in, 1u);
}

TEST(TurnClient, ChannelDataBothWaysOnceBound) {
  ClientLab lab;
  ASSERT_TRUE(lab.allocate());
  auto number = lab.client.bind_channel(lab.now, kPeerEp);
  ASSERT_TRUE(number);
  EXPECT_GE(*number, turn::kMinChannel);
  EXPECT_LE(*number, turn::kMaxChannel);
  // While the bind is in flight the data goes as a Send indication.
  ASSERT_TRUE(lab.client.send(lab.now, kPeerEp, kHello.data(), kHello.size()));
  EXPECT_FALSE(lab.client.channel(kPeerEp));
  lab.run_for(0);
  auto bound = lab.events_of<ev::ChannelBound>();
  ASSERT_EQ(bound.size(), 1u);
  EXPECT_EQ(bound[0].channel, *number);
  EXPECT_EQ(lab.client.channel(kPeerEp), number);
  EXPECT_EQ(lab.client.counters().send_indications, 1u);
  ASSERT_EQ(lab.at_peer.size(), 1u) << "the indication passed: the bind carries the permission";

  ASSERT_TRUE(lab.client.send(lab.now, kPeerEp, kWorld.data(), kWorld.size()));
  lab.run_for(0);
  ASSERT_EQ(lab.at_peer.size(), 2u);
  EXPECT_EQ(lab.at_peer[1].payload, kWorld);
  EXPECT_EQ(lab.client.counters().channel_data_out, 1u);
  EXPECT_EQ(lab.server.counters().channel_data_in, 1u);

  lab.from_peer(kPeerEp, kHello);
  auto data = lab.events_of<ev::Data>();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].peer, kPeerEp);
  EXPECT_EQ(data[0].payload, kHello);
  EXPECT_EQ(lab.client.counters().channel_data_in, 1u);
  EXPECT_EQ(lab.server.counters().channel_data_out, 1u);
}

TEST(TurnClient, RefreshesKeepEverythingAliveForAnHour) {
  // Credentials for two hours; server nonces last 600 s: stale nonces come up on the way.
  ClientLab lab(test_turn_config(), 7200);
  ASSERT_TRUE(lab.allocate());
  ASSERT_TRUE(lab.client.bind_channel(lab.now, kPeerEp));
  const Endpoint other = ep("203.0.113.9:9000");
  ASSERT_TRUE(lab.client.create_permission(lab.now, other));
  lab.run_until(at_s(3600));
  EXPECT_EQ(lab.client.state(), TurnClient::State::kAllocated);
  EXPECT_EQ(lab.server.allocation_count(), 1u);
  EXPECT_GE(lab.events_of<ev::Refreshed>().size(), 6u);
  EXPECT_TRUE(lab.events_of<ev::Failed>().empty()) << lab.failures();
  EXPECT_TRUE(lab.events_of<ev::AllocationLost>().empty());
  EXPECT_GE(lab.client.counters().stale_nonces, 1u);
  EXPECT_GT(lab.client.expires(), lab.now);
  // The channel and the permission are still there on the server: data flows both ways.
  ASSERT_TRUE(lab.client.send(lab.now, kPeerEp, kHello.data(), kHello.size()));
  ASSERT_TRUE(lab.client.send(lab.now, other, kWorld.data(), kWorld.size()));
  lab.run_for(0);
  ASSERT_EQ(lab.at_peer.size(), 2u);
  EXPECT_EQ(lab.client.counters().channel_data_out, 1u);
  lab.from_peer(kPeerEp, kHello);
  lab.from_peer(other, kWorld);
  EXPECT_EQ(lab.events_of<ev::Data>().size(), 2u);
  EXPECT_EQ(lab.server.counters().dropped_no_permission, 0u);
  EXPECT_EQ(lab.server.counters().dropped_channel_unbound, 0u);
}

TEST(TurnClient, ExpiredCredentialsEndTheAllocationAndNewOnesMakeAnother) {
  ClientLab lab(test_turn_config(), /*ttl=*/300);
  ASSERT_TRUE(lab.allocate());
  lab.run_until(at_s(560));  // the refresh at 540 s is refused: the username expired at 300 s
  auto failed = lab.events_of<ev::Failed>();
  ASSERT_EQ(failed.size(), 1u) << lab.failures();
  EXPECT_EQ(failed[0].operation, TurnOperation::kRefresh);
  EXPECT_EQ(failed[0].code, 401);
  EXPECT_EQ(lab.client.state(), TurnClient::State::kAllocated) << "still alive until 600 s";
  lab.run_until(at_s(700));
  EXPECT_EQ(lab.events_of<ev::Failed>().size(), 1u) << "no refresh loop: " << lab.failures();
  ASSERT_EQ(lab.events_of<ev::AllocationLost>().size(), 1u);
  EXPECT_EQ(lab.client.state(), TurnClient::State::kIdle);
  EXPECT_FALSE(lab.client.relayed());
  EXPECT_EQ(lab.server.allocation_count(), 0u) << "the server expired it too";
  EXPECT_EQ(lab.client.poll_timeout(), kNever) << "nothing left to do";

  lab.client.set_credentials(turn::make_turn_credentials(kSecret, "alice", kUnixStart + 700, 3600));
  ASSERT_TRUE(lab.allocate());
  lab.run_until(at_s(1800));
  EXPECT_EQ(lab.client.state(), TurnClient::State::kAllocated);
  EXPECT_EQ(lab.server.allocation_count(), 1u);
  EXPECT_GE(lab.events_of<ev::Refreshed>().size(), 2u);
}

TEST(TurnClient, LostResponsesAreRetransmittedFor) {
  ClientLab lab;
  int from_server = 0;
  // Lose the challenge once, and the first answer to the signed Allocate.
  lab.drop = [&](bool from_client, const Datagram&) {
    if (from_client) return false;
    ++from_server;
    return from_server == 1 || from_server == 3;
  };
  lab.client.allocate(lab.now);
  lab.run_for(5);
  ASSERT_EQ(lab.client.state(), TurnClient::State::kAllocated);
  EXPECT_EQ(lab.client.retransmissions(), 2u);
  EXPECT_EQ(lab.server.counters().allocate_retransmits, 1u)
      << "the server answered the retransmission with its stored response";
  EXPECT_EQ(lab.server.allocation_count(), 1u);
  EXPECT_EQ(lab.events_of<ev::Allocated>().size(), 1u);
  // A lost permission request and a lost channel bind request are sent again.
  int from_client = 0;
  lab.drop = [&](bool c, const Datagram&) { return c && ++from_client <= 2; };
  ASSERT_TRUE(lab.client.create_permission(lab.now, ep("203.0.113.9:9000")));
  ASSERT_TRUE(lab.client.bind_channel(lab.now, kPeerEp));
  lab.run_for(5);
  EXPECT_EQ(lab.events_of<ev::PermissionCreated>().size(), 1u);
  EXPECT_EQ(lab.events_of<ev::ChannelBound>().size(), 1u);
  EXPECT_EQ(lab.client.retransmissions(), 4u);
}

TEST(TurnClient, ASilentServerIsAFailureAfterTheRfcSchedule) {
  ClientLab lab;
  lab.drop = [](bool, const Datagram&) { return true; };
  lab.client.allocate(lab.now);
  lab.run_for(39);
  EXPECT_TRUE(lab.events_of<ev::Failed>().empty()) << "RFC 8489: 39.5 s before giving up";
  lab.run_for(1);
  auto failed = lab.events_of<ev::Failed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].operation, TurnOperation::kAllocate);
  EXPECT_EQ(failed[0].code, 0);
  EXPECT_EQ(lab.client_sent, 7) << "Rc = 7 transmissions";
  EXPECT_EQ(lab.client.state(), TurnClient::State::kFailed);
  EXPECT_EQ(lab.client.poll_timeout(), kNever);
  // It may try again later.
  lab.drop = nullptr;
  EXPECT_TRUE(lab.allocate());
}

TEST(TurnClient, LostRefreshesAreRetriedBeforeExpiry) {
  ClientLab lab;
  ASSERT_TRUE(lab.allocate());
  // The server is unreachable from 530 s to 580 s: the refresh at 540 s times out at 579.5 s
  // and the retry gets through before the 600 s expiry.
  lab.drop = [&](bool, const Datagram&) { return lab.now >= at_s(530) && lab.now < at_s(580); };
  lab.run_until(at_s(700));
  EXPECT_EQ(lab.client.state(), TurnClient::State::kAllocated);
  EXPECT_EQ(lab.events_of<ev::Failed>().size(), 1u);
  EXPECT_GE(lab.events_of<ev::Refreshed>().size(), 1u);
  EXPECT_EQ(lab.server.allocation_count(), 1u);
}

// A first permission whose whole retransmission schedule is lost (a burst on a lossy path) is
// asked for again while the allocation lives: forgetting it left the relay dropping every Send
// indication and every packet from the peer, so a relayed tunnel could never come up.
TEST(TurnClient, AnUnansweredFirstPermissionIsAskedForAgain) {
  ClientLab lab;
  ASSERT_TRUE(lab.allocate());
  const Endpoint peer = ep("203.0.113.9:9000");
  // Every request the client sends in the next 45 s is lost (more than the 39.5 s schedule).
  const Instant outage_end = lab.now + std::chrono::seconds(45);
  lab.drop = [&](bool from_client, const Datagram&) { return from_client && lab.now < outage_end; };
  ASSERT_TRUE(lab.client.create_permission(lab.now, peer));
  lab.run_for(41);
  ASSERT_EQ(lab.events_of<ev::Failed>().size(), 1u) << lab.failures();
  EXPECT_EQ(lab.events_of<ev::Failed>()[0].operation, TurnOperation::kCreatePermission);
  EXPECT_FALSE(lab.client.has_permission(peer));
  const std::uint8_t byte = 1;
  EXPECT_TRUE(lab.client.send(lab.now, peer, &byte, 1)) << "still being created";
  lab.run_for(10);
  EXPECT_TRUE(lab.client.has_permission(peer)) << lab.failures();
  EXPECT_EQ(lab.events_of<ev::PermissionCreated>().size(), 1u);
  lab.from_peer(peer, Bytes{7});
  EXPECT_EQ(lab.events_of<ev::Data>().size(), 1u) << "the server lets the peer in";
}

TEST(TurnClient, ForgedAndStrayInputIsDroppedAndCounted) {
  ClientLab lab;
  ASSERT_TRUE(lab.allocate());
  const Endpoint listen = lab.server.config().listen;
  // A success for a request in flight, without MESSAGE-INTEGRITY: dropped, the real one wins.
  Datagram request;
  lab.drop = [&](bool from_client, const Datagram& d) {
    if (from_client) request = d;
    return from_client;
  };
  ASSERT_TRUE(lab.client.create_permission(lab.now, kPeerEp));
  lab.run_for(0);
  auto m = stun::MessageView::parse(request.payload.data(), request.payload.size());
  ASSERT_TRUE(m);
  Bytes forged;
  stun::MessageBuilder(forged, stun::Method::kCreatePermission, stun::Class::kSuccess,
                       m->transaction_id())
      .add_fingerprint();
  EXPECT_TRUE(lab.client.handle_datagram(lab.now, kClientEp, listen, forged.data(), forged.size()));
  EXPECT_EQ(lab.client.counters().dropped_bad_integrity, 1u);
  EXPECT_TRUE(lab.events_of<ev::PermissionCreated>().empty());
  lab.drop = nullptr;
  lab.run_for(1);
  EXPECT_EQ(lab.events_of<ev::PermissionCreated>().size(), 1u);

  const Bytes garbage = {0x01, 0x02, 0x03};
  const Bytes unbound_channel = {0x4f, 0xff, 0x00, 0x01, 0x61, 0, 0, 0};
  const Bytes truncated_channel = {0x40, 0x00, 0x00, 0x09, 0x61};
  EXPECT_TRUE(lab.client.handle_datagram(lab.now, kClientEp, listen, garbage.data(), 3));
  EXPECT_TRUE(lab.client.handle_datagram(lab.now, kClientEp, listen, unbound_channel.data(),
                                         unbound_channel.size()));
  EXPECT_TRUE(lab.client.handle_datagram(lab.now, kClientEp, listen, truncated_channel.data(),
                                         truncated_channel.size()));
  EXPECT_TRUE(lab.client.handle_datagram(lab.now, kClientEp, listen, forged.data(), forged.size()))
      << "a response to nothing outstanding";
  EXPECT_FALSE(
      lab.client.handle_datagram(lab.now, kClientEp, ep("203.0.113.77:3478"), garbage.data(), 3))
      << "not from the server: not the client's";
  const auto& c = lab.client.counters();
  EXPECT_EQ(c.dropped_malformed, 2u);
  EXPECT_EQ(c.dropped_unknown_channel, 1u);
  EXPECT_EQ(c.dropped_unmatched, 1u);
  EXPECT_TRUE(lab.events_of<ev::Data>().empty());
}

TEST(TurnClient, CloseDeletesTheAllocation) {
  ClientLab lab;
  ASSERT_TRUE(lab.allocate());
  ASSERT_TRUE(lab.client.bind_channel(lab.now, kPeerEp));
  lab.run_for(1);
  lab.client.close(lab.now);
  lab.run_for(1);
  EXPECT_EQ(lab.events_of<ev::Closed>().size(), 1u);
  EXPECT_EQ(lab.client.state(), TurnClient::State::kIdle);
  EXPECT_EQ(lab.server.allocation_count(), 0u);
  EXPECT_EQ(lab.server.counters().allocations_deleted, 1u);
  EXPECT_FALSE(lab.client.send(lab.now, kPeerEp, kHello.data(), kHello.size()));
  EXPECT_EQ(lab.client.poll_timeout(), kNever);
}

}  // namespace
}  // namespace qp2p::turn_test
