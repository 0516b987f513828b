// The client side of TURN over UDP (RFC 8656), sans-IO: what a peer uses to get a relayed
// transport address on its supernode's relay service and to talk to other peers through it.
//
//   Allocate          RFC 8656 section 7.1/7.3   (REQUESTED-TRANSPORT UDP, LIFETIME)
//   Refresh           section 8.1/8.3            (before expiry; LIFETIME 0 on close())
//   CreatePermission  section 9.1/9.3            (per peer IP, refreshed before 300 s pass;
//                                                 an unanswered one is asked again at once)
//   ChannelBind       section 11.1/11.3          (refreshed before 600 s pass)
//   Send / Data       section 10                 (indications while no channel is bound)
//   ChannelData       section 12                 (once the channel is bound)
//
// Long-term credentials (RFC 8489 section 9.2.5): the first request goes without them; a 401
// carrying REALM and NONCE makes the client sign a retry with MESSAGE-INTEGRITY (key
// MD5(username ":" realm ":" password)); a 438 Stale Nonce makes it retry with the new nonce
// (bounded). Success responses to signed requests must carry a valid MESSAGE-INTEGRITY, or
// they are dropped (counted) and the request keeps being retransmitted.
//
// Requests are retransmitted as RFC 8489 section 6.2.1 says (RTO 500 ms doubling, Rc = 7,
// Rm = 16: 39.5 s in all) by the shared RequestTracker. Every failure is an event
// (client_event::Failed names the operation, the peer, the error code or 0 for a timeout);
// the client never throws or crashes on what the server or the network sends.
//
// Credentials expire (they are the REST API's time-limited ones), and every request about an
// allocation must carry the username that created it (RFC 8656 section 5; 441 otherwise), so
// an allocation cannot outlive its credentials: once a refresh is refused with 401 the client
// stops refreshing and the allocation runs out (client_event::AllocationLost). Owners get
// credentials that outlast what they need, or allocate anew with set_credentials() first.
//
// The client owns no socket: it sends from `config.local` to `config.server`, and the owner
// hands it every datagram from the server on that socket (handle_datagram() says whether it
// was one).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "stack/core/datagram.h"
#include "stack/core/instant.h"
#include "stack/core/random.h"
#include "stack/relay/turn_credentials.h"
#include "stack/stun/stun_message.h"
#include "stack/transaction/request_tracker.h"

namespace qp2p::turn {

enum class TurnOperation : std::uint8_t {
  kAllocate,
  kRefresh,
  kCreatePermission,
  kChannelBind,
};
const char* to_string(TurnOperation op);

namespace client_event {
struct Allocated {
  Endpoint relayed;  // XOR-RELAYED-ADDRESS: where peers send to reach us
  Endpoint mapped;   // XOR-MAPPED-ADDRESS: our server-reflexive address as the relay sees it
  Duration lifetime;
};
struct Refreshed {
  Duration lifetime;
};
struct PermissionCreated {
  Endpoint peer;
};
struct ChannelBound {
  Endpoint peer;
  std::uint16_t channel = 0;
};
// Bytes a peer sent to our relayed address (Data indication or ChannelData).
struct Data {
  Endpoint peer;
  Bytes payload;
};
// A request failed: an error response (code) or no answer at all (code 0).
struct Failed {
  TurnOperation operation = TurnOperation::kAllocate;
  Endpoint peer;  // for CreatePermission and ChannelBind
  int code = 0;
  std::string reason;
};
// The allocation is gone: its lifetime passed without a refresh, or the server no longer
// knows it (437). allocate() may be called again.
struct AllocationLost {
  std::string reason;
};
// close() finished (the server confirmed the deletion, or did not answer).
struct Closed {};
}  // namespace client_event

using TurnClientEvent =
    std::variant<client_event::Allocated, client_event::Refreshed, client_event::PermissionCreated,
                 client_event::ChannelBound, client_event::Data, client_event::Failed,
                 client_event::AllocationLost, client_event::Closed>;

struct TurnClientConfig {
  Endpoint local;   // our socket
  Endpoint server;  // the TURN server (the supernode's primary endpoint)
  TurnCredentials credentials;
  // LIFETIME asked for in Allocate and Refresh; the server clamps it (0: leave it out).
  std::uint32_t requested_lifetime_s = 600;
  // Refresh this long before the allocation expires (RFC 8656 section 8: "a minute or so").
  Duration refresh_margin = std::chrono::seconds(60);
  // Permissions last 300 s and channels 600 s on the server; refreshed this much earlier.
  Duration binding_refresh_margin = std::chrono::seconds(60);
  RetransmitPolicy retransmit{std::chrono::milliseconds(500), std::chrono::seconds(16), 7, 16};
  int max_stale_nonce_retries = 3;  // 438s answered in a row per request
  std::size_t max_permissions = 64;
  std::string software;  // SOFTWARE attribute; empty: none
};

struct TurnClientCounters {
  std::uint64_t requests_sent = 0;  // first transmissions, signed retries included
  std::uint64_t challenges = 0;     // 401s answered with a signed retry
  std::uint64_t stale_nonces = 0;   // 438s answered with a retry
  std::uint64_t send_indications = 0;
  std::uint64_t channel_data_out = 0;
  std::uint64_t data_indications_in = 0;
  std::uint64_t channel_data_in = 0;
  // Drops.
  std::uint64_t dropped_malformed = 0;  // neither parseable STUN nor ChannelData
  std::uint64_t dropped_bad_fingerprint = 0;
  std::uint64_t dropped_bad_integrity = 0;    // a success to a signed request, unsigned or wrong
  std::uint64_t dropped_unmatched = 0;        // a response to no outstanding request
  std::uint64_t dropped_unknown_channel = 0;  // ChannelData on a channel we did not bind
  std::uint64_t dropped_unexpected = 0;       // requests, indications other than Data, bad Data
};

class TurnClient {
 public:
  enum class State : std::uint8_t { kIdle, kAllocating, kAllocated, kClosing, kFailed };

