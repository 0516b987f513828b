// NAT discovery, sans-IO: a peer classifies its NAT against the supernode's two STUN services
// (RFC 5780 behaviour discovery, reported in RFC 4787's terms, see nat_profile.h). It never
// reads a clock or touches a socket: the runtime feeds datagrams and timeouts in and drains
// transmits, each naming the local socket it must leave from (DESIGN.md, "Sans-IO core").
//
// The test sequence. Tests that open new NAT mappings run strictly one after the other, so the
// external ports they get are consecutive allocations of the NAT; tests that only reuse a
// mapping run alongside them. Sockets: S0 = primary, S1.. = extras; A:p = the supernode's
// primary STUN endpoint, B:q = its OTHER-ADDRESS (B = A with a single IP).
//
//  1. Binding (serial, one socket at a time): Si -> A:p for every socket (S0 first: RFC 5780
//     test I, which also yields OTHER-ADDRESS). The first packet of a fresh socket opens a new
//     mapping whatever the mapping behaviour, so these are consecutive allocations for an
//     endpoint-independent and an address-and-port-dependent NAT alike.
//  2. Mapping (RFC 5780 4.3, serial on S0, after 1): test II S0 -> B:p; equal to test I:
//     endpoint-independent; else test III S0 -> B:q; equal to test II: address-dependent, else
//     address-and-port-dependent. A new external endpoint here is one more consecutive
//     allocation (address(-and-port)-dependent NATs). Single IP: only S0 -> A:q is possible;
//     a change means address-and-port-dependent, no change leaves the mapping unknown (unless
//     there is no NAT at all: then it is endpoint-independent).
//  3. Filtering (RFC 5780 4.4, on S1, alongside 2): S1 has only ever sent to A:p, so its filter
//     admits exactly what the NAT's filtering admits after one packet to A:p. Both CHANGE-
//     REQUESTs go to A:p at once (neither opens the filter): change IP and port answered (from
//     B:q): endpoint-independent; else change port answered (from A:q): address-dependent;
//     neither: address-and-port-dependent. Single IP: only change port; answered leaves the
//     filtering unknown (endpoint-independent or address-dependent), unanswered means
//     address-and-port-dependent. The mapping tests run on S0, not S1, because sending to B
//     would open S1's filter for B.
//  4. Hairpinning (RFC 5780 4.5, after 2 so its new mappings do not interleave with 2's): S1
//     sends a Binding request to S0's mapped endpoint and S0 to S1's, both retransmitted. If
//     either request reaches the other socket, the NAT hairpins. Sending both ways opens an
//     address(-and-port)-dependent filter for the other socket's mapped endpoint, as a peer
//     behind the same NAT would; an address-and-port-dependent mapping with such a filter never
//     lets them meet (each send opens a fresh mapping) and is reported as no hairpinning.
//
// Port allocation, from the consecutive allocations of 1 and 2 (port_allocation.h): most
// sockets' first mappings kept the local port: preserving; else one delta in a majority (and at
// least three) of the steps: sequential; else random; unknown when one repeated delta holds a
// majority of two or three steps (a random allocator's coincidence looks the same) or there are
// fewer than two steps. Behind an endpoint-independent NAT only the bindings allocate, so the
// default of five extra sockets (kDefaultNatDiscoveryExtraSockets) gives five steps.
//
// NAT levels (RFC 6886 NAT-PMP for the second level): 0 when S0's mapped endpoint is its local
// endpoint. Otherwise, once test I shows a NAT, S0 asks the default gateway (`gateway`, port
// 5351) for its external address, alongside the other tests: the same address as the mapped one
// means one NAT (1); another address means the gateway's own outside is behind a further NAT (2:
// "two or more", since each gateway only knows its own external address). No answer leaves 1,
// with the note "gateway does not speak NAT-PMP; a second NAT level would not be seen". A chain
// of NATs looks like one NAT to STUN, so the gateway's word is the only signal (nat_discovery.cc
// explains what else was considered). `gateway_external`, when a runtime already knows it (PCP,
// UPnP IGD), replaces the question.
//
// Loss: every probe is retransmitted (RetransmitPolicy); "no answer after every
// retransmission" is the RFC's "filtered". With the default policy (9 transmissions) a 5% loss
// per datagram fakes a filter with probability ~1e-9 per test. Tests that are always answered
// (I, II, III) retry longer (16 transmissions): their silence is only ever loss.
//
// "One change, then drain": after start() and every input, drain poll_transmit() and
// poll_event() and re-arm the timer at poll_timeout().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "stack/core/random.h"
#include "stack/core/sans_io.h"
#include "stack/discovery/nat_profile.h"
#include "stack/stun/stun_message.h"
#include "stack/transaction/request_tracker.h"

