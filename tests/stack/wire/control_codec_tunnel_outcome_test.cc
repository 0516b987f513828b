// tunnel-outcome (0x0033) and tunnel-outcome-ack (0x0133), docs/protocol.md section 8.9: the
// byte-exact layout, and every bound the decoder enforces (path 1-3, setup_ms, rtt_ms, reason
// length, truncation), each rejected as a malformed body rather than clamped.
#include <gtest/gtest.h>

#include "stack/wire/control_message.h"
#include "tests/stack/hex_bytes.h"
#include "tests/stack/wire/control_codec_helpers.h"

namespace qp2p::wire {
namespace {

using codec_test::decode_error;
using test::hex;

using codec_test::encoded;
using codec_test::with_body;

TEST(TunnelOutcomeCodec, IsByteExact) {
  const Bytes b = encoded(TunnelOutcome{0x0102030405060708ULL, OutcomePath::kRelay, 10250, 41, ""});
  EXPECT_EQ(b, hex("51 01 0033 00 00 0013 0000000000000007"
                   "0102030405060708"  // attempt
                   "02"                // path: relay
                   "0000280a"          // setup 10250 ms
                   "00000029"          // rtt 41 ms
                   "0000"));           // no reason
  const Bytes ack = encoded(TunnelOutcomeAck{0x0102030405060708ULL});
  EXPECT_EQ(ack, hex("51 01 0133 00 00 0008 0000000000000007 0102030405060708"));
}

TEST(TunnelOutcomeCodec, FailureCarriesItsReason) {
  const TunnelOutcome failed{9, OutcomePath::kFailed, 52000, 0, "relay fallback failed"};
  const Bytes b = encoded(failed);
  auto m = decode(b.data(), b.size(), nullptr);
  ASSERT_TRUE(m);
  const auto& back = std::get<TunnelOutcome>(m->body);
  EXPECT_EQ(back.path, OutcomePath::kFailed);
  EXPECT_EQ(back.setup_ms, 52000u);
  EXPECT_EQ(back.reason, "relay fallback failed");
}

TEST(TunnelOutcomeCodec, EveryBoundIsEnforced) {
  const Bytes good = encoded(TunnelOutcome{9, OutcomePath::kDirect, kMaxSetupMs, kMaxRttMs, ""});
  ASSERT_EQ(decode_error(good), DecodeError::kNone);
  const Bytes body(good.begin() + kHeaderSize, good.end());
  struct Case {
    const char* what;
    std::size_t at;     // byte of the body to change
    std::uint8_t value;
  };
  const Case cases[] = {
      {"path 0", 8, 0},
      {"path 4", 8, 4},
      {"setup over the bound", 9, 0xff},
      {"rtt over the bound", 13, 0xff},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Bytes edited = body;
    edited[c.at] = c.value;
    EXPECT_EQ(decode_error(with_body(good, edited)), DecodeError::kMalformedBody);
  }
  // A reason one byte over kMaxTunnelReasonBytes (written by hand: the encoder cuts it).
  Bytes long_reason(body.begin(), body.end() - 2);
  long_reason.push_back(0);
  long_reason.push_back(static_cast<std::uint8_t>(kMaxTunnelReasonBytes + 1));
  long_reason.insert(long_reason.end(), kMaxTunnelReasonBytes + 1, 'x');
  EXPECT_EQ(decode_error(with_body(good, long_reason)), DecodeError::kMalformedBody);
  // Truncated anywhere, or with a byte too many.
  for (std::size_t n = 0; n < body.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_EQ(decode_error(with_body(good, Bytes(body.begin(), body.begin() + n))),
              DecodeError::kMalformedBody);
  }
  Bytes trailing = body;
  trailing.push_back(0);
  EXPECT_EQ(decode_error(with_body(good, trailing)), DecodeError::kMalformedBody);
}

TEST(TunnelOutcomeCodec, TheEncoderNeverWritesAnOutOfBoundValue) {
  const TunnelOutcome wild{1, OutcomePath::kFailed, kMaxSetupMs + 5, kMaxRttMs + 5,
                           std::string(kMaxTunnelReasonBytes + 50, 'r')};
  const Bytes b = encoded(wild);
  auto m = decode(b.data(), b.size(), nullptr);
  ASSERT_TRUE(m);
  const auto& back = std::get<TunnelOutcome>(m->body);
  EXPECT_EQ(back.setup_ms, kMaxSetupMs);
  EXPECT_EQ(back.rtt_ms, kMaxRttMs);
  EXPECT_EQ(back.reason.size(), kMaxTunnelReasonBytes);
}

}  // namespace
}  // namespace qp2p::wire
