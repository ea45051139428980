// The C API of the initialization schemes (fanfill/schemes.h): a thin layer
// over fanfill/schemes.hpp with the same error rules as c_api.cc.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "fanfill/schemes.h"
#include "fanfill/schemes.hpp"
#include "src/capi/c_api_internal.h"

namespace {

using fanfill::capi::Guard;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using Kind = fanfill::Description::Kind;
static_assert(FANFILL_SCHEME_UNIFORM == static_cast<int>(Kind::kUniform) &&
                  FANFILL_SCHEME_NORMAL == static_cast<int>(Kind::kNormal) &&
                  FANFILL_SCHEME_TRUNCATED_NORMAL == static_cast<int>(Kind::kTruncatedNormal) &&
                  FANFILL_SCHEME_CONSTANT == static_cast<int>(Kind::kConstant) &&
                  FANFILL_SCHEME_ORTHOGONAL == static_cast<int>(Kind::kOrthogonal) &&
                  FANFILL_SCHEME_SPARSE == static_cast<int>(Kind::kSparse) &&
                  FANFILL_SCHEME_EYE == static_cast<int>(Kind::kEye) &&
                  FANFILL_SCHEME_DIRAC == static_cast<int>(Kind::kDirac),
              "fanfill_scheme_kind mirrors fanfill::Description::Kind");

std::span<const int64_t> Shape(const int64_t* shape, int rank, const char* function) {
  if (rank < 0) {
    throw std::invalid_argument(std::string(function) + ": rank must be >= 0, got " +
                                std::to_string(rank));
  }
  if (shape == nullptr && rank > 0) {
    throw std::invalid_argument(std::string(function) + ": shape is null but rank is " +
                                std::to_string(rank));
  }
  return {shape, static_cast<size_t>(rank)};
}

fanfill::Layout Layout(const char* layout, const char* function) {
  if (layout == nullptr) throw std::invalid_argument(std::string(function) + ": layout is null");
  return fanfill::ParseLayout(layout);
}

fanfill::Scheme Scheme(const char* spec, const char* function) {
  if (spec == nullptr) throw std::invalid_argument(std::string(function) + ": scheme_spec is null");
  return fanfill::Scheme::Parse(spec);
}

}  // namespace

extern "C" {

int fanfill_init_scaled(void* out, fanfill_dtype dtype, const int64_t* shape, int rank,
                        const char* layout, const char* scheme_spec, double scale, uint64_t seed,
                        uint64_t stream) {
  return Guard([&] {
    const fanfill::PreparedInit plan(Shape(shape, rank, "fanfill_init"),
                                     Layout(layout, "fanfill_init"),
                                     Scheme(scheme_spec, "fanfill_init"),
                                     fanfill::capi::ToDType(dtype), {.seed = seed, .stream = stream},
                                     scale);
    plan.Run(out, {.max_threads = fanfill::capi::MaxThreads()});
  });
}

int fanfill_init(void* out, fanfill_dtype dtype, const int64_t* shape, int rank, const char* layout,
                 const char* scheme_spec, uint64_t seed, uint64_t stream) {
  return fanfill_init_scaled(out, dtype, shape, rank, layout, scheme_spec, 1.0, seed, stream);
}

int fanfill_describe(const int64_t* shape, int rank, const char* layout, const char* scheme_spec,
                     fanfill_description* out) {
  return Guard([&] {
    if (out == nullptr) throw std::invalid_argument("fanfill_describe: out is null");
    const fanfill::Description d = fanfill::Describe(Shape(shape, rank, "fanfill_describe"),
                                                     Layout(layout, "fanfill_describe"),
                                                     Scheme(scheme_spec, "fanfill_describe"));
    fanfill_description r;
    r.kind = static_cast<fanfill_scheme_kind>(d.kind);
    r.count = d.count;
    r.fan_in = d.fan_in;
    r.fan_out = d.fan_out;
    r.fan = d.fan;
    r.gain = d.gain;
    r.mean = d.mean;
    r.std = d.std;
    r.low = d.low;
    r.high = d.high;
    const bool has_distribution = d.kind == Kind::kUniform || d.kind == Kind::kNormal ||
                                  d.kind == Kind::kTruncatedNormal || d.kind == Kind::kSparse ||
                                  d.kind == Kind::kOrthogonal;
    const bool uniform = d.distribution.kind == fanfill::Distribution::Kind::kUniform;
    const bool normal = d.distribution.kind == fanfill::Distribution::Kind::kNormal;
    r.param_mean = has_distribution && !uniform ? d.distribution.mean : kNaN;
    r.param_std = has_distribution && !uniform ? d.distribution.stddev : kNaN;
    r.param_low = has_distribution && !normal ? d.distribution.low : kNaN;
    r.param_high = has_distribution && !normal ? d.distribution.high : kNaN;
    r.sparsity = d.sparsity;
    *out = r;
  });
}

int fanfill_stream_id(const char* name, uint64_t* stream_id) {
  return Guard([&] {
    if (name == nullptr) throw std::invalid_argument("fanfill_stream_id: name is null");
    if (stream_id == nullptr) throw std::invalid_argument("fanfill_stream_id: stream_id is null");
    *stream_id = fanfill::StreamId(name);
  });
}

}  // extern "C"
