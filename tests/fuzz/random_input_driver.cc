// Runs a libFuzzer-style target over N deterministic random and mutated inputs, so every fuzz
// target also runs (bounded) in the ordinary test suite without clang's libFuzzer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

// qp2p control message types (docs/protocol.md), each with a body size it can decode at (for
// the variable-size ones, a size of some typical instance), so shaped inputs reach the body
// decoders and sometimes decode whole.
struct ControlShape {
  std::uint16_t type;
  std::uint16_t body;
};
constexpr ControlShape kControlShapes[] = {
    {0x0001, 32},  {0x0002, 160}, {0x0003, 0},   {0x0004, 0},  {0x0010, 121}, {0x0011, 32},
    {0x0012, 13},  {0x0013, 32},  {0x0020, 46},  {0x0101, 64}, {0x0102, 119}, {0x0102, 131},
    {0x0103, 7},   {0x0103, 19},  {0x0104, 0},   {0x0110, 8},  {0x0111, 72},  {0x0111, 84},
    {0x0112, 5},   {0x0112, 77},  {0x0113, 1},   {0x0120, 0},  {0x01ff, 8},   {0x0201, 46},
    {0x0202, 40},  {0x0203, 34},  {0x02ff, 0}};

// A control header: magic 0x51, version 1, a known type, the session flag on a quarter of them
// (then the last 32 bytes are the trailer), reserved 0, a body length that matches the datagram.
void shape_control(std::vector<std::uint8_t>& buf, std::mt19937_64& rng) {
  const ControlShape& shape = kControlShapes[rng() % std::size(kControlShapes)];
  const std::size_t body = (rng() % 4) ? shape.body : static_cast<std::size_t>(rng() % 1200);
  const bool session = (rng() & 3) == 0;
  buf.resize(16 + body + (session ? 32 : 0));
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  buf[0] = 0x51;
  buf[1] = (rng() % 64) ? 0x01 : static_cast<std::uint8_t>(rng());
  buf[2] = static_cast<std::uint8_t>(shape.type >> 8);
  buf[3] = static_cast<std::uint8_t>(shape.type);
  buf[4] = session ? 0x01 : 0x00;
  buf[5] = (rng() % 64) ? 0x00 : static_cast<std::uint8_t>(rng());
  buf[6] = static_cast<std::uint8_t>(body >> 8);
  buf[7] = static_cast<std::uint8_t>(body);
  // Counts, lengths, flags and address families are small numbers: make many bytes small, and
  // 16-bit length fields mostly zero-led, so bounded fields often parse.
  for (std::size_t i = 16; i < 16 + body; ++i) {
    const std::uint64_t r = rng() % 8;
    if (r == 0) buf[i] = static_cast<std::uint8_t>(rng() % 5);
    else if (r == 1) buf[i] = 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10000;
  std::mt19937_64 rng(0x9e3779b97f4a7c15ULL);
  std::vector<std::uint8_t> buf;
  for (long i = 0; i < iterations; ++i) {
    if ((i & 3) == 2) {
      // A quarter of the inputs start like a qp2p control message.
      shape_control(buf, rng);
      LLVMFuzzerTestOneInput(buf.data(), buf.size());
      continue;
    }
    buf.resize(rng() % 1500);
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
    // Half of the inputs start like a STUN header with the magic cookie, to get past
    // the first checks of the parsers.
    if (buf.size() >= 20 && (i & 1)) {
      buf[0] &= 0x3f;
      buf[4] = 0x21; buf[5] = 0x12; buf[6] = 0xa4; buf[7] = 0x42;
      std::size_t body = buf.size() - 20;
      if (i & 2) { buf[2] = static_cast<std::uint8_t>(body >> 8); buf[3] = static_cast<std::uint8_t>(body & 0xfc); }
    }
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
  }
  std::printf("%ld inputs, no crash\n", iterations);
  return 0;
}
