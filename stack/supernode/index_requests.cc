// The index service's request handlers: publish, lookup, search (docs/protocol.md, "Index").
#include <spdlog/spdlog.h>

#include "stack/discovery/nat_profile.h"
#include "stack/supernode/supernode_core.h"

namespace qp2p {

namespace {
// Search results must fit one control datagram; stop adding peers past this body size.
constexpr std::size_t kSearchBodyBudget = wire::kMaxDatagram - wire::kHeaderSize -
                                          wire::kTrailerSize - 16;
constexpr std::size_t kMaxSearchLimit = 100;
// Largest encoded record the index stores: one that still fits, inside a PeerInfo with an IPv6
// mapped address (32 id + 1 flags + 19 endpoint + 32 supernode), alone in a SearchResult (and
// so in a LookupResult). validate_entries alone allows records up to ~1260 bytes.
constexpr std::size_t kPeerInfoOverhead = 32 + 1 + 19 + 32;
constexpr std::size_t kMaxStoredRecordBytes = kSearchBodyBudget - 5 - kPeerInfoOverhead;
}  // namespace

wire::PeerInfo SupernodeCore::peer_info(const PeerId& id) const {
  wire::PeerInfo info;
  info.id = id;
  if (auto s = session_of_.find(id); s != session_of_.end()) {
    const auto& peer = sessions_.at(s->second);
    info.online = true;
    info.mapped = peer.remote;
    info.supernode = identity_.id();
  } else if (directory_) {
    // Elsewhere in the network: as the replicated directory holds it.
    if (auto remote = directory_->replica().peer_info(id, last_wall_ms_)) return *remote;
    return info;
  }
  if (const auto* record = index_.get(id)) info.record = *record;
  return info;
}

void SupernodeCore::on_publish(PeerSessionState& peer, std::uint64_t transaction,
                               const wire::Publish& m) {
  if (m.record.owner != peer.id) {
    ++counters_.rejected_record;
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kUnauthorized, "record owner is not the sender"});
  }
  Bytes encoded;
  ByteWriter w(encoded);
  wire::append(w, m.record);
  if (encoded.size() > kMaxStoredRecordBytes) {
    ++counters_.rejected_record;
    return reply(peer, transaction,
                 wire::Error{wire::ErrorCode::kBadRequest,
                             "record too large (" + std::to_string(encoded.size()) +
                                 " bytes encoded, at most " +
                                 std::to_string(kMaxStoredRecordBytes) + ")"});
  }
  switch (index_.put(m.record)) {
    case IndexService::PutResult::kStored:
      ++counters_.publishes;
      if (directory_) {
        directory_->published(last_wall_ms_, m.record);
        // A NAT profile in the record goes into the peer's presence record too.
        if (NatProfile::from_meta(m.record.entries)) directory_online(peer);
      }
      return reply(peer, transaction, wire::PublishAck{m.record.version});
    case IndexService::PutResult::kStale: {
      // A retransmitted publish of the stored version is acknowledged again, not refused.
      const auto* stored = index_.get(peer.id);
      if (stored && stored->version == m.record.version &&
          stored->signature == m.record.signature)
        return reply(peer, transaction, wire::PublishAck{m.record.version});
      ++counters_.rejected_record;
      return reply(peer, transaction,
                   wire::Error{wire::ErrorCode::kStaleRecord,
                               "record version " + std::to_string(m.record.version) +
                                   " is not above the stored one"});
    }
    case IndexService::PutResult::kBadSignature:
      ++counters_.rejected_record;
      return reply(peer, transaction,
                   wire::Error{wire::ErrorCode::kBadRequest, "record signature or bounds invalid"});
  }
}

void SupernodeCore::on_lookup(PeerSessionState& peer, std::uint64_t transaction,
                              const wire::Lookup& m) {
  ++counters_.lookups;
  wire::PeerInfo info = peer_info(m.target);
  if (!info.online && !info.record) return reply(peer, transaction, unknown_or_offline(m.target));
  reply(peer, transaction, wire::LookupResult{std::move(info)});
}

void SupernodeCore::on_search(PeerSessionState& peer, std::uint64_t transaction,
                              const wire::Search& m) {
  ++counters_.searches;
  if (m.terms.empty())
    return reply(peer, transaction, wire::Error{wire::ErrorCode::kBadRequest, "no search terms"});
  std::size_t total = 0;
  const std::size_t limit = std::min<std::size_t>(m.limit ? m.limit : 20, kMaxSearchLimit);
  wire::SearchResult result;
  Bytes scratch;
  std::size_t body = 5;
  // With federation the whole network's directory answers (this supernode's peers included).
  const std::vector<PeerId> found =
      directory_ ? directory_->replica().search(m.terms, limit, &total, m.after)
                 : index_.search(m.terms, limit, &total, m.after);
  for (const PeerId& id : found) {
    wire::PeerInfo info = peer_info(id);
    scratch.clear();
    ByteWriter w(scratch);
    wire::append(w, info);
    if (body + scratch.size() > kSearchBodyBudget) break;
    body += scratch.size();
    result.peers.push_back(std::move(info));
  }
  result.total = static_cast<std::uint32_t>(total);
  reply(peer, transaction, std::move(result));
}

}  // namespace qp2p
