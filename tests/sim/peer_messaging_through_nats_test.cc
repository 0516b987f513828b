// Two peers behind the hardest NATs (symmetric with random ports, and the cgnat chain) find each
// other and exchange an instant message through the supernode, at once and again after minutes
// in which only keepalives crossed the NATs (mapping timeout 30 s, keepalive 10 s): the
// supernode's pushes reach each peer through mappings kept alive by the core's own timers.
#include <gtest/gtest.h>

#include <string>

#include "tests/sim/peer_bed.h"

namespace qp2p_sim_test {
namespace {

using ns3::Seconds;

struct Inbox {
  std::vector<std::string> texts;
  std::vector<uint64_t> delivered;
  std::string lookupPeer;
  bool lookupOnline = false;
  std::string lookupMapped;
};

void OnMessage(Inbox* inbox, const std::string& from, uint64_t, const std::string& text) {
  inbox->texts.push_back(text);
}
void OnDelivered(Inbox* inbox, const std::string&, uint64_t id) { inbox->delivered.push_back(id); }
void OnLookup(Inbox* inbox, uint64_t, const std::string& peer, bool online,
              const ns3::Address& mapped) {
  const auto inet = ns3::InetSocketAddress::ConvertFrom(mapped);
  std::ostringstream os;
  os << inet.GetIpv4() << ":" << inet.GetPort();
  inbox->lookupPeer = peer;
  inbox->lookupOnline = online;
  inbox->lookupMapped = os.str();
}

TEST(PeerMessaging, SymmetricToCgnatAcrossKeepalives) {
  PeerBedOptions options;
  options.presets = {"symmetric", "cgnat"};
  options.natAttributes = {{"MappingTimeout", "30s"}};
  PeerBed bed(options);
  ns3::Ptr<ns3::PeerApplication> a = bed.peers[0].app;
  ns3::Ptr<ns3::PeerApplication> b = bed.peers[1].app;
  Inbox aBox;
  Inbox bBox;
  a->TraceConnectWithoutContext("LookupDone", ns3::MakeBoundCallback(&OnLookup, &aBox));
  a->TraceConnectWithoutContext("Delivered", ns3::MakeBoundCallback(&OnDelivered, &aBox));
  b->TraceConnectWithoutContext("MessageReceived", ns3::MakeBoundCallback(&OnMessage, &bBox));
  const std::string bId = b->GetPeerId();

  ns3::Simulator::Schedule(Seconds(2), [&] { a->Lookup(bId); });
  ns3::Simulator::Schedule(Seconds(3), [&] { a->SendMessage(bId, "hello"); });
  bed.RunUntil(Seconds(5));
  EXPECT_EQ(aBox.lookupPeer, bId);
  EXPECT_TRUE(aBox.lookupOnline);
  std::ostringstream bMapped;
  bMapped << b->GetMappedEndpoint().GetIpv4() << ":" << b->GetMappedEndpoint().GetPort();
  EXPECT_EQ(aBox.lookupMapped, bMapped.str());
  ASSERT_EQ(bBox.texts.size(), 1u);
  EXPECT_EQ(bBox.texts[0], "hello");
  EXPECT_EQ(aBox.delivered.size(), 1u);

  // Minutes of keepalives only, then a message the other way round (via the command language).
  ns3::Simulator::Schedule(Seconds(180) - ns3::Simulator::Now(),
                           [&] { b->Execute("send " + a->GetPeerId() + " still here"); });
  Inbox aLate;
  a->TraceConnectWithoutContext("MessageReceived", ns3::MakeBoundCallback(&OnMessage, &aLate));
  bed.RunUntil(Seconds(185));
  ASSERT_EQ(aLate.texts.size(), 1u);
  EXPECT_EQ(aLate.texts[0], "still here");
  EXPECT_TRUE(a->IsRegistered());
  EXPECT_TRUE(b->IsRegistered());
  // Same mappings as at login: keepalives refreshed them, none expired and got replaced.
  std::ostringstream bNow;
  bNow << b->GetMappedEndpoint().GetIpv4() << ":" << b->GetMappedEndpoint().GetPort();
  EXPECT_EQ(bNow.str(), bMapped.str());
}

}  // namespace
}  // namespace qp2p_sim_test
