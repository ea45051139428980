// The C API: a thin layer over the C++ API that turns exceptions into status
// codes and a thread-local message.
#include "fanfill/fanfill.h"

#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "fanfill/fanfill.hpp"
#include "fanfill/philox.h"
#include "src/capi/c_api_internal.h"

namespace fanfill::capi {

std::string& LastError() {
  thread_local std::string message;
  return message;
}

int& MaxThreads() {
  thread_local int max_threads = 0;
  return max_threads;
}

DType ToDType(fanfill_dtype dtype) {
  switch (dtype) {
    case FANFILL_F32:
      return DType::kF32;
    case FANFILL_F64:
      return DType::kF64;
    case FANFILL_BF16:
      return DType::kBF16;
    case FANFILL_F16:
      return DType::kF16;
    case FANFILL_F8E4M3:
      return DType::kF8E4M3;
    case FANFILL_F8E5M2:
      return DType::kF8E5M2;
    default:  // the reserved range markers and any other value
      break;
  }
  throw std::invalid_argument("unknown dtype " + std::to_string(static_cast<int>(dtype)) +
                              " (expected FANFILL_F32, FANFILL_F64, FANFILL_BF16, FANFILL_F16, "
                              "FANFILL_F8E4M3 or FANFILL_F8E5M2)");
}

}  // namespace fanfill::capi

namespace {

using fanfill::capi::Guard;
using fanfill::capi::ToDType;

int FillC(void* out, fanfill_dtype dtype, uint64_t count, uint64_t first_index,
          const fanfill::Distribution& dist, uint64_t seed, uint64_t stream) {
  return Guard([&] {
    fanfill::Fill(out, ToDType(dtype), count, dist, {seed, stream},
                  {first_index, fanfill::capi::MaxThreads()});
  });
}

}  // namespace

extern "C" {

int fanfill_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  return Guard([&] {
    if (ctr == nullptr || key == nullptr || out == nullptr) {
      throw std::invalid_argument("fanfill_philox4x32_10: ctr, key and out must not be null");
    }
    const fanfill::PhiloxBlock r =
        fanfill::Philox4x32_10({ctr[0], ctr[1], ctr[2], ctr[3]}, {key[0], key[1]});
    for (int i = 0; i < 4; ++i) out[i] = r[i];
  });
}

int fanfill_fill_bits(uint32_t* out, uint64_t count, uint64_t first_index, uint64_t seed,
                      uint64_t stream) {
  return Guard([&] {
    fanfill::FillBits(out, count, {seed, stream}, {first_index, fanfill::capi::MaxThreads()});
  });
}

int fanfill_fill_uniform(void* out, fanfill_dtype dtype, uint64_t count, uint64_t first_index,
                         double low, double high, uint64_t seed, uint64_t stream) {
  return FillC(out, dtype, count, first_index, fanfill::Distribution::Uniform(low, high), seed,
               stream);
}

int fanfill_fill_normal(void* out, fanfill_dtype dtype, uint64_t count, uint64_t first_index,
                        double mean, double stddev, uint64_t seed, uint64_t stream) {
  return FillC(out, dtype, count, first_index, fanfill::Distribution::Normal(mean, stddev), seed,
               stream);
}

int fanfill_fill_truncated_normal(void* out, fanfill_dtype dtype, uint64_t count,
                                  uint64_t first_index, double mean, double stddev, double low,
                                  double high, uint64_t seed, uint64_t stream) {
  return FillC(out, dtype, count, first_index,
               fanfill::Distribution::TruncatedNormal(mean, stddev, low, high), seed, stream);
}

int fanfill_fill_uniform_scaled(void* out, fanfill_dtype dtype, uint64_t count,
                                uint64_t first_index, double low, double high, double scale,
                                uint64_t seed, uint64_t stream) {
  return FillC(out, dtype, count, first_index,
               fanfill::Distribution::Uniform(low, high).WithScale(scale), seed, stream);
}

int fanfill_fill_normal_scaled(void* out, fanfill_dtype dtype, uint64_t count,
                               uint64_t first_index, double mean, double stddev, double scale,
                               uint64_t seed, uint64_t stream) {
  return FillC(out, dtype, count, first_index,
               fanfill::Distribution::Normal(mean, stddev).WithScale(scale), seed, stream);
}

int fanfill_fill_truncated_normal_scaled(void* out, fanfill_dtype dtype, uint64_t count,
                                         uint64_t first_index, double mean, double stddev,
                                         double low, double high, double scale, uint64_t seed,
                                         uint64_t stream) {
  return FillC(out, dtype, count, first_index,
               fanfill::Distribution::TruncatedNormal(mean, stddev, low, high).WithScale(scale),
               seed, stream);
}

int fanfill_set_max_threads(int max_threads) {
  return Guard([&] {
    if (max_threads < 0) {
      throw std::invalid_argument("fanfill_set_max_threads: max_threads must be >= 0, got " +
                                  std::to_string(max_threads));
    }
    fanfill::capi::MaxThreads() = max_threads;
  });
}

const char* fanfill_last_error(void) { return fanfill::capi::LastError().c_str(); }

const char* fanfill_version(void) { return fanfill::Version(); }

const char* fanfill_target(void) {
  thread_local std::string target;
  target = fanfill::ActiveTarget();
  return target.c_str();
}

}  // extern "C"
