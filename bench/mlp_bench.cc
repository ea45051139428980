// fanfill_mlp_bench: the MLP core's GEMM throughput (src/mlp).
//
// Benchmarks (f32, wall-clock time, threads = 1 and all of oneTBB's default
// concurrency, set with tbb::global_control):
//   BM_TrainStep/threads:<t>   one SGD training step of a network with two
//       1024-wide dense layers (1024 -> 1024 relu -> 1024 linear, MSE) on a
//       batch of 256: Forward, Backward, Sgd::Step. Counted flops: 2 m n k per
//       GEMM, m = 256, n = k = 1024: forward 2 GEMMs (one per layer), backward
//       3 (dW of both layers and dX of the second; the first layer's input
//       gradient is never needed) -> 10 * 256 * 1024^2 = 2.68 GFLOP per step,
//       i.e. the 6 * 256 * 1024^2 per layer for the hidden layer plus
//       4 * 256 * 1024^2 for the first. Left out (not counted, but timed): bias
//       adds, activations, loss, bias gradients, the packing copies and the
//       SGD update (about 1% of the counted flops).
//   BM_Gemm/threads:<t>/shape:<0|1|2> the bare Gemm of the three shapes of a layer step:
//       0 fwd  C[256,1024] = X[256,1024] W[1024,1024]^T   (transpose_b)
//       1 dW   C[1024,1024] = dZ[256,1024]^T X[256,1024]  (transpose_a)
//       2 dX   C[256,1024] = dZ[256,1024] W[1024,1024]    (no transpose)
//
// Counters: GFLOPs (counted flops / s), peak_GFLOPs = threads * 32 * GHz, with
// 32 flop/cycle/core = 2 FMA pipes x 8 f32 lanes (AVX2, the widest target
// this VM exposes) x 2 flops per FMA, and GHz the first "cpu MHz" of
// /proc/cpuinfo read at run time (the nominal clock; boost may exceed it);
// pct_peak = 100 GFLOPs / peak_GFLOPs (shown with a "/s" suffix: Google
// Benchmark prints every rate counter so). core_GFLOPs = counted flops per
// second of process CPU time (all threads), core_pct_peak = 100 core_GFLOPs /
// (32 * GHz): the per-core efficiency, which a loaded machine (other jobs
// sharing the cores) does not distort the way it distorts wall-clock rates.
//
// Usage: fanfill_mlp_bench --benchmark_min_time=0.5 --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>
#include <tbb/info.h>

#include <time.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "src/mlp/mlp.h"

namespace {

using fanfill::mlp::Activation;
using fanfill::mlp::Matrix;

constexpr int kBatch = 256;
constexpr int kWidth = 1024;
constexpr double kFlopsPerCycle = 32.0;  // 2 FMA pipes x 8 lanes x 2 flops

// The first "cpu MHz" line of /proc/cpuinfo, in GHz (0 if unreadable).
double CpuGhz() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return std::stod(line.substr(colon + 1)) / 1000.0;
    }
  }
  return 0.0;
}

Matrix RandomMatrix(int rows, int cols, uint64_t stream) {
  Matrix m(rows, cols);
  fanfill::FillNormal(std::span<float>(m.data), 0.0, 1.0, {.seed = 3, .stream = stream});
  return m;
}

