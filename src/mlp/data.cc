#include "src/mlp/data.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numbers>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

namespace fanfill::mlp {
namespace {

// Mixed into the caller's seed for the teacher network, so a student network
// initialized with the same seed never shares its teacher's weights.
constexpr uint64_t kTeacherSeedSalt = 0x7465616368657221ull;  // "teacher!"

std::vector<float> Normals(size_t count, uint64_t seed, std::string_view stream) {
  std::vector<float> v(count);
  FillNormal(std::span<float>(v), 0.0, 1.0, {seed, StreamId(stream)});
  return v;
}

Dataset Rows(const Dataset& data, const std::vector<int>& rows) {
  Dataset out;
  out.x = Matrix(static_cast<int>(rows.size()), data.x.cols);
  out.targets = Matrix(static_cast<int>(rows.size()), data.targets.cols);
  for (size_t i = 0; i < rows.size(); ++i) {
    const int r = rows[i];
    std::copy(data.x.row(r), data.x.row(r) + data.x.cols, out.x.row(static_cast<int>(i)));
    std::copy(data.targets.row(r), data.targets.row(r) + data.targets.cols,
              out.targets.row(static_cast<int>(i)));
    if (!data.labels.empty()) out.labels.push_back(data.labels[r]);
  }
  return out;
}

}  // namespace

std::vector<int> RandomPermutation(int n, uint64_t seed, uint64_t stream) {
  if (n < 0) throw std::invalid_argument("RandomPermutation: n < 0");
  std::vector<int> perm(n);
  for (int i = 0; i < n; ++i) perm[i] = i;
  if (n < 2) return perm;
  std::vector<uint32_t> words(2 * static_cast<size_t>(n));
  FillBits(words.data(), words.size(), {seed, stream});
  for (int i = n - 1; i > 0; --i) {
    const uint64_t x = (uint64_t{words[2 * i + 1]} << 32) | words[2 * i];
    const int j = static_cast<int>((static_cast<unsigned __int128>(x) * (i + 1)) >> 64);
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

Dataset MakeTwoSpirals(int n, double turns, double noise, uint64_t seed) {
  if (n < 2 || n % 2 != 0) {
    throw std::invalid_argument("MakeTwoSpirals: n must be even and >= 2, got " +
                                std::to_string(n));
  }
  if (!(turns > 0) || !(noise >= 0)) {
    throw std::invalid_argument("MakeTwoSpirals: need turns > 0 and noise >= 0");
  }
  std::vector<float> t(n);
  FillUniform(std::span<float>(t), 0.0, 1.0, {seed, StreamId("data.spirals.t")});
  const std::vector<float> eps = Normals(2 * static_cast<size_t>(n), seed, "data.spirals.noise");
  Dataset d;
  d.x = Matrix(n, 2);
  d.targets = Matrix(n, 2);
  d.labels.resize(n);
  for (int i = 0; i < n; ++i) {
    const int c = i % 2;
    const double r = 0.1 + 0.9 * t[i];
    const double angle = 2.0 * std::numbers::pi * turns * t[i] + c * std::numbers::pi;
    d.x.at(i, 0) = static_cast<float>(r * std::cos(angle) + noise * eps[2 * i]);
    d.x.at(i, 1) = static_cast<float>(r * std::sin(angle) + noise * eps[2 * i + 1]);
    d.targets.at(i, c) = 1.0f;
    d.labels[i] = c;
  }
  return d;
}

Dataset MakeTeacherRegression(int n, int input_dim, int hidden, int output_dim, uint64_t seed) {
  if (n < 1 || input_dim < 1 || hidden < 1 || output_dim < 1) {
    throw std::invalid_argument("MakeTeacherRegression: every size must be >= 1");
  }
  Network teacher(input_dim, {{hidden, Activation::kTanh}, {output_dim, Activation::kLinear}},
                  Loss::kMeanSquaredError);
  teacher.Initialize(Scheme::Parse("xavier_normal"), Scheme::Parse("zeros"),
                     seed ^ kTeacherSeedSalt);
  Dataset d;
  d.x = Matrix(n, input_dim);
  FillNormal(std::span<float>(d.x.data), 0.0, 1.0, {seed, StreamId("data.teacher.x")});
  d.targets = teacher.Forward(d.x);
  return d;
}

Dataset MakeLinearRegression(int n, int dim, uint64_t seed) {
  if (n < 1 || dim < 1) throw std::invalid_argument("MakeLinearRegression: sizes must be >= 1");
  Dataset d;
  d.x = Matrix(n, dim);
  FillNormal(std::span<float>(d.x.data), 0.0, 1.0, {seed, StreamId("data.linear.x")});
  Matrix m(dim, dim);  // y = M x, i.e. Y = X M^T
  FillNormal(std::span<float>(m.data), 0.0, 1.0 / std::sqrt(static_cast<double>(dim)),
             {seed, StreamId("data.linear.m")});
  d.targets = Matrix(n, dim);
  Gemm(false, true, 1.0f, d.x, m, 0.0f, &d.targets);
  return d;
}

Dataset LoadDigits(const std::string& path) {
  constexpr int kRows = 1797, kPixels = 64, kClasses = 10;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw std::runtime_error("digits: cannot open '" + path + "' (" + std::strerror(errno) +
                             "); install python3-sklearn or pass --digits PATH");
  }
  std::string text;
  char buffer[1 << 16];
  int got = 0;
  while ((got = gzread(file, buffer, sizeof buffer)) > 0) text.append(buffer, got);
  int errnum = Z_OK;
  const char* zmsg = gzerror(file, &errnum);
  const std::string zerror = (got < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR))
                                 ? std::string(zmsg ? zmsg : "read error")
                                 : std::string();
  gzclose(file);
  if (!zerror.empty()) {
    throw std::runtime_error("digits: cannot read '" + path + "': " + zerror);
  }
  Dataset d;
  d.x = Matrix(kRows, kPixels);
  d.targets = Matrix(kRows, kClasses);
  d.labels.reserve(kRows);
  size_t pos = 0;
  int row = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = "digits: '" + path + "' line " + std::to_string(row + 1) + ": ";
    if (row == kRows) throw std::runtime_error(where + "more than 1797 rows");
    const char* p = line.data();
    const char* const stop = line.data() + line.size();
    for (int k = 0; k <= kPixels; ++k) {
      int v = -1;
      const auto [next, ec] = std::from_chars(p, stop, v);
      if (ec != std::errc() || (k < kPixels && (next == stop || *next != ',')) ||
          (k == kPixels && next != stop)) {
        throw std::runtime_error(where +
                                 "expected 65 comma-separated integers (64 pixels, "
                                 "then the label)");
      }
      if (k < kPixels) {
        if (v < 0 || v > 16) {
          throw std::runtime_error(where + "pixel " + std::to_string(k) + " = " +
                                   std::to_string(v) + " is outside 0..16");
        }
        d.x.at(row, k) = static_cast<float>(v) / 16.0f;
        p = next + 1;
      } else {
        if (v < 0 || v >= kClasses) {
          throw std::runtime_error(where + "label " + std::to_string(v) + " is outside 0..9");
        }
        d.targets.at(row, v) = 1.0f;
        d.labels.push_back(v);
      }
    }
    ++row;
  }
  if (row != kRows) {
    throw std::runtime_error("digits: '" + path + "' has " + std::to_string(row) +
                             " rows, expected 1797 (truncated or not the digits file?)");
  }
  return d;
}

std::pair<Dataset, Dataset> SplitTrainTest(const Dataset& data, double test_fraction,
                                           uint64_t seed) {
  const int n = data.x.rows;
  if (!(test_fraction > 0 && test_fraction < 1)) {
    throw std::invalid_argument("SplitTrainTest: test_fraction must be in (0, 1)");
  }
  const int n_test = static_cast<int>(std::lround(test_fraction * n));
  if (n_test < 1 || n_test >= n) {
    throw std::invalid_argument("SplitTrainTest: " + std::to_string(n) +
                                " rows cannot give two non-empty parts");
  }
  const std::vector<int> perm = RandomPermutation(n, seed, StreamId("data.split"));
  std::vector<char> is_test(n, 0);
  for (int i = 0; i < n_test; ++i) is_test[perm[i]] = 1;
  std::vector<int> train_rows, test_rows;
  for (int r = 0; r < n; ++r) (is_test[r] ? test_rows : train_rows).push_back(r);
  return {Rows(data, train_rows), Rows(data, test_rows)};
}

}  // namespace fanfill::mlp
