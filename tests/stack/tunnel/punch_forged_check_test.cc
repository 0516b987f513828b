// A third party cannot make a hole punch establish with it. Mallory, on the Internet, knows the
// attempt (candidates, even the nonce) but not Bob's identity key:
//  - checks signed with her own identity are dropped (wrong sender);
//  - checks claiming Bob's identity with her signature are dropped (bad signature);
//  - Bob's genuine checks and responses, captured and replayed from her address, make Alice
//    answer (to Mallory) but never succeed: success needs a signed response to Alice's own
//    fresh transaction id, which only Bob can produce.
// With Bob absent, Alice fails at the deadline; with Bob present and Mallory replaying
// everything, Alice and Bob establish with each other, never with Mallory.
#include <gtest/gtest.h>

#include "tests/stack/tunnel/tunnel_lab.h"

namespace qp2p::tunnel_lab {
namespace {

using tunnel::CheckPacket;

Bytes check_from(const Identity& signer, const PeerId& claimed, const PeerId& to,
                 const tunnel::AttemptNonce& nonce, bool response, std::uint8_t salt) {
  Random r = Random::from_u64(salt);
  CheckPacket c;
  c.response = response;
  r.fill(c.transaction.data(), c.transaction.size());
  c.tie_breaker = ~0ull;  // would make her controlling
  c.tunnel_id = 99;
  c.sender_ephemeral = wire::EphemeralKeyPair::generate(r).public_key;
  c.receiver_ephemeral[0] = response ? 1 : 0;
  tunnel::sign_check(c, signer, to, nonce);
  c.sender = claimed;
  Bytes out;
  tunnel::append_check(c, out);
  return out;
}

TEST(PunchForgedCheck, ForgeriesAloneNeverEstablish) {
  Scenario s;
  s.deadline = 3s;
  PunchLab lab(s);
  lab.net().set_offline(lab.b().site, true);  // Bob never shows up
  Random r = Random::from_u64(5);
  const Identity mallory = Identity::generate(r);
  const Endpoint alice = lab.a().reflexive;
  // Mallory's own identity, then Bob's id with her signature; requests and responses; from her
  // address, and spoofed from Bob's reflexive endpoint. Alice's NAT admits them only once Alice
  // sent there, so keep injecting through the attempt.
  lab.net().on_step([&, next = lab.start()](Instant now) mutable {
    if (now < next || now > lab.start() + 2s) return;
    next = now + 50ms;
    const auto salt = static_cast<std::uint8_t>(to_us(now) / 1000);
    for (const Endpoint& from : {kAttacker, lab.b().reflexive}) {
      lab.net().inject(from, alice,
                       check_from(mallory, mallory.id(), lab.a().identity.id(), lab.nonce(), false,
                                  salt));
      lab.net().inject(from, alice,
                       check_from(mallory, lab.b().identity.id(), lab.a().identity.id(),
                                  lab.nonce(), false, salt));
      lab.net().inject(from, alice,
                       check_from(mallory, lab.b().identity.id(), lab.a().identity.id(),
                                  lab.nonce(), true, salt));
    }
  });
  EXPECT_FALSE(lab.run_punch());
  ASSERT_TRUE(lab.a().failed.has_value());
  EXPECT_FALSE(lab.a().established.has_value());
  const auto& c = lab.a().punch->counters();
  EXPECT_GT(c.dropped_wrong_sender, 0u);
  EXPECT_GT(c.dropped_bad_signature, 0u);
  EXPECT_EQ(c.requests_received, 0u);
  EXPECT_EQ(c.responses_received, 0u);
  EXPECT_EQ(c.pairs_succeeded, 0u);
}

TEST(PunchForgedCheck, ReplayedGenuineChecksNeverMoveThePathToTheReplayer) {
  Scenario s;
  s.a.nat = preset("full-cone");  // Alice's NAT admits anyone: the replays all reach her
  s.tunnels = false;
  PunchLab lab(s);
  // Mallory sees everything Bob sends and replays it at once from her own address, and (to
  // race him) also re-sends it towards Alice ahead of the original.
  std::vector<Bytes> replayed;
  lab.net().set_tap([&](Instant, std::size_t from, Datagram& d) {
    if (from == lab.b().site && tunnel::looks_like_tunnel(d.payload.data(), d.payload.size())) {
      lab.net().inject(kAttacker, d.remote, d.payload);
      replayed.push_back(d.payload);
    }
    return true;
  });
  ASSERT_TRUE(lab.run_punch()) << lab.a().failed.value_or("");
  EXPECT_FALSE(replayed.empty());
  EXPECT_EQ(lab.a().established->remote, lab.b().reflexive);
  EXPECT_NE(lab.a().established->remote, kAttacker);
  EXPECT_EQ(lab.b().established->remote, lab.a().reflexive);
  // The replays reached Alice and were matched against nothing of hers from Mallory's pair.
  const auto& c = lab.a().punch->counters();
  EXPECT_GT(c.dropped_asymmetric + c.peer_reflexive_pairs, 0u);
}

}  // namespace
}  // namespace qp2p::tunnel_lab
