// fanfill._core: the nanobind extension behind `import fanfill`.
//
// Every call into the C++ library lives in this file, behind the small helper
// functions below (RunFill, RunFillBlock, RunInit, RunInitRange, RunInitBlock; the
// inits run a fanfill::PreparedInit). The Python layer (python/fanfill/_api.py,
// _buffers.py) checks the buffer (CPU, C-contiguous, writable,
// dtype, element count) and passes its address; these functions take that
// address as an integer. The GIL is released while filling. std::invalid_argument
// from the library becomes ValueError (nanobind's translation), with the message.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanfill/blocks.hpp"
#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

void* Ptr(uintptr_t address) { return reinterpret_cast<void*>(address); }

fanfill::Distribution MakeDistribution(int kind, double mean, double std, double low,
                                       double high) {
  switch (kind) {
    case 0:
      return fanfill::Distribution::Uniform(low, high);
    case 1:
      return fanfill::Distribution::Normal(mean, std);
    case 2:
      return fanfill::Distribution::TruncatedNormal(mean, std, low, high);
    default:
      throw std::invalid_argument("unknown distribution kind " + std::to_string(kind));
  }
}

fanfill::Block MakeBlock(const std::vector<int64_t>& offset, const std::vector<int64_t>& extent) {
  return fanfill::Block{offset, extent};
}

// ---- the helpers (the only places that call the library's fill entry points)

void RunFill(uintptr_t out, const std::string& dtype, uint64_t count, int kind, double mean,
             double std, double low, double high, double scale, uint64_t seed, uint64_t stream,
             uint64_t first_index, int threads) {
  const fanfill::DType dt = fanfill::ParseDType(dtype);
  const fanfill::Distribution dist = MakeDistribution(kind, mean, std, low, high).WithScale(scale);
  nb::gil_scoped_release release;
  fanfill::Fill(Ptr(out), dt, count, dist, {seed, stream},
                {.first_index = first_index, .max_threads = threads});
}

void RunFillBits(uintptr_t out, uint64_t count, uint64_t seed, uint64_t stream,
                 uint64_t first_index, int threads) {
  nb::gil_scoped_release release;
  fanfill::FillBits(static_cast<uint32_t*>(Ptr(out)), count, {seed, stream},
                    {.first_index = first_index, .max_threads = threads});
}

void RunFillBlock(uintptr_t out, const std::string& dtype, const std::vector<int64_t>& global_shape,
                  const std::vector<int64_t>& offset, const std::vector<int64_t>& extent, int kind,
                  double mean, double std, double low, double high, double scale, uint64_t seed,
                  uint64_t stream, int threads) {
  const fanfill::DType dt = fanfill::ParseDType(dtype);
  const fanfill::Distribution dist = MakeDistribution(kind, mean, std, low, high).WithScale(scale);
  const fanfill::Block block = MakeBlock(offset, extent);
  nb::gil_scoped_release release;
  fanfill::FillBlock(Ptr(out), dt, global_shape, block, dist, {seed, stream},
                     {.max_threads = threads});
}

// One validated plan per call (fanfill::PreparedInit): the whole tensor, an element
// range or a block of it, each bit for bit the matching part of Init.
fanfill::PreparedInit Plan(const std::string& dtype, const std::vector<int64_t>& shape,
                           const std::string& layout, const std::string& scheme, double scale,
                           uint64_t seed, uint64_t stream) {
  return fanfill::PreparedInit(shape, fanfill::ParseLayout(layout), fanfill::Scheme::Parse(scheme),
                               fanfill::ParseDType(dtype), {seed, stream}, scale);
}

void RunInit(uintptr_t out, const std::string& dtype, const std::vector<int64_t>& shape,
             const std::string& layout, const std::string& scheme, double scale, uint64_t seed,
             uint64_t stream, int threads) {
  const fanfill::PreparedInit plan = Plan(dtype, shape, layout, scheme, scale, seed, stream);
  nb::gil_scoped_release release;
  plan.Run(Ptr(out), {.max_threads = threads});
}

// A distribution scheme: describe() reports its one fill under "distribution".
bool IsDistribution(fanfill::Description::Kind kind) {
  using K = fanfill::Description::Kind;
  return kind == K::kUniform || kind == K::kNormal || kind == K::kTruncatedNormal;
}

// Element i depends on i alone, so init_ writes any range or block of the tensor: as
// fanfill::PreparedInit::is_pointwise, the distributions and the constants.
bool IsPointwise(fanfill::Description::Kind kind) {
  return IsDistribution(kind) || kind == fanfill::Description::Kind::kConstant;
}

// Elements [first_index, first_index + count) of the tensor (pointwise schemes).
void RunInitRange(uintptr_t out, const std::string& dtype, const std::vector<int64_t>& shape,
                  const std::string& layout, const std::string& scheme, double scale,
                  uint64_t seed, uint64_t stream, uint64_t first_index, uint64_t count,
                  int threads) {
  const fanfill::PreparedInit plan = Plan(dtype, shape, layout, scheme, scale, seed, stream);
  nb::gil_scoped_release release;
  plan.RunRange(Ptr(out), first_index, count, {.max_threads = threads});
}

