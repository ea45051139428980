// Layer 2, transforms: words -> values. Exact FMA, polynomials, log, sincos,
// the inverse normal CDF and the uniform / truncated-normal transforms on
// vectors. Every routine has a scalar twin in src/core/reference.cc that
// performs the same IEEE operations in the same order (std::fma where this
// code calls Fma, which is exact on every target), so outputs are bit-identical on every target
// (tests/targets_test.cc). Per-target code, included through fill-inl.h.

// Per-target include guard (toggled by foreach_target.h).
#if defined(FANFILL_SRC_CORE_TRANSFORMS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FANFILL_SRC_CORE_TRANSFORMS_INL_H_
#undef FANFILL_SRC_CORE_TRANSFORMS_INL_H_
#else
#define FANFILL_SRC_CORE_TRANSFORMS_INL_H_
#endif

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>

#include "hwy/highway.h"
#include "src/core/fma_emulation.h"
#include "src/core/philox-inl.h"
#include "src/core/transform_constants.h"

HWY_BEFORE_NAMESPACE();
namespace fanfill {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// ---------------------------------------------------------------- arithmetic

// Coefficient k of a Horner chain over kC (kAscending: kC holds ascending
// powers, so the chain starts at its end), as the lane type T.
template <const auto& kC, bool kAscending, class T>
constexpr T HornerCoefficient(size_t k) {
  constexpr size_t kN = std::tuple_size_v<std::remove_cvref_t<decltype(kC)>>;
  return static_cast<T>(kC[kAscending ? kN - 1 - k : k]);
}

#if !HWY_NATIVE_FMA
namespace fma_emulation {

// Lane by lane through a scalar exact FMA `fma` (std::fma, or the scalar
// emulation of src/core/fma_emulation.h).
template <class D, class F, class V = VecOf<D>>
HWY_INLINE V ByLane(D d, V a, V b, V c, F fma) {
  using T = hn::TFromD<D>;
  constexpr size_t kMax = HWY_MAX_BYTES / sizeof(T);
  HWY_ALIGN T la[kMax], lb[kMax], lc[kMax];
  hn::Store(a, d, la);
  hn::Store(b, d, lb);
  hn::Store(c, d, lc);
  for (size_t i = 0; i < hn::Lanes(d); ++i) la[i] = fma(la[i], lb[i], lc[i]);
  return hn::Load(d, la);
}

template <class D, class V = VecOf<D>>
HWY_NOINLINE V ByLaneEmulated(D d, V a, V b, V c) {
  return ByLane(d, a, b, c, [](auto x, auto y, auto z) { return internal::FmaExact(x, y, z); });
}

template <class D, class V = VecOf<D>>
HWY_INLINE V ByLaneStd(D d, V a, V b, V c) {
  return ByLane(d, a, b, c, [](auto x, auto y, auto z) { return std::fma(x, y, z); });
}

#if HWY_TARGET != HWY_SCALAR
// The sums a b + c of four lanes in double (lanes 0, 1 in s_lo, 2, 3 in
// s_hi) rounded to float into `out`, with F32x4's tests; false (out not
// set) where a lane is undecided and the caller must go by lane.
template <bool kRangeTests, class D, class VD>
HWY_INLINE bool RoundSumsToFloat(D d, VD s_lo, VD s_hi, VecOf<D>& out) {
  const hn::Half<D> dh;
  const hn::Repartition<int32_t, D> di;
  const auto w_lo = hn::BitCast(di, s_lo);
  const auto w_hi = hn::BitCast(di, s_hi);
  const auto low_words = hn::ConcatEven(di, w_hi, w_lo);  // bits 0..31 of each double
  auto undecided = hn::Eq(hn::And(low_words, hn::Set(di, 0x1FFFFFFF)), hn::Set(di, 0x10000000));
  if constexpr (kRangeTests) {
    const auto high_words = hn::ConcatOdd(di, w_hi, w_lo);  // bits 32..63
    const auto magnitude = hn::And(high_words, hn::Set(di, 0x7FFFFFFF));  // high word of |s|
    // Below 2^-126 (the subnormal grid), or from just under FLT_MAX (high word
    // 0x47EFFFFF; FLT_MAX is 0x47EFFFFF'E0000000) up, infinities and NaN
    // included: EMU128's and SCALAR's DemoteTo clamp what exceeds FLT_MAX
    // instead of rounding it to infinity. By lane.
    const auto tiny = hn::Lt(magnitude, hn::Set(di, 0x38100000));
    const auto huge = hn::Gt(magnitude, hn::Set(di, 0x47EFFFFE));
    undecided = hn::Or(hn::Or(undecided, tiny), huge);
  }
  if (HWY_UNLIKELY(!hn::AllFalse(di, undecided))) return false;
  out = hn::Combine(d, hn::DemoteTo(dh, s_hi), hn::DemoteTo(dh, s_lo));
  return true;
}

// Four floats: FmaF32's fast path on both halves in double (the product is
// exact, the sum rounded once), the whole vector by lane when any lane's sum
// is a float midpoint or below 2^-126 (FloatRoundingUndecided: about one FMA
// in 2^24 on the kernels' values). !kRangeTests: only the midpoint test, for
// callers that prove every lane's exact a b + c is 0 or of magnitude in
// [2^-126, 2^127] (then no sum is below 2^-126 but 0, exact, and none
// reaches FLT_MAX).
template <bool kRangeTests = true, class D, class V = VecOf<D>>
HWY_INLINE V F32x4(D d, V a, V b, V c) {
  const hn::Half<D> dh;
  const hn::Repartition<double, D> dd;
  auto sum = [&](VecOf<decltype(dh)> x, VecOf<decltype(dh)> y, VecOf<decltype(dh)> z) {
    return hn::Add(hn::Mul(hn::PromoteTo(dd, x), hn::PromoteTo(dd, y)), hn::PromoteTo(dd, z));
  };
  const auto s_lo = sum(hn::LowerHalf(dh, a), hn::LowerHalf(dh, b), hn::LowerHalf(dh, c));
  const auto s_hi = sum(hn::UpperHalf(dh, a), hn::UpperHalf(dh, b), hn::UpperHalf(dh, c));
  V result;
  if (HWY_UNLIKELY(!RoundSumsToFloat<kRangeTests>(d, s_lo, s_hi, result))) {
    return ByLaneEmulated(d, a, b, c);
  }
  return result;
}

// Two doubles: FmaF64 (Boldo & Melquiond's emulated FMA) on vectors, the same
// operations in the same order; a vector with a lane outside InF64Envelope
// goes to std::fma by lane, as FmaF64 does.
template <class D, class V = VecOf<D>>
HWY_INLINE V F64x2(D d, V a, V b, V c) {
  const hn::RebindToUnsigned<D> du;
  // InF64Envelope on every lane (NaN compares false: by lane too).
  const V lo = hn::Set(d, 0x1.0p-480), hi = hn::Set(d, 0x1.0p500);
  auto ok = [&](V x) {
    const V m = hn::Abs(x);
    return hn::Or(hn::Eq(m, hn::Zero(d)), hn::And(hn::Ge(m, lo), hn::Lt(m, hi)));
  };
  if (HWY_UNLIKELY(!hn::AllTrue(d, hn::And(hn::And(ok(a), ok(b)), hn::Lt(hn::Abs(c), hi))))) {
    return ByLaneStd(d, a, b, c);
  }
  const V split = hn::Set(d, 134217729.0);  // 2^27 + 1
  // Dekker's product: a b = uh + ul.
  const V uh = hn::Mul(a, b);
  const V ta = hn::Mul(split, a);
  const V ah = hn::Sub(ta, hn::Sub(ta, a));
  const V al = hn::Sub(a, ah);
  const V tb = hn::Mul(split, b);
  const V bh = hn::Sub(tb, hn::Sub(tb, b));
  const V bl = hn::Sub(b, bh);
  const V ul = hn::Add(
      hn::Add(hn::Add(hn::Sub(hn::Mul(ah, bh), uh), hn::Mul(ah, bl)), hn::Mul(al, bh)),
      hn::Mul(al, bl));
  // TwoSum(c, uh) and TwoSum(tl, ul).
  auto two_sum = [](V x, V y, V& s, V& err) {
    s = hn::Add(x, y);
    const V yy = hn::Sub(s, x);
    err = hn::Add(hn::Sub(x, hn::Sub(s, yy)), hn::Sub(y, yy));
  };
  V th, tl, v, verr;
  two_sum(c, uh, th, tl);
  two_sum(tl, ul, v, verr);
  // v rounded to odd: one ulp towards verr when v is inexact and even.
  const auto bits = hn::BitCast(du, v);
  const auto one = hn::Set(du, uint64_t{1});
  const auto opposite = hn::ShiftRight<63>(hn::Xor(bits, hn::BitCast(du, verr)));  // 0 or 1
  const auto delta = hn::Sub(one, hn::Add(opposite, opposite));                    // +1 or -1
  const auto fix = hn::And(hn::RebindMask(du, hn::Ne(verr, hn::Zero(d))),
                           hn::Eq(hn::And(bits, one), hn::Zero(du)));
  const V ro = hn::BitCast(d, hn::Add(bits, hn::IfThenElseZero(fix, delta)));
  return hn::IfThenElse(hn::Eq(ro, hn::Zero(d)), th, hn::Add(th, ro));
}

// The chain lane by lane through the scalar exact FMA.
template <const auto& kC, bool kAscending, class D, class V = VecOf<D>>
HWY_NOINLINE V HornerByLane(D d, V z) {
  constexpr size_t kN = std::tuple_size_v<std::remove_cvref_t<decltype(kC)>>;
  HWY_ALIGN float lanes[4];
  hn::Store(z, d, lanes);
  for (float& lane : lanes) {
    float acc = HornerCoefficient<kC, kAscending, float>(0);
    for (size_t k = 1; k < kN; ++k) {
      acc = internal::FmaF32(acc, lane, HornerCoefficient<kC, kAscending, float>(k));
    }
    lane = acc;
  }
  return hn::Load(d, lanes);
}

// Two doubles' exact FMA out of line (std::fma by lane where the CPU has an
// FMA, else F64x2), for rare paths: inlined at every step of the locked
// chains it made SSE4's f64 normal kernel 2.8 times larger and 1.3x slower.
template <class D, class V = VecOf<D>>
HWY_NOINLINE V F64x2Call(D d, V a, V b, V c) {
  return internal::HardwareFma() ? ByLaneStd(d, a, b, c) : F64x2(d, a, b, c);
}

// Whether DemoteTo(double -> float) rounds what exceeds FLT_MAX to infinity,
// as the FMA does: x86's cvtpd2ps does; EMU128's (and SCALAR's) DemoteTo
// clamps to +-FLT_MAX, so there HornerF32x4 also sends such lanes by lane.
#if HWY_ARCH_X86 && HWY_TARGET != HWY_EMU128
constexpr bool kDemoteRoundsToInfinity = true;
#else
constexpr bool kDemoteRoundsToInfinity = false;
#endif

// Horner's rule on four floats, each step Fma(acc, z, c_k), with acc kept in
// double between the steps (the proof is in src/core/fma_emulation.h, at
// HornerInDoubleIsExact): per step and half a multiply, an add, the midpoint
// test and the rounding to float and back, where F32x4 also splits, promotes
// and branches; one branch per chain, to the exact lane-by-lane chain. The
// same value as the chain of F32x4 for every z. The steps kPlan
// (internal::PlanChainSteps) locks round by its magic numbers instead, with
// no test, and those it finds exact in double skip the test: only for z in
// the plan's range (and a multiple of its z_lsb).
template <const auto& kC, bool kAscending, const auto& kPlan, class D, class V = VecOf<D>>
HWY_INLINE V HornerStepsF32x4(D d, V z) {
  static_assert(internal::HornerInDoubleIsExact(kC),
                "coefficients outside HornerF32x4's proof (src/core/fma_emulation.h)");
  constexpr size_t kN = std::tuple_size_v<std::remove_cvref_t<decltype(kC)>>;
  const hn::Half<D> dh;
  const hn::Repartition<double, D> dd;
  const hn::RebindToUnsigned<decltype(dd)> du;
  const auto z_lo = hn::PromoteTo(dd, hn::LowerHalf(dh, z));
  const auto z_hi = hn::PromoteTo(dd, hn::UpperHalf(dh, z));
  const auto low_bits = hn::Set(du, uint64_t{0x1FFFFFFF});
  const auto midpoint_bits = hn::Set(du, uint64_t{0x10000000});
  auto midpoint = [&](VecOf<decltype(dd)> s) {
    return hn::Eq(hn::And(hn::BitCast(du, s), low_bits), midpoint_bits);
  };
  auto acc_lo = hn::Set(dd, HornerCoefficient<kC, kAscending, float>(0));
  auto acc_hi = acc_lo;
  auto f_lo = hn::DemoteTo(dh, acc_lo);
  auto f_hi = f_lo;
  auto undecided = hn::Ne(acc_lo, acc_lo);  // all false
  // Fully unrolled (kN is small), so that kPlan.locked[k] and exact[k] fold
  // per step.
  HWY_UNROLL(16)
  for (size_t k = 1; k < kN; ++k) {
    if (kPlan.locked[k]) {
      const auto addend = hn::Set(dd, kPlan.addend[k]);
      const auto magic = hn::Set(dd, kPlan.magic[k]);
      acc_lo = hn::Sub(hn::Add(hn::Mul(acc_lo, z_lo), addend), magic);
      acc_hi = hn::Sub(hn::Add(hn::Mul(acc_hi, z_hi), addend), magic);
    } else {
      const auto c = hn::Set(dd, HornerCoefficient<kC, kAscending, float>(k));
      const auto s_lo = hn::Add(hn::Mul(acc_lo, z_lo), c);
      const auto s_hi = hn::Add(hn::Mul(acc_hi, z_hi), c);
      // An exact step's s is x itself, below 2^127: no test.
      if (!kPlan.exact[k]) {
        undecided =
            hn::Or(undecided, hn::RebindMask(dd, hn::Or(midpoint(s_lo), midpoint(s_hi))));
        if constexpr (!kDemoteRoundsToInfinity) {
          const auto max = hn::Set(dd, static_cast<double>(std::numeric_limits<float>::max()));
          undecided =
              hn::Or(undecided, hn::Or(hn::Gt(hn::Abs(s_lo), max), hn::Gt(hn::Abs(s_hi), max)));
        }
      }
      f_lo = hn::DemoteTo(dh, s_lo);
      f_hi = hn::DemoteTo(dh, s_hi);
      acc_lo = hn::PromoteTo(dd, f_lo);
      acc_hi = hn::PromoteTo(dd, f_hi);
    }
  }
  if (HWY_UNLIKELY(!hn::AllFalse(dd, undecided))) {
    return HornerByLane<kC, kAscending>(d, z);
  }
  if constexpr (kPlan.locked[kN - 1]) {
    return hn::Combine(d, hn::DemoteTo(dh, acc_hi), hn::DemoteTo(dh, acc_lo));  // exact
  } else {
    return hn::Combine(d, f_hi, f_lo);
  }
}

// No step locked: the coefficients only (an empty z range).
template <const auto& kC, bool kAscending>
inline constexpr auto kUnlockedPlan = internal::PlanChainSteps(kC, kAscending, 1.0, 0.0);

template <const auto& kC, bool kAscending, class D, class V = VecOf<D>>
HWY_INLINE V HornerF32x4(D d, V z) {
  return HornerStepsF32x4<kC, kAscending, kUnlockedPlan<kC, kAscending>>(d, z);
}

// HornerF32x4 for z in [kZMin, kZMax], every z a multiple of kZLsb (the
// caller checks the range and proves the multiple), where the steps that
// PlanChainSteps locks over that range take its magic-number rounding
// (multiply, add, subtract; no test), the steps it finds exact in double
// HornerF32x4's arithmetic without its test, and the others HornerF32x4's.
// The same value as HornerF32x4 for every such z.
template <const auto& kC, bool kAscending, const double& kZMin, const double& kZMax,
          const double& kZLsb>
inline constexpr auto kPartlyLockedPlan =
    internal::PlanChainSteps(kC, kAscending, kZMin, kZMax, kZLsb);

template <const auto& kC, bool kAscending, const double& kZMin, const double& kZMax,
          const double& kZLsb, class D, class V = VecOf<D>>
HWY_INLINE V HornerPartlyLockedF32x4(D d, V z) {
  return HornerStepsF32x4<kC, kAscending,
                          kPartlyLockedPlan<kC, kAscending, kZMin, kZMax, kZLsb>>(d, z);
}

// Horner's rule on four floats for z in [0, kZMax], where the chain is locked
// (internal::PlanLockedChain, src/core/fma_emulation.h): per step and half a
// multiply, an add and a subtract in double, no test and no rounding to float
// and back. The same value as HornerF32x4 for every such z.
// On halves: z_lo, z_hi are lanes 0, 1 and 2, 3 in double; the chain's
// float values, exactly, in double.
template <const auto& kC, bool kAscending, const double& kZMax, class VD>
HWY_INLINE void HornerLockedHalves(VD z_lo, VD z_hi, VD& acc_lo, VD& acc_hi) {
  static constexpr auto kPlan = internal::CheckedLockedPlan<kC, kAscending, kZMax>();
  constexpr size_t kN = std::tuple_size_v<std::remove_cvref_t<decltype(kC)>>;
  const hn::DFromV<VD> dd;
  acc_lo = hn::Set(dd, kPlan.coef[0]);
  acc_hi = acc_lo;
  for (size_t k = 1; k < kN; ++k) {
    const auto addend = hn::Set(dd, kPlan.addend[k]);
    const auto magic = hn::Set(dd, kPlan.magic[k]);
    acc_lo = hn::Sub(hn::Add(hn::Mul(acc_lo, z_lo), addend), magic);
    acc_hi = hn::Sub(hn::Add(hn::Mul(acc_hi, z_hi), addend), magic);
  }
}

// Four float lanes through HornerLockedHalves.
template <const auto& kC, bool kAscending, const double& kZMax, class D, class V = VecOf<D>>
HWY_INLINE V HornerLockedF32x4(D d, V z) {
  const hn::Half<D> dh;
  const hn::Repartition<double, D> dd;
  VecOf<decltype(dd)> acc_lo, acc_hi;
  HornerLockedHalves<kC, kAscending, kZMax>(hn::PromoteTo(dd, hn::LowerHalf(dh, z)),
                                            hn::PromoteTo(dd, hn::UpperHalf(dh, z)), acc_lo,
                                            acc_hi);
  return hn::Combine(d, hn::DemoteTo(dh, acc_hi), hn::DemoteTo(dh, acc_lo));  // exact
}

// Horner's rule on two doubles for z in [0, kZMax], where every step is
// locked (internal::PlanLockedChainF64, src/core/fma_emulation.h): per step
// a multiply and three adds, the test for a tie of p + c_k and a branch,
// rarely taken, to the step's exact Fma. The same value as the FMA chain.
template <const auto& kC, bool kAscending, const double& kZMax, class D, class V = VecOf<D>>
HWY_INLINE V HornerLockedF64x2(D d, V z) {
  static constexpr auto kPlan = internal::CheckedLockedPlanF64<kC, kAscending, kZMax>();
  constexpr size_t kN = std::tuple_size_v<std::remove_cvref_t<decltype(kC)>>;
  V acc = hn::Set(d, kPlan.coef[0]);
  HWY_UNROLL(16)
  for (size_t k = 1; k < kN; ++k) {
    const V c = hn::Set(d, kPlan.coef[k]);
    const V p = hn::Mul(acc, z);
    const V s = hn::Add(p, c);
    const V t = hn::Add(hn::Sub(c, s), p);
    if (HWY_UNLIKELY(!hn::AllFalse(d, hn::Eq(hn::Abs(t), hn::Set(d, kPlan.half_ulp[k]))))) {
      acc = F64x2Call(d, acc, z, c);
    } else {
      acc = s;
    }
  }
  return acc;
}

// FmaXzPolyPlusX (below) on four floats: the locked chain's result stays
// in double (it is a float, exactly) instead of being rounded to float and
// promoted again for F32x4. The same value.
template <const auto& kC, const double& kZMax, class D, class V = VecOf<D>>
HWY_INLINE V FmaXzChainPlusX(D d, V x, V z) {
  const hn::Half<D> dh;
  const hn::Repartition<double, D> dd;
  auto lower = [&](V v) { return hn::PromoteTo(dd, hn::LowerHalf(dh, v)); };
  auto upper = [&](V v) { return hn::PromoteTo(dd, hn::UpperHalf(dh, v)); };
  VecOf<decltype(dd)> p_lo, p_hi;
  HornerLockedHalves<kC, true, kZMax>(lower(z), upper(z), p_lo, p_hi);
  const V xz = hn::Mul(x, z);
  V result;
  if (HWY_UNLIKELY(!RoundSumsToFloat<false>(d, hn::Add(hn::Mul(lower(xz), p_lo), lower(x)),
                                            hn::Add(hn::Mul(upper(xz), p_hi), upper(x)),
                                            result))) {
    // A lane's double sum is a float midpoint: by lane, on the chain's float
    // values (exact demotions).
    return ByLaneEmulated(d, xz, hn::Combine(d, hn::DemoteTo(dh, p_hi), hn::DemoteTo(dh, p_lo)), x);
  }
  return result;
}
#endif  // HWY_TARGET != HWY_SCALAR

// The fastest exact FMA this CPU allows (measured in docs/benchmarks.md):
// float on SSE4 always F32x4 (faster than per-lane std::fma even when that
// is an instruction); double and the scalar target std::fma where the CPU
// has hardware FMA (AMD Piledriver..Excavator run SSE4 with FMA3; other
// architectures' scalar builds), the emulation where it has not (glibc's
// fma is then a slow software routine).
template <class D, class V = VecOf<D>>
HWY_INLINE V Fma(D d, V a, V b, V c) {
#if HWY_TARGET == HWY_SCALAR
  const auto x = hn::GetLane(a), y = hn::GetLane(b), z = hn::GetLane(c);
  return hn::Set(d, internal::HardwareFma() ? std::fma(x, y, z) : internal::FmaExactCall(x, y, z));
#else
  using T = hn::TFromD<D>;
  if constexpr (D::kPrivateN * sizeof(T) == 16) {
    if constexpr (sizeof(T) == 4) {
      return F32x4(d, a, b, c);
    } else {
      return internal::HardwareFma() ? ByLaneStd(d, a, b, c) : F64x2(d, a, b, c);
    }
  } else {
    return internal::HardwareFma() ? ByLaneStd(d, a, b, c) : ByLaneEmulated(d, a, b, c);
  }
#endif
}

}  // namespace fma_emulation
#endif  // !HWY_NATIVE_FMA

// a * b + c with a single rounding on every target. The targets without
// FMA instructions (SSE4, SCALAR) emulate it exactly (fma_emulation above;
// the proofs are in src/core/fma_emulation.h) or call std::fma where the CPU
// has one; all produce the FMA targets' bits.
template <class D, class V = VecOf<D>>
HWY_INLINE V Fma(D d, V a, V b, V c) {
#if HWY_NATIVE_FMA
  (void)d;
  return hn::MulAdd(a, b, c);
#else
  return fma_emulation::Fma(d, a, b, c);
#endif
}

// a * b + c where the caller proves that every lane's exact a b + c is 0 or
// of magnitude in [2^-126, 2^127] (a normal float): SSE4's F32x4 then needs
// only its midpoint test. The same value as Fma.
template <class D, class V = VecOf<D>>
HWY_INLINE V FmaNormalResult(D d, V a, V b, V c) {
#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
  using T = hn::TFromD<D>;
  if constexpr (sizeof(T) == 4 && D::kPrivateN * sizeof(T) == 16) {
    return fma_emulation::F32x4<false>(d, a, b, c);
  }
#endif
#if HWY_TARGET == HWY_SCALAR
  if constexpr (sizeof(hn::TFromD<D>) == 4) {
    // Inline in double, no std::fma call.
    return hn::Set(d, internal::FmaF32NormalResult(hn::GetLane(a), hn::GetLane(b), hn::GetLane(c)));
  }
#endif
  return Fma(d, a, b, c);
}

// a * b + c where the product a * b is exact (the caller proves it, e.g. a
// small integer times a constant with trailing zero bits): then the FMA's one
// rounding is the sum's, so targets without FMA instructions need no
// emulation (SSE4: about 20 operations less). The same value as Fma.
template <class D, class V = VecOf<D>>
HWY_INLINE V FmaExactProduct(D d, V a, V b, V c) {
  if constexpr (HWY_NATIVE_FMA) return Fma(d, a, b, c);
  return hn::Add(hn::Mul(a, b), c);
}

// a * b + c for float lanes where the caller proves that the exact a b + c
// is a double (K 2^k with an integer |K| <= 2^53): computed in double it is
// then exact and rounds to float once, the FMA's value, so SSE4 needs
// neither F32x4's midpoint test nor its branch, and SCALAR without FMA no
// emulation call. Fma elsewhere.
template <class D, class V = VecOf<D>>
HWY_INLINE V FmaExactInDouble(D d, V a, V b, V c) {
#if HWY_TARGET == HWY_SCALAR
  if constexpr (sizeof(hn::TFromD<D>) == 4) {
    // Without an FMA instruction in double, inline; with one, std::fma, as
    // Fma does (inline double steps in SCALAR's Horner chains measured 1.3x
    // slower than std::fma there: a scalar chain is latency-bound).
    const float x = hn::GetLane(a), y = hn::GetLane(b), z = hn::GetLane(c);
    return hn::Set(d, internal::HardwareFma()
                          ? std::fma(x, y, z)
                          : static_cast<float>(static_cast<double>(x) * y + z));
  }
#endif
#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
  using T = hn::TFromD<D>;
  if constexpr (sizeof(T) == 4 && D::kPrivateN * sizeof(T) == 16) {
    const hn::Half<D> dh;
    const hn::Repartition<double, D> dd;
    auto half = [&](VecOf<decltype(dh)> x, VecOf<decltype(dh)> y, VecOf<decltype(dh)> z) {
      return hn::DemoteTo(dh, hn::Add(hn::Mul(hn::PromoteTo(dd, x), hn::PromoteTo(dd, y)),
                                      hn::PromoteTo(dd, z)));
    };
    return hn::Combine(d, half(hn::UpperHalf(dh, a), hn::UpperHalf(dh, b), hn::UpperHalf(dh, c)),
                       half(hn::LowerHalf(dh, a), hn::LowerHalf(dh, b), hn::LowerHalf(dh, c)));
  }
#endif
  return Fma(d, a, b, c);
}

// x86 below AVX-512 (AVX2, SSE4) has no int64 <-> double conversion and no
// 64-bit arithmetic shift, which Highway emulates in four or five operations
// each: there the f64 kernels take exact routes of their own (magic-number
// conversions, logical shifts of biased values). The condition also holds
// for EMU128 in a clang build on x86 (its target bit is above AVX3's), which
// takes the same exact routes in plain C++.
inline constexpr bool kX86WithoutInt64Convert =
    HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3 && HWY_TARGET != HWY_SCALAR;

// Signed integer lanes with |v| < 2^51 (double) or any int32 (float) to
// floating point, exactly. AVX2 and SSE4 have no int64 -> double instruction
// (Highway emulates it in five operations): there the magic number
// M = 2^52 + 2^51 does it in two, since the pattern of M plus v is the double
// M + v for |v| < 2^51 (v lands in the mantissa, whose unit is 1) and
// (M + v) - M is exact. The same value ConvertTo gives, so the same bits.
inline constexpr double kSmallIntMagic = 0x1.8p52;                  // M = 2^52 + 2^51
inline constexpr uint64_t kSmallIntMagicBits = 0x4338000000000000;  // its pattern

// The double M + v from v + kSmallIntMagicBits's pattern, minus M (the
// second half of SmallIntToFloat, for callers that fold an offset into the add).
template <class D, class VU>
HWY_INLINE VecOf<D> MagicPatternToFloat(D d, VU magic_plus_v) {
  return hn::Sub(hn::BitCast(d, magic_plus_v), hn::Set(d, kSmallIntMagic));
}

template <class D, class VI>
HWY_INLINE VecOf<D> SmallIntToFloat(D d, VI v) {
  if constexpr (kX86WithoutInt64Convert && sizeof(hn::TFromD<D>) == 8) {
    const hn::RebindToSigned<D> di;
    return MagicPatternToFloat(
        d, hn::Add(v, hn::Set(di, static_cast<int64_t>(kSmallIntMagicBits))));
  } else {
    return hn::ConvertTo(d, v);
  }
}

// Horner's rule over the constant coefficients kC (a std::array, any
// arithmetic element type, rounded to the lane type): kAscending: kC[0] + z
// (kC[1] + z (kC[2] + ...)); else kC in Horner order, from the highest power
// down. Each step is one Fma. SSE4 evaluates float chains with HornerF32x4,
// or, where the caller bounds z to [0, kZMax] (kZMax > 0), with
// HornerLockedF32x4 (SCALAR: internal::HornerLocked), and double chains
// over such a z with HornerLockedF64x2; all give the same values.
template <const auto& kC, bool kAscending, const double& kZMax = internal::kNoZBound, class D,
          class V = VecOf<D>>
HWY_INLINE V Horner(D d, V z) {
  using T = hn::TFromD<D>;
#if HWY_TARGET == HWY_SCALAR
  if constexpr (sizeof(T) == 4 && kZMax > 0) {
    // The locked chain in double, inline (no std::fma call per step).
    static constexpr auto kPlan = internal::CheckedLockedPlan<kC, kAscending, kZMax>();
    return hn::Set(d, internal::HornerLocked(kPlan, hn::GetLane(z)));
  }
  if constexpr (sizeof(T) == 8 && kZMax > 0) {
    // The locked double chain: no call per step (normal f64 measured 0.89x
    // the std::fma chain's time where std::fma is an instruction, 0.25x the
    // emulation's where it is not).
    static constexpr auto kPlan = internal::CheckedLockedPlanF64<kC, kAscending, kZMax>();
    return hn::Set(d, internal::HornerLockedF64(kPlan, hn::GetLane(z)));
  }
#endif
#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
  if constexpr (sizeof(T) == 4 && D::kPrivateN * sizeof(T) == 16) {
    if constexpr (kZMax > 0) {
      return fma_emulation::HornerLockedF32x4<kC, kAscending, kZMax>(d, z);
    } else {
      return fma_emulation::HornerF32x4<kC, kAscending>(d, z);
    }
  }
  if constexpr (sizeof(T) == 8 && D::kPrivateN * sizeof(T) == 16 && kZMax > 0) {
    return fma_emulation::HornerLockedF64x2<kC, kAscending, kZMax>(d, z);
  }
#endif
  constexpr size_t kN = std::tuple_size_v<std::remove_cvref_t<decltype(kC)>>;
  V acc = hn::Set(d, HornerCoefficient<kC, kAscending, T>(0));
  for (size_t k = 1; k < kN; ++k) {
    acc = Fma(d, acc, z, hn::Set(d, HornerCoefficient<kC, kAscending, T>(k)));
  }
  return acc;
}

// kC[0] + z (kC[1] + z (kC[2] + ...)): coefficients in ascending powers.
// kZMax > 0: the caller guarantees 0 <= z <= kZMax (see Horner); a reference
// to a constant, as clang 14 takes no double template arguments (and GCC's
// sanitizer builds do not fold an address compared with null).
template <const auto& kC, const double& kZMax = internal::kNoZBound, class D,
          class V = VecOf<D>>
HWY_INLINE V PolyAscending(D d, V z) {
  return Horner<kC, true, kZMax>(d, z);
}

// Same, coefficients from the highest power down.
template <const auto& kC, class D, class V = VecOf<D>>
HWY_INLINE V PolyDescending(D d, V z) {
  return Horner<kC, false>(d, z);
}

// Fma(x z, PolyAscending<kC, kZMax>(z), x) (x z rounded to float first)
// where 0 <= z <= kZMax and every exact result is 0 or a normal float
// (FmaNormalResult's precondition), e.g. sin x = x + x^3 P(x^2). SSE4 keeps
// the chain's value in double into the final sum (FmaXzChainPlusX).
template <const auto& kC, const double& kZMax, class D, class V = VecOf<D>>
HWY_INLINE V FmaXzPolyPlusX(D d, V x, V z) {
#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
  using T = hn::TFromD<D>;
  if constexpr (sizeof(T) == 4 && D::kPrivateN * sizeof(T) == 16) {
    return fma_emulation::FmaXzChainPlusX<kC, kZMax>(d, x, z);
  }
#endif
  return FmaNormalResult(d, hn::Mul(x, z), PolyAscending<kC, kZMax>(d, z), x);
}

// ---------------------------------------------------------------- log

// ln(2^e (1 + f)) for f in [sqrt(1/2) - 1, sqrt(2) - 1] (an ulp beyond is fine)
// and f exact (float: f = 0 or |f| >= 2^-33, see t below): fdlibm's log
// decomposition with the Taylor series of atanh.
// Error: float <= 1 ulp, double <= 1 ulp of the result over that range
// (measured in tests/accuracy_test.cc).
template <class D, class V = VecOf<D>>
HWY_INLINE V LogReduced(D d, V e, V f) {
  using T = hn::TFromD<D>;
  using C = internal::TransformConstants<T>;
  const V s = hn::Div(f, hn::Add(hn::Set(d, T(2)), f));
  const V z = hn::Mul(s, s);
  // z <= 0.0295 over f's range (transform_constants.h), and z >= 0.
  const V r = hn::Mul(z, PolyAscending<C::kLogR, C::kLogZMax>(d, z));
  const V hfsq = hn::Mul(hn::Set(d, T(0.5)), hn::Mul(f, f));
  // The exact s w + c (w = hfsq + r, c = RN(e kLn2Lo)) is 0 or a normal
  // float in magnitude (FmaNormalResult), given f = 0 or |f| >= 2^-33 (float
  // callers: LogPositive's f is a multiple of 2^-24; MinusTwoLogRadius's is
  // a multiple of 2^-24 plus an odd multiple of 2^-33, both scaled by 2^-e >=
  // 1): then s = 0 or |s| >= 2^-35, and w >= RN(f^2) / 2 >= 2^-67. With
  // e = 0, c = -0 and the value is s w, 0 or |s w| >= 2^-102. Otherwise
  // |c| >= |kLn2Lo| > 2^-13: either |s w| is not within a factor 2 of |c|,
  // and |s w + c| >= 2^-14, or |s w| >= 2^-14 and s w + c is a multiple of
  // 2^(-14 - 46) (the lowest bit of the product of two floats of that size),
  // as c is. Every term is below 1: no overflow.
  const V t = FmaNormalResult(d, s, hn::Add(hfsq, r), hn::Mul(e, hn::Set(d, C::kLn2Lo)));
  // e * kLn2Hi is exact (kLn2Hi's trailing zeros: transform_constants.h).
  return FmaExactProduct(d, e, hn::Set(d, C::kLn2Hi), hn::Sub(f, hn::Sub(hfsq, t)));
}

// ln x for normal positive x (exact exponent/mantissa split, then LogReduced).
// float: valid for x in [2^-126, 2^128); double: [2^-1022, 2^1024). Max error 1 ulp.
template <class D, class V = VecOf<D>>
HWY_INLINE V LogPositive(D d, V x) {
  using T = hn::TFromD<D>;
  using C = internal::TransformConstants<T>;
  const hn::RebindToSigned<D> di;
  constexpr int kMantBits = sizeof(T) == 4 ? 23 : 52;
  using TI = hn::TFromD<decltype(di)>;
  const auto bits = hn::BitCast(di, x);
  if constexpr (kX86WithoutInt64Convert && sizeof(T) == 8) {
    // AVX2 and SSE4 have no 64-bit arithmetic shift (Highway emulates it in
    // four operations) nor int64 -> double. The same e and m from a logical
    // shift of t + 2^62 (t = bits - kSqrtHalfBits, |t| < 2^62, so t + 2^62
    // is positive): e + 1024 = (t + 2^62) >> 52, and the double e is the
    // magic-number conversion (SmallIntToFloat) with the 1024 folded into
    // the magic. m's bits: bits - (e << 52) = kSqrtHalfBits + (t mod 2^52).
    const hn::RebindToUnsigned<D> du;
    const auto t_biased = hn::BitCast(
        du, hn::Sub(bits, hn::Set(di, static_cast<TI>(C::kSqrtHalfBits - (uint64_t{1} << 62)))));
    const auto e_biased = hn::ShiftRight<52>(t_biased);
    const V e = MagicPatternToFloat(d, hn::Add(e_biased, hn::Set(du, kSmallIntMagicBits - 1024)));
    const V m = hn::BitCast(d, hn::Add(hn::And(t_biased, hn::Set(du, (uint64_t{1} << 52) - 1)),
                                       hn::Set(du, C::kSqrtHalfBits)));
    return LogReduced(d, e, hn::Sub(m, hn::Set(d, T(1))));
  } else {
    const auto e = hn::ShiftRight<kMantBits>(
        hn::Sub(bits, hn::Set(di, static_cast<TI>(C::kSqrtHalfBits))));
    const V m = hn::BitCast(d, hn::Sub(bits, hn::ShiftLeft<kMantBits>(e)));
    return LogReduced(d, SmallIntToFloat(d, e), hn::Sub(m, hn::Set(d, T(1))));
  }
}

// -2 ln u for the f32 Box-Muller radius u = (w + 1/2) 2^-32, w a 32-bit word,
// without rounding u: u = hi + lo with hi = (w >> 8) 2^-24 and
// lo = (2 (w & 255) + 1) 2^-33 both exact, so 1 + f = u 2^-e is formed exactly
// up to one rounding of f.
template <class DF, class DU>
HWY_INLINE VecOf<DF> MinusTwoLogRadius(DF df, DU du, VecOf<DU> w) {
  using C = internal::TransformConstants<float>;
  const hn::RebindToSigned<DF> di;
  const auto hi = hn::Mul(hn::ConvertTo(df, hn::BitCast(di, hn::ShiftRight<8>(w))),
                          hn::Set(df, 0x1.0p-24f));
  const auto lo_odd = hn::Add(hn::ShiftLeft<1>(hn::And(w, hn::Set(du, 0xFFu))), hn::Set(du, 1u));
  const auto lo = hn::Mul(hn::ConvertTo(df, hn::BitCast(di, lo_odd)), hn::Set(df, 0x1.0p-33f));
  const auto u = hn::Add(hi, lo);  // rounded, but only used to pick the exponent
  const auto e = hn::ShiftRight<23>(
      hn::Sub(hn::BitCast(di, u), hn::Set(di, static_cast<int32_t>(C::kSqrtHalfBits))));
  const auto scale = hn::BitCast(df, hn::ShiftLeft<23>(hn::Sub(hn::Set(di, 127), e)));  // 2^-e
  const auto f = hn::Add(hn::Sub(hn::Mul(hi, scale), hn::Set(df, 1.0f)), hn::Mul(lo, scale));
  return hn::Mul(LogReduced(df, hn::ConvertTo(df, e), f), hn::Set(df, -2.0f));
}

// ---------------------------------------------------------------- sincos

// cos and sin of k pi/2 + x for |x| <= pi/4 (Taylor polynomials; exact range
// reduction happened in integers). k is the quadrant in an unsigned vector of
// the same lane size. Max error 1.5 ulp for float (all 2^24 angles, tests/accuracy_test.cc).
// float: x is SinCosAngleF32's remainder, 2 pi 2^-25 <= |x| <= pi/4 (the
// proofs of SSE4's locked chains and FmaXzPolyPlusX below rely on it).
template <class D, class DU, class V = VecOf<D>>
HWY_INLINE void SinCosQuadrant(D d, DU du, V x, VecOf<DU> k, V& cos_out, V& sin_out) {
  using T = hn::TFromD<D>;
  using C = internal::TransformConstants<T>;
  using TU = hn::TFromD<DU>;
  const V z = hn::Mul(x, x);
  V sin_x, cos_x;
  if constexpr (sizeof(T) == 4) {
    // 0 <= z <= 0.6169 (|x| <= pi/4); cos's last Fma folded into its chain.
    // sin_x: x (1 + z P) with |z P| < 0.11, and |x| >= 2 pi 2^-25 (n odd):
    // a normal float (FmaXzPolyPlusX's precondition).
    sin_x = FmaXzPolyPlusX<C::kSin, C::kSinCosZMax>(d, x, z);
    cos_x = PolyAscending<C::kCosWithOne, C::kSinCosZMax>(d, z);
  } else {
    // 0 <= z <= 0.6169 (|x| <= pi/4, SinCosAngleF64's n).
    sin_x = Fma(d, hn::Mul(x, z), PolyAscending<C::kSin, C::kSinCosZMax>(d, z), x);
    cos_x = Fma(d, z, PolyAscending<C::kCos, C::kSinCosZMax>(d, z), hn::Set(d, T(1)));
  }
  const auto one = hn::Set(du, TU{1});
  const auto two = hn::Set(du, TU{2});
  const auto swap = hn::RebindMask(d, hn::Eq(hn::And(k, one), one));
  constexpr int kSignShift = sizeof(T) * 8 - 2;  // moves bit 1 to the sign bit
  const V cos_sign = hn::BitCast(d, hn::ShiftLeft<kSignShift>(hn::And(hn::Add(k, one), two)));
  const V sin_sign = hn::BitCast(d, hn::ShiftLeft<kSignShift>(hn::And(k, two)));
  cos_out = hn::Xor(hn::IfThenElse(swap, sin_x, cos_x), cos_sign);
  sin_out = hn::Xor(hn::IfThenElse(swap, cos_x, sin_x), sin_sign);
}

// cos/sin of the f32 angle 2 pi ((w >> 8) + 1/2) 2^-24. The quadrant and the
// remainder come from the integer bits: with t = (w >> 8) + 2^21 mod 2^24,
// k = t >> 22 and the remainder is n = 2 (t mod 2^22 - 2^21) + 1 (odd,
// |n| < 2^22, exact in float) times 2 pi 2^-25, formed as
// 2 (t mod 2^22) + (1 - 2^22).
template <class DF, class DU>
HWY_INLINE void SinCosAngleF32(DF df, DU du, VecOf<DU> w, VecOf<DF>& c, VecOf<DF>& s) {
  using C = internal::TransformConstants<float>;
  const hn::RebindToSigned<DF> di;
  const auto t = hn::And(hn::Add(hn::ShiftRight<8>(w), hn::Set(du, 1u << 21)),
                         hn::Set(du, 0xFFFFFFu));
  const auto k = hn::ShiftRight<22>(t);
  const auto twice_rem = hn::BitCast(di, hn::ShiftLeft<1>(hn::And(t, hn::Set(du, 0x3FFFFFu))));
  const auto n = hn::ConvertTo(df, hn::Add(twice_rem, hn::Set(di, 1 - (1 << 22))));
  // n kAngleHi + RN(n kAngleLo) is exact in double (kAngleSumExactInDouble).
  static_assert(C::kAngleSumExactInDouble);
  const auto x = FmaExactInDouble(df, n, hn::Set(df, C::kAngleHi),
                                  hn::Mul(n, hn::Set(df, C::kAngleLo)));
  SinCosQuadrant(df, du, x, k, c, s);
}

// Same for the f64 angle 2 pi ((x >> 11) + 1/2) 2^-53, x a 64-bit value:
// n = 2 (t mod 2^51) + (1 - 2^51), |n| < 2^51.
template <class DD, class DU64>
HWY_INLINE void SinCosAngleF64(DD dd, DU64 du, VecOf<DU64> x64, VecOf<DD>& c, VecOf<DD>& s) {
  using C = internal::TransformConstants<double>;
  const hn::RebindToSigned<DD> di;
  const auto t = hn::And(hn::Add(hn::ShiftRight<11>(x64), hn::Set(du, uint64_t{1} << 50)),
                         hn::Set(du, (uint64_t{1} << 53) - 1));
  const auto k = hn::ShiftRight<51>(t);
  const auto twice_rem =
      hn::BitCast(di, hn::ShiftLeft<1>(hn::And(t, hn::Set(du, (uint64_t{1} << 51) - 1))));
  constexpr int64_t kOdd = 1 - (int64_t{1} << 51);  // n = twice_rem + kOdd
  VecOf<DD> n;
  if constexpr (kX86WithoutInt64Convert) {
    // SmallIntToFloat with kOdd folded into its magic number's pattern.
    n = MagicPatternToFloat(
        dd, hn::Add(twice_rem, hn::Set(di, static_cast<int64_t>(kSmallIntMagicBits) + kOdd)));
  } else {
    n = SmallIntToFloat(dd, hn::Add(twice_rem, hn::Set(di, kOdd)));
  }
  const auto x = Fma(dd, n, hn::Set(dd, C::kAngleHi), hn::Mul(n, hn::Set(dd, C::kAngleLo)));
  SinCosQuadrant(dd, du, x, k, c, s);
}

// ---------------------------------------------------------------- inverse CDF

// Phi^-1 of p, given p and q = 1 - p (both accurate: the caller forms them
// without cancellation): sqrt(2) erfinv(p - q) with w = -ln(4 p q).
// Valid for p, q >= 2.8e-8 (|z| <= 5.4); error figure in README.md.
// In three steps, so that a batch can run each across several vectors
// (InverseNormalCdfN): ErfinvW, then the polynomial (ErfinvCentral where
// w < 5, else ErfinvTail), then InverseNormalCdfFinish.
template <class D, class V = VecOf<D>>
HWY_INLINE V ErfinvW(D d, V p, V q) {
  using T = hn::TFromD<D>;
  return hn::Neg(LogPositive(d, hn::Mul(hn::Mul(p, q), hn::Set(d, T(4)))));
}

#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
// SSE4 float: where every lane's z = RN(w - 2.5) is in [kErfinvCentralZMin,
// kZMax] (the float bounds lie inside the double ones), out = the central
// chain with the steps PlanChainSteps locks or finds exact over that range
// taking no test (z a multiple of kErfinvCentralZLsb), and true; else false.
template <const double& kZMax, class D, class V = VecOf<D>>
HWY_INLINE bool ErfinvCentralPartlyLocked(D d, V z, V& out) {
  using T = hn::TFromD<D>;
  using internal::kErfinvCentralZMin;
  static_assert(static_cast<float>(kErfinvCentralZMin) >= kErfinvCentralZMin &&
                static_cast<float>(kZMax) <= kZMax);
  const auto in_range = hn::And(hn::Ge(z, hn::Set(d, static_cast<T>(kErfinvCentralZMin))),
                                hn::Le(z, hn::Set(d, static_cast<T>(kZMax))));
  if (!hn::AllTrue(d, in_range)) return false;
  out = fma_emulation::HornerPartlyLockedF32x4<internal::kErfinvCentral, false, kErfinvCentralZMin,
                                               kZMax, internal::kErfinvCentralZLsb>(d, z);
  return true;
}
#endif

// The central chain for any z, out of line: SSE4's path where a lane's z
// is outside the narrow range (inlined at every vector of a batch, it and
// ErfinvPolyN's path made SSE4's f32 kernel 233 KB instead of 82). SSE4
// float: partly locked over the wide range (w up to 5) where it holds.
template <class D, class V = VecOf<D>>
HWY_NOINLINE V ErfinvCentralChainCall(D d, V z) {
#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
  using T = hn::TFromD<D>;
  if constexpr (sizeof(T) == 4 && D::kPrivateN * sizeof(T) == 16) {
    V out;
    if (ErfinvCentralPartlyLocked<internal::kErfinvCentralWideZMax>(d, z, out)) return out;
  }
#endif
  return PolyDescending<internal::kErfinvCentral>(d, z);
}

template <class D, class V = VecOf<D>>
HWY_INLINE V ErfinvCentral(D d, V w) {
  using T = hn::TFromD<D>;
  const V z = hn::Sub(w, hn::Set(d, T(2.5)));
#if HWY_TARGET == HWY_SCALAR
  if constexpr (sizeof(T) == 8) {
    // Where the CPU has no FMA and z is in [kErfinvCentralZMin,
    // kErfinvCentralZMax], the steps that stay in one binade there take
    // the tie test in double instead of the emulation's ~40 operations
    // (internal::PlanChainStepsF64; truncated normal f64 0.91x). Where
    // std::fma is an instruction the plain chain of calls is faster: the
    // partly locked one measured 1.27x slower (a locked step's multiply and
    // add are longer than an FMA on this latency-bound chain), and on SSE4
    // the same steps in vectors (two lanes) measured 0.97x and 1.03x with
    // the emulation, 1.33x with std::fma: not taken.
    const double zd = hn::GetLane(z);
    if (!internal::HardwareFma() && zd >= internal::kErfinvCentralZMin &&
        zd <= internal::kErfinvCentralZMax) {
      static constexpr auto kPlan = internal::PlanChainStepsF64(
          internal::kErfinvCentral, false, internal::kErfinvCentralZMin,
          internal::kErfinvCentralZMax);
      return hn::Set(d, internal::HornerStepsF64(kPlan, zd));
    }
  }
#endif
#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
  if constexpr (sizeof(T) == 4 && D::kPrivateN * sizeof(T) == 16) {
    V out;
    if (HWY_LIKELY(ErfinvCentralPartlyLocked<internal::kErfinvCentralZMax>(d, z, out))) {
      return out;
    }
    return ErfinvCentralChainCall(d, z);
  }
#endif
  return PolyDescending<internal::kErfinvCentral>(d, z);
}

template <class D, class V = VecOf<D>>
HWY_INLINE V ErfinvTail(D d, V w) {
  using T = hn::TFromD<D>;
  return PolyDescending<internal::kErfinvTail>(d, hn::Sub(hn::Sqrt(w), hn::Set(d, T(3))));
}

template <class D, class V = VecOf<D>>
HWY_INLINE auto ErfinvInCentral(D d, V w) {
  using T = hn::TFromD<D>;
  return hn::Lt(w, hn::Set(d, T(5)));
}

// Lane by lane: central where w < 5, else tail. A polynomial no lane of the
// vector takes is not evaluated (the usual case: |z| < 2.9 in every lane
// skips the tail's sqrt and 8 FMAs); the selected values, hence the bits,
// are the same either way.
template <class D, class V = VecOf<D>>
HWY_INLINE V ErfinvPoly(D d, V w) {
  const auto in_central = ErfinvInCentral(d, w);
  if (hn::AllTrue(d, in_central)) return ErfinvCentral(d, w);
  if (hn::AllFalse(d, in_central)) return ErfinvTail(d, w);
  return hn::IfThenElse(in_central, ErfinvCentral(d, w), ErfinvTail(d, w));
}

template <class D, class V = VecOf<D>>
HWY_INLINE V InverseNormalCdfFinish(D d, V p, V q, V poly) {
  using T = hn::TFromD<D>;
  return hn::Mul(hn::Mul(hn::Sub(p, q), poly), hn::Set(d, static_cast<T>(1.41421356237309504880)));
}

template <class D, class V = VecOf<D>>
HWY_INLINE V InverseNormalCdf(D d, V p, V q) {
  return InverseNormalCdfFinish(d, p, q, ErfinvPoly(d, ErfinvW(d, p, q)));
}

// ErfinvPoly of kN vectors in place, out of line: InverseNormalCdfN's path
// where a lane is in the tail (inlined, the tail's chains and the central
// chain's fallback at every vector of a batch made SSE4's f32 kernel 2.8x larger).
template <size_t kN, class D, class V = VecOf<D>>
HWY_NOINLINE void ErfinvPolyN(D d, V (&w)[kN]) {
  for (size_t i = 0; i < kN; ++i) w[i] = ErfinvPoly(d, w[i]);
}

// InverseNormalCdf of kN vectors in place (p[i] becomes Phi^-1(p[i])), each
// step across all of them, with one branch when every lane is central (the
// usual case), so that their log and polynomial chains overlap. The same
// operations on each lane as InverseNormalCdf: the same bits.
template <size_t kN, class D, class V = VecOf<D>>
HWY_INLINE void InverseNormalCdfN(D d, V (&p)[kN], const V (&q)[kN]) {
  V w[kN];
  HWY_UNROLL(8)
  for (size_t i = 0; i < kN; ++i) w[i] = ErfinvW(d, p[i], q[i]);
  auto all_central = ErfinvInCentral(d, w[0]);
  HWY_UNROLL(8)
  for (size_t i = 1; i < kN; ++i) all_central = hn::And(all_central, ErfinvInCentral(d, w[i]));
  if (HWY_LIKELY(hn::AllTrue(d, all_central))) {
    HWY_UNROLL(8)
    for (size_t i = 0; i < kN; ++i) w[i] = ErfinvCentral(d, w[i]);
  } else {
    ErfinvPolyN(d, w);
  }
  HWY_UNROLL(8)
  for (size_t i = 0; i < kN; ++i) p[i] = InverseNormalCdfFinish(d, p[i], q[i], w[i]);
}

// ---------------------------------------------------------------- transforms

// Whether FmaScale may take its multiply-only path: offset is +0 and scale
// finite and nonzero (a scalar test, once per fill: BatchF32::plus_zero).
template <class T>
bool PlusZeroOffset(T scale, T offset) {
  return offset == T(0) && !std::signbit(offset) && std::isfinite(scale) && scale != T(0);
}

// fma(x, scale, offset). Where Fma is emulated in vectors (SSE4) and
// PlusZeroOffset(scale, offset) holds (mean 0, the usual normal and
// truncated normal), the FMA's one rounding is the product's: fma(x, s, +0)
// is RN(x s) unless x s is an exact zero (x = +-0, s finite and nonzero),
// where it is +0 (-0 + +0) and the product alone would keep x's sign.
// kXNonzero: the caller proves x has no zero lane, so the product needs no
// zero test (one that underflows to a signed zero is the FMA's value too: a
// nonzero exact x s rounds to the zero of its sign, and adding +0 to it
// exactly changes nothing).
template <bool kXNonzero = false, class D, class V = VecOf<D>>
HWY_INLINE V FmaScale(D d, V x, V scale, V offset, bool plus_zero_offset) {
#if !HWY_NATIVE_FMA && HWY_TARGET != HWY_SCALAR
  if (plus_zero_offset) {
    const V product = hn::Mul(x, scale);
    if constexpr (kXNonzero) return product;
    return hn::IfThenZeroElse(hn::Eq(x, hn::Zero(d)), product);
  }
#else
  (void)plus_zero_offset;
#endif
  return Fma(d, x, scale, offset);
}

// Scale and clamp: value = clamp(fma(x, scale, offset), lo, hi).
template <class D, class V = VecOf<D>>
HWY_INLINE V ScaleClamp(D d, V x, V scale, V offset, V lo, V hi, bool plus_zero_offset = false) {
  return hn::Min(hn::Max(FmaScale(d, x, scale, offset, plus_zero_offset), lo), hi);
}

// f32 uniform from a word: (w >> 8) 2^-24.
template <class DF, class DU>
HWY_INLINE VecOf<DF> UniformF32(DF df, DU /*du*/, VecOf<DU> w) {
  const hn::RebindToSigned<DF> di;
  return hn::Mul(hn::ConvertTo(df, hn::BitCast(di, hn::ShiftRight<8>(w))),
                 hn::Set(df, 0x1.0p-24f));
}

// f32 truncated-normal uniform: ((w >> 9) + 1/2) 2^-23 = (2 (w >> 9) + 1) 2^-24,
// formed as (1 + (w >> 9) 2^-23) - (1 - 2^-24): the first term is exact (the
// 23 bits are its mantissa) and so is the difference (Sterbenz: both terms
// in [1/2, 2]; the result has 24 bits), so the value is the one converting
// 2 (w >> 9) + 1 and scaling gives, in three operations instead of five.
template <class DF, class DU>
HWY_INLINE VecOf<DF> OpenUniformF32(DF df, DU du, VecOf<DU> w) {
  const auto one_plus = hn::BitCast(df, hn::Or(hn::ShiftRight<9>(w), hn::Set(du, 0x3F800000u)));
  return hn::Sub(one_plus, hn::Set(df, 1.0f - 0x1.0p-24f));
}

// 1 + (x >> 12) 2^-52 for a 64-bit word x, exactly: the top 52 bits as the
// mantissa of a double in [1, 2).
template <class DD, class DU>
HWY_INLINE VecOf<DD> OnePlusTop52(DD dd, DU du, VecOf<DU> x) {
  return hn::BitCast(dd, hn::Or(hn::ShiftRight<12>(x), hn::Set(du, uint64_t{0x3FF0000000000000})));
}

// f64 truncated-normal uniform from a 64-bit word: ((x >> 12) + 1/2) 2^-52 =
// (2 (x >> 12) + 1) 2^-53, exact, formed as (1 + (x >> 12) 2^-52) - (1 - 2^-53)
// (both exact, as OpenUniformF32): no 64-bit integer conversion, which AVX2
// and SSE4 emulate.
template <class DD, class DU>
HWY_INLINE VecOf<DD> OpenUniformF64(DD dd, DU du, VecOf<DU> x) {
  return hn::Sub(OnePlusTop52(dd, du, x), hn::Set(dd, 1.0 - 0x1.0p-53));
}

// Truncated normal: p = pa + u pspan, q = qa - u pspan, value = Phi^-1(p).
// exact_in_double (float lanes): FillParams::f_pq_exact_in_double, the two
// FMAs' exact values are doubles (FmaExactInDouble's precondition).
template <class D, class V = VecOf<D>>
HWY_INLINE void TruncatedPQ(D d, V u, V pa, V pspan, V qa, bool exact_in_double, V& p, V& q) {
  if (exact_in_double) {
    p = FmaExactInDouble(d, u, pspan, pa);
    q = FmaExactInDouble(d, hn::Neg(u), pspan, qa);
  } else {
    p = Fma(d, u, pspan, pa);
    q = Fma(d, hn::Neg(u), pspan, qa);
  }
}

template <class D, class V = VecOf<D>>
HWY_INLINE V TruncatedStandard(D d, V u, V pa, V pspan, V qa, bool exact_in_double = false) {
  V p, q;
  TruncatedPQ(d, u, pa, pspan, qa, exact_in_double, p, q);
  return InverseNormalCdf(d, p, q);
}

// TruncatedStandard of kN vectors in place (u[i] becomes the value), each
// step across all of them (InverseNormalCdfN).
template <size_t kN, class D, class V = VecOf<D>>
HWY_INLINE void TruncatedStandardN(D d, V (&u)[kN], V pa, V pspan, V qa,
                                   bool exact_in_double = false) {
  V q[kN];
  HWY_UNROLL(8)
  for (size_t i = 0; i < kN; ++i) TruncatedPQ(d, u[i], pa, pspan, qa, exact_in_double, u[i], q[i]);
  InverseNormalCdfN(d, u, q);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace fanfill
HWY_AFTER_NAMESPACE();

#endif  // FANFILL_SRC_CORE_TRANSFORMS_INL_H_
