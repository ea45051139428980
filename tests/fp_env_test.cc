// The caller's floating-point environment does not reach the fills
// (src/core/fp_env.h): under flush-to-zero and denormals-are-zero (what
// torch.set_flush_denormal(True) sets) and under the other rounding modes,
// every fill, scheme and block fill gives the bits it gives in the default
// environment, on one thread and on several, and when called from a oneTBB
// task whose context captured the environment (which oneTBB then applies on
// every worker that runs the fill's own tasks; plain workers were seen not
// to inherit the caller's MXCSR); validation ends (it steps through
// subnormal bounds), and the caller's environment is as it was afterwards.
// Each test runs in a process of its own (gtest_discover_tests).
#include <gtest/gtest.h>
#include <tbb/parallel_for.h>
#include <tbb/task_group.h>
#include <unistd.h>

#include <cfenv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "fanfill/blocks.hpp"
#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define FANFILL_TEST_HAVE_MXCSR 1
#else
#define FANFILL_TEST_HAVE_MXCSR 0
#endif

namespace fanfill_test {
namespace {

using fanfill::DType;
using fanfill::Distribution;

constexpr size_t kCount = size_t{1} << 18;  // several parallel chunks of every dtype
const fanfill::StreamKey kKey{20261202, 5};

// A fill into bytes, given max_threads.
using FillFn = std::function<void(std::vector<uint8_t>&, int)>;

struct Case {
  std::string name;
  FillFn fill;
};

FillFn Plain(DType dtype, Distribution dist) {
  return [=](std::vector<uint8_t>& out, int threads) {
    fanfill::Fill(out.data(), dtype, kCount, dist, kKey, {0, threads});
  };
}

std::vector<Case> Cases() {
  const std::vector<int64_t> shape = {512, 512};
  return {
      // Values in the subnormal range of their dtype.
      {"f32 normal std 1e-39", Plain(DType::kF32, Distribution::Normal(0, 1e-39))},
      {"f32 uniform +-1e-38 (subnormal bounds)",
       Plain(DType::kF32, Distribution::Uniform(-1e-38, 1e-38))},
      {"f32 truncated normal std 1e-39 in +-2e-39",
       Plain(DType::kF32, Distribution::TruncatedNormal(0, 1e-39, -2e-39, 2e-39))},
      {"f64 normal std 1e-309", Plain(DType::kF64, Distribution::Normal(0, 1e-309))},
      {"bf16 normal std 1e-39", Plain(DType::kBF16, Distribution::Normal(0, 1e-39))},
      {"f16 normal std 1e-6", Plain(DType::kF16, Distribution::Normal(0, 1e-6))},
      // Ordinary values: the rounding mode reaches every operation.
      {"f32 normal", Plain(DType::kF32, Distribution::Normal(0.1, 0.02))},
      {"f64 truncated normal", Plain(DType::kF64, Distribution::TruncatedNormal(0, 1, -2, 2))},
      {"e4m3 normal", Plain(DType::kF8E4M3, Distribution::Normal(0, 0.05))},
      {"scheme kaiming_uniform",
       [=](std::vector<uint8_t>& out, int threads) {
         fanfill::Init(out.data(), DType::kF32, shape, fanfill::Layout::kOI,
                       fanfill::Scheme::Parse("kaiming_uniform"), kKey, {threads});
       }},
      {"scheme constant(1e-40)",
       [=](std::vector<uint8_t>& out, int threads) {
         fanfill::Init(out.data(), DType::kF32, shape, fanfill::Layout::kOI,
                       fanfill::Scheme::Parse("constant(1e-40)"), kKey, {threads});
       }},
      // Decimal numbers parsed (spec and JSON) and parameters computed in double:
      // f64 keeps the last bit a rounding mode would change.
      {"scheme f64 parsed numbers",
       [=](std::vector<uint8_t>& out, int threads) {
         fanfill::Init(out.data(), DType::kF64, shape, fanfill::Layout::kOI,
                       fanfill::Scheme::Parse("uniform(a=-0.3, b=0.7)"), kKey, {threads});
       }},
      {"scheme f64 computed gain and std",
       [=](std::vector<uint8_t>& out, int threads) {
         fanfill::Init(out.data(), DType::kF64, shape, fanfill::Layout::kOI,
                       fanfill::Scheme::Parse("kaiming_normal(a=0.3, nonlinearity=leaky_relu)"),
                       kKey, {threads});
       }},
      {"model spec f64 with scale 0.3",
       [=](std::vector<uint8_t>& out, int threads) {
         const fanfill::ModelSpec model = fanfill::ParseModelSpec(
             R"json({"tensors": [{"name": "w", "shape": [512, 512], "dtype": "f64",
                                  "scheme": "normal(std=0.7)", "scale": 0.3}]})json");
         void* outputs[] = {out.data()};
         fanfill::InitModel(model, outputs, 7, {threads});
       }},
      {"Describe and Gain numbers",
       [=](std::vector<uint8_t>& out, int) {
         const fanfill::Description d = fanfill::Describe(
             shape, fanfill::Layout::kOI,
             fanfill::Scheme::Parse("trunc_normal(mean=0.1, std=0.3, a=-0.7, b=0.9)"));
         const fanfill::Description x = fanfill::Describe(
             shape, fanfill::Layout::kOI, fanfill::Scheme::Parse("xavier_normal(gain=0.3)"));
         const double v[] = {d.mean, d.std, d.low, d.high, x.std,
                             fanfill::Gain("leaky_relu", 0.3)};
         std::memcpy(out.data(), v, sizeof v);
       }},
      {"block fill normal std 1e-39",
       [=](std::vector<uint8_t>& out, int threads) {
         const std::vector<int64_t> global = {1024, 512};
         fanfill::FillBlock(out.data(), DType::kF32, global, fanfill::ColumnShard(global, 1, 2),
                            Distribution::Normal(0, 1e-39), kKey, {threads});
       }},
  };
}