// A block of the global tensor (pointwise schemes), fans from the global shape.
void RunInitBlock(uintptr_t out, const std::string& dtype, const std::vector<int64_t>& global_shape,
                  const std::string& layout, const std::vector<int64_t>& offset,
                  const std::vector<int64_t>& extent, const std::string& scheme, double scale,
                  uint64_t seed, uint64_t stream, int threads) {
  const fanfill::PreparedInit plan = Plan(dtype, global_shape, layout, scheme, scale, seed, stream);
  const fanfill::Block block = MakeBlock(offset, extent);
  nb::gil_scoped_release release;
  plan.RunBlock(Ptr(out), block, {.max_threads = threads});
}

const char* KindName(fanfill::Description::Kind kind) {
  using K = fanfill::Description::Kind;
  switch (kind) {
    case K::kUniform: return "uniform";
    case K::kNormal: return "normal";
    case K::kTruncatedNormal: return "truncated_normal";
    case K::kConstant: return "constant";
    case K::kOrthogonal: return "orthogonal";
    case K::kSparse: return "sparse";
    case K::kEye: return "eye";
    case K::kDirac: return "dirac";
  }
  return "unknown";
}

const char* DistKindName(fanfill::Distribution::Kind kind) {
  using K = fanfill::Distribution::Kind;
  switch (kind) {
    case K::kUniform: return "uniform";
    case K::kNormal: return "normal";
    case K::kTruncatedNormal: return "truncated_normal";
  }
  return "unknown";
}

nb::dict RunDescribe(const std::vector<int64_t>& shape, const std::string& layout,
                     const std::string& scheme) {
  const fanfill::Description d =
      fanfill::Describe(shape, fanfill::ParseLayout(layout), fanfill::Scheme::Parse(scheme));
  nb::dict r;
  r["scheme"] = d.scheme;
  r["kind"] = KindName(d.kind);
  r["pointwise"] = IsPointwise(d.kind);
  r["count"] = d.count;
  r["fan_in"] = d.fan_in;
  r["fan_out"] = d.fan_out;
  r["fan"] = d.fan;
  r["gain"] = d.gain;
  nb::dict dist;
  if (IsDistribution(d.kind) || d.kind == fanfill::Description::Kind::kSparse ||
      d.kind == fanfill::Description::Kind::kOrthogonal) {
    dist["kind"] = DistKindName(d.distribution.kind);
    dist["mean"] = d.distribution.mean;
    dist["std"] = d.distribution.stddev;
    dist["low"] = d.distribution.low;
    dist["high"] = d.distribution.high;
    r["distribution"] = dist;
  } else {
    r["distribution"] = nb::none();
  }
  r["mean"] = d.mean;
  r["std"] = d.std;
  r["low"] = d.low;
  r["high"] = d.high;
  r["sparsity"] = d.sparsity;
  return r;
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "fanfill's C++ core (use the `fanfill` package, not this module)";
  m.def("fill", &RunFill, "out"_a, "dtype"_a, "count"_a, "kind"_a, "mean"_a, "std"_a, "low"_a,
        "high"_a, "scale"_a, "seed"_a, "stream"_a, "first_index"_a, "threads"_a);
  m.def("fill_bits", &RunFillBits, "out"_a, "count"_a, "seed"_a, "stream"_a, "first_index"_a,
        "threads"_a);
  m.def("fill_block", &RunFillBlock, "out"_a, "dtype"_a, "global_shape"_a, "offset"_a, "extent"_a,
        "kind"_a, "mean"_a, "std"_a, "low"_a, "high"_a, "scale"_a, "seed"_a, "stream"_a,
        "threads"_a);
  m.def("init", &RunInit, "out"_a, "dtype"_a, "shape"_a, "layout"_a, "scheme"_a, "scale"_a,
        "seed"_a, "stream"_a, "threads"_a);
  m.def("init_range", &RunInitRange, "out"_a, "dtype"_a, "shape"_a, "layout"_a, "scheme"_a,
        "scale"_a, "seed"_a, "stream"_a, "first_index"_a, "count"_a, "threads"_a);
  m.def("init_block", &RunInitBlock, "out"_a, "dtype"_a, "global_shape"_a, "layout"_a, "offset"_a,
        "extent"_a, "scheme"_a, "scale"_a, "seed"_a, "stream"_a, "threads"_a);
  m.def("describe", &RunDescribe, "shape"_a, "layout"_a, "scheme"_a);
  m.def("canonical_scheme", [](const std::string& s) { return fanfill::Scheme::Parse(s).ToString(); });
  m.def("stream_id", [](const std::string& name) { return fanfill::StreamId(name); }, "name"_a);
  m.def("gain", [](const std::string& nl, std::optional<double> p) { return fanfill::Gain(nl, p); },
        "nonlinearity"_a, "param"_a = nb::none());
  m.def("version", [] { return std::string(fanfill::Version()); });
  m.def("active_target", [] { return fanfill::ActiveTarget(); });
  m.def("supported_targets", [] { return fanfill::SupportedTargets(); });
}