  TurnClient(TurnClientConfig config, Random random);

  // Starts an Allocate (from kIdle or kFailed, or after AllocationLost). False otherwise.
  bool allocate(Instant now);
  // Credentials for the next allocate() (e.g. fresh ones from the checkpoint). The current
  // allocation, if any, keeps the username it was made with.
  void set_credentials(TurnCredentials credentials);
  // Installs (and keeps refreshing) a permission for peer's IP address. Needs kAllocated.
  bool create_permission(Instant now, const Endpoint& peer);
  // Binds a channel to peer (which also installs its permission) and keeps it bound. Until the
  // bind succeeds, send() uses Send indications. Needs kAllocated. Returns the channel number.
  std::optional<std::uint16_t> bind_channel(Instant now, const Endpoint& peer);
  // Sends to peer through the relay: ChannelData when a channel is bound, else a Send
  // indication when a permission for its IP exists or is being created. False otherwise, or
  // when the data is too large for one message.
  bool send(Instant now, const Endpoint& peer, const std::uint8_t* data, std::size_t size);
  // Deletes the allocation (Refresh with LIFETIME 0); client_event::Closed follows.
  void close(Instant now);

  // A datagram that arrived on `local` from `remote`. True when it was from the server on our
  // socket (and so was the client's to handle, dropped or not).
  bool handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size);
  void handle_timeout(Instant now);
  std::optional<Datagram> poll_transmit();
  Instant poll_timeout() const;
  std::optional<TurnClientEvent> poll_event();

  State state() const { return state_; }
  const std::optional<Endpoint>& relayed() const { return relayed_; }
  const std::optional<Endpoint>& mapped() const { return mapped_; }
  Instant expires() const { return expires_; }
  bool has_permission(const Endpoint& peer) const;
  std::optional<std::uint16_t> channel(const Endpoint& peer) const;  // bound channels only
  const TurnClientConfig& config() const { return config_; }
  const TurnClientCounters& counters() const { return counters_; }
  std::uint64_t retransmissions() const { return tracker_.retransmissions(); }

  // ChannelData (section 12: first byte 0x40-0x7F) as opposed to STUN (0x00-0x03).
  static bool looks_like_channel_data(const std::uint8_t* data, std::size_t size);

 private:
  struct Pending {
    TurnOperation operation = TurnOperation::kAllocate;
    Endpoint peer;
    std::uint16_t channel = 0;
    std::uint32_t lifetime_s = 0;  // Refresh
    bool signed_request = false;
    int stale_retries = 0;
  };
  struct Permission {
    bool installed = false;
    bool in_flight = false;
    Instant refresh_at = kNever;
  };
  struct Channel {
    std::uint16_t number = 0;
    bool bound = false;
    bool in_flight = false;
    Instant refresh_at = kNever;
  };

  void send_request(Instant now, Pending p);
  void on_stun(Instant now, const stun::MessageView& m);
  void on_success(Instant now, const Pending& p, const stun::MessageView& m);
  void on_error(Instant now, Pending p, const stun::MessageView& m);
  void fail(Instant now, const Pending& p, int code, std::string reason);
  void permission_failed(Instant now, const Endpoint& peer, int code);
  void lose_allocation(std::string reason);
  void finish_close();
  void take_tracker_transmits();
  void request_refresh(Instant now, std::uint32_t lifetime_s);
  LongTermKey key() const;

  TurnClientConfig config_;
  Random random_;
  RequestTracker tracker_;
  TurnClientCounters counters_;
  State state_ = State::kIdle;
  std::string realm_;
  std::string nonce_;
  std::optional<Endpoint> relayed_;
  std::optional<Endpoint> mapped_;
  Instant expires_ = kNever;
  Instant refresh_at_ = kNever;
  bool refresh_in_flight_ = false;
  bool refresh_needs_credentials_ = false;
  std::unordered_map<std::uint64_t, Pending> pending_;  // by the first 8 transaction id bytes
  std::map<IpAddress, Permission> permissions_;
  std::map<Endpoint, Channel> channels_;
  std::unordered_map<std::uint16_t, Endpoint> by_channel_;
  std::uint16_t next_channel_ = 0x4000;
  std::deque<Datagram> transmits_;
  std::deque<TurnClientEvent> events_;
};

}  // namespace qp2p::turn
