// libFuzzer target: the scheme-spec parser (fanfill::Scheme::Parse), the
// ToString round trip, Describe / Init on small shapes and WithDefaultFans
// (checks in fuzz_checks.h). Build and run: scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fanfill::fuzz::CheckSchemeSpec(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
