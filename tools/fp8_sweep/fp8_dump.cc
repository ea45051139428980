// fp8_dump e4m3|e5m2: writes FloatToF8Bits(x) (src/core/dtype.h, the scalar
// conversion the fills' reference uses and the kernels are tested against)
// for every float32 bit pattern 0 .. 2^32 - 1, in order, one byte each, to
// stdout (4 GiB). scripts/fp8_torch_sweep.py compares the stream with torch.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "src/core/dtype.h"

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "e4m3") != 0 && std::strcmp(argv[1], "e5m2") != 0)) {
    std::fprintf(stderr, "usage: fp8_dump e4m3|e5m2 > bytes\n");
    return 2;
  }
  const bool e4m3 = std::strcmp(argv[1], "e4m3") == 0;
  constexpr uint64_t kChunk = uint64_t{1} << 24;
  std::vector<uint8_t> out(kChunk);
  for (uint64_t start = 0; start < (uint64_t{1} << 32); start += kChunk) {
    for (uint64_t k = 0; k < kChunk; ++k) {
      uint32_t bits = static_cast<uint32_t>(start + k);
      float f;
      std::memcpy(&f, &bits, 4);
      out[k] = e4m3 ? fanfill::internal::FloatToF8E4M3Bits(f)
                    : fanfill::internal::FloatToF8E5M2Bits(f);
    }
    if (std::fwrite(out.data(), 1, kChunk, stdout) != kChunk) return 1;
  }
  return 0;
}