namespace qp2p {

// Probe retransmission: first retransmission after 200 ms (a nearby supernode answers well
// within it), doubling up to 800 ms so that the 9 transmissions span ~5.4 s plus a final 800 ms
// wait. Nine, because a filtering test's "no answer" is only trusted if loss cannot explain it:
// at 5% loss per datagram a round trip fails ~10% of the time and nine all fail ~1e-9.
RetransmitPolicy default_nat_probe_retransmit();

// Probes whose answer is certain unless the path loses it (test I, the mapping tests II and
// III: the server answers from where we sent, which every filter admits): silence there is
// never a finding, only loss, so they may retry longer without slowing a healthy run. Sixteen
// transmissions on the same schedule (~11 s): with 5% loss on each of the three links a
// datagram crosses each way (four behind a carrier NAT), a round trip fails ~34% of the time,
// and sixteen all fail ~3e-8, against ~6e-5 for nine (one misread peer in a few 1000-peer
// scenario runs, as measured).
RetransmitPolicy default_nat_answered_probe_retransmit();

// Whole-run bound. A healthy run whose filters drop the change requests and whose NAT does not
// hairpin takes ~6.5 s (those waits overlap); the bound only cuts paths where most probes go
// unanswered, and what was determined by then is still reported (incomplete).
inline constexpr Duration kDefaultNatDiscoveryDeadline = std::chrono::seconds(20);

// NAT-PMP external address request (RFC 6886 section 3.1): first retransmission after 250 ms,
// doubling, as the RFC says, but 5 transmissions instead of its 9. Its 9 (with a final 64 s wait)
// take 127.75 s, six times the whole discovery deadline, to cover slow gateways; the gateway is one
// LAN hop away and answers in milliseconds, so only loss matters: at 5% loss per datagram a round
// trip fails ~10% of the time and five all fail ~1e-5. The last wait continues the doubling
// (4 s), so a gateway that does not speak NAT-PMP is given up 7.75 s after the question, about
// when the STUN tests end anyway (~6.5 s).
RetransmitPolicy default_nat_pmp_retransmit();

// Extra sockets (S1..S5) a runtime opens for discovery. Behind an endpoint-independent mapping
// only each socket's first mapping is a new allocation: six sockets give five steps, of which a
// sequential verdict needs three equal ones (port_allocation.h), so one stray allocation by
// another host still leaves a sequential NAT recognisable, while a random allocator in a
// 512-port carrier block fakes it ~1.5e-5 of the time. With three extra sockets (three steps)
// one repeated step is often all there is: ~0.3% of peers behind the cgnat preset then read
// "unknown" (and read "sequential" under the earlier rule that trusted two equal steps).
inline constexpr std::size_t kDefaultNatDiscoveryExtraSockets = 5;

struct NatDiscoveryConfig {
  // The socket the peer talks to its supernode from (S0). Runtimes pass the concrete local
  // address (not 0.0.0.0) where they know it: the no-NAT test compares it with the mapped one.
  Endpoint primary_local;
  // Further sockets (S1..), at least one: filtering and hairpin tests use S1; the allocation
  // test wants kDefaultNatDiscoveryExtraSockets (five steps behind an endpoint-independent
  // mapping). Each must be a fresh socket that has sent nothing yet.
  std::vector<Endpoint> extra_locals;
  // The supernode's primary STUN endpoint (A:p).
  Endpoint server;
  RetransmitPolicy retransmit = default_nat_probe_retransmit();  // filtering and hairpin tests
  RetransmitPolicy answered_retransmit = default_nat_answered_probe_retransmit();  // I, II, III
  Duration deadline = kDefaultNatDiscoveryDeadline;
  // The default gateway's NAT-PMP endpoint (its address, port nat_pmp::kServerPort), if the
  // runtime knows it: discovery asks it for its external address (RFC 6886) to count NAT levels.
  // Datagrams from this endpoint must be fed in like the STUN answers (they arrive on S0).
  std::optional<Endpoint> gateway;
  RetransmitPolicy gateway_retransmit = default_nat_pmp_retransmit();
  // The first NAT's external address, if the runtime already has it (PCP, UPnP IGD): then no
  // NAT-PMP request is sent. The only way, with `gateway`, to see a second NAT level.
  std::optional<IpAddress> gateway_external;
};

namespace nat_discovery_event {
struct Completed {
  NatProfile profile;
};
struct Failed {
  std::string reason;
};
}  // namespace nat_discovery_event

using NatDiscoveryEvent = std::variant<nat_discovery_event::Completed, nat_discovery_event::Failed>;

struct NatDiscoveryCounters {
  std::uint64_t requests_sent = 0;          // including retransmissions
  std::uint64_t responses = 0;              // matched to a probe
  std::uint64_t dropped_malformed = 0;      // not STUN, bad FINGERPRINT, no mapped address
  std::uint64_t dropped_unexpected = 0;     // unknown transaction, wrong socket, duplicate, late
  std::uint64_t hairpinned_requests = 0;    // our own requests that came back
  std::uint64_t gateway_requests_sent = 0;  // NAT-PMP, including retransmissions
  std::uint64_t gateway_responses = 0;      // NAT-PMP answers (any result code)
};

class NatDiscovery final : public SansIoEndpoint {
 public:
  NatDiscovery(NatDiscoveryConfig config, Random random);

  // Begins the tests; an invalid config fails at once (Failed event).
  void start(Instant now);