// CPU time of the whole process (all threads), seconds.
double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void SetCounters(benchmark::State& state, double flops_per_iteration, int threads,
                 double cpu_seconds) {
  const double ghz = CpuGhz();
  const double peak = threads * kFlopsPerCycle * ghz;
  state.counters["GFLOPs"] = benchmark::Counter(flops_per_iteration * 1e-9 *
                                                    static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.counters["peak_GFLOPs"] = peak;
  state.counters["cpu_GHz"] = ghz;
  // A rate counter is divided by the elapsed time: this one reads 100 * GFLOPs / peak.
  state.counters["pct_peak"] = benchmark::Counter(
      peak > 0 ? 100.0 * flops_per_iteration * 1e-9 * static_cast<double>(state.iterations()) / peak
               : 0.0,
      benchmark::Counter::kIsRate);
  // On a shared machine the wall-clock rate also measures the neighbours:
  // flops per second of CPU time the process got (all its threads, oneTBB's
  // spinning included) is the rate of one core while it runs our code.
  const double counted = flops_per_iteration * static_cast<double>(state.iterations());
  state.counters["core_GFLOPs"] = cpu_seconds > 0 ? counted * 1e-9 / cpu_seconds : 0.0;
  state.counters["core_pct_peak"] =
      cpu_seconds > 0 && ghz > 0 ? 100.0 * counted * 1e-9 / cpu_seconds / (kFlopsPerCycle * ghz)
                                 : 0.0;
  state.SetLabel("peak = threads x 32 flop/cycle x GHz");
}

int ThreadsArg(const benchmark::State& state) { return static_cast<int>(state.range(0)); }

void BM_TrainStep(benchmark::State& state) {
  const int threads = ThreadsArg(state);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  fanfill::mlp::Network net(kWidth, {{kWidth, Activation::kRelu}, {kWidth, Activation::kLinear}},
                            fanfill::mlp::Loss::kMeanSquaredError);
  net.Initialize(fanfill::Scheme::Parse("kaiming_normal(nonlinearity=relu)"),
                 fanfill::Scheme::Parse("zeros"), 1);
  const Matrix x = RandomMatrix(kBatch, kWidth, 1);
  const Matrix t = RandomMatrix(kBatch, kWidth, 2);
  // lr = 0: the parameters stay put, so every step does the same work.
  fanfill::mlp::Sgd sgd(net, 0.0f, 0.9f);
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    net.Forward(x);
    benchmark::DoNotOptimize(net.Backward(t));
    sgd.Step(&net);
    benchmark::ClobberMemory();
  }
  SetCounters(state, 10.0 * kBatch * kWidth * double{kWidth}, threads, ProcessCpuSeconds() - cpu0);
}

void BM_Gemm(benchmark::State& state) {
  const int threads = ThreadsArg(state);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  const int shape = static_cast<int>(state.range(1));  // 0 fwd, 1 dW, 2 dX
  const Matrix act = RandomMatrix(kBatch, kWidth, 3);     // X or dZ
  const Matrix other = RandomMatrix(kBatch, kWidth, 4);   // X for dW
  const Matrix w = RandomMatrix(kWidth, kWidth, 5);
  Matrix c;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    if (shape == 0) fanfill::mlp::Gemm(false, true, 1.0f, act, w, 0.0f, &c);
    if (shape == 1) fanfill::mlp::Gemm(true, false, 1.0f, act, other, 0.0f, &c);
    if (shape == 2) fanfill::mlp::Gemm(false, false, 1.0f, act, w, 0.0f, &c);
    benchmark::DoNotOptimize(c.data.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, 2.0 * kBatch * kWidth * double{kWidth}, threads, ProcessCpuSeconds() - cpu0);
  state.SetLabel(std::string(shape == 0 ? "fwd" : shape == 1 ? "dW" : "dX") +
                 "; peak = threads x 32 flop/cycle x GHz");
}

}  // namespace

int main(int argc, char** argv) {
  // Threads: 1 and all (oneTBB's default concurrency), if that is more.
  std::vector<int64_t> threads = {1};
  if (tbb::info::default_concurrency() > 1) threads.push_back(tbb::info::default_concurrency());
  benchmark::RegisterBenchmark("BM_TrainStep", BM_TrainStep)
      ->ArgName("threads")
      ->ArgsProduct({threads})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Gemm", BM_Gemm)
      ->ArgNames({"threads", "shape"})
      ->ArgsProduct({threads, {0, 1, 2}})
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
