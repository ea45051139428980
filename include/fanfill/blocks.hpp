// fanfill/blocks.hpp: fill one block (shard) of a logical global tensor.
//
// A block is an N-dimensional box of a row-major global tensor: per dimension
// an offset and an extent, 0 <= offset, offset + extent <= global_shape[d].
// The block is written densely, row-major in its own extents. FillBlock
// writes, bit for bit, the same values as the matching slice of the whole
// tensor filled in one piece (Fill with the global element count), for every
// dtype, thread count and SIMD target: element (i_0, ..., i_{r-1}) of the
// block is element sum_d (offset_d + i_d) * stride_d of the global stream.
// (The scheme layer's InitBlock and PreparedInit::RunBlock, in schemes.hpp,
// do the same for initialization schemes.)
//
// Example (tensor parallelism: rank k of n holds a row shard of a weight):
//   const std::vector<int64_t> shape = {8192, 4096};  // [out, in]
//   const fanfill::Block b = fanfill::RowShard(shape, k, n);
//   std::vector<float> w(fanfill::BlockElementCount(b));
//   fanfill::FillBlock(std::span<float>(w), shape, b,
//                      fanfill::Distribution::Normal(0.0, 0.02), {.seed = 42, .stream = 7});
//
// Implementation: the block is a set of contiguous runs of the global stream
// (the innermost dimension, merged with the trailing dimensions that the
// block covers fully); each run is one Fill with first_index = its global
// linear index. Many short runs are spread over oneTBB threads (each run
// serial); few long runs are filled one after another, each Fill parallel.
//
// Errors: std::invalid_argument (rank mismatch between shape and block,
// negative dimension, offset or extent, block outside the shape, element
// count or byte size overflow, null out with a non-empty block, bad
// distribution); nothing is written then.
//
// Thread safety: as Fill; calls on disjoint outputs may run concurrently.
#ifndef FANFILL_BLOCKS_HPP_
#define FANFILL_BLOCKS_HPP_

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "fanfill/fanfill.hpp"

namespace fanfill {

// A box of a global tensor: offset.size() == extent.size() == rank.
struct Block {
  std::vector<int64_t> offset;
  std::vector<int64_t> extent;
};

// prod(extent) (1 for rank 0). Throws on negative extents and on overflow.
uint64_t BlockElementCount(const Block& block);

struct BlockOptions {
  // As FillOptions::max_threads: 0 = current oneTBB arena, 1 = serial on the
  // calling thread, n > 1 = at most n threads.
  int max_threads = 0;
};

// Writes the block of the global tensor filled with `dist` on `key` to out
// (BlockElementCount(block) elements of dtype, row-major in block.extent).
void FillBlock(void* out, DType dtype, std::span<const int64_t> global_shape, const Block& block,
               const Distribution& dist, StreamKey key, const BlockOptions& options = {});

// Typed form; throws unless out.size() == BlockElementCount(block).
template <class T>
void FillBlock(std::span<T> out, std::span<const int64_t> global_shape, const Block& block,
               const Distribution& dist, StreamKey key, const BlockOptions& options = {}) {
  static_assert(kIsFillable<T>, "fanfill fills float, double, BFloat16, Float16, Float8E4M3 or Float8E5M2");
  if (BlockElementCount(block) != out.size()) {
    throw std::invalid_argument("FillBlock: out has " + std::to_string(out.size()) +
                                " elements but the block has " +
                                std::to_string(BlockElementCount(block)));
  }
  FillBlock(out.data(), kDTypeOf<T>, global_shape, block, dist, key, options);
}

// ------------------------------------------------------------------ shards
//
// Even splits of one dimension of size s into n shards: shard k gets
// s / n elements, plus one more if k < s % n (the first s % n shards are one
// longer), at offset k * (s / n) + min(k, s % n). Shards may be empty when
// s < n. The n shards of any split cover the tensor exactly once.
// Throw std::invalid_argument unless 0 <= k < n, dim < rank and dims >= 0.

// Shard k of n along dimension `dim` (full extent on every other dimension).
Block Shard(std::span<const int64_t> global_shape, int dim, int64_t k, int64_t n);
// 2-D weight [rows, cols]: rows split (Megatron's column-parallel linear, in
// the PyTorch [out, in] layout) / columns split (row-parallel linear).
Block RowShard(std::span<const int64_t> global_shape, int64_t k, int64_t n);
Block ColumnShard(std::span<const int64_t> global_shape, int64_t k, int64_t n);
// Convolution weight in layout oi ([out, in, *spatial], rank >= 1): output
// channels (dimension 0) split; each shard keeps whole filters. (For layout
// io the output channels are the last dimension: Shard(shape, rank - 1, k, n).)
Block OutChannelShard(std::span<const int64_t> global_shape, int64_t k, int64_t n);

}  // namespace fanfill

#endif  // FANFILL_BLOCKS_HPP_
