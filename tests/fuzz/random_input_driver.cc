// Runs a libFuzzer-style target over N deterministic random and mutated inputs, so every fuzz
// target also runs (bounded) in the ordinary test suite without clang's libFuzzer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10000;
  std::mt19937_64 rng(0x9e3779b97f4a7c15ULL);
  std::vector<std::uint8_t> buf;
  for (long i = 0; i < iterations; ++i) {
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
