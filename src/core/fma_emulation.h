// Exact fused multiply-add without an FMA instruction: the scalar half of the
// emulation that SSE4 (x86 without FMA: Nehalem to Ivy Bridge, Atom-class
// Pentium/Celeron) uses in transforms-inl.h, so that it produces the bits of
// the FMA targets. Plain C++ (no Highway): the SSE4 vector code falls back to
// these per lane on a vector its fast path cannot decide, and
// tests/fma_emulation_test.cc compares them with std::fma. Where the CPU has
// a hardware FMA (HardwareFma) the double and scalar paths call std::fma
// instead: see transforms-inl.h.
//
// float (FmaF32): the product of two floats has at most 48 significant bits,
// so p = (double)a * b is exact and s = p + c is one double rounding of the
// exact x = a b + c. Rounding s to float gives RN_float(x) unless s is a float
// rounding boundary (a midpoint between two floats) that x is not (double
// rounding): the midpoints of the float grid are doubles, and rounding to
// double is monotonic, so an x strictly between two midpoints gives an s in the
// same closed interval, hence the same float, unless s lands on a midpoint.
// When it does, or when |s| < 2^-126 (where the float grid is the subnormal
// one and the midpoint test below does not apply), s is replaced by x rounded
// to odd in double (s moved one ulp towards x when s is inexact and even;
// the rounding error of s is exact by TwoSum), and RN_float(RO_double(x)) =
// RN_float(x) since 53 >= 24 + 2 (Boldo & Melquiond, "Emulation of FMA and
// correctly rounded sums: proved algorithms using rounding to odd", IEEE
// Trans. Computers 57(4), 2008, Theorem 1). Exact for every finite a, b, c.
//
// double (FmaF64): that paper's emulated FMA (its Algorithm 5): the exact
// product a b = uh + ul (Dekker's product, Veltkamp's split), (th, tl) =
// TwoSum(c, uh), v = RO(tl + ul), result = RN(th + v) (th itself when v is
// zero, which keeps the sign of a zero result). Exact when no
// intermediate overflows or underflows: |a|, |b| < 2^995 (Veltkamp's split),
// |a b| and |c| below 2^1021 (TwoSum), and a b = 0 or |a b| >= 2^-969
// (Dekker's error terms stay normal); a result that cancels into the
// subnormal range is still exact then (c and a b within a factor 2: th is
// exact by Sterbenz, tl = 0, and the result is one rounding of th + ul).
// FmaF64 checks a conservative form of that on its operands
// (InF64Envelope: each of a, b zero or of magnitude in [2^-480, 2^500), |c| <
// 2^500) and hands anything else -- huge or tiny scales, infinities, NaN --
// to std::fma (glibc's software fma where the CPU has no FMA: slow, exact).
// The kernels' values are far inside the envelope; tests/fma_emulation_test.cc
// checks hard double-rounding cases, random inputs and the envelope's edges
// against std::fma.
#ifndef FANFILL_SRC_CORE_FMA_EMULATION_H_
#define FANFILL_SRC_CORE_FMA_EMULATION_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "src/core/transform_constants.h"

