// IP address and endpoint text forms without socket headers: dotted quad, RFC 4291 section 2.2
// input (with "::" and an embedded IPv4 tail), RFC 5952 section 4 output.
#include "stack/core/endpoint.h"

#include <cstring>

namespace qp2p {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Exactly four decimal parts of 1-3 digits, each <= 255. Leading zeros ("01") are refused
// because inet_aton reads them as octal and inet_pton refuses them: such text is ambiguous.
bool parse_dotted_quad(std::string_view text, std::uint8_t* out) {
  std::size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
    std::size_t start = i;
    unsigned value = 0;
    while (i < text.size() && is_digit(text[i]) && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
    }
    std::size_t digits = i - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return false;
    out[part] = static_cast<std::uint8_t>(value);
  }
  return i == text.size();
}

// RFC 4291 section 2.2: groups of 1-4 hex digits, at most one "::" standing for one or more zero
// groups, optionally ending in a dotted quad that fills the last 32 bits. Zone ids are refused.
bool parse_ipv6(std::string_view text, std::array<std::uint8_t, 16>& out) {
  std::array<std::uint8_t, 16> bytes{};
  std::size_t written = 0;
  std::ptrdiff_t gap = -1;  // byte index where "::" stands, if any
  std::size_t i = 0;
  if (text.size() < 2) return false;
  if (text[0] == ':') {
    if (text[1] != ':') return false;
    gap = 0;
    i = 2;
    if (i == text.size()) {
      out = bytes;
      return true;
    }
  }
  while (true) {
    std::size_t start = i;
    unsigned value = 0;
    while (i < text.size() && hex_value(text[i]) >= 0 && i - start < 5) {
      value = (value << 4) | static_cast<unsigned>(hex_value(text[i]));
      ++i;
    }
    std::size_t digits = i - start;
    if (i < text.size() && text[i] == '.') {
      // The dotted quad must end the text and fill the last 4 bytes.
      if (written + 4 > bytes.size()) return false;
      if (!parse_dotted_quad(text.substr(start), bytes.data() + written)) return false;
      written += 4;
      break;
    }
    if (digits == 0 || digits > 4 || written + 2 > bytes.size()) return false;
    bytes[written++] = static_cast<std::uint8_t>(value >> 8);
    bytes[written++] = static_cast<std::uint8_t>(value);
    if (i == text.size()) break;
    if (text[i] != ':') return false;
    ++i;
    if (i < text.size() && text[i] == ':') {
      if (gap >= 0) return false;
      gap = static_cast<std::ptrdiff_t>(written);
      ++i;
      if (i == text.size()) break;
    } else if (i == text.size()) {
      return false;  // a single trailing colon
    }
  }
  if (gap >= 0) {
    if (written == bytes.size()) return false;  // "::" must stand for at least one group
    std::size_t tail = written - static_cast<std::size_t>(gap);
    std::memmove(bytes.data() + bytes.size() - tail, bytes.data() + gap, tail);
    std::memset(bytes.data() + gap, 0, bytes.size() - tail - static_cast<std::size_t>(gap));
  } else if (written != bytes.size()) {
    return false;
  }
  out = bytes;
  return true;
}

char* append_decimal(char* p, unsigned value) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *p++ = digits[--n];
  return p;
}

char* append_dotted_quad(char* p, const std::uint8_t* b) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *p++ = '.';
    p = append_decimal(p, b[i]);
  }
  return p;
}

// RFC 5952 section 4: lowercase, no leading zeros, the longest run of two or more zero groups
// (the first on a tie) as "::". IPv4-mapped addresses keep the dotted tail (section 5).
char* append_ipv6(char* p, const std::uint8_t* b) {
  std::uint16_t groups[8];
  for (int g = 0; g < 8; ++g)
    groups[g] = static_cast<std::uint16_t>((b[2 * g] << 8) | b[2 * g + 1]);
  bool v4_mapped = groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 &&
                   groups[4] == 0 && groups[5] == 0xffff;
  int hex_groups = v4_mapped ? 6 : 8;

  int best_start = -1, best_len = 0;
  for (int g = 0; g < hex_groups;) {
    if (groups[g] != 0) {
      ++g;
      continue;
    }
    int start = g;
    while (g < hex_groups && groups[g] == 0) ++g;
    if (g - start > best_len) {
      best_start = start;
      best_len = g - start;
    }
  }
  if (best_len < 2) {
    best_start = -1;
    best_len = 0;
  }
  const int after_gap = best_start + best_len;  // first group after "::", or -1 without one

  static constexpr char kHex[] = "0123456789abcdef";
  for (int g = 0; g < hex_groups;) {
    if (g == best_start) {
      *p++ = ':';
      *p++ = ':';
      g += best_len;
      continue;
    }
    if (g > 0 && g != after_gap) *p++ = ':';
    unsigned v = groups[g];
    int shift = 12;
    while (shift > 0 && ((v >> shift) & 0xf) == 0) shift -= 4;
    for (; shift >= 0; shift -= 4) *p++ = kHex[(v >> shift) & 0xf];
    ++g;
  }
  if (v4_mapped) {
    if (after_gap != hex_groups) *p++ = ':';
    p = append_dotted_quad(p, b + 12);
  }
  return p;
}

