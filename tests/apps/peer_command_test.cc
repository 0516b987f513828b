// The qp2p-peer stdin language and its JSON output, without processes or sockets.
#include "apps/runtime/peer_command.h"

#include <gtest/gtest.h>

#include "apps/runtime/peer_json.h"

namespace qp2p {
namespace {

using namespace peer_command;

PeerId test_peer(std::uint64_t n) {
  return Identity::from_seed(Identity::Seed{static_cast<std::uint8_t>(n)}).id();
}

TEST(PeerCommand, PublishEntries) {
  auto c = parse("  publish role=camera  site=lab=2 empty=\r\n");
  auto* p = std::get_if<Publish>(&c);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->entries.size(), 3u);
  EXPECT_EQ(p->entries[0], std::make_pair(std::string("role"), std::string("camera")));
  EXPECT_EQ(p->entries[1], std::make_pair(std::string("site"), std::string("lab=2")));
  EXPECT_EQ(p->entries[2], std::make_pair(std::string("empty"), std::string()));
}

TEST(PeerCommand, SearchPrefixTerms) {
  auto c = parse("search role=camera site=la*");
  auto* s = std::get_if<Search>(&c);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->terms.size(), 2u);
  EXPECT_EQ(s->terms[0].key, "role");
  EXPECT_EQ(s->terms[0].value, "camera");
  EXPECT_FALSE(s->terms[0].prefix);
  EXPECT_EQ(s->terms[1].value, "la");
  EXPECT_TRUE(s->terms[1].prefix);
}

TEST(PeerCommand, SendKeepsInnerBlanks) {
  const PeerId id = test_peer(1);
  auto c = parse("send " + id.to_string() + "   hello   there  ");
  auto* s = std::get_if<Send>(&c);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->to, id);
  EXPECT_EQ(s->text, "hello   there");
}

TEST(PeerCommand, LookupWatchQuitEmpty) {
  const PeerId id = test_peer(2);
  EXPECT_EQ(std::get<Lookup>(parse("lookup " + id.to_string())).target, id);
  EXPECT_EQ(std::get<Watch>(parse("watch " + id.to_string())).target, id);
  EXPECT_TRUE(std::holds_alternative<Quit>(parse("quit")));
  EXPECT_TRUE(std::holds_alternative<Empty>(parse(" \t\r")));
}

TEST(PeerCommand, TunnelCommands) {
  const PeerId id = test_peer(4);
  const std::string peer = id.to_string();
  EXPECT_EQ(std::get<Connect>(parse("connect " + peer)).peer, id);
  EXPECT_EQ(std::get<Accept>(parse("accept " + peer)).peer, id);
  EXPECT_EQ(std::get<Close>(parse("close " + peer)).peer, id);
  auto refuse = std::get<Refuse>(parse("refuse " + peer + "  busy right now "));
  EXPECT_EQ(refuse.peer, id);
  EXPECT_EQ(refuse.reason, "busy right now");
  EXPECT_EQ(std::get<Refuse>(parse("refuse " + peer)).reason, "");
  auto tsend = std::get<TunnelSend>(parse("tsend " + peer + " a  b"));
  EXPECT_EQ(tsend.to, id);
  EXPECT_EQ(tsend.text, "a  b");
}

TEST(PeerCommand, BadLinesAreErrorsNamingTheCommand) {
  struct Case {
    const char* line;
    const char* command;
  };
  for (const Case& c :
       {Case{"frobnicate x", "frobnicate"}, Case{"publish novalue", "publish"},
        Case{"publish", "publish"}, Case{"publish =v", "publish"}, Case{"search", "search"},
        Case{"lookup", "lookup"}, Case{"lookup notapeerid", "lookup"}, Case{"watch a b", "watch"},
        Case{"send", "send"}, Case{"send xyz hello", "send"}, Case{"connect", "connect"},
        Case{"accept nope", "accept"}, Case{"refuse", "refuse"}, Case{"tsend", "tsend"},
        Case{"close a b", "close"}}) {
    auto parsed = parse(c.line);
    auto* invalid = std::get_if<Invalid>(&parsed);
    ASSERT_NE(invalid, nullptr) << c.line;
    EXPECT_EQ(invalid->command, c.command) << c.line;
    EXPECT_FALSE(invalid->reason.empty()) << c.line;
  }
  auto parsed = parse("send " + test_peer(3).to_string());
  EXPECT_TRUE(std::holds_alternative<Invalid>(parsed));
  parsed = parse("tsend " + test_peer(3).to_string() + "  ");
  EXPECT_EQ(std::get<Invalid>(parsed).command, "tsend");
}

TEST(PeerJson, InvalidUtf8IsReplacedNotThrown) {
  peer_event::MessageReceived m{test_peer(4), 1, std::string("caf\xc3", 4)};
  std::string line;
  ASSERT_NO_THROW(line = peer_json::to_line(peer_json::event(m, test_peer(5))));
  auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["event"], "message");
  EXPECT_EQ(parsed["from"], test_peer(4).to_string());
}

TEST(PeerJson, PeerInfo) {
  wire::PeerInfo info;
  Identity owner = Identity::from_seed(Identity::Seed{9});
  info.id = owner.id();
  info.online = true;
  info.mapped = *Endpoint::parse("127.0.0.1:4000");
  info.record = wire::SignedRecord::make(owner, 3, {{"role", "camera"}});
  auto j = peer_json::peer_info(info);
  EXPECT_EQ(j["peer_id"], owner.id().to_string());
  EXPECT_EQ(j["meta"]["role"], "camera");
  EXPECT_EQ(j["online"], true);
  EXPECT_EQ(j["mapped"], "127.0.0.1:4000");
}

}  // namespace
}  // namespace qp2p