  void handle_datagram(Instant now, const Endpoint& local, const Endpoint& remote,
                       const std::uint8_t* data, std::size_t size) override;
  void handle_timeout(Instant now) override;
  std::optional<Datagram> poll_transmit() override;
  Instant poll_timeout() const override;
  std::optional<NatDiscoveryEvent> poll_event();

  bool finished() const { return state_ == State::kDone; }
  // Every socket the runtime must open: primary_local first, then extra_locals.
  const std::vector<Endpoint>& local_endpoints() const { return sockets_; }
  // One line per probe sent, answer, timeout and conclusion, with the time since start().
  const std::vector<std::string>& transcript() const { return transcript_; }
  const NatDiscoveryCounters& counters() const { return counters_; }

 private:
  enum class State : std::uint8_t { kIdle, kRunning, kDone };
  enum class Test : std::uint8_t {
    kBinding,
    kMappingII,
    kMappingIII,
    kFilteringII,   // CHANGE-REQUEST change IP and port
    kFilteringIII,  // CHANGE-REQUEST change port
    kHairpin,
  };
  enum class Outcome : std::uint8_t { kPending, kAnswered, kNoAnswer, kError, kCancelled };
  // The NAT-PMP question to the gateway.
  enum class GatewayQuery : std::uint8_t { kNotAsked, kPending, kAnswered, kNoAnswer, kError };

  struct Probe {
    Test test = Test::kBinding;
    std::size_t socket = 0;  // index into sockets_
    Endpoint destination;
    Endpoint expected_source;  // where the answer must come from
    std::uint32_t change = 0;  // CHANGE-REQUEST flags
    std::size_t target = 0;    // kHairpin: the socket the request should reach
    stun::TransactionId id{};
    Bytes request;
    Outcome outcome = Outcome::kPending;
    Endpoint mapped;  // kHairpin: the source our request arrived from
    std::optional<Endpoint> other_address;
    int error_code = 0;
  };

  std::size_t launch(Instant now, Test test, std::size_t socket, const Endpoint& destination,
                     std::uint32_t change = 0, std::optional<Endpoint> expected = {},
                     std::size_t target = 0);
  void step(Instant now);
  void on_response(Instant now, std::size_t index, const stun::MessageView& msg,
                   const Endpoint& remote);
  void on_own_request(Instant now, std::size_t index, const Endpoint& local,
                      const Endpoint& remote);
  void settle(Instant now, std::size_t index, Outcome outcome);
  void ask_gateway(Instant now);
  void on_gateway_datagram(Instant now, const Endpoint& local, const std::uint8_t* data,
                           std::size_t size);
  void end_gateway_query(Instant now, GatewayQuery outcome, const std::string& line);
  void cancel(std::size_t index);
  bool pending(std::optional<std::size_t> index) const;
  bool done(std::optional<std::size_t> index) const { return index && !pending(index); }
  bool answered(std::optional<std::size_t> index) const;
  void finish(Instant now);
  void fail(Instant now, std::string reason);
  void note(Instant now, std::string line);
  bool is_socket(std::size_t index, const Endpoint& local) const;
  static bool answer_expected(Test test);
  RequestTracker& tracker_for(Test test) {
    return answer_expected(test) ? answered_tracker_ : tracker_;
  }
  std::string name(const Probe& probe) const;

  NatProfile::Mapping conclude_mapping(NatProfile& profile) const;
  NatProfile::Filtering conclude_filtering(NatProfile& profile) const;
  void conclude_allocation(NatProfile& profile) const;
  void conclude_levels(NatProfile& profile) const;
  void conclude_hairpin(NatProfile& profile) const;

  NatDiscoveryConfig config_;
  Random random_;
  std::vector<Endpoint> sockets_;
  RequestTracker tracker_;           // tests whose silence is a finding (filtering, hairpin)
  RequestTracker answered_tracker_;  // tests that are always answered unless lost (I, II, III)
  State state_ = State::kIdle;
  Instant started_{};
  Instant deadline_ = kNever;

  std::vector<Probe> probes_;  // index = tracker transaction key
  std::map<stun::TransactionId, std::size_t> by_id_;
  std::vector<std::optional<std::size_t>> binding_;  // per socket
  std::size_t next_binding_ = 0;
  std::optional<Endpoint> other_;  // OTHER-ADDRESS from test I
  bool two_ips_ = false;
  std::optional<std::size_t> mapping_ii_, mapping_iii_;
  std::optional<std::size_t> filtering_ii_, filtering_iii_;
  std::size_t filter_socket_ = 0;
  std::vector<std::size_t> hairpin_;
  bool hairpin_started_ = false;
  bool hairpin_seen_ = false;

  RequestTracker gateway_tracker_;  // one transaction (key 0): the NAT-PMP request
  GatewayQuery gateway_query_ = GatewayQuery::kNotAsked;
  std::optional<IpAddress> gateway_external_;  // what the gateway answered
  std::uint16_t gateway_result_ = 0;           // its non-zero result code (kError)

  std::deque<NatDiscoveryEvent> events_;
  std::vector<std::string> transcript_;
  NatDiscoveryCounters counters_;
};

}  // namespace qp2p
