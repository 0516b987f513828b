// TURN server data plane: CreatePermission (RFC 8656 section 9), ChannelBind (section 11),
// Send and Data indications (section 10), ChannelData (section 12) and data from peers on the
// relay sockets. See turn_server.h.
#include <spdlog/spdlog.h>

#include <cstring>

#include "stack/relay/channel_data.h"
#include "stack/relay/turn_server.h"

namespace qp2p::turn {

namespace {

// The largest payload a Data indication can carry: the STUN body limit (65532) less
// XOR-PEER-ADDRESS (24 for IPv6), the DATA header (4), padding (3) and FINGERPRINT (8).
constexpr std::size_t kMaxDataIndicationPayload = 0xFFFC - 24 - 4 - 3 - 8;

// XOR-PEER-ADDRESS of one attribute (RFC 8489 section 14.2): CreatePermission may carry
// several, and MessageView::xor_address() decodes only the first.
std::optional<Endpoint> decode_xor_address(const stun::MessageView& m,
                                           const stun::AttributeView& a) {
  const std::uint8_t* v = m.value(a);
  std::uint8_t mask[16];
  mask[0] = 0x21, mask[1] = 0x12, mask[2] = 0xA4, mask[3] = 0x42;
  std::memcpy(mask + 4, m.transaction_id().data(), 12);
  if (a.length < 4) return std::nullopt;
  Endpoint ep;
  ep.port = static_cast<std::uint16_t>(((v[2] << 8) | v[3]) ^ 0x2112);
  if (v[1] == 0x01 && a.length == 8) {
    std::array<std::uint8_t, 4> b;
    for (int i = 0; i < 4; ++i) b[i] = v[4 + i] ^ mask[i];
    ep.address = IpAddress::v4(b);
    return ep;
  }
  if (v[1] == 0x02 && a.length == 20) {
    std::array<std::uint8_t, 16> b;
    for (int i = 0; i < 16; ++i) b[i] = v[4 + i] ^ mask[i];
    ep.address = IpAddress::v6(b);
    return ep;
  }
  return std::nullopt;
}

}  // namespace

bool TurnServer::channel_in_range(std::uint16_t channel) const {
  return channel >= kMinChannel &&
         channel <= (config_.rfc5766_channel_range ? kMaxRfc5766Channel : kMaxChannel);
}

// --- CreatePermission, section 9.2 ---

void TurnServer::on_create_permission(Request& r, Allocation& a) {
  std::vector<IpAddress> peers;
  for (const stun::AttributeView& attr : r.m.attributes()) {
    if (attr.type != stun::attr::kXorPeerAddress) continue;
    auto peer = decode_xor_address(r.m, attr);
    if (!peer) return reply_error(r, 400, "Bad Request");
    if (peer->address.family() != a.relay.address.family())
      return reply_error(r, 443, "Peer Address Family Mismatch");
    peers.push_back(peer->address);
  }
  if (peers.empty()) return reply_error(r, 400, "Bad Request");
  std::size_t added = 0;
  for (const IpAddress& ip : peers) added += a.permissions.count(ip) ? 0 : 1;
  if (a.permissions.size() + added > config_.max_permissions_per_allocation)
    return reply_error(r, 508, "Insufficient Capacity");
  const Instant expires = r.now + config_.permission_lifetime;
  for (const IpAddress& ip : peers) {
    a.permissions[ip] = expires;
    ++counters_.permissions_created;
  }
  schedule(expires);
  Bytes out;
  stun::MessageBuilder b(out, stun::Method::kCreatePermission, stun::Class::kSuccess,
                         r.m.transaction_id());
  reply_success(r, out, b);
}

// --- ChannelBind, section 11.2 ---

void TurnServer::on_channel_bind(Request& r, Allocation& a) {
  const stun::AttributeView* number = r.m.find(stun::attr::kChannelNumber);
  auto peer = r.m.xor_address(stun::attr::kXorPeerAddress);
  if (!number || number->length != 4 || !peer) return reply_error(r, 400, "Bad Request");
  const std::uint8_t* v = r.m.value(*number);
  const auto channel = static_cast<std::uint16_t>((v[0] << 8) | v[1]);
  if (!channel_in_range(channel)) {
    SPDLOG_DEBUG("turn: ChannelBind from {}: channel 0x{:04x} out of range", r.remote.to_string(),
                 channel);
    return reply_error(r, 400, "Bad Request");
  }
  if (peer->address.family() != a.relay.address.family())
    return reply_error(r, 443, "Peer Address Family Mismatch");
  // Section 11.2: a channel stays with its peer, and a peer with its channel, until the binding
  // is released (its lifetime plus the quarantine).
  auto bound = a.channels.find(channel);
  if (bound != a.channels.end() && bound->second.peer != *peer) {
    SPDLOG_DEBUG("turn: ChannelBind from {}: channel 0x{:04x} is bound to {}", r.remote.to_string(),
                 channel, bound->second.peer.to_string());
    return reply_error(r, 400, "Bad Request");
  }
  auto other = a.channel_of_peer.find(*peer);
  if (other != a.channel_of_peer.end() && other->second != channel) {
    SPDLOG_DEBUG("turn: ChannelBind from {}: peer {} is bound to channel 0x{:04x}",
                 r.remote.to_string(), peer->to_string(), other->second);
    return reply_error(r, 400, "Bad Request");
  }
  if (!a.permissions.count(peer->address) &&
      a.permissions.size() >= config_.max_permissions_per_allocation)
    return reply_error(r, 508, "Insufficient Capacity");
  const Instant expires = r.now + config_.channel_lifetime;
  a.channels[channel] = ChannelBinding{*peer, expires, expires + config_.channel_quarantine};
  a.channel_of_peer[*peer] = channel;
  a.permissions[peer->address] = r.now + config_.permission_lifetime;
  ++counters_.channels_bound;
  schedule(r.now + config_.permission_lifetime);
  Bytes out;
  stun::MessageBuilder b(out, stun::Method::kChannelBind, stun::Class::kSuccess,
                         r.m.transaction_id());
  reply_success(r, out, b);
}

// --- client to peer ---

void TurnServer::on_send(Instant now, const Endpoint& local, const Endpoint& remote,
                         const stun::MessageView& m) {
  Allocation* a = find(local, remote);
  if (!a || !a->socket_open) {
    ++counters_.dropped_no_allocation;
    SPDLOG_DEBUG("turn: Send indication from {} without an allocation", remote.to_string());
    return;
  }
  auto peer = m.xor_address(stun::attr::kXorPeerAddress);
  const stun::AttributeView* data = m.find(stun::attr::kData);
  // Section 10.2: unknown comprehension-required attributes (DONT-FRAGMENT among them: we
  // cannot set DF) make the server discard the indication.
  if (!peer || !data ||
      !m.unknown_comprehension_required(
            {stun::attr::kXorPeerAddress, stun::attr::kData, stun::attr::kPadding})
           .empty()) {
    ++counters_.dropped_send_malformed;
    SPDLOG_DEBUG(
        "turn: Send indication from {} without XOR-PEER-ADDRESS or DATA, or with an "
        "unknown attribute",
        remote.to_string());
    return;
  }
  if (!a->has_permission(now, peer->address)) {
    ++counters_.dropped_no_permission;
    SPDLOG_DEBUG("turn: Send from {} to {}: no permission", remote.to_string(), peer->to_string());
    return;
  }
  if (forbidden(*peer)) {
    ++counters_.dropped_forbidden_peer;
    SPDLOG_DEBUG("turn: Send from {} to {}: forbidden peer", remote.to_string(), peer->to_string());
    return;
  }
  ++counters_.send_indications;
  const std::uint8_t* p = m.value(*data);
  send(Datagram{a->relay, *peer, Bytes(p, p + data->length)});
}

bool TurnServer::is_bound_channel(const Endpoint& local, const Endpoint& remote,
                                  const std::uint8_t* data, std::size_t size) const {
  if (size < kChannelDataHeaderSize) return false;
  auto it = by_tuple_.find(FiveTuple{local, remote});
  if (it == by_tuple_.end()) return false;
  const Allocation& a = allocations_.at(it->second);
  return a.channels.count(static_cast<std::uint16_t>((data[0] << 8) | data[1])) != 0;
}

void TurnServer::handle_channel_data(Instant now, const Endpoint& local, const Endpoint& remote,
                                     const std::uint8_t* data, std::size_t size) {
  ChannelDataError error = ChannelDataError::kNone;
  auto cd = parse_channel_data(data, size, &error);
  if (!cd || !channel_in_range(cd->channel)) {
    ++counters_.dropped_channel_data_malformed;
    SPDLOG_DEBUG("turn: malformed ChannelData from {}: {}", remote.to_string(),
                 cd ? "channel number out of range" : to_string(error));
    return;
  }
  Allocation* a = find(local, remote);
  if (!a || !a->socket_open) {
    ++counters_.dropped_no_allocation;
    SPDLOG_DEBUG("turn: ChannelData from {} without an allocation", remote.to_string());
    return;
  }
  const ChannelBinding* b = a->binding(now, cd->channel);
  if (!b) {
    ++counters_.dropped_channel_unbound;
    SPDLOG_DEBUG("turn: ChannelData from {} on unbound channel 0x{:04x}", remote.to_string(),
                 cd->channel);
    return;
  }
  if (!a->has_permission(now, b->peer.address)) {
    ++counters_.dropped_no_permission;
    SPDLOG_DEBUG("turn: ChannelData from {} to {}: permission expired", remote.to_string(),
                 b->peer.to_string());
    return;
  }
  if (forbidden(b->peer)) {
    ++counters_.dropped_forbidden_peer;
    SPDLOG_DEBUG("turn: ChannelData from {} to {}: forbidden peer", remote.to_string(),
                 b->peer.to_string());
    return;
  }
  ++counters_.channel_data_in;
  send(Datagram{a->relay, b->peer, Bytes(cd->data, cd->data + cd->size)});
}

// --- peer to client ---

void TurnServer::handle_peer_datagram(Instant now, const Endpoint& relay, const Endpoint& peer,
                                      const std::uint8_t* data, std::size_t size) {
  auto it = by_relay_.find(relay);
  if (it == by_relay_.end()) {
    ++counters_.dropped_relay_unknown;
    SPDLOG_DEBUG("turn: datagram on {} from {}: no allocation", relay.to_string(),
                 peer.to_string());
    return;
  }
  const Allocation& a = allocations_.at(it->second);
  if (forbidden(peer)) {
    ++counters_.dropped_forbidden_peer;
    SPDLOG_DEBUG("turn: datagram on {} from {}: forbidden peer", relay.to_string(),
                 peer.to_string());
    return;
  }
  if (!a.has_permission(now, peer.address)) {
    ++counters_.dropped_no_permission;
    SPDLOG_DEBUG("turn: datagram on {} from {}: no permission", relay.to_string(),
                 peer.to_string());
    return;
  }
  Datagram d{a.server, a.client, {}};
  if (auto channel = a.channel_for(now, peer)) {
    ++counters_.channel_data_out;
    append_channel_data(d.payload, *channel, data, size);
    return send(std::move(d));
  }
  if (size > kMaxDataIndicationPayload) {
    ++counters_.dropped_too_large;
    SPDLOG_DEBUG("turn: {} bytes from {} do not fit a Data indication", size, peer.to_string());
    return;
  }
  stun::TransactionId txn;
  random_.fill(txn.data(), txn.size());
  stun::MessageBuilder(d.payload, stun::Method::kData, stun::Class::kIndication, txn)
      .add_xor_address(stun::attr::kXorPeerAddress, peer)
      .add(stun::attr::kData, data, size)
      .add_fingerprint();
  ++counters_.data_indications;
  send(std::move(d));
}

}  // namespace qp2p::turn
