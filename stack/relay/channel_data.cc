// ChannelData parse and build, RFC 8656 sections 12.4 and 12.5 (see channel_data.h).
#include "stack/relay/channel_data.h"

namespace qp2p::turn {

const char* to_string(ChannelDataError e) {
  switch (e) {
    case ChannelDataError::kNone:
      return "none";
    case ChannelDataError::kTooShort:
      return "shorter than the 4-byte header";
    case ChannelDataError::kBadChannel:
      return "channel number outside 0x4000-0x7FFF";
    case ChannelDataError::kTruncated:
      return "Length runs past the datagram";
    case ChannelDataError::kTooMuchPadding:
      return "more than 3 bytes after the data";
  }
  return "?";
}

std::optional<ChannelDataView> parse_channel_data(const std::uint8_t* data, std::size_t size,
                                                  ChannelDataError* error) {
  auto fail = [error](ChannelDataError e) -> std::optional<ChannelDataView> {
    if (error) *error = e;
    return std::nullopt;
  };
  if (size < kChannelDataHeaderSize) return fail(ChannelDataError::kTooShort);
  ChannelDataView v;
  v.channel = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
  v.size = static_cast<std::size_t>((data[2] << 8) | data[3]);
  if (v.channel < kMinChannel || v.channel > kMaxRfc5766Channel)
    return fail(ChannelDataError::kBadChannel);
  const std::size_t available = size - kChannelDataHeaderSize;
  if (v.size > available) return fail(ChannelDataError::kTruncated);
  if (available - v.size > 3) return fail(ChannelDataError::kTooMuchPadding);
  v.data = data + kChannelDataHeaderSize;
  if (error) *error = ChannelDataError::kNone;
  return v;
}

void append_channel_data(Bytes& out, std::uint16_t channel, const std::uint8_t* data,
                         std::size_t size) {
  const std::size_t padding = (4 - size % 4) % 4;
  out.reserve(out.size() + kChannelDataHeaderSize + size + padding);
  out.push_back(static_cast<std::uint8_t>(channel >> 8));
  out.push_back(static_cast<std::uint8_t>(channel));
  out.push_back(static_cast<std::uint8_t>(size >> 8));
  out.push_back(static_cast<std::uint8_t>(size));
  out.insert(out.end(), data, data + size);
  out.insert(out.end(), padding, 0);
}

}  // namespace qp2p::turn
