// Block fills: a block of a global tensor as contiguous runs of the stream.
#include "fanfill/blocks.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/core/common.h"
#include "src/core/dtype.h"
#include "src/core/fill_params.h"
#include "src/tensor/block_runs.h"

namespace fanfill {
namespace internal {
namespace {

// Runs at least this long are filled one by one, each Run parallel.
constexpr uint64_t kLongRun = uint64_t{1} << 15;

}  // namespace

uint64_t CheckedProduct(std::span<const int64_t> dims, const char* what) {
  for (const int64_t d : dims) {
    if (d < 0) {
      throw std::invalid_argument(std::string(what) + " " + FormatShape(dims) +
                                  " has a negative dimension");
    }
  }
  const std::optional<uint64_t> p = Product(dims);
  if (!p) {
    throw std::invalid_argument(std::string(what) + " " + FormatShape(dims) +
                                " has more than 2^64 elements");
  }
  return *p;
}

RunPlan PlanRuns(const std::string& context, std::span<const int64_t> shape, const Block& block,
                 DType dtype) {
  const size_t rank = shape.size();
  if (block.offset.size() != rank || block.extent.size() != rank) {
    throw std::invalid_argument(context + "rank mismatch: global shape " + FormatShape(shape) +
                                " has rank " + std::to_string(rank) + " but the block has " +
                                std::to_string(block.offset.size()) + " offsets and " +
                                std::to_string(block.extent.size()) + " extents");
  }
  CheckedProduct(shape, (context + "global shape").c_str());
  RunPlan plan;
  plan.count = CheckedProduct(block.extent, (context + "block extent").c_str());
  for (size_t d = 0; d < rank; ++d) {
    const int64_t o = block.offset[d], e = block.extent[d];
    if (o < 0 || o > shape[d] || e > shape[d] - o) {
      throw std::invalid_argument(context + "block out of range in dimension " +
                                  std::to_string(d) + ": offset " + std::to_string(o) +
                                  " + extent " + std::to_string(e) + " exceeds " +
                                  std::to_string(shape[d]) + " (global shape " +
                                  FormatShape(shape) + ")");
    }
  }
  if (plan.count > std::numeric_limits<size_t>::max() / SizeOf(dtype)) {
    throw std::invalid_argument(context + "the block does not fit in memory");
  }
  if (plan.count == 0) return plan;
  if (rank == 0) {
    plan.runs = 1;
    plan.run_length = 1;
    return plan;
  }
  std::vector<uint64_t> stride(rank);
  uint64_t s = 1;
  for (size_t d = rank; d-- > 0;) {
    stride[d] = s;
    s *= static_cast<uint64_t>(shape[d]);  // no overflow: the global product fits
  }
  // The run: the innermost dimension plus every dimension before it whose
  // inner neighbours are covered fully (those dims have offset 0).
  size_t m = rank - 1;
  while (m > 0 && block.extent[m] == shape[m]) --m;
  plan.run_length = 1;
  for (size_t d = m; d < rank; ++d) plan.run_length *= static_cast<uint64_t>(block.extent[d]);
  plan.base = static_cast<uint64_t>(block.offset[m]) * stride[m];
  plan.runs = 1;
  for (size_t d = 0; d < m; ++d) {
    plan.outer_extent.push_back(static_cast<uint64_t>(block.extent[d]));
    plan.outer_offset.push_back(static_cast<uint64_t>(block.offset[d]));
    plan.outer_stride.push_back(stride[d]);
    plan.runs *= static_cast<uint64_t>(block.extent[d]);
  }
  return plan;
}


// The distribution's parameters are validated and computed once for all runs.
void RunFills(void* out, const RunPlan& plan, const FillParams& params, StreamKey key,
              int max_threads) {
  const size_t elem = ElementBytes(params);
  auto* bytes = static_cast<unsigned char*>(out);
  auto fill_run = [&](uint64_t k, int threads) {
    Run(params, key, bytes + k * plan.run_length * elem, plan.Start(k), plan.run_length, threads);
  };
  if (plan.runs == 1 || plan.run_length >= kLongRun || max_threads == 1) {
    for (uint64_t k = 0; k < plan.runs; ++k) fill_run(k, max_threads);
    return;
  }
  // Many short runs: each serial, spread over threads; chunks of >= ~16K elements.
  const uint64_t grain = std::max<uint64_t>(1, (uint64_t{1} << 14) / plan.run_length);
  auto body = [&] {
    tbb::parallel_for(tbb::blocked_range<uint64_t>(0, plan.runs, grain),
                      [&](const tbb::blocked_range<uint64_t>& r) {
                        for (uint64_t k = r.begin(); k != r.end(); ++k) fill_run(k, 1);
                      });
  };
  if (max_threads > 1) {
    tbb::task_arena arena(ArenaConcurrency(max_threads));
    arena.execute(body);
  } else {
    body();
  }
}

}  // namespace internal

uint64_t BlockElementCount(const Block& block) {
  return internal::CheckedProduct(block.extent, "BlockElementCount: block extent");
}

void FillBlock(void* out, DType dtype, std::span<const int64_t> global_shape, const Block& block,
               const Distribution& dist, StreamKey key, const BlockOptions& options) {
  internal::CheckDType(dtype);
  const internal::RunPlan plan = internal::PlanRuns("FillBlock: ", global_shape, block, dtype);
  internal::CheckMaxThreads(options.max_threads, "FillBlock");
  if (out == nullptr && plan.count > 0) throw std::invalid_argument("FillBlock: out is null");
  // Validates the distribution for this dtype before anything is written.
  const internal::FillParams params = internal::MakeFillParams(dtype, dist);
  if (plan.count == 0) return;
  internal::RunFills(out, plan, params, key, options.max_threads);
}

Block Shard(std::span<const int64_t> global_shape, int dim, int64_t k, int64_t n) {
  const std::string context = "Shard: ";
  if (dim < 0 || static_cast<size_t>(dim) >= global_shape.size()) {
    throw std::invalid_argument(context + "dimension " + std::to_string(dim) +
                                " is out of range for shape " + internal::FormatShape(global_shape));
  }
  if (n <= 0 || k < 0 || k >= n) {
    throw std::invalid_argument(context + "shard " + std::to_string(k) + " of " +
                                std::to_string(n) + " (need 0 <= k < n)");
  }
  internal::CheckedProduct(global_shape, "Shard: shape");
  Block b;
  b.offset.assign(global_shape.size(), 0);
  b.extent.assign(global_shape.begin(), global_shape.end());
  const int64_t s = global_shape[static_cast<size_t>(dim)];
  const int64_t q = s / n, r = s % n;
  b.offset[static_cast<size_t>(dim)] = k * q + std::min(k, r);
  b.extent[static_cast<size_t>(dim)] = q + (k < r ? 1 : 0);
  return b;
}

Block RowShard(std::span<const int64_t> global_shape, int64_t k, int64_t n) {
  if (global_shape.size() != 2) {
    throw std::invalid_argument("RowShard: needs a 2-D shape, got " + internal::FormatShape(global_shape));
  }
  return Shard(global_shape, 0, k, n);
}

Block ColumnShard(std::span<const int64_t> global_shape, int64_t k, int64_t n) {
  if (global_shape.size() != 2) {
    throw std::invalid_argument("ColumnShard: needs a 2-D shape, got " +
                                internal::FormatShape(global_shape));
  }
  return Shard(global_shape, 1, k, n);
}

Block OutChannelShard(std::span<const int64_t> global_shape, int64_t k, int64_t n) {
  if (global_shape.empty()) {
    throw std::invalid_argument("OutChannelShard: needs a shape of rank >= 1");
  }
  return Shard(global_shape, 0, k, n);
}

}  // namespace fanfill
