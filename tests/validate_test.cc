// Tests of `fanfill validate`'s pieces: the quick experiments 1-3 asserted
// with margins, determinism across thread counts, the data sets and the
// digits loader, and the table/CSV/SVG writers.
#include "src/mlp/validate.h"

#include <gtest/gtest.h>
#include <tbb/global_control.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "src/mlp/data.h"
#include "src/mlp/experiments.h"
#include "src/mlp/report.h"

namespace fanfill::mlp {
namespace {

std::filesystem::path TempDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("fanfill_validate_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void WriteGz(const std::filesystem::path& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  gzclose(f);
}

std::string DigitsRow(int pixel, int label) {
  std::string row;
  for (int k = 0; k < 64; ++k) row += std::to_string(pixel) + ",";
  return row + std::to_string(label) + "\n";
}

// ------------------------------------------------------------------ experiment 1

TEST(ValidateSymmetry, ConstantInitsKeepUnitsIdenticalRandomOnesBreakIt) {
  SymmetryOptions o = SymmetryOptions::Quick();
  o.schemes = {"zeros", "constant(value=0.1)", "xavier_uniform", "torch_default"};
  const SymmetryResult r = RunSymmetry(o);
  ASSERT_EQ(r.runs.size(), 4u);
  for (int k = 0; k < 2; ++k) {
    SCOPED_TRACE(r.runs[k].scheme);
    // Bit for bit: every hidden unit got exactly the same updates.
    for (int d : r.runs[k].distinct_rows) EXPECT_EQ(d, 1);
    EXPECT_TRUE(r.runs[k].hidden_rows_identical);
    // A width-1 net (every hidden layer a monotone function of the previous
    // layer's single value) is a linear classifier: chance on the spirals.
    EXPECT_LT(r.runs[k].test_accuracy, 0.6);
  }
  // Zeros: tanh(0) = 0 makes every hidden weight gradient exactly 0.
  EXPECT_FALSE(r.runs[0].hidden_weights_changed);
  EXPECT_TRUE(r.runs[1].hidden_weights_changed);
  for (int k = 2; k < 4; ++k) {
    SCOPED_TRACE(r.runs[k].scheme);
    for (int d : r.runs[k].distinct_rows) EXPECT_EQ(d, o.hidden);
    EXPECT_GT(r.runs[k].test_accuracy, 0.9);
  }
}

// ------------------------------------------------------------------ experiment 2

TEST(ValidateSignal, StdRatiosAtDepth50AreInTheirBands) {
  const SignalResult r = RunSignal(SignalOptions::Quick());
  ASSERT_EQ(r.options.depth, 50);
  ASSERT_GE(r.options.width, 256);
  auto get = [&](const std::string& label) -> const SignalRun& {
    for (const SignalRun& run : r.runs) {
      if (run.config.label == label) return run;
    }
    throw std::logic_error("no run " + label);
  };
  // He + ReLU: ratio 1 predicted; [0.5, 2] (He et al. 2015). The ratios are
  // of stds pooled (rms) over 16 weight draws: one network's ratio is
  // lognormal with sd ~0.49 in ln at this depth and width; see ReportSignal.
  const SignalRun& he = get("He + relu");
  EXPECT_GE(he.forward_ratio, 0.5);
  EXPECT_LE(he.forward_ratio, 2.0);
  EXPECT_GE(he.backward_ratio, 0.5);
  EXPECT_LE(he.backward_ratio, 2.0);
  EXPECT_NEAR(he.predicted_forward_ratio, 1.0, 1e-6);
  // 1/n + ReLU: 2^(-49/2) predicted; measured within a factor 2 of it.
  const SignalRun& lecun = get("1/n + relu");
  EXPECT_NEAR(std::log2(lecun.predicted_forward_ratio), -24.5, 1e-6);
  EXPECT_NEAR(std::log2(lecun.predicted_backward_ratio), -24.5, 1e-6);
  EXPECT_NEAR(std::log2(lecun.forward_ratio), -24.5, 1.0);
  EXPECT_NEAR(std::log2(lecun.backward_ratio), -24.5, 1.0);
  // ReLU is positively homogeneous and 1/n is He scaled by 1/sqrt(2) on the
  // same streams, so the two nets differ by exactly that factor per layer
  // (up to float rounding of the weights and sums).
  EXPECT_NEAR(lecun.forward_ratio / he.forward_ratio, std::pow(2.0, -24.5),
              1e-3 * std::pow(2.0, -24.5));
  // N(0, 1): sqrt(256 / 2) = 11.3 per layer, overflows float; N(0, 0.01):
  // 0.0113 per layer, underflows.
  EXPECT_FALSE(get("N(0,1) + relu").forward_ratio <= 1e6);
  EXPECT_LT(get("N(0,0.01) + relu").forward_ratio, 1e-6);
  // Glorot + tanh: the mean field predicts ~0.16 forward and ~0.18 backward
  // at layer 50; measured within a factor 2 of that, and within 10x of 1.
  const SignalRun& glorot = get("Glorot + tanh");
  EXPECT_GT(glorot.forward_ratio, 0.1);
  EXPECT_LT(glorot.forward_ratio, 10);
  EXPECT_GT(glorot.forward_ratio, glorot.predicted_forward_ratio / 2);
  EXPECT_LT(glorot.forward_ratio, glorot.predicted_forward_ratio * 2);
  EXPECT_GT(glorot.backward_ratio, glorot.predicted_backward_ratio / 2);
  EXPECT_LT(glorot.backward_ratio, glorot.predicted_backward_ratio * 2);
  // The report agrees with what we just asserted.
  for (const Check& c : ReportSignal(r).checks) EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
}

// ------------------------------------------------------------------ experiment 3

TEST(ValidateDepth, HeTrainsA30LayerReluNetTheOneOverNInitStalls) {
  const DepthResult r = RunDepth(DepthOptions::Quick());
  ASSERT_EQ(r.runs.size(), 4u);
  const DepthRun& deep_he = r.runs[0];
  const DepthRun& deep_n = r.runs[1];
  ASSERT_EQ(deep_he.layers, 30);
  ASSERT_EQ(deep_n.label, "1/n");
  // Losses relative to the best constant predictor (the mean target). The
  // quick budget (30 epochs) brings He to 0.27-0.53 of it over seeds 3-6
  // while 1/n stays at 1.00 (its output is ~2^-15 of He's: only the last
  // bias learns); the margins below are the report's checks.
  const double base = r.baseline_loss;
  EXPECT_LT(deep_he.final_loss, 0.7 * base);
  EXPECT_GT(deep_n.final_loss, 0.9 * base);
  EXPECT_LT(deep_he.final_loss, 0.75 * deep_n.final_loss);
  // Shallow: both converge.
  EXPECT_LT(r.runs[2].final_loss, 0.5 * base);
  EXPECT_LT(r.runs[3].final_loss, 0.5 * base);
}

// ------------------------------------------------------------------ determinism

std::vector<float> TrainBits(int threads, std::vector<EpochRecord>* curve) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  // Big enough that oneTBB splits the GEMMs and elementwise passes.
  const Dataset data = MakeTwoSpirals(512, 1.5, 0.02, 7);
  Network net(2, {{256, Activation::kRelu}, {256, Activation::kTanh}, {2, Activation::kLinear}},
              Loss::kSoftmaxCrossEntropy);
  net.Initialize(Scheme::Parse("kaiming_uniform"), Scheme::Parse("torch_default_bias"), 7);
  *curve = Train(&net, data, nullptr,
                 {.epochs = 2,
                  .batch_size = 128,
                  .learning_rate = 0.05f,
                  .momentum = 0.9f,
                  .shuffle_seed = 7});
  std::vector<float> bits;
  for (int l = 0; l < net.num_layers(); ++l) {
    bits.insert(bits.end(), net.weight(l).data.begin(), net.weight(l).data.end());
    bits.insert(bits.end(), net.bias(l).begin(), net.bias(l).end());
  }
  return bits;
}

TEST(ValidateDeterminism, TrainingGivesTheSameBitsOnOneAndTwoThreads) {
  std::vector<EpochRecord> c1, c2;
  const std::vector<float> w1 = TrainBits(1, &c1);
  const std::vector<float> w2 = TrainBits(2, &c2);
  ASSERT_EQ(w1.size(), w2.size());
  EXPECT_EQ(std::memcmp(w1.data(), w2.data(), w1.size() * sizeof(float)), 0);
  ASSERT_EQ(c1.size(), c2.size());
  for (size_t i = 0; i < c1.size(); ++i) {
    EXPECT_EQ(c1[i].train_loss, c2[i].train_loss);
    EXPECT_EQ(c1[i].eval_loss, c2[i].eval_loss);
  }
}

// ------------------------------------------------------------------ data

TEST(ValidateData, SpiralsAreDeterministicBalancedAndBounded) {
  const Dataset a = MakeTwoSpirals(200, 1.5, 0.02, 3), b = MakeTwoSpirals(200, 1.5, 0.02, 3);
  EXPECT_EQ(a.x.data, b.x.data);
  EXPECT_NE(a.x.data, MakeTwoSpirals(200, 1.5, 0.02, 4).x.data);
  int ones = 0;
  for (int i = 0; i < 200; ++i) {
    ones += a.labels[i];
    EXPECT_EQ(a.targets.at(i, a.labels[i]), 1.0f);
    // radius <= 1 plus noise 0.02 (10 sigma: p < 1e-20 per coordinate).
    EXPECT_LE(std::hypot(a.x.at(i, 0), a.x.at(i, 1)), 1.0 + 10 * 0.02 * std::sqrt(2.0));
  }
  EXPECT_EQ(ones, 100);
  EXPECT_THROW(MakeTwoSpirals(3, 1, 0, 0), std::invalid_argument);
  EXPECT_THROW(MakeTwoSpirals(4, 0, 0, 0), std::invalid_argument);
}

TEST(ValidateData, PermutationAndSplit) {
  const std::vector<int> p = RandomPermutation(1000, 1, 2);
  std::vector<int> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(p, sorted);  // identity has probability 1/1000!
  const Dataset d = MakeTwoSpirals(100, 1, 0, 1);
  const auto [train, test] = SplitTrainTest(d, 0.25, 9);
  EXPECT_EQ(test.x.rows, 25);
  EXPECT_EQ(train.x.rows, 75);
  EXPECT_EQ(train.labels.size(), 75u);
  std::set<std::pair<float, float>> seen;
  for (const Dataset* part : {&train, &test}) {
    for (int r = 0; r < part->x.rows; ++r) seen.insert({part->x.at(r, 0), part->x.at(r, 1)});
  }
  EXPECT_EQ(seen.size(), 100u);  // disjoint and complete
  EXPECT_THROW(SplitTrainTest(d, 0.0, 1), std::invalid_argument);
  EXPECT_THROW(SplitTrainTest(d, 1.0, 1), std::invalid_argument);
}

TEST(ValidateDigits, LoadsTheRealFile) {
  if (!std::filesystem::exists(kDefaultDigitsPath)) {
    GTEST_SKIP() << kDefaultDigitsPath << " is missing (Debian package python3-sklearn)";
  }
  const Dataset d = LoadDigits(kDefaultDigitsPath);
  ASSERT_EQ(d.x.rows, 1797);
  ASSERT_EQ(d.x.cols, 64);
  ASSERT_EQ(d.targets.cols, 10);
  // First row of sklearn's file: 0,0,5,13,9,1,0,0,... label 0.
  EXPECT_EQ(d.labels[0], 0);
  EXPECT_EQ(d.x.at(0, 2), 5.0f / 16);
  EXPECT_EQ(d.x.at(0, 3), 13.0f / 16);
  std::vector<int> per_class(10, 0);
  for (int l : d.labels) ++per_class[l];
  for (int c = 0; c < 10; ++c) EXPECT_GE(per_class[c], 170) << c;  // 174..183 in load_digits
  for (float v : d.x.data) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
}

TEST(ValidateDigits, BadFilesGiveClearErrors) {
  const auto dir = TempDir("digits");
  auto message = [](const std::string& path) {
    try {
      LoadDigits(path);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message((dir / "missing.csv.gz").string()).find("cannot open"), std::string::npos);
  WriteGz(dir / "short_row.csv.gz", "1,2,3\n");
  EXPECT_NE(message((dir / "short_row.csv.gz").string()).find("line 1"), std::string::npos);
  WriteGz(dir / "pixel.csv.gz", DigitsRow(17, 3));
  EXPECT_NE(message((dir / "pixel.csv.gz").string()).find("outside 0..16"), std::string::npos);
  WriteGz(dir / "label.csv.gz", DigitsRow(1, 10));
  EXPECT_NE(message((dir / "label.csv.gz").string()).find("label 10"), std::string::npos);
  WriteGz(dir / "few.csv.gz", DigitsRow(1, 1) + DigitsRow(2, 2));
  EXPECT_NE(message((dir / "few.csv.gz").string()).find("has 2 rows"), std::string::npos);
  // A gzip stream cut in the middle.
  {
    std::string text;
    for (int i = 0; i < 1797; ++i) text += DigitsRow(i % 17, i % 10);
    WriteGz(dir / "full.csv.gz", text);
    EXPECT_EQ(LoadDigits((dir / "full.csv.gz").string()).x.rows, 1797);
    std::ifstream in(dir / "full.csv.gz", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "cut.csv.gz", std::ios::binary).write(bytes.data(), bytes.size() / 2);
    const std::string m = message((dir / "cut.csv.gz").string());
    EXPECT_TRUE(m.find("cannot read") != std::string::npos || m.find("rows") != std::string::npos ||
                m.find("line") != std::string::npos)
        << m;
  }
  // The digits experiment skips (and says why) instead of substituting data.
  DigitsOptions o = DigitsOptions::Quick();
  o.path = (dir / "missing.csv.gz").string();
  const DigitsResult r = RunDigits(o);
  EXPECT_TRUE(r.skipped);
  EXPECT_NE(r.skip_reason.find("missing.csv.gz"), std::string::npos);
  EXPECT_TRUE(r.runs.empty());
  EXPECT_NE(ReportDigits(r).table.title.find("SKIPPED"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------------ reports

TEST(ValidateReport, TableAndCsv) {
  Table t{"title", {"a", "b,c"}, {{"1", "x\"y"}, {"22", "plain"}}};
  EXPECT_EQ(ToCsv(t), "a,\"b,c\"\n1,\"x\"\"y\"\n22,plain\n");
  EXPECT_EQ(FormatTable(t), "title\na   b,c\n--  -----\n1   x\"y\n22  plain\n");
  t.rows.push_back({"only one"});
  EXPECT_THROW(ToCsv(t), std::invalid_argument);
  EXPECT_THROW(FormatTable(t), std::invalid_argument);
  EXPECT_EQ(FormatNumber(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatNumber(0.000123456, 3), "0.000123");
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(ValidateReport, SvgHasOnePolylinePerUnbrokenRunAndStaysSmall) {
  Plot p{"t <&>", "x", "y", true, {}};
  Series a{"a", {}, {}}, b{"b", {1, 2, 3, 4, 5}, {1, 10, 0, 1e3, 1e4}};
  for (int i = 0; i < 500; ++i) {
    a.x.push_back(i);
    a.y.push_back(std::exp(-0.05 * i));
  }
  p.series = {a, b};
  const std::string svg = RenderSvg(p);
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_NE(svg.find("t &lt;&amp;&gt;"), std::string::npos);  // escaped title
  // a: one line; b: y = 0 cannot go on a log axis, so two pieces.
  EXPECT_EQ(Count(svg, "<polyline"), 3u);
  EXPECT_NE(svg.find(">1e-10<"), std::string::npos);  // decade ticks cover e^-25 = 1.4e-11..
  EXPECT_NE(svg.find(">1e4<"), std::string::npos);
  EXPECT_LT(svg.size(), 40000u);
  EXPECT_EQ(Count(SeriesCsv(p), "\n"), 1u + 500 + 5);
  p.series[1].y.pop_back();
  EXPECT_THROW(RenderSvg(p), std::invalid_argument);
  // No finite data still gives a valid document.
  Plot empty{"e", "x", "y", false, {Series{"nan", {1}, {std::nan("")}}}};
  EXPECT_NE(RenderSvg(empty).find("no finite data"), std::string::npos);
}

// The checks can fail: fabricated results that contradict the literature.
TEST(ValidateRun, ChecksFailOnContradictingResults) {
  SymmetryResult sym{SymmetryOptions::Quick(), {}};
  SymmetryRun zeros;
  zeros.scheme = "zeros";
  zeros.distinct_rows = {3, 1};
  zeros.test_accuracy = 0.95;
  SymmetryRun he;
  he.scheme = "kaiming_normal";
  he.distinct_rows = {64, 1};
  he.test_accuracy = 0.55;
  sym.runs = {zeros, he};
  const ExperimentReport report = ReportSymmetry(sym);
  ASSERT_EQ(report.checks.size(), 4u);
  for (const Check& c : report.checks) EXPECT_FALSE(c.passed) << c.name;

  SignalResult sig{SignalOptions::Quick(), {}};
  SignalRun run;
  run.config = {"He + relu", "kaiming_normal(nonlinearity=relu)", Activation::kRelu};
  run.forward_ratio = 2.5;  // outside [0.5, 2]
  run.backward_ratio = 1.0;
  run.predicted_forward_ratio = run.predicted_backward_ratio = 1.0;
  run.forward_std.assign(50, 1.0);
  run.backward_std.assign(50, 1.0);
  sig.runs = {run};
  const ExperimentReport signal = ReportSignal(sig);
  ASSERT_EQ(signal.checks.size(), 1u);
  EXPECT_FALSE(signal.checks[0].passed);

  ValidationSummary summary;
  summary.checks = {{"a", true, ""}, {"b", false, ""}};
  EXPECT_FALSE(summary.ok());
  EXPECT_EQ(summary.exit_status(), 1);
  summary.checks.pop_back();
  EXPECT_EQ(summary.exit_status(), 0);
}

TEST(ValidateRun, RefusesAnUncreatableOutputDirectory) {
  const auto dir = TempDir("out");
  std::ofstream(dir / "file") << "x";
  ValidateOptions o;
  o.quick = true;
  o.out_dir = (dir / "file" / "sub").string();
  EXPECT_THROW(RunValidation(o), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fanfill::mlp
