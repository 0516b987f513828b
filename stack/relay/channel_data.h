// TURN ChannelData messages (RFC 8656 section 12.4): the 4-byte framing that carries a
// client's data to and from a peer bound to a channel, instead of a 36+ byte Send or Data
// indication.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Channel Number        |            Length             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  /                       Application Data                        /
//  +-------------------------------+-------------------------------+
//
// Length counts the application data only; over UDP the sender may pad to a multiple of 4
// bytes and the receiver ignores the padding (section 12.5). We always pad what we send.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/core/datagram.h"

namespace qp2p::turn {

// RFC 8656 section 12: channel numbers 0x4000-0x4FFF. RFC 5766 allowed 0x4000-0x7FFF and
// coturn (server and turnutils_uclient, which picks its channels at random from that range)
// still uses it; TurnConfig::rfc5766_channel_range accepts it for compatibility.
inline constexpr std::uint16_t kMinChannel = 0x4000;
inline constexpr std::uint16_t kMaxChannel = 0x4FFF;
inline constexpr std::uint16_t kMaxRfc5766Channel = 0x7FFF;
inline constexpr std::size_t kChannelDataHeaderSize = 4;

enum class ChannelDataError : std::uint8_t {
  kNone = 0,
  kTooShort,        // fewer than 4 bytes
  kBadChannel,      // channel number outside 0x4000-0x7FFF
  kTruncated,       // Length runs past the datagram
  kTooMuchPadding,  // more than 3 bytes follow the data
};
const char* to_string(ChannelDataError e);

struct ChannelDataView {
  std::uint16_t channel = 0;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

// Bounded parse of one datagram; the view borrows `data`.
std::optional<ChannelDataView> parse_channel_data(const std::uint8_t* data, std::size_t size,
                                                  ChannelDataError* error = nullptr);
// Appends a ChannelData message padded to a multiple of 4 bytes. `size` must be < 65536.
void append_channel_data(Bytes& out, std::uint16_t channel, const std::uint8_t* data,
                         std::size_t size);

}  // namespace qp2p::turn
