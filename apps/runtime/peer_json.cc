// PeerInfo and PeerEvent to JSON (see peer_json.h for the field contract).
#include "apps/runtime/peer_json.h"

namespace qp2p::peer_json {

namespace {

using json = Json;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

json endpoint_or_null(const Endpoint& e) {
  if (e.port == 0 && e.address.is_unspecified()) return nullptr;
  return e.to_string();
}

}  // namespace

const char* to_string(wire::PresenceReason reason) {
  switch (reason) {
    case wire::PresenceReason::kLogin:
      return "login";
    case wire::PresenceReason::kLogout:
      return "logout";
    case wire::PresenceReason::kExpired:
      return "expired";
  }
  return "unknown";
}

json meta(const wire::MetaEntries& entries) {
  json out = json::object();
  for (const auto& [key, value] : entries) out[key] = value;
  return out;
}

json peer_info(const wire::PeerInfo& info) {
  json out = json::object();
  out["peer_id"] = info.id.to_string();
  out["meta"] = info.record ? meta(info.record->entries) : json::object();
  out["online"] = info.online;
  out["mapped"] = info.online ? endpoint_or_null(info.mapped) : json(nullptr);
  return out;
}

json error(const std::string& command, const std::string& reason) {
  return json{{"event", "error"}, {"command", command}, {"reason", reason}};
}

json event(const PeerEvent& event, const PeerId& self) {
  namespace ev = peer_event;
  return std::visit(
      Overloaded{
          [&](const ev::Registered& e) -> json {
            return {{"event", "registered"},
                    {"peer_id", self.to_string()},
                    {"mapped", e.mapped.to_string()},
                    {"supernode", e.supernode_endpoint.to_string()}};
          },
          [&](const ev::Disconnected& e) -> json {
            return {{"event", "disconnected"},
                    {"supernode", endpoint_or_null(e.supernode_endpoint)},
                    {"reason", e.reason},
                    {"retry_ms", to_ms(e.retry_in)}};
          },
          [&](const ev::Published& e) -> json {
            return {{"event", "published"}, {"version", e.version}};
          },
          [&](const ev::LookupDone& e) -> json {
            return {{"event", "lookup"}, {"peer", peer_info(e.info)}};
          },
          [&](const ev::SearchDone& e) -> json {
            json peers = json::array();
            for (const auto& p : e.peers) peers.push_back(peer_info(p));
            return {{"event", "search"}, {"total", e.total}, {"peers", std::move(peers)}};
          },
          [&](const ev::Watching& e) -> json {
            return {{"event", "watching"}, {"peer_id", e.target.to_string()}, {"online", e.online}};
          },
          [&](const ev::MessageAccepted& e) -> json {
            return {{"event", "sent"}, {"to", e.to.to_string()}};
          },
          [&](const ev::MessageReceived& e) -> json {
            return {{"event", "message"}, {"from", e.from.to_string()}, {"text", e.text}};
          },
          [&](const ev::Delivered& e) -> json {
            return {{"event", "delivered"}, {"to", e.to.to_string()}};
          },
          [&](const ev::Presence& e) -> json {
            return {{"event", "presence"},
                    {"peer_id", e.peer.to_string()},
                    {"online", e.online},
                    {"reason", to_string(e.reason)}};
          },
          [&](const ev::RequestFailed& e) -> json { return error(e.command, e.reason); },
          [&](const ev::LoggedOut&) -> json {
            return {{"event", "logged_out"}};
          },
          [&](const ev::NatClassified& e) -> json {
            json out = {{"event", "nat"}};
            out.update(nat_profile(e.profile));
            return out;
          },
          [&](const ev::NatDiscoveryFailed& e) -> json { return error("netcheck", e.reason); },
          [&](const ev::TunnelRequested& e) -> json {
            return {{"event", "tunnel-request"},
                    {"from", e.from.to_string()},
                    {"meta", e.info.record ? meta(e.info.record->entries) : json::object()}};
          },
          [&](const ev::TunnelRefused& e) -> json {
            return {{"event", "tunnel-refused"},
                    {"peer", e.peer.to_string()},
                    {"reason", e.reason}};
          },
          [&](const ev::PunchStarted& e) -> json {
            return {{"event", "punch-start"},
                    {"peer", e.peer.to_string()},
                    {"strategy", tunnel::to_string(e.plan.strategy)},
                    {"direct_feasible", e.direct_feasible},
                    {"start_after_ms", to_ms(e.plan.start_after)}};
          },
          [&](const ev::TunnelSocketsNeeded& e) -> json {
            return {{"event", "tunnel-sockets"}, {"peer", e.peer.to_string()}, {"count", e.count}};
          },
          [&](const ev::TunnelSocketsReleased& e) -> json {
            return {{"event", "tunnel-sockets-released"},
                    {"peer", e.peer.to_string()},
                    {"count", e.locals.size()}};
          },
          [&](const ev::TunnelEstablished& e) -> json {
            return {{"event", "tunnel"},
                    {"peer", e.peer.to_string()},
                    {"path", tunnel::to_string(e.path)},
                    {"local", e.local.to_string()},
                    {"remote", e.remote.to_string()},
                    {"rtt_ms", to_ms(e.rtt)},
                    {"setup_ms", to_ms(e.setup)}};
          },
          [&](const ev::TunnelData& e) -> json {
            return {{"event", "tdata"},
                    {"from", e.peer.to_string()},
                    {"text", std::string(e.bytes.begin(), e.bytes.end())}};
          },
          [&](const ev::TunnelClosed& e) -> json {
            return {{"event", "tunnel-closed"}, {"peer", e.peer.to_string()}, {"reason", e.reason}};
          },
          [&](const ev::SupernodeLeaving& e) -> json {
            json alternatives = json::array();
            for (const Endpoint& a : e.alternatives) alternatives.push_back(a.to_string());
            return {{"event", "supernode-leaving"},
                    {"supernode", e.supernode_endpoint.to_string()},
                    {"alternatives", std::move(alternatives)}};
          },
          [&](const ev::SupernodeChanged& e) -> json {
            return {{"event", "supernode"},
                    {"address", e.supernode_endpoint.to_string()},
                    {"supernode_id", e.supernode.to_string()},
                    {"reason", e.reason}};
          },
          [&](const ev::SupernodeList& e) -> json {
            json list = json::array();
            for (const Endpoint& s : e.supernodes) list.push_back(s.to_string());
            return {{"event", "supernodes"}, {"list", std::move(list)}};
          },
      },
      event);
}

json nat_profile(const NatProfile& p) {
  json out = {{"mapping", to_string(p.mapping)},
              {"filtering", to_string(p.filtering)},
              {"allocation", to_string(p.allocation)},
              {"hairpin", p.hairpin},
              {"nat_levels", p.nat_levels},
              {"mapped", p.mapped.to_string()},
              {"complete", p.complete}};
  if (p.allocation == NatProfile::Allocation::kSequential) out["delta"] = p.sequential_delta;
  if (!p.notes.empty()) out["notes"] = p.notes;
  return out;
}

std::string to_line(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace qp2p::peer_json
