// fixed_work: a fixed amount of single-threaded work through the public API,
// for instruction counts under callgrind (bench/insn_compare.sh): unlike the
// timings of a shared machine, the counts repeat exactly, so an old and a new
// build of the library compare to the instruction. Valgrind has no AVX-512:
// under it the fills dispatch to AVX2 (or lower).
//
// Usage: fixed_work init_small|init_model|normal_f32|uniform_f32|uniform_bf16|
//                   trunc_f32|normal_f64|normal_f8e4m3|uniform_f8e4m3|init_block|
//                   bits_scalar|orthogonal
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>
#include "fanfill/blocks.hpp"
#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
using namespace fanfill;
int main(int argc, char** argv) {
  const std::string w = argc > 1 ? argv[1] : "";
  const StreamKey key{42, 7};
  std::vector<float> f(1 << 20);
  std::vector<uint16_t> h(1 << 20);
  std::vector<double> d(1 << 20);
  if (w == "init_small") {
    const Scheme s = Scheme::Parse("kaiming_normal");
    const std::vector<int64_t> shape = {10, 100};
    for (int i = 0; i < 10000; ++i) Init(f.data(), DType::kF32, shape, Layout::kOI, s, key, {1});
  } else if (w == "init_model") {
    ModelSpec m;
    for (int i = 0; i < 10000; ++i) {
      TensorSpec t;
      t.name = "l" + std::to_string(i / 10) + (i % 10 == 9 ? ".bias" : ".w" + std::to_string(i % 10));
      if (i % 10 == 9) { t.shape = {1000}; t.scheme = "torch_default_bias"; t.fans_from = "l" + std::to_string(i / 10) + ".w0"; }
      else { t.shape = {10, 100}; t.scheme = "kaiming_uniform"; }
      m.tensors.push_back(t);
    }
    std::vector<float> st(10000 * 1000);
    std::vector<void*> outs(10000);
    for (int i = 0; i < 10000; ++i) outs[i] = st.data() + size_t(i) * 1000;
    InitModel(m, outs, 42, {1});
  } else if (w == "normal_f32") {
    for (int i = 0; i < 4; ++i) Fill(f.data(), DType::kF32, f.size(), Distribution::Normal(0, 1), key, {0, 1});
  } else if (w == "uniform_f32") {
    for (int i = 0; i < 4; ++i) Fill(f.data(), DType::kF32, f.size(), Distribution::Uniform(-1, 1), key, {0, 1});
  } else if (w == "uniform_bf16") {
    for (int i = 0; i < 4; ++i) Fill(h.data(), DType::kBF16, h.size(), Distribution::Uniform(-1, 1), key, {0, 1});
  } else if (w == "normal_f8e4m3" || w == "uniform_f8e4m3") {
    std::vector<uint8_t> b(1 << 20);
    const Distribution dist = w[0] == 'n' ? Distribution::Normal(0, 1) : Distribution::Uniform(-1, 1);
    for (int i = 0; i < 4; ++i) Fill(b.data(), DType::kF8E4M3, b.size(), dist, key, {0, 1});
  } else if (w == "trunc_f32") {
    for (int i = 0; i < 4; ++i) Fill(f.data(), DType::kF32, f.size(), Distribution::TruncatedNormal(0, 1, -2, 2), key, {0, 1});
  } else if (w == "normal_f64") {
    for (int i = 0; i < 2; ++i) Fill(d.data(), DType::kF64, d.size(), Distribution::Normal(0, 1), key, {0, 1});
  } else if (w == "bits_scalar") {
    ForceTarget("SCALAR");
    std::vector<uint32_t> u(1 << 20);
    for (int i = 0; i < 4; ++i) FillBits(u.data(), u.size(), key, {0, 1});
  } else if (w == "orthogonal") {
    const std::vector<int64_t> shape = {256, 256};
    Init(f.data(), DType::kF32, shape, Layout::kOI, Scheme::Parse("orthogonal"), key, {1});
  } else if (w == "init_block") {
    const std::vector<int64_t> shape = {2048, 4096};
    const Block b = ColumnShard(shape, 1, 2);
    std::vector<float> out(BlockElementCount(b));
    for (int i = 0; i < 2; ++i) InitBlock(out.data(), DType::kF32, shape, Layout::kOI, b, Scheme::Parse("xavier_uniform"), key, {1});
  } else {
    std::fprintf(stderr, "unknown workload\n");
    return 2;
  }
  return 0;
}
