// Fills 1000 floats from N(0, 1) with fanfill's C++ API and checks the sample
// statistics. Exit status 0 when they are plausible, 1 otherwise.
#include <cmath>
#include <cstdio>
#include <span>
#include <vector>

#include "fanfill/fanfill.hpp"

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
  return 0;
}
