// Fills 1000 floats from N(0, 1) with fanfill's C++ API and checks the sample
// statistics; then initializes a 64 x 32 kaiming_normal weight with a
// prepared plan, in two ranges, and checks it equals the one-piece Init.
// Exit status 0 when all is well, 1 otherwise.
#include <cmath>
#include <cstdio>
#include <span>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

int main() {
  std::vector<float> v(1000);
  fanfill::FillNormal(std::span<float>(v), /*mean=*/0.0, /*stddev=*/1.0,
                      {.seed = 42, .stream = 7});

  double sum = 0.0;
  for (float x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  double sq = 0.0;
  for (float x : v) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / static_cast<double>(v.size() - 1));

  std::printf("fanfill %s (%s): n=%zu mean=%.4f std=%.4f\n", fanfill::Version(),
              fanfill::ActiveTarget().c_str(), v.size(), mean, sd);
  // For n = 1000 the standard errors are ~0.032 (mean) and ~0.022 (std).
  if (!std::isfinite(mean) || !std::isfinite(sd) || std::fabs(mean) > 0.2 || sd < 0.85 ||
      sd > 1.15) {
    std::fprintf(stderr, "absurd statistics\n");
    return 1;
  }

  const fanfill::PreparedInit plan({64, 32}, fanfill::Layout::kOI,
                                   fanfill::Scheme::Parse("kaiming_normal"), fanfill::DType::kF32,
                                   {.seed = 42, .stream = fanfill::StreamId("fc.weight")});
  std::vector<float> whole(plan.count()), pieces(plan.count());
  plan.Run(whole.data());
  plan.RunRange(pieces.data(), 0, 1000);
  plan.RunRange(pieces.data() + 1000, 1000, plan.count() - 1000);
  if (whole != pieces) {
    std::fprintf(stderr, "ranges differ from the whole tensor\n");
    return 1;
  }
  std::printf("kaiming_normal 64x32: std %.4f (expected %.4f)\n", plan.description().std,
              std::sqrt(2.0 / 32));
  return 0;
}
