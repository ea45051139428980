// fanfill_mpi_init: initialize a model spec across MPI ranks, each rank filling
// only its shard of every tensor (fanfill::InitBlock), into ONE .safetensors
// file written with MPI-IO. The file is, byte for byte, the one
//   fanfill model spec.json --seed S --out m.safetensors
// writes for the same spec and seed, for any number of ranks and threads.
//
//   mpirun -np 4 fanfill_mpi_init spec.json --seed 42 --out model.safetensors
//
// Options: --threads N (oneTBB threads per rank; default all), --force
// (replace an existing output), --plan (print each tensor's placement on rank
// 0), --row-parallel PATTERNS (see the rule below), --chunk-kib N (the most
// each rank fills and writes per collective call, default 65536 = 64 MiB).
//
// PLACEMENT RULE (Megatron-LM's tensor parallelism, in the PyTorch [out, in]
// layout "oi"; for layout "io" the output dimension is the last one and the
// input dimension the one before it). Every rank computes the same plan from
// the spec alone.
//   * Row-parallel (the input dimension split: Megatron's RowParallelLinear,
//     attention output and second MLP projection): tensors of rank >= 2 whose
//     name matches one of the comma-separated fnmatch(3) patterns of
//     --row-parallel, default kDefaultRowParallel below.
//   * Column-parallel (the output dimension split: ColumnParallelLinear, the
//     QKV and first MLP projection, the vocabulary-parallel embedding, and a
//     convolution's output channels, whole filters per rank): every other
//     tensor of rank >= 2.
//   * A 1-D "X.bias" whose "X.weight" is column-parallel is split the same
//     way (Megatron shards those biases); every other 1-D tensor (row-parallel
//     biases, layer norms) is replicated in Megatron, so here ONE owner rank
//     makes it whole.
//   * Tensors that cannot be computed blockwise (orthogonal, sparse, eye,
//     dirac; see fanfill/blocks.hpp) and rank-0 tensors are made whole by one
//     owner rank with fanfill::Init.
//   Owners are chosen greedily, in spec order, as the rank with the fewest
//   owned bytes so far (lowest rank on ties). Shards are fanfill::Shard's even
//   splits: uneven sizes differ by one, and ranks beyond the dimension's size
//   hold an empty shard.
//
// FILE. Every rank computes the same header with the fanfill command's own
// code (tools/fanfill_cli/formats.h: ModelLayout, the header and tensor
// order that `fanfill model` uses: widest dtype first, stable). Rank 0 writes
// the header. For each tensor every rank sets a file view (its block is one
// contiguous range or an MPI subarray of the tensor) and writes its block with
// MPI_File_write_at_all, in chunks of at most --chunk-kib; ranks with fewer
// chunks join the remaining collective calls with zero elements. The file is
// written as "<out>.tmp-mpi", synced (MPI_File_sync) and closed, and renamed
// to <out> by rank 0 after every rank has closed it; after an error (MPI_Abort) the temporary file may remain.
// MPI-IO needs the output directory on a file system every rank sees
// (docs/cluster.md); rank 0 alone reads the spec and broadcasts it.
//
// HUGGING FACE MODE (--hf CONFIG.json --out DIR [--dtype D] [--max-shard-size
// SIZE]): the checkpoint directory of `fanfill hf` (tools/fanfill_cli/hf_model.h:
// the same tensor list, shard split, headers, index and config.json), byte
// for byte, for any number of ranks. Each shard file is cut into 16 MiB chunks
// of its tensors (PreparedInit::RunRange, as the fanfill command's chunk
// writer); rank r fills and writes (MPI_File_write_at) the r-th contiguous
// share of them; rank 0 writes the header. Each file is written as
// DIR/.<file>.tmp-mpi, synced, closed and renamed by rank 0 after every rank
// closed it; rank 0 writes the index and config.json last. A non-empty DIR is
// refused without --force. (--plan, --row-parallel and --chunk-kib do not apply.)
//
// Errors: a bad argument, spec or output path is found identically on every
// rank; rank 0 prints "fanfill_mpi_init: error: <message>" and calls
// MPI_Abort(MPI_COMM_WORLD, 2). A failure on one rank (I/O, memory) is
// printed by that rank with its number, then MPI_Abort(MPI_COMM_WORLD, 1).
#include <fnmatch.h>
#include <mpi.h>
#include <sys/stat.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/blocks.hpp"
#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "tools/fanfill_cli/hf_model.h"
#include "tools/fanfill_cli/formats.h"