namespace fanfill::internal {

// s + err == x + y exactly (Knuth's TwoSum; round to nearest, no overflow).
inline void TwoSum(double x, double y, double& s, double& err) {
  s = x + y;
  const double yy = s - x;
  err = (x - (s - yy)) + (y - yy);
}

// s rounded to odd, given the exact error err of s = RN(x): s itself when
// exact or odd, else the neighbour of s on the side of err (which is odd).
// s != 0 whenever err != 0 (a sum or product that rounds to 0 is exact).
inline double RoundToOdd(double s, double err) {
  if (err == 0) return s;
  const uint64_t bits = std::bit_cast<uint64_t>(s);
  if (bits & 1) return s;
  const bool towards_zero = std::signbit(s) != std::signbit(err);
  return std::bit_cast<double>(towards_zero ? bits - 1 : bits + 1);
}

// True when s (a double of magnitude >= 2^-126) is a float midpoint: its low
// 29 significand bits are 1000...0.
inline bool IsFloatMidpoint(double s) {
  return (std::bit_cast<uint64_t>(s) & 0x1FFFFFFFu) == 0x10000000u;
}

// True when s (a double near a float result) may round to float differently
// from the exact value it approximates: s is a float midpoint or |s| <
// 2^-126 (float subnormals and zero).
inline bool FloatRoundingUndecided(double s) {
  const bool tiny = (std::bit_cast<uint64_t>(s) & 0x7FF0000000000000u) < 0x3810000000000000u;
  return IsFloatMidpoint(s) || tiny;
}

// p + c rounded once to float, for p a float product (exact in double) and
// c a float: the sum rounded to odd, then to float.
inline float SumToFloatExactly(double p, double c) {
  double sum, err;
  TwoSum(p, c, sum, err);
  return static_cast<float>(RoundToOdd(sum, err));
}

// Exactly std::fma(a, b, c) for float (see the header comment).
inline float FmaF32(float a, float b, float c) {
  const double p = static_cast<double>(a) * static_cast<double>(b);  // exact
  const double s = p + static_cast<double>(c);
  if (!FloatRoundingUndecided(s)) return static_cast<float>(s);
  return SumToFloatExactly(p, c);
}

// FmaF32 where the caller proves the exact a b + c is 0 or of magnitude in
// [2^-126, 2^127]: then only a midpoint can make s round wrongly.
inline float FmaF32NormalResult(float a, float b, float c) {
  const double p = static_cast<double>(a) * static_cast<double>(b);  // exact
  const double s = p + static_cast<double>(c);
  if (!IsFloatMidpoint(s)) return static_cast<float>(s);
  return SumToFloatExactly(p, c);
}

// Horner's rule over float coefficients, acc <- fma(acc, z, c_k), on four
// floats held in double across the chain (SSE4: HornerF32x4 in
// transforms-inl.h): each step s = acc z + c_k in double (the product exact,
// the sum rounded once), then acc = RN_float(s). As in FmaF32, that is
// RN_float(x) of the exact x = acc z + c_k unless s is a float midpoint or
// below the float normal range. The chain tests only for the midpoint (once
// per step; one branch per chain) because, for coefficients that pass
// HornerInDoubleIsExact (each a finite float with |c_k| >= 2^-30), no step
// goes below the normal range, whatever z:
// - if acc or z is 0, x = c_k. If |acc z| is not within a factor 2 of |c_k|,
//   |x| >= |c_k| / 2. Otherwise |acc z| >= 2^(e_c - 1) (e_c: c_k's exponent),
//   and the last bit of acc z (the product of two 24-bit significands, or
//   fewer for a subnormal z) is at or above 2^(e_c - 48), as is c_k's
//   (2^(e_c - 23)): x is a multiple of 2^(e_c - 48), so 0 or at least 2^-78
//   (the argument needs only e_c >= -78; 2^-30 is a margin, not a limit);
// - x = 0 gives s = +0, as the FMA does; every acc is 0 or a normal float.
// Above the range the same argument as FmaF32's holds (the overflow
// threshold 2^128 - 2^103 is a double and a midpoint, so caught), provided
// the double -> float rounding turns what exceeds FLT_MAX into infinity, as
// x86's cvtpd2ps does; then once acc is infinite or NaN the double steps give
// the FMA's infinities and NaN. Highway's EMU128 DemoteTo clamps to FLT_MAX
// instead, so there the chain also flags |s| > FLT_MAX
// (kDemoteRoundsToInfinity). A chain with a flagged step anywhere is
// evaluated lane by lane with FmaF32.
template <class T, size_t N>
constexpr bool HornerInDoubleIsExact(const std::array<T, N>& c) {
  for (const T x : c) {
    const double v = static_cast<float>(x);
    const double m = v < 0 ? -v : v;
    if (!(m >= 0x1.0p-30 && m <= 0x1.fffffep127)) return false;
  }
  return N > 0;
}

// Horner chains whose steps each stay in one binade ("locked" chains): for a
// chain acc <- fma(acc, z, c_k) over float coefficients and every float z in
// [z_min, z_max], PlanChainSteps bounds each step's exact value x = acc z +
// c_k by interval arithmetic (acc from the previous step's bounds, rounded
// outwards) and, for each step whose x has one sign and a magnitude in one
// binade [2^e, 2^(e+1)] (both ends included: they are float grid points),
// marks it locked with the constant M = 1.5 2^(e+29) and c_k + M. Then
// RN_float(x) = RN_double(acc z + (c_k + M)) - M, exactly, because:
// - acc z is exact in double (two 24-bit significands) and c_k + M is exact
//   (the plan requires c_k to be a multiple of g = 2^(e-23));
// - M + x lies in [2^(e+29), 2^(e+30)), where the double grid is g, the float
//   grid of x's binade; so the one double rounding is x rounded to the float
//   grid, ties to even: M's index on that grid (3 2^51) is even, so the
//   double's last bit is the float's;
// - the subtraction of M is exact (a multiple of g below 2^(e+2)).
// That is the FMA's float, with one multiply, one add and one subtract in
// double per step and no test (SSE4's HornerLockedF32x4; HornerF32x4 tests
// every step for a float midpoint instead, and HornerPartlyLockedF32x4 the
// steps that are not locked). A step that is not locked leaves acc within
// its x bounds widened by one float ulp of their larger magnitude (its
// rounding). The caller proves or checks z's range; the plan's z_max is a
// bound with margin (transform_constants.h).
//
// A step that is not locked may still be exact in double: where the caller
// also proves every z a multiple of z_lsb > 0, PlanChainSteps marks step k
// exact when acc's bounds exclude 0 (or the step is the first, acc = c_0)
// and g = min(lsb(acc) z_lsb, lsb(c_k)) satisfies |x| < 2^53 g and g >=
// 2^-126, with lsb(y) = 2^(E - 23) for a float of exponent E (a lower bound
// on its last bit) and |x| from the step's bounds. Then acc z (its last bit
// at or above lsb(acc) z_lsb) and c_k are multiples of g, so is x, and x is
// a double: s = acc z + c_k in double is x itself, and demoting s rounds x
// once, as the FMA does (no midpoint can mislead it, so no test), to a
// normal float or zero (nonzero multiples of g are at least 2^-126; an exact
// zero sum is +0 in both; the plan also asks |x| < 2^127, so no overflow).
template <size_t N>
struct LockedChain {
  bool ok = false;                 // every step locked (PlanLockedChain)
  std::array<bool, N> locked{};    // step k locked (index 0 unused)
  std::array<bool, N> exact{};     // step k not locked, x a double (z_lsb > 0 only)
  std::array<double, N> magic{};   // M for the locked steps
  std::array<double, N> addend{};  // c_k + M
  std::array<double, N> coef{};    // the chain's coefficients in Horner order, as floats
};

// 2^e for |e| < 1100 (a constant expression), and |x|.
constexpr double Pow2(int e) {
  double p = 1;
  for (; e > 0; --e) p *= 2;
  for (; e < 0; ++e) p /= 2;
  return p;
}
constexpr double Magnitude(double x) { return x < 0 ? -x : x; }

// The extremes of acc z over acc in [lo, hi] and z in [z_min, z_max]: at the
// corners (the plans below widen them by far more than the rounding of these
// double products).
constexpr void ProductBounds(double lo, double hi, double z_min, double z_max, double& p_lo,
                             double& p_hi) {
  const double corners[4] = {lo * z_min, lo * z_max, hi * z_min, hi * z_max};
  p_lo = corners[0], p_hi = corners[0];
  for (double q : corners) {
    p_lo = q < p_lo ? q : p_lo;
    p_hi = q > p_hi ? q : p_hi;
  }
}

// The bounds [lo, hi] of a chain step's rounded value, given the bounds
// [x_lo, x_hi] of its exact value: for a locked step (x of one sign, its
// magnitude in [2^e, 2^(e+1)], whose ends are grid points) [x_lo, x_hi]
// widened by its spacing g and clipped to that binade; for another step
// widened by the spacing of the larger magnitude in a format of `digits`
// significand bits whose smallest normal is 2^min_exp (at least the
// subnormal spacing, for any coefficients).
constexpr void RoundedStepBounds(bool locked, int e, double g, int digits, int min_exp,
                                 double x_lo, double x_hi, double& lo, double& hi) {
  if (locked) {
    lo = x_lo > 0 ? Pow2(e) : -Pow2(e + 1);
    hi = x_lo > 0 ? Pow2(e + 1) : -Pow2(e);
    lo = lo > x_lo - g ? lo : x_lo - g;
    hi = hi < x_hi + g ? hi : x_hi + g;
    return;
  }
  const double m = Magnitude(x_lo) > Magnitude(x_hi) ? Magnitude(x_lo) : Magnitude(x_hi);
  const double spacing = m > Pow2(min_exp) ? Pow2(FloorLog2(m) - (digits - 1))
                                           : Pow2(min_exp - (digits - 1));
  lo = x_lo - spacing;
  hi = x_hi + spacing;
}

// A lower bound on the last bit of any float y with |y| >= m > 0: the
// spacing of m's binade (of the subnormals below 2^-126).
constexpr double FloatLsbBound(double m) {
  const int e = FloorLog2(m);
  return Pow2((e > -126 ? e : -126) - 23);
}

// (z_min > z_max: no step locked, the coefficients only. z_lsb > 0: every z
// is a multiple of z_lsb, which the caller proves; exact steps, above.)
template <class T, size_t N>
constexpr LockedChain<N> PlanChainSteps(const std::array<T, N>& c, bool ascending, double z_min,
                                        double z_max, double z_lsb = 0) {
  LockedChain<N> plan;
  for (size_t k = 0; k < N; ++k) {
    plan.coef[k] = static_cast<float>(c[ascending ? N - 1 - k : k]);
  }
  if (!(z_min <= z_max) || N < 2) return plan;
  double lo = plan.coef[0], hi = plan.coef[0];
  bool all_locked = true;
  for (size_t k = 1; k < N; ++k) {
    const double ck = plan.coef[k];
    // acc z's extremes, widened below by the slack (none where one is an exact 0).
    double p_lo = 0, p_hi = 0;
    ProductBounds(lo, hi, z_min, z_max, p_lo, p_hi);
    const double p_max = Magnitude(p_hi) > Magnitude(p_lo) ? Magnitude(p_hi) : Magnitude(p_lo);
    const double slack = 0x1.0p-40 * (Magnitude(ck) + p_max);
    const double x_lo = ck + p_lo - (p_lo != 0 ? slack : 0);
    const double x_hi = ck + p_hi + (p_hi != 0 ? slack : 0);
    bool locked = x_lo > 0 || x_hi < 0;  // one sign
    int e = 0;
    if (locked) {
      const double m_lo = x_lo > 0 ? x_lo : -x_hi, m_hi = x_lo > 0 ? x_hi : -x_lo;
      e = FloorLog2(m_lo);
      const double q = ck / Pow2(e - 23);  // exact: a power of 2
      locked = m_hi <= Pow2(e + 1) &&      // one binade
               q == static_cast<double>(static_cast<int64_t>(q));
    }
    if (locked) {
      plan.locked[k] = true;
      plan.magic[k] = 1.5 * Pow2(e + 29);
      plan.addend[k] = ck + plan.magic[k];
    } else if (z_lsb > 0 && (lo > 0 || hi < 0)) {
      const double acc_lsb = FloatLsbBound(lo > 0 ? lo : -hi);
      const double g = ck == 0 ? acc_lsb * z_lsb
                               : std::min(acc_lsb * z_lsb, FloatLsbBound(Magnitude(ck)));
      const double x_max = std::max(Magnitude(x_lo), Magnitude(x_hi));
      plan.exact[k] = g >= Pow2(-126) && x_max < Pow2(53) * g && x_max < Pow2(127);
    }
    all_locked = all_locked && locked;
    // A locked step's float stays in the binade, whose ends are grid points.
    RoundedStepBounds(locked, e, Pow2(e - 23), 24, -126, x_lo, x_hi, lo, hi);
  }
  plan.ok = all_locked;
  return plan;
}

// The chain kC over [0, z_max] with every step locked (ok), else not ok.
template <class T, size_t N>
constexpr LockedChain<N> PlanLockedChain(const std::array<T, N>& c, bool ascending, double z_max) {
  return PlanChainSteps(c, ascending, 0.0, z_max);
}

// The plan of the chain kC over [0, kZMax], refused at compile time unless
// it is locked (the kernels' only way to a plan).
template <const auto& kC, bool kAscending, const double& kZMax>
constexpr auto CheckedLockedPlan() {
  constexpr auto kPlan = PlanLockedChain(kC, kAscending, kZMax);
  static_assert(kPlan.ok, "chain not locked over [0, kZMax] (src/core/fma_emulation.h)");
  return kPlan;
}

// The locked chain at one z in [0, z_max] (the scalar twin of SSE4's
// HornerLockedF32x4; tests/fma_emulation_test.cc checks both against std::fma).
template <size_t N>
inline float HornerLocked(const LockedChain<N>& plan, float z) {
  double acc = plan.coef[0];
  const double zd = z;
  for (size_t k = 1; k < N; ++k) acc = (acc * zd + plan.addend[k]) - plan.magic[k];
  return static_cast<float>(acc);
}

// a * b == p + e exactly (Dekker; Veltkamp's split by 2^27 + 1), without FMA.
inline void TwoProduct(double a, double b, double& p, double& e) {
  constexpr double kSplit = 134217729.0;  // 2^27 + 1
  p = a * b;
  const double ta = kSplit * a;
  const double ah = ta - (ta - a);
  const double al = a - ah;
  const double tb = kSplit * b;
  const double bh = tb - (tb - b);
  const double bl = b - bh;
  e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

// Exactly std::fma(a, b, c) for double within the bounds of the header comment.
// The operands for which FmaF64's algorithm is exact (see the header).
inline bool InF64Envelope(double a, double b, double c) {
  auto ok = [](double x) {
    const double m = std::fabs(x);
    return m == 0 || (m >= 0x1.0p-480 && m < 0x1.0p500);
  };
  return ok(a) && ok(b) && std::fabs(c) < 0x1.0p500;
}

inline double FmaF64(double a, double b, double c) {
  if (!InF64Envelope(a, b, c)) return std::fma(a, b, c);
  double uh, ul, th, tl, v, verr;
  TwoProduct(a, b, uh, ul);
  TwoSum(c, uh, th, tl);
  TwoSum(tl, ul, v, verr);
  const double ro = RoundToOdd(v, verr);
  return ro == 0 ? th : th + ro;  // th's sign when the low part is zero (-0 + +0 is +0)
}

// Whether std::fma is one instruction on this CPU (x86: FMA3, which AMD's
// Piledriver-to-Excavator cores have without AVX2, so they run the SSE4
// target; elsewhere the scalar FMA is an instruction of the base ISA).
// Without it glibc's fma is a software routine: 1.7 us per f64 normal value
// on SSE4 against 0.09 us through FmaF64 (docs/benchmarks.md).
// Read once at start-up: a plain load where the kernels test it (a
// function-local static's guard there made SCALAR's normal 1.8x slower).
// Not const so that tests can clear it (tests/targets_test.cc runs every
// target's kernels against the reference with the emulation forced); the
// library itself never writes it.
inline bool g_hardware_fma = [] {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();  // may run before libgcc's own initialization
  return __builtin_cpu_supports("fma") != 0;
#else
  return true;
#endif
}();

inline bool HardwareFma() { return g_hardware_fma; }

inline float FmaExact(float a, float b, float c) { return FmaF32(a, b, c); }
inline double FmaExact(double a, double b, double c) { return FmaF64(a, b, c); }

// Out of line, for the scalar target, whose FMA sites are many and whose
// emulated path only CPUs without FMA take.
[[gnu::noinline]] inline float FmaExactCall(float a, float b, float c) { return FmaF32(a, b, c); }
[[gnu::noinline]] inline double FmaExactCall(double a, double b, double c) {
  return FmaF64(a, b, c);
}

// Double Horner chains whose steps stay in one binade (SSE4's
// HornerLockedF64x2 in transforms-inl.h, SCALAR's HornerLockedF64 and
// HornerStepsF64 below; there is no wider type to hold a double product
// exactly). For a step x = acc z + c_k (acc, z, c_k doubles)
// with p = RN(acc z), e = acc z - p, s = RN(p + c_k) and t = p + c_k - s,
// PlanChainStepsF64 bounds x and p + c_k together by interval arithmetic
// (acc from the previous step's bounds, z in [z_min, z_max]) and locks the
// step when that interval has one sign and a magnitude in one binade [2^E,
// 2^(E+1)] (both ends included) and, with p_max the bound on |p|,
// p_max < 2^E and p_max < 2^(E_c + 1) (E_c: c_k's exponent). Then, with
// h = 2^(E - 53) (half the double spacing of the binade) and g the spacing
// of p's binade:
// - t is exact as (c_k - s) + p (Fast2Sum: p's exponent is at most c_k's);
// - g <= h (|p| < 2^E), and p + c_k, s and h are multiples of g (c_k's
//   spacing is at least g), so t is one too, and |t| <= h (p + c_k lies in
//   the binade, whose spacing is 2h, ends included);
// - |e| <= g / 2 (p is acc z rounded to p's grid);
// - so where |t| != h, |t| <= h - g and |t + e| < h, while x = s + t + e lies
//   in the closed binade with s: x is within h of s, on the side where the
//   next double is 2h away (at s = 2^E, x >= s; at s = 2^(E+1), x <= s),
//   hence RN(x) = s, the FMA's value.
// |t| == h (p + c_k a tie, where e decides) is tested; a vector with such a
// lane takes the step's exact Fma instead (one step in a few dozen on the
// kernels' values). A locked step is then the FMA's, with four double
// operations, an and, a compare and a rarely taken branch. A step that is
// not locked is an exact Fma; it leaves acc within its x bounds widened by
// one double spacing of their larger magnitude (its rounding).
template <size_t N>
struct LockedChainF64 {
  bool ok = false;                   // every step locked
  std::array<bool, N> locked{};      // step k locked (index 0 unused)
  std::array<double, N> coef{};      // the coefficients in Horner order
  std::array<double, N> half_ulp{};  // h for the locked steps
};

// (z_min > z_max: no step locked, the coefficients only.)
template <class T, size_t N>
constexpr LockedChainF64<N> PlanChainStepsF64(const std::array<T, N>& c, bool ascending,
                                              double z_min, double z_max) {
  LockedChainF64<N> plan;
  for (size_t k = 0; k < N; ++k) plan.coef[k] = static_cast<double>(c[ascending ? N - 1 - k : k]);
  if (!(z_min <= z_max) || N < 2) return plan;
  double lo = plan.coef[0], hi = plan.coef[0];
  bool all_locked = true;
  for (size_t k = 1; k < N; ++k) {
    const double ck = plan.coef[k];
    double p_lo = 0, p_hi = 0;
    ProductBounds(lo, hi, z_min, z_max, p_lo, p_hi);
    // The slack covers e (|e| <= 2^-53 |p|), the rounding of p itself and of
    // these bounds (none at an exact 0, z = 0): x and p + c_k both lie in
    // [x_lo, x_hi].
    const double slack = 0x1.0p-40 * (Magnitude(ck) + Magnitude(p_lo) + Magnitude(p_hi));
    const double p_max = (Magnitude(p_lo) > Magnitude(p_hi) ? Magnitude(p_lo) : Magnitude(p_hi)) +
                         slack;
    const double x_lo = ck + p_lo - (p_lo != 0 ? slack : 0);
    const double x_hi = ck + p_hi + (p_hi != 0 ? slack : 0);
    bool locked = ck != 0 && (x_lo > 0 || x_hi < 0);  // one sign
    int e = 0;
    if (locked) {
      const double m_lo = x_lo > 0 ? x_lo : -x_hi, m_hi = x_lo > 0 ? x_hi : -x_lo;
      e = FloorLog2(m_lo);
      locked = m_hi <= Pow2(e + 1) && p_max < Pow2(e) &&
               p_max < Pow2(FloorLog2(Magnitude(ck)) + 1);
    }
    if (locked) {
      plan.locked[k] = true;
      plan.half_ulp[k] = Pow2(e - 53);
    }
    all_locked = all_locked && locked;
    // A locked step's RN(x) stays in the binade (its ends are doubles),
    // within 2h of x.
    RoundedStepBounds(locked, e, Pow2(e - 52), 53, -1022, x_lo, x_hi, lo, hi);
  }
  plan.ok = all_locked;
  return plan;
}

// The chain over [0, z_max] with every step locked (ok), else not ok (also
// for an empty range, z_max <= 0).
template <class T, size_t N>
constexpr LockedChainF64<N> PlanLockedChainF64(const std::array<T, N>& c, bool ascending,
                                                double z_max) {
  LockedChainF64<N> plan = PlanChainStepsF64(c, ascending, 0.0, z_max);
  plan.ok = plan.ok && z_max > 0;
  return plan;
}

// The plan of the double chain kC over [0, kZMax], refused at compile time
// unless every step is locked.
template <const auto& kC, bool kAscending, const double& kZMax>
constexpr auto CheckedLockedPlanF64() {
  constexpr auto kPlan = PlanLockedChainF64(kC, kAscending, kZMax);
  static_assert(kPlan.ok, "double chain not locked over [0, kZMax] (src/core/fma_emulation.h)");
  return kPlan;
}

// The exact double FMA of the scalar paths: std::fma where it is an
// instruction, else the emulation, out of line.
inline double FmaF64Fastest(double a, double b, double c) {
  return HardwareFma() ? std::fma(a, b, c) : FmaExactCall(a, b, c);
}

// One locked double step: s where |t| != h, else the exact FMA (the scalar
// twin of HornerLockedF64x2's step; `ties` counts the steps that took the FMA).
inline double LockedStepF64(double acc, double z, double c, double half_ulp, size_t* ties) {
  const double p = acc * z;
  const double s = p + c;
  const double t = (c - s) + p;
  if (std::fabs(t) != half_ulp) return s;
  if (ties != nullptr) ++*ties;
  return FmaExactCall(acc, z, c);
}

// The double chain at one z in the plan's range: its locked steps by
// LockedStepF64, the others by the exact FMA (SCALAR's erfinv central chain
// where the CPU has no FMA: ErfinvCentral in transforms-inl.h).
template <size_t N>
inline double HornerStepsF64(const LockedChainF64<N>& plan, double z, size_t* ties = nullptr) {
  double acc = plan.coef[0];
  for (size_t k = 1; k < N; ++k) {
    acc = plan.locked[k] ? LockedStepF64(acc, z, plan.coef[k], plan.half_ulp[k], ties)
                         : FmaF64Fastest(acc, z, plan.coef[k]);
  }
  return acc;
}

// The locked double chain at one z in [0, z_max] (every step locked).
template <size_t N>
inline double HornerLockedF64(const LockedChainF64<N>& plan, double z, size_t* ties = nullptr) {
  double acc = plan.coef[0];
  for (size_t k = 1; k < N; ++k) acc = LockedStepF64(acc, z, plan.coef[k], plan.half_ulp[k], ties);
  return acc;
}

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_CORE_FMA_EMULATION_H_