std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (!is_digit(c)) return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

IpAddress IpAddress::v4(std::uint32_t host_order) {
  return v4({static_cast<std::uint8_t>(host_order >> 24),
             static_cast<std::uint8_t>(host_order >> 16),
             static_cast<std::uint8_t>(host_order >> 8), static_cast<std::uint8_t>(host_order)});
}

IpAddress IpAddress::v4(const std::array<std::uint8_t, 4>& bytes) {
  IpAddress a;
  a.family_ = Family::kV4;
  std::memcpy(a.bytes_.data(), bytes.data(), 4);
  return a;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress a;
  a.family_ = Family::kV6;
  a.bytes_ = bytes;
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    std::array<std::uint8_t, 16> bytes;
    if (!parse_ipv6(text, bytes)) return std::nullopt;
    return v6(bytes);
  }
  std::array<std::uint8_t, 4> bytes;
  if (!parse_dotted_quad(text, bytes.data())) return std::nullopt;
  return v4(bytes);
}

std::uint32_t IpAddress::v4_host_order() const {
  if (!is_v4()) return 0;
  return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
         (std::uint32_t{bytes_[2]} << 8) | bytes_[3];
}

bool IpAddress::is_unspecified() const {
  for (std::size_t i = 0; i < size(); ++i) {
    if (bytes_[i] != 0) return false;
  }
  return true;
}

bool IpAddress::is_loopback() const {
  if (is_v4()) return bytes_[0] == 127;
  for (std::size_t i = 0; i < 15; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[15] == 1;
}

std::string IpAddress::to_string() const {
  char buffer[48];  // the longest form, "ffff:...:ffff" or "::ffff:255.255.255.255", fits
  char* end =
      is_v4() ? append_dotted_quad(buffer, bytes_.data()) : append_ipv6(buffer, bytes_.data());
  return std::string(buffer, static_cast<std::size_t>(end - buffer));
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
  Endpoint ep;
  std::string_view address_text, port_text;
  if (!text.empty() && text[0] == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    address_text = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    std::array<std::uint8_t, 16> bytes;
    if (!parse_ipv6(address_text, bytes)) return std::nullopt;
    ep.address = IpAddress::v6(bytes);
  } else {
    // Unbracketed text may only be IPv4: "2001:db8::1:80" would be ambiguous.
    std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    address_text = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    std::array<std::uint8_t, 4> bytes;
    if (!parse_dotted_quad(address_text, bytes.data())) return std::nullopt;
    ep.address = IpAddress::v4(bytes);
  }
  if (!parse_port(port_text, ep.port)) return std::nullopt;
  return ep;
}

std::string Endpoint::to_string() const {
  std::string out;
  out.reserve(56);
  if (address.is_v6()) out += '[';
  out += address.to_string();
  if (address.is_v6()) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

std::size_t EndpointHash::operator()(const Endpoint& e) const {
  // The 16 address bytes (zero beyond 4 for IPv4) as two words, each folded in through the
  // splitmix64 finaliser so that neighbouring ports and addresses spread over the buckets.
  std::uint64_t lo, hi;
  std::memcpy(&lo, e.address.data(), 8);
  std::memcpy(&hi, e.address.data() + 8, 8);
  std::uint64_t tag = std::uint64_t{e.port} << 8 | static_cast<std::uint64_t>(e.address.family());
  std::uint64_t x = mix64(lo ^ mix64(hi ^ tag));
  return static_cast<std::size_t>(x);
}

}  // namespace qp2p