namespace {

constexpr const char* kProg = "fanfill_mpi_init";
constexpr const char* kDefaultRowParallel =
    "*.proj.weight,*.o_proj.weight,*.out_proj.weight,*.c_proj.weight,*.fc2.weight,"
    "*.down_proj.weight,*.dense_4h_to_h.weight,*.attention.dense.weight";

constexpr const char* kUsage =
    "usage: fanfill_mpi_init SPEC.json --seed S --out FILE.safetensors [--threads N] [--force]\n"
    "                        [--plan] [--row-parallel PATTERNS] [--chunk-kib N]\n"
    "       fanfill_mpi_init --hf CONFIG.json --seed S --out DIR [--dtype bf16|f16|f32]\n"
    "                        [--max-shard-size SIZE] [--threads N] [--force]\n";

// An error every rank finds identically (arguments, spec, plan).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string spec_path, out_path;
  bool hf = false;  // spec_path is a Hugging Face config.json, out_path a directory
  std::string dtype, max_shard_size = fanfill::hf::kDefaultMaxShardSize;
  std::optional<uint64_t> seed;
  int threads = 0;
  bool force = false, plan = false;
  std::vector<std::string> row_parallel;
  uint64_t chunk_bytes = uint64_t{64} << 20;
};

std::vector<std::string> SplitCommas(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

template <class T>
T ParseNumber(std::string_view text, const char* option, T min, T max) {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    throw UsageError(std::string(option) + ": '" + std::string(text) + "' is not an integer in [" +
                     std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

Args ParseArgs(int argc, char** argv) {
  Args a;
  a.row_parallel = SplitCommas(kDefaultRowParallel);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) throw UsageError(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--seed") {
      a.seed = ParseNumber<uint64_t>(value(), "--seed", 0, UINT64_MAX);
    } else if (arg == "--out") {
      a.out_path = value();
    } else if (arg == "--threads") {
      a.threads = ParseNumber<int>(value(), "--threads", 0, 1 << 16);
    } else if (arg == "--chunk-kib") {
      a.chunk_bytes = ParseNumber<uint64_t>(value(), "--chunk-kib", 1, uint64_t{1} << 30) << 10;
    } else if (arg == "--row-parallel") {
      a.row_parallel = SplitCommas(value());
    } else if (arg == "--hf") {
      a.hf = true;
      a.spec_path = value();
    } else if (arg == "--dtype") {
      a.dtype = value();
    } else if (arg == "--max-shard-size") {
      a.max_shard_size = value();
    } else if (arg == "--force") {
      a.force = true;
    } else if (arg == "--plan") {
      a.plan = true;
    } else if (arg.starts_with("-")) {
      throw UsageError("unknown option '" + std::string(arg) + "'");
    } else if (a.spec_path.empty()) {
      a.spec_path = arg;
    } else {
      throw UsageError("unexpected argument '" + std::string(arg) + "' (one spec file only)");
    }
  }
  if (a.spec_path.empty()) throw UsageError("the model spec (JSON) is required");
  if (!a.seed) throw UsageError("--seed is required");
  if (a.out_path.empty()) throw UsageError("--out is required");
  if (a.hf) return a;
  if (!a.dtype.empty()) throw UsageError("--dtype needs --hf");
  if (fanfill::cli::FormatOfPath(a.out_path) != fanfill::cli::Format::kSafetensors) {
    throw UsageError("--out: '" + a.out_path + "' does not end in .safetensors");
  }
  return a;
}

bool MatchesAny(const std::string& name, const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

enum class Split { kColumnParallel, kRowParallel, kOwner };

const char* SplitName(Split s) {
  switch (s) {
    case Split::kColumnParallel:
      return "column-parallel";
    case Split::kRowParallel:
      return "row-parallel";
    case Split::kOwner:
      return "whole";
  }
  return "?";
}

struct Placement {
  Split split = Split::kOwner;
  int dim = -1;    // the split dimension (parallel splits)
  int owner = -1;  // kOwner
};

std::vector<Placement> Plan(const fanfill::ModelSpec& model,
                            const std::vector<fanfill::PreparedInit>& inits,
                            const std::vector<std::string>& row_parallel, int ranks) {
  const size_t n = inits.size();
  std::vector<Placement> plan(n);
  for (size_t i = 0; i < n; ++i) {
    const fanfill::TensorSpec& t = model.tensors[i];
    const int r = static_cast<int>(t.shape.size());
    if (!inits[i].is_pointwise() || r < 2) continue;
    const bool oi = t.layout == fanfill::Layout::kOI;
    if (MatchesAny(t.name, row_parallel)) {
      plan[i] = {Split::kRowParallel, oi ? 1 : r - 2, -1};
    } else {
      plan[i] = {Split::kColumnParallel, oi ? 0 : r - 1, -1};
    }
  }
  // Biases of column-parallel weights follow them.
  for (size_t i = 0; i < n; ++i) {
    const fanfill::TensorSpec& t = model.tensors[i];
    if (t.shape.size() != 1 || !inits[i].is_pointwise()) continue;
    if (!t.name.ends_with(".bias")) continue;
    const std::string weight = t.name.substr(0, t.name.size() - 5) + ".weight";
    for (size_t j = 0; j < n; ++j) {
      if (model.tensors[j].name == weight && plan[j].split == Split::kColumnParallel) {
        plan[i] = {Split::kColumnParallel, 0, -1};
      }
    }
  }
  std::vector<uint64_t> owned(static_cast<size_t>(ranks), 0);
  for (size_t i = 0; i < n; ++i) {
    if (plan[i].split != Split::kOwner) continue;
    const auto it = std::min_element(owned.begin(), owned.end());
    plan[i].owner = static_cast<int>(it - owned.begin());
    *it += inits[i].bytes();
  }
  return plan;
}

// This rank's block of tensor i; nullopt if it holds none.
std::optional<fanfill::Block> BlockOf(const fanfill::TensorSpec& t, const Placement& p, int rank,
                                      int ranks) {
  if (p.split == Split::kOwner) {
    if (rank != p.owner) return std::nullopt;
    return fanfill::Block{std::vector<int64_t>(t.shape.size(), 0), t.shape};
  }
  fanfill::Block b = fanfill::Shard(t.shape, p.dim, rank, ranks);
  if (fanfill::BlockElementCount(b) == 0) return std::nullopt;
  return b;
}

// A failure of this rank alone: print and abort the job.
[[noreturn]] void RankFailure(int rank, const std::string& message) {
  std::fprintf(stderr, "%s: error (rank %d): %s\n", kProg, rank, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

void CheckMpi(int rc, const char* what, int rank) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  RankFailure(rank, std::string(what) + ": " + std::string(text, static_cast<size_t>(len)));
}

// Types for one tensor's file view: the element type, and the file type
// (the element type when the block is contiguous in the tensor, else a
// subarray). Freed by the destructor.
class View {
 public:
  View(fanfill::DType dtype, std::span<const int64_t> shape, const fanfill::Block* block,
       uint64_t tensor_offset, int rank) {
    const int esize = static_cast<int>(fanfill::DTypeSize(dtype));
    CheckMpi(MPI_Type_contiguous(esize, MPI_BYTE, &etype_), "MPI_Type_contiguous", rank);
    CheckMpi(MPI_Type_commit(&etype_), "MPI_Type_commit", rank);
    filetype_ = etype_;
    disp_ = static_cast<MPI_Offset>(tensor_offset);
    if (block == nullptr) return;
    // Contiguous in the row-major tensor iff every dimension after the last
    // partial one is whole and every dimension before it has extent 1.
    const size_t r = shape.size();
    size_t last_partial = 0;
    for (size_t k = 0; k < r; ++k) {
      if (block->extent[k] != shape[k]) last_partial = k;
    }
    bool contiguous = true;
    for (size_t k = 0; k < last_partial; ++k) {
      if (block->extent[k] != 1) contiguous = false;
    }
    if (contiguous) {
      uint64_t linear = 0;
      for (size_t k = 0; k < r; ++k) {
        linear = linear * static_cast<uint64_t>(shape[k]) + static_cast<uint64_t>(block->offset[k]);
      }
      disp_ += static_cast<MPI_Offset>(linear * static_cast<uint64_t>(esize));
      return;
    }
    std::vector<int> sizes(r), subsizes(r), starts(r);
    for (size_t k = 0; k < r; ++k) {
      if (shape[k] > INT_MAX) {
        RankFailure(rank, "a dimension of " + std::to_string(shape[k]) +
                              " exceeds MPI's int for a subarray file view");
      }
      sizes[k] = static_cast<int>(shape[k]);
      subsizes[k] = static_cast<int>(block->extent[k]);
      starts[k] = static_cast<int>(block->offset[k]);
    }
    CheckMpi(MPI_Type_create_subarray(static_cast<int>(r), sizes.data(), subsizes.data(),
                                      starts.data(), MPI_ORDER_C, etype_, &filetype_),
             "MPI_Type_create_subarray", rank);
    CheckMpi(MPI_Type_commit(&filetype_), "MPI_Type_commit", rank);
  }
  ~View() {
    if (filetype_ != etype_) MPI_Type_free(&filetype_);
    MPI_Type_free(&etype_);
  }
  View(const View&) = delete;
  View& operator=(const View&) = delete;

  MPI_Datatype etype() const { return etype_; }
  MPI_Datatype filetype() const { return filetype_; }
  MPI_Offset disp() const { return disp_; }

 private:
  MPI_Datatype etype_ = MPI_DATATYPE_NULL, filetype_ = MPI_DATATYPE_NULL;
  MPI_Offset disp_ = 0;
};

// How a block is cut into write chunks: whole rows of its dimension 0
// (rank-0 tensors: one element).
struct Chunking {
  uint64_t row_elems = 1;  // elements of one block row
  int64_t rows = 0;        // block rows
  int64_t rows_per_chunk = 1;
  int64_t chunks = 0;
};

Chunking ChunkingOf(const std::optional<fanfill::Block>& block, size_t esize,
                    uint64_t chunk_bytes) {
  Chunking c;
  if (!block) return c;
  const fanfill::Block& b = *block;
  if (b.extent.empty()) {
    c.rows = 1;
  } else {
    c.rows = b.extent[0];
    for (size_t k = 1; k < b.extent.size(); ++k) c.row_elems *= static_cast<uint64_t>(b.extent[k]);
  }
  if (c.row_elems > static_cast<uint64_t>(INT_MAX)) {
    throw std::runtime_error("a block row of " + std::to_string(c.row_elems) +
                             " elements exceeds MPI's int count");
  }
  const uint64_t row_bytes = c.row_elems * esize;
  c.rows_per_chunk = static_cast<int64_t>(std::max<uint64_t>(1, chunk_bytes / row_bytes));
  // Each write's count is an int of elements.
  c.rows_per_chunk =
      std::min<int64_t>(c.rows_per_chunk, std::max<int64_t>(1, INT_MAX / c.row_elems));
  c.chunks = (c.rows + c.rows_per_chunk - 1) / c.rows_per_chunk;
  return c;
}

void Run(const Args& args, const std::string& spec_text, int rank, int ranks) {
  // Identical on every rank: UsageError.
  fanfill::ModelSpec model;
  std::vector<fanfill::PreparedInit> plans;
  std::vector<fanfill::TensorDescription> descs;
  try {
    model = fanfill::ParseModelSpec(spec_text);
    plans = fanfill::PrepareModel(model, *args.seed);
    descs = fanfill::DescribeModel(model, plans);
  } catch (const std::invalid_argument& e) {
    throw UsageError(args.spec_path + ": " + e.what());
  }
  const std::vector<Placement> plan = Plan(model, plans, args.row_parallel, ranks);
  const fanfill::cli::SafetensorsModelLayout layout =
      fanfill::cli::ModelLayout(model, descs, *args.seed);

  if (rank == 0 && args.plan) {
    for (size_t i = 0; i < descs.size(); ++i) {
      std::string shape;
      for (int64_t s : model.tensors[i].shape) {
        if (!shape.empty()) shape += ',';
        shape += std::to_string(s);
      }
      std::printf("%-32s [%s] %s %s", descs[i].name.c_str(), shape.c_str(),
                  fanfill::DTypeName(descs[i].dtype), SplitName(plan[i].split));
      if (descs[i].bytes == 0) {
        std::printf(" (empty: nothing to write)\n");
      } else if (plan[i].split == Split::kOwner) {
        std::printf(" on rank %d\n", plan[i].owner);
      } else {
        std::printf(" along dim %d\n", plan[i].dim);
      }
    }
    std::fflush(stdout);
  }

  const std::string temp_path = args.out_path + ".tmp-mpi";
  const auto start = std::chrono::steady_clock::now();
  if (rank == 0) MPI_File_delete(temp_path.c_str(), MPI_INFO_NULL);  // a leftover, if any
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_File fh;
  CheckMpi(MPI_File_open(MPI_COMM_WORLD, temp_path.c_str(),
                         MPI_MODE_CREATE | MPI_MODE_EXCL | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh),
           ("cannot create '" + temp_path + "'").c_str(), rank);
  CheckMpi(MPI_File_set_size(fh, static_cast<MPI_Offset>(layout.size)), "MPI_File_set_size", rank);
  if (rank == 0) {
    CheckMpi(MPI_File_write_at(fh, 0, layout.header.data(), static_cast<int>(layout.header.size()),
                               MPI_BYTE, MPI_STATUS_IGNORE),
             "writing the header", rank);
    for (const fanfill::cli::SafetensorsModelLayout::Scale& s : layout.scales) {  // <name>_scale
      CheckMpi(MPI_File_write_at(fh, static_cast<MPI_Offset>(s.offset), &s.value, 4, MPI_BYTE,
                                 MPI_STATUS_IGNORE),
               "writing a scale", rank);
    }
  }

  std::vector<std::byte> buffer;
  uint64_t my_bytes = 0;
  for (size_t i = 0; i < descs.size(); ++i) {
    const fanfill::TensorDescription& td = descs[i];
    const fanfill::TensorSpec& t = model.tensors[i];
    if (td.bytes == 0) continue;  // nothing to write (every rank knows)
    const fanfill::PreparedInit& init = plans[i];
    const size_t esize = fanfill::DTypeSize(td.dtype);
    const bool whole = !init.is_pointwise();  // made whole, in memory

    // Every rank's chunk count, for the number of collective calls.
    int64_t calls = 0;
    for (int k = 0; k < ranks; ++k) {
      calls = std::max(calls,
                       ChunkingOf(BlockOf(t, plan[i], k, ranks), esize, args.chunk_bytes).chunks);
    }
    const std::optional<fanfill::Block> block = BlockOf(t, plan[i], rank, ranks);
    const Chunking mine = ChunkingOf(block, esize, args.chunk_bytes);

    View view(td.dtype, t.shape, block ? &*block : nullptr, layout.offsets[i], rank);
    CheckMpi(MPI_File_set_view(fh, view.disp(), view.etype(), view.filetype(), "native",
                               MPI_INFO_NULL),
             "MPI_File_set_view", rank);

    std::unique_ptr<std::byte[]> whole_values;
    if (whole && block) {
      whole_values.reset(new std::byte[td.bytes]);
      init.Run(whole_values.get(), {.max_threads = args.threads});
    }
    for (int64_t c = 0; c < calls; ++c) {
      const void* data = nullptr;
      int count = 0;
      MPI_Offset at = 0;
      if (c < mine.chunks) {
        const int64_t row0 = c * mine.rows_per_chunk;
        const int64_t rows = std::min(mine.rows_per_chunk, mine.rows - row0);
        const uint64_t elems = static_cast<uint64_t>(rows) * mine.row_elems;
        const uint64_t first = static_cast<uint64_t>(row0) * mine.row_elems;
        if (whole) {
          data = whole_values.get() + first * esize;
        } else {
          buffer.resize(std::max<size_t>(buffer.size(), elems * esize));
          fanfill::Block sub = *block;
          if (!sub.extent.empty()) {
            sub.offset[0] += row0;
            sub.extent[0] = rows;
          }
          init.RunBlock(buffer.data(), sub, {.max_threads = args.threads});
          data = buffer.data();
        }
        count = static_cast<int>(elems);
        at = static_cast<MPI_Offset>(first);
        my_bytes += elems * esize;
      }
      CheckMpi(MPI_File_write_at_all(fh, at, data, count, view.etype(), MPI_STATUS_IGNORE),
               ("writing " + td.name).c_str(), rank);
    }
  }
  // On disk before the rename, as the fanfill command's fsync before its rename.
  CheckMpi(MPI_File_sync(fh), "MPI_File_sync", rank);
  CheckMpi(MPI_File_close(&fh), "MPI_File_close", rank);
  MPI_Barrier(MPI_COMM_WORLD);  // every rank's data is in the file
  uint64_t max_bytes = 0;
  MPI_Reduce(&my_bytes, &max_bytes, 1, MPI_UINT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    if (std::rename(temp_path.c_str(), args.out_path.c_str()) != 0) {
      RankFailure(rank, "cannot rename '" + temp_path + "' to '" + args.out_path +
                            "': " + std::strerror(errno));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: wrote %s (%llu bytes, %zu tensors) with %d ranks (rank 0: %d threads) "
                "in %.3f s (%.1f MB/s; the busiest rank wrote %llu bytes)\n",
                kProg, args.out_path.c_str(), static_cast<unsigned long long>(layout.size),
                descs.size(), ranks, tbb::this_task_arena::max_concurrency(), seconds,
                layout.size / seconds / 1e6,
                static_cast<unsigned long long>(max_bytes));
  }
}

// --hf: the `fanfill hf` directory (see HUGGING FACE MODE above).
void RunHf(const Args& args, const std::string& config_text, int rank, int ranks) {
  namespace hf = fanfill::hf;
  hf::HfModel model;
  std::vector<fanfill::PreparedInit> plans;
  std::vector<hf::HfShard> shards;
  try {  // identical on every rank
    model = hf::BuildHfModel(config_text, args.dtype);
    const uint64_t max_shard = hf::ParseShardSize(args.max_shard_size);
    plans = fanfill::PrepareModel(model.sources, *args.seed);
    shards = hf::SplitShards(model, max_shard);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const std::string config_out = hf::OutputConfigJson(config_text, model);
  const size_t esize = fanfill::DTypeSize(model.dtype);
  const uint64_t per_chunk = (uint64_t{16} << 20) / esize;
  const auto start = std::chrono::steady_clock::now();
  uint64_t total = 0;
  std::vector<std::byte> buffer(per_chunk * esize);
  for (const hf::HfShard& shard : shards) {
    const hf::HfShardLayout layout = hf::ShardLayout(model, shard);
    struct Chunk {
      size_t k;  // shard.tensors[k]
      uint64_t first, count;
    };
    std::vector<Chunk> chunks;
    for (size_t k = 0; k < shard.tensors.size(); ++k) {
      const uint64_t n = fanfill::ElementCount(model.tensors[shard.tensors[k]].shape);
      for (uint64_t first = 0; first < n; first += per_chunk) {
        chunks.push_back({k, first, std::min(per_chunk, n - first)});
      }
    }
    const std::string final_path = args.out_path + "/" + shard.file;
    const std::string temp_path = args.out_path + "/." + shard.file + ".tmp-mpi";
    if (rank == 0) MPI_File_delete(temp_path.c_str(), MPI_INFO_NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_File fh;
    CheckMpi(MPI_File_open(MPI_COMM_WORLD, temp_path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY,
                           MPI_INFO_NULL, &fh),
             "MPI_File_open", rank);
    CheckMpi(MPI_File_set_size(fh, static_cast<MPI_Offset>(layout.size)), "MPI_File_set_size", rank);
    if (rank == 0) {
      CheckMpi(MPI_File_write_at(fh, 0, layout.header.data(), static_cast<int>(layout.header.size()),
                                 MPI_BYTE, MPI_STATUS_IGNORE),
               "MPI_File_write_at (header)", rank);
    }
    const size_t begin = chunks.size() * static_cast<size_t>(rank) / static_cast<size_t>(ranks);
    const size_t end = chunks.size() * static_cast<size_t>(rank + 1) / static_cast<size_t>(ranks);
    for (size_t c = begin; c < end; ++c) {
      const Chunk& ch = chunks[c];
      const hf::HfTensor& t = model.tensors[shard.tensors[ch.k]];
      plans[t.source].RunRange(buffer.data(), t.source_first + ch.first, ch.count);
      const uint64_t z0 = std::max(ch.first, t.zero_first);
      const uint64_t z1 = std::min(ch.first + ch.count, t.zero_first + t.zero_count);
      if (z0 < z1) std::memset(buffer.data() + (z0 - ch.first) * esize, 0, (z1 - z0) * esize);
      CheckMpi(MPI_File_write_at(fh, static_cast<MPI_Offset>(layout.offsets[ch.k] + ch.first * esize),
                                 buffer.data(), static_cast<int>(ch.count * esize), MPI_BYTE,
                                 MPI_STATUS_IGNORE),
               ("writing " + t.name).c_str(), rank);
    }
    CheckMpi(MPI_File_sync(fh), "MPI_File_sync", rank);
    CheckMpi(MPI_File_close(&fh), "MPI_File_close", rank);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0 && std::rename(temp_path.c_str(), final_path.c_str()) != 0) {
      RankFailure(rank, "cannot rename '" + temp_path + "': " + std::strerror(errno));
    }
    total += layout.size;
  }
  if (rank != 0) return;
  auto write_text = [&](const std::string& name, const std::string& text) {
    const std::string path = args.out_path + "/" + name, temp = args.out_path + "/." + name + ".tmp-mpi";
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out || std::rename(temp.c_str(), path.c_str()) != 0) {
      RankFailure(rank, "cannot write '" + path + "': " + std::strerror(errno));
    }
  };
  if (shards.size() > 1) write_text("model.safetensors.index.json", hf::IndexJson(model, shards));
  write_text("config.json", config_out);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: wrote %s/ (%zu files, %llu bytes, %zu tensors) with %d ranks in %.3f s\n", kProg,
              args.out_path.c_str(), shards.size(), static_cast<unsigned long long>(total),
              model.tensors.size(), ranks, seconds);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw UsageError("cannot read '" + path + "'");
  return text.str();
}

// The output's preconditions, checked by rank 0 (the file system every rank
// writes to): the file must not exist unless --force; its directory must.
void CheckOutput(const Args& args) {
  struct stat st {};
  if (args.hf) {  // a directory: created; refused if not empty unless --force
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir(args.out_path);
    if (fs::exists(dir, ec)) {
      if (!fs::is_directory(dir, ec)) throw UsageError("'" + args.out_path + "' is not a directory");
      if (!fs::is_empty(dir, ec) && !args.force) {
        throw UsageError("'" + args.out_path + "' is not empty (use --force to write into it)");
      }
    }
    return;
  }
  if (!args.force && stat(args.out_path.c_str(), &st) == 0) {
    throw UsageError("'" + args.out_path + "' exists (use --force to replace it)");
  }
  const size_t slash = args.out_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : args.out_path.substr(0, slash + 1);
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UsageError("the directory of '" + args.out_path + "' does not exist");
  }
}

// Rank 0's error message (empty: none) and data, broadcast to every rank.
std::string Broadcast(std::string text, int rank) {
  uint64_t size = text.size();
  MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (rank != 0) text.resize(size);
  // MPI counts are int: broadcast in pieces.
  for (uint64_t done = 0; done < size;) {
    const int n = static_cast<int>(std::min<uint64_t>(size - done, INT_MAX));
    MPI_Bcast(text.data() + done, n, MPI_CHAR, 0, MPI_COMM_WORLD);
    done += static_cast<uint64_t>(n);
  }
  return text;
}

// An error every rank found (or rank 0 found and broadcast): rank 0 prints it
// and aborts the job; the others wait to be ended by that abort.
[[noreturn]] void CommonFailure(int rank, const std::string& message, bool usage = false) {
  if (rank == 0) {
    std::fprintf(stderr, "%s: error: %s\n%s", kProg, message.c_str(), usage ? kUsage : "");
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 2);
  } else {
    MPI_Barrier(MPI_COMM_WORLD);  // never completes: rank 0 aborts
  }
  std::abort();
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);

  Args args;
  try {
    args = ParseArgs(argc, argv);
  } catch (const std::exception& e) {
    CommonFailure(rank, e.what(), /*usage=*/true);
  }
  // Rank 0 reads the spec and checks the output path; every rank learns the result.
  std::string error, spec_text;
  if (rank == 0) {
    try {
      spec_text = ReadFile(args.spec_path);
      CheckOutput(args);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = Broadcast(error, rank);
  if (!error.empty()) CommonFailure(rank, error);
  spec_text = Broadcast(spec_text, rank);

  std::optional<tbb::global_control> threads;
  if (args.threads > 0) {
    threads.emplace(tbb::global_control::max_allowed_parallelism,
                    static_cast<size_t>(args.threads));
  }
  try {
    if (args.hf) {
      // Validate the config on rank 0 before anything is created, then make the
      // directory (and missing parents, as fanfill hf and save_pretrained do).
      std::string err;
      if (rank == 0) {
        try {
          fanfill::hf::BuildHfModel(spec_text, args.dtype);
          fanfill::hf::ParseShardSize(args.max_shard_size);
          std::error_code ec;
          std::filesystem::create_directories(args.out_path, ec);
          if (ec) err = "cannot create '" + args.out_path + "': " + ec.message();
        } catch (const std::exception& e) {
          err = e.what();
        }
      }
      err = Broadcast(err, rank);
      if (!err.empty()) CommonFailure(rank, err);
      RunHf(args, spec_text, rank, ranks);
    } else {
      Run(args, spec_text, rank, ranks);
    }
  } catch (const UsageError& e) {
    CommonFailure(rank, e.what());
  } catch (const std::exception& e) {
    RankFailure(rank, e.what());
  }
  threads.reset();
  MPI_Finalize();
  return 0;
}
