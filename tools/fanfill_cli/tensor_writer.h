// Writes initialized tensors into an OutputFile, in parallel, without a
// second full-size copy in memory.
//
// Pointwise plans (PreparedInit::is_pointwise: distribution schemes and
// constants): each oneTBB task fills one chunk of at most kChunkBytes with
// PreparedInit::RunRange and pwrites it at its offset (the pwrites one at a
// time, see OutputFile::WriteAt). By fanfill's reproducibility contract this
// is bit for bit the tensor InitModel / Init would make. Memory: one chunk
// buffer per thread. The other plans (orthogonal, sparse, eye, dirac) are
// made whole in memory by PreparedInit::Run, then written.
#ifndef FANFILL_TOOLS_CLI_TENSOR_WRITER_H_
#define FANFILL_TOOLS_CLI_TENSOR_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "fanfill/schemes.hpp"
#include "tools/fanfill_cli/output_file.h"

namespace fanfill::cli {

inline constexpr size_t kChunkBytes = size_t{16} << 20;

inline constexpr uint64_t kWholeTensor = ~uint64_t{0};

struct TensorJob {
  const PreparedInit* plan = nullptr;  // from PrepareModel: shape, dtype, key, scheme
  uint64_t offset = 0;                 // of the tensor's first byte in the file
  // Elements [first, first + count) of the plan's tensor (pointwise plans
  // only, unless the whole tensor): a slice written as a tensor of its own
  // (`fanfill hf`: Mixtral's experts are slices of one fused parameter).
  uint64_t first = 0;
  uint64_t count = kWholeTensor;  // kWholeTensor: plan->count() - first
  // Elements [zero_first, zero_first + zero_count) of the written slice are
  // stored as zero bytes (+0.0) after the fill (an embedding's padding row).
  uint64_t zero_first = 0, zero_count = 0;

  uint64_t Count() const { return count == kWholeTensor ? plan->count() - first : count; }
  uint64_t Bytes() const { return Count() * DTypeSize(plan->dtype()); }
};

enum class ProgressStyle { kNone, kTerminal, kLines };

struct WriteOptions {
  int max_threads = 0;  // as InitOptions::max_threads (0: the current oneTBB arena)
  // kTerminal redraws one line with '\r' ten times a second; kLines prints a
  // line a second (for logs). Both show bytes done, rate and ETA on stderr.
  ProgressStyle progress = ProgressStyle::kNone;
};

void WriteTensors(const OutputFile& file, std::span<const TensorJob> jobs,
                  const WriteOptions& options);

}  // namespace fanfill::cli

#endif  // FANFILL_TOOLS_CLI_TENSOR_WRITER_H_
