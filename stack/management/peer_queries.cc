// GET /v1/peers and GET /v1/peers/{id} of the management API (index_api.h): the peers logged in,
// with their metadata, supernode, public address and NAT profile; filtered by metadata terms
// and online state, paged in peer id order with an opaque cursor.
#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "stack/discovery/nat_profile.h"
#include "stack/management/api_routes.h"
#include "stack/supernode/handshake_stats.h"
#include "stack/supernode/index_service.h"

namespace qp2p::management {

namespace {

using nlohmann::json;

// The cursor names the last peer of the page; the prefix versions the format, so it can grow
// (federation may add a supernode) without misreading old cursors.
constexpr std::string_view kCursorPrefix = "p1.";
constexpr std::string_view kMetaPrefix = "meta.";

std::string make_cursor(const PeerId& last) { return std::string(kCursorPrefix) + last.to_string(); }

json nat_json(const SnapshotPeer& peer) {
  if (!peer.record) return nullptr;
  auto profile = NatProfile::from_meta(peer.record->entries);
  if (!profile) return nullptr;
  json n = {{"class", nat_class(profile)},
            {"mapping", to_string(profile->mapping)},
            {"filtering", to_string(profile->filtering)},
            {"allocation", to_string(profile->allocation)},
            {"hairpin", profile->hairpin},
            {"levels", profile->nat_levels}};
  if (profile->allocation == NatProfile::Allocation::kSequential)
    n["delta"] = profile->sequential_delta;
  return n;
}

json peer_json(const SnapshotPeer& peer, Instant now) {
  json meta = json::object();
  if (peer.record)
    for (const auto& [k, v] : peer.record->entries) meta[k] = v;
  return {{"id", peer.id.to_string()},
          {"online", true},
          {"supernode", peer.supernode.to_string()},
          {"public_address", peer.mapped.to_string()},
          {"last_seen_ms_ago", std::max<std::int64_t>(0, to_ms(now - peer.last_seen))},
          {"record_version", peer.record ? json(peer.record->version) : json(nullptr)},
          {"metadata", std::move(meta)},
          {"nat", nat_json(peer)}};
}

struct PeersQuery {
  std::vector<wire::SearchTerm> terms;
  std::optional<bool> online;
  std::size_t limit = kDefaultPageSize;
  PeerId after;  // exclusive; all-zero for the first page
  bool has_cursor = false;
};

// Reads the parameters of GET /v1/peers; a message naming the bad one otherwise.
std::optional<PeersQuery> read_query(const Target& target, std::string* error) {
  PeersQuery q;
  bool seen_limit = false, seen_online = false;
  for (const auto& [key, value] : target.query) {
    if (key.compare(0, kMetaPrefix.size(), kMetaPrefix) == 0) {
      wire::SearchTerm term;
      term.key = key.substr(kMetaPrefix.size());
      term.value = value;
      if (!term.value.empty() && term.value.back() == '*') {
        term.prefix = true;
        term.value.pop_back();
      }
      if (term.key.empty() || term.key.size() > wire::kMaxKeyBytes ||
          term.value.size() > wire::kMaxValueBytes) {
        *error = "filter '" + key + "': key must be 1 to " + std::to_string(wire::kMaxKeyBytes) +
                 " bytes, value at most " + std::to_string(wire::kMaxValueBytes);
        return std::nullopt;
      }
      if (q.terms.size() >= wire::kMaxSearchTerms) {
        *error = "more than " + std::to_string(wire::kMaxSearchTerms) + " meta.* filters";
        return std::nullopt;
      }
      q.terms.push_back(std::move(term));
    } else if (key == "limit" && !seen_limit) {
      seen_limit = true;
      std::size_t v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || v < 1 ||
          v > kMaxPageSize) {
        *error = "limit must be a whole number from 1 to " + std::to_string(kMaxPageSize) +
                 ", got '" + value + "'";
        return std::nullopt;
      }
      q.limit = v;
    } else if (key == "cursor" && !q.has_cursor) {
      q.has_cursor = true;
      std::optional<PeerId> id;
      if (value.compare(0, kCursorPrefix.size(), kCursorPrefix) == 0)
        id = PeerId::parse(std::string_view(value).substr(kCursorPrefix.size()));
      if (!id) {
        *error = "cursor is not one this API returned";
        return std::nullopt;
      }
      q.after = *id;
    } else if (key == "online" && !seen_online) {
      seen_online = true;
      if (value != "true" && value != "false") {
        *error = "online must be true or false, got '" + value + "'";
        return std::nullopt;
      }
      q.online = value == "true";
    } else if (key == "limit" || key == "cursor" || key == "online") {
      *error = "query parameter '" + key + "' given twice";
      return std::nullopt;
    } else {
      *error = "unknown query parameter '" + key + "' (filters are meta.KEY=VALUE)";
      return std::nullopt;
    }
  }
  return q;
}

bool matches(const SnapshotPeer& peer, const PeersQuery& q) {
  if (q.online && !*q.online) return false;  // every peer seen here is online
  if (q.terms.empty()) return true;
  return peer.record && IndexService::matches(*peer.record, q.terms);
}

}  // namespace

bool valid_peers_query(const Target& target, std::string* error) {
  return read_query(target, error).has_value();
}

ApiResponse get_peers(const Target& target, const ApiSnapshot& snapshot,
                      const ApiContext& context) {
  std::string error;
  auto q = read_query(target, &error);
  if (!q) return error_response(400, error);
  // The snapshot's peers are in id order: one pass counts the matches and keeps the first
  // `limit + 1` after the cursor.
  std::vector<const SnapshotPeer*> page;
  std::size_t total = 0;
  for (const SnapshotPeer& peer : snapshot.peers) {
    if (!matches(peer, *q)) continue;
    ++total;
    if (page.size() <= q->limit && (!q->has_cursor || q->after < peer.id)) page.push_back(&peer);
  }
  const bool more = page.size() > q->limit;
  if (more) page.pop_back();
  json list = json::array();
  for (const SnapshotPeer* peer : page) list.push_back(peer_json(*peer, context.now));
  json body = {{"peers", std::move(list)},
               {"total", total},
               {"next_cursor", more ? json(make_cursor(page.back()->id)) : json(nullptr)},
               {"snapshot_age_ms", snapshot_age_ms(snapshot, context)}};
  return json_response(200, body);
}

ApiResponse get_peer(std::string_view id_text, const ApiSnapshot& snapshot,
                     const ApiContext& context) {
  auto id = PeerId::parse(id_text);
  if (!id)
    return error_response(400, "malformed peer id '" + std::string(id_text.substr(0, 80)) +
                                   "' (52 base32 characters expected)");
  const SnapshotPeer* peer = snapshot.find(*id);
  if (!peer) return error_response(404, "peer " + id->to_string() + " is not online");
  return json_response(200, peer_json(*peer, context.now));
}

}  // namespace qp2p::management
