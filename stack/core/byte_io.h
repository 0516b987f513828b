// Bounded big-endian readers and writers for wire codecs. A ByteReader never reads past its
// end: every read reports failure instead, and a failed reader stays failed, so a decoder can
// read a whole structure and check ok() once.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace qp2p {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool ok() const { return ok_; }
  std::size_t remaining() const { return ok_ ? size_ - pos_ : 0; }
  std::size_t position() const { return pos_; }
  bool at_end() const { return ok_ && pos_ == size_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(take_uint(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(take_uint(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(take_uint(4)); }
  std::uint64_t u64() { return take_uint(8); }
  // Copies n bytes into out; fails (and zero-fills) when fewer remain.
  void bytes(std::uint8_t* out, std::size_t n) {
    const std::uint8_t* p = take(n);
    if (p) std::memcpy(out, p, n); else std::memset(out, 0, n);
  }
  // Returns a pointer to the next n bytes and advances, or nullptr when fewer remain.
  const std::uint8_t* take(std::size_t n) {
    if (!ok_ || size_ - pos_ < n) { ok_ = false; return nullptr; }
    const std::uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  // A string with a 16-bit length prefix, rejected when longer than max_len.
  std::string str16(std::size_t max_len) {
    std::size_t n = u16();
    if (n > max_len) { ok_ = false; return {}; }
    const std::uint8_t* p = take(n);
    return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
  }
  void fail() { ok_ = false; }

 private:
  std::uint64_t take_uint(std::size_t n) {
    const std::uint8_t* p = take(n);
    std::uint64_t v = 0;
    if (p) for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
    return v;
  }
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put_uint(v, 2); }
  void u32(std::uint32_t v) { put_uint(v, 4); }
  void u64(std::uint64_t v) { put_uint(v, 8); }
  void bytes(const std::uint8_t* p, std::size_t n) { out_.insert(out_.end(), p, p + n); }
  // Callers bound the length first; longer strings are truncated to 65535 bytes.
  void str16(std::string_view s) {
    std::size_t n = s.size() > 0xffff ? 0xffff : s.size();
    u16(static_cast<std::uint16_t>(n));
    bytes(reinterpret_cast<const std::uint8_t*>(s.data()), n);
  }
  std::size_t size() const { return out_.size(); }
  // Overwrites a 16-bit value at an earlier offset (length fields written after the body).
  void patch_u16(std::size_t offset, std::uint16_t v) {
    out_[offset] = static_cast<std::uint8_t>(v >> 8);
    out_[offset + 1] = static_cast<std::uint8_t>(v);
  }

 private:
  void put_uint(std::uint64_t v, std::size_t n) {
    for (std::size_t i = n; i-- > 0;) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t>& out_;
};

}  // namespace qp2p
