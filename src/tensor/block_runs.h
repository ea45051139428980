// The runs of a block: an N-d box of a row-major global tensor as contiguous
// runs of its stream (the innermost dimension merged with the trailing
// dimensions the block covers fully). Used by FillBlock (blocks.cc) and by
// PreparedInit::RunBlock (src/schemes). Internal: not installed.
#ifndef FANFILL_SRC_TENSOR_BLOCK_RUNS_H_
#define FANFILL_SRC_TENSOR_BLOCK_RUNS_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fanfill/blocks.hpp"
#include "fanfill/fanfill.hpp"
#include "src/core/fill_params.h"

namespace fanfill::internal {

// The runs of a validated block: `runs` runs of `run_length` elements; run k
// starts at global index Start(k) and at out element k * run_length.
struct RunPlan {
  std::vector<uint64_t> outer_extent;  // block extents of the dims before the run
  std::vector<uint64_t> outer_offset;
  std::vector<uint64_t> outer_stride;  // global strides of those dims
  uint64_t base = 0;                   // global index of the run's own offset
  uint64_t runs = 0;
  uint64_t run_length = 0;
  uint64_t count = 0;

  // Global index of run k's first element.
  uint64_t Start(uint64_t k) const {
    uint64_t index = base;
    for (size_t j = outer_extent.size(); j-- > 0;) {
      const uint64_t i = k % outer_extent[j];
      k /= outer_extent[j];
      index += (outer_offset[j] + i) * outer_stride[j];
    }
    return index;
  }
};

// Validates the block against the global shape (ranks, ranges, element count
// and byte size for dtype; dtype valid) and plans its runs. Messages start
// with `context` ("FillBlock: "). Throws std::invalid_argument.
RunPlan PlanRuns(const std::string& context, std::span<const int64_t> shape, const Block& block,
                 DType dtype);

// Fills the runs of a planned block with params on stream key: many short
// runs spread over oneTBB threads (each run serial), few long runs one after
// another (each Run parallel). Arguments valid.
void RunFills(void* out, const RunPlan& plan, const FillParams& params, StreamKey key,
              int max_threads);

// prod(dims) (1 for rank 0); throws "<what> [..] has a negative dimension" /
// "... has more than 2^64 elements".
uint64_t CheckedProduct(std::span<const int64_t> dims, const char* what);

}  // namespace fanfill::internal

#endif  // FANFILL_SRC_TENSOR_BLOCK_RUNS_H_