// Every case under `enter` (which changes this thread's environment) equals
// the default environment's result, on 1 and 2 threads; `still` checks that
// the environment is the caller's again after each call.
void ExpectUnchangedUnder(const std::function<void()>& enter, const std::function<void()>& leave,
                          const std::function<bool()>& still, const std::string& what) {
  alarm(120);  // a validation that never ends fails the test instead of hanging CI
  const std::vector<Case> cases = Cases();
  std::vector<std::vector<uint8_t>> want(cases.size());
  // The default environment's bits first, serially: no worker exists yet.
  for (size_t k = 0; k < cases.size(); ++k) {
    want[k].assign(kCount * 8, 0);
    cases[k].fill(want[k], 1);
  }
  size_t nonzero_subnormal_case = 0;
  {
    // Sanity: the subnormal cases really store subnormals (nonzero values).
    const std::vector<uint8_t>& f = want[0];
    for (size_t i = 0; i < kCount * 4; ++i) nonzero_subnormal_case += f[i] != 0;
  }
  ASSERT_GT(nonzero_subnormal_case, kCount) << "the f32 case stores no subnormals";
  enter();
  for (int threads : {2, 1}) {  // 2 first: the workers start under `enter`'s environment
    for (size_t k = 0; k < cases.size(); ++k) {
      std::vector<uint8_t> got(kCount * 8, 0);
      cases[k].fill(got, threads);
      EXPECT_TRUE(still()) << what << ": " << cases[k].name << " changed the caller's environment";
      EXPECT_TRUE(got == want[k]) << what << ": " << cases[k].name << ", " << threads
                                  << " thread(s): bits differ from the default environment's";
    }
  }
  // Called from a oneTBB task whose context captured this environment: the
  // fill's own tasks (max_threads 0: the current arena) inherit it on every
  // worker that runs them, so each task must set the default for itself.
  tbb::task_group_context context;
  context.capture_fp_settings();
  for (size_t k = 0; k < cases.size(); ++k) {
    std::vector<uint8_t> got(kCount * 8, 0);
    tbb::parallel_for(
        0, 1, [&](int) { cases[k].fill(got, 0); }, context);
    EXPECT_TRUE(got == want[k]) << what << ": " << cases[k].name
                                << ", inside a oneTBB context that captured it: bits differ";
  }
  leave();
  alarm(0);
}

#if FANFILL_TEST_HAVE_MXCSR
TEST(FpEnvironment, FlushToZeroAndDenormalsAreZero) {
  const unsigned saved = _mm_getcsr();
  const unsigned ftz_daz = saved | 0x8040u;
  ExpectUnchangedUnder([&] { _mm_setcsr(ftz_daz); }, [&] { _mm_setcsr(saved); },
                       [&] { return (_mm_getcsr() & ~0x3Fu) == (ftz_daz & ~0x3Fu); }, "FTZ|DAZ");
}

TEST(FpEnvironment, FlushToZeroAlone) {
  const unsigned saved = _mm_getcsr();
  const unsigned ftz = saved | 0x8000u;
  ExpectUnchangedUnder([&] { _mm_setcsr(ftz); }, [&] { _mm_setcsr(saved); },
                       [&] { return (_mm_getcsr() & ~0x3Fu) == (ftz & ~0x3Fu); }, "FTZ");
}
#endif

class RoundingMode : public ::testing::TestWithParam<int> {};

TEST_P(RoundingMode, DoesNotReachTheFills) {
  const int mode = GetParam();
  ExpectUnchangedUnder([&] { ASSERT_EQ(std::fesetround(mode), 0); },
                       [&] { std::fesetround(FE_TONEAREST); },
                       [&] { return std::fegetround() == mode; },
                       "rounding mode " + std::to_string(mode));
}

INSTANTIATE_TEST_SUITE_P(FpEnvironment, RoundingMode,
                         ::testing::Values(FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO));

}  // namespace
}  // namespace fanfill_test
