// The floating-point environment fanfill computes in: round to nearest even,
// subnormals kept (no flush-to-zero, no denormals-are-zero), no traps,
// whatever the caller set (torch.set_flush_denormal(True) sets FTZ and DAZ;
// fesetround changes the rounding). Element i stays a pure function of
// (seed, stream, i): under a caller's FTZ the subnormal values of a fill
// would otherwise be flushed, by this thread and by the worker threads that
// inherited the environment through a oneTBB context that captured it, and the
// validation's stepping through subnormal bounds (SmallestAtLeast) would
// never end.
//
// DefaultFpEnvironment sets that environment for its scope where it differs
// and restores the caller's at the end (on x86 also the x87 rounding mode the
// C library's strtod/printf follow). Used where text is parsed
// (Scheme::Parse, ParseModelSpec), where a request is validated
// (MakeFillParams, the scheme plans, Describe, Gain, ComputeFans, the model
// descriptions, StoreConstant) and where kernels run (internal::Run on the
// calling thread and in every parallel task). The constructor and
// destructor are calls the compiler cannot see into, so no floating-point
// work of the scope that depends on memory moves across them. Internal: not
// installed.
#ifndef FANFILL_SRC_CORE_FP_ENV_H_
#define FANFILL_SRC_CORE_FP_ENV_H_

#include <cstdint>

namespace fanfill::internal {

class DefaultFpEnvironment {
 public:
  DefaultFpEnvironment();
  ~DefaultFpEnvironment();
  DefaultFpEnvironment(const DefaultFpEnvironment&) = delete;
  DefaultFpEnvironment& operator=(const DefaultFpEnvironment&) = delete;

 private:
  uint64_t saved_ = 0;   // the caller's control register (MXCSR, FPCR) or rounding mode
  bool changed_ = false;
  int saved_rounding_ = 0;  // x86: the C library's (x87) rounding mode, if not nearest
  bool rounding_changed_ = false;
};

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_CORE_FP_ENV_H_
