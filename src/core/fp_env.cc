#include "src/core/fp_env.h"

#include <cfenv>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace fanfill::internal {
namespace {
// No memory access of the scope moves across the environment's change (the
// constructor and destructor are also out of line, in this file).
inline void CompilerBarrier() { __asm__ __volatile__("" : : : "memory"); }
}  // namespace

#if defined(__x86_64__) || defined(__i386__)
// MXCSR: status flags in bits 0-5 (kept), DAZ bit 6, exception masks 7-12,
// rounding 13-14, FTZ 15. The default 0x1F80: every exception masked, round
// to nearest, neither FTZ nor DAZ.
namespace {
constexpr unsigned kMxcsrDefault = 0x1F80u;
constexpr unsigned kMxcsrFlags = 0x3Fu;
}  // namespace

// The C library's rounding mode too: glibc's strtod and printf (nlohmann's
// JSON numbers, std::from_chars' hard cases) read the x87 control word's,
// which fesetround sets beside MXCSR's and the SSE arithmetic never reads.
DefaultFpEnvironment::DefaultFpEnvironment() {
  const unsigned csr = _mm_getcsr();
  saved_ = csr;
  const int mode = std::fegetround();
  if (mode != FE_TONEAREST) {
    std::fesetround(FE_TONEAREST);
    saved_rounding_ = mode;
    rounding_changed_ = true;
  }
  if ((csr & ~kMxcsrFlags) != kMxcsrDefault || rounding_changed_) {
    _mm_setcsr(kMxcsrDefault | (csr & kMxcsrFlags));
    changed_ = true;
  }
  CompilerBarrier();
}

DefaultFpEnvironment::~DefaultFpEnvironment() {
  CompilerBarrier();
  if (rounding_changed_) std::fesetround(saved_rounding_);  // x87 (and MXCSR, set next)
  if (changed_) _mm_setcsr(static_cast<unsigned>(saved_));
}

#elif defined(__aarch64__)
// FPCR: 0 is round to nearest, no flush-to-zero (FZ, FZ16), no default NaN,
// no traps.
DefaultFpEnvironment::DefaultFpEnvironment() {
  uint64_t fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  saved_ = fpcr;
  if (fpcr != 0) {
    __asm__ __volatile__("msr fpcr, %0" : : "r"(uint64_t{0}) : "memory");
    changed_ = true;
  }
  CompilerBarrier();
}

DefaultFpEnvironment::~DefaultFpEnvironment() {
  CompilerBarrier();
  if (changed_) __asm__ __volatile__("msr fpcr, %0" : : "r"(saved_) : "memory");
}

#else
// Elsewhere the rounding mode, the part of the environment standard C++ reaches.
DefaultFpEnvironment::DefaultFpEnvironment() {
  const int mode = std::fegetround();
  saved_ = static_cast<uint64_t>(mode);
  if (mode != FE_TONEAREST) {
    std::fesetround(FE_TONEAREST);
    changed_ = true;
  }
}

DefaultFpEnvironment::~DefaultFpEnvironment() {
  if (changed_) std::fesetround(static_cast<int>(saved_));
}
#endif

}  // namespace fanfill::internal
