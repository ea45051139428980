// fanfill_mpi_init: initialize a model spec across MPI ranks, each rank filling
// only its shard of every tensor (fanfill::InitBlock), into ONE .safetensors
// file written with MPI-IO. The file is, byte for byte, the one
//   fanfill model spec.json --seed S --out m.safetensors
// writes for the same spec and seed, for any number of ranks and threads.
//
//   mpirun -np 4 fanfill_mpi_init spec.json --seed 42 --out model.safetensors
//
// Options: --threads N (oneTBB threads per rank; default all), --force
// (replace an existing output file; never a directory), --plan (print each
// tensor's placement on rank 0), --row-parallel PATTERNS (see the rule
// below), --chunk-kib N (the most each rank fills and writes per collective
// call, default 65536 = 64 MiB).
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
// order that `fanfill model` uses: widest dtype first, stable). Rank 0 creates
// the file under a unique temporary name in the output's directory
// (mkstemp: ".<name>.tmp-mpi.XXXXXX", so concurrent runs never share one and
// no existing file is ever deleted), reserves its whole size (fallocate, as
// the fanfill command: a full disk or a file-size limit is an error before
// anything is computed, where the file system can reserve space), and
// broadcasts the name; every rank opens it (MPI_File_open). Rank 0 writes the
// header. For each tensor every rank sets a file view (its block is one
// contiguous range or an MPI subarray of the tensor) and writes its block with
// MPI_File_write_at_all, in chunks of at most --chunk-kib; ranks with fewer
// chunks join the remaining collective calls with zero elements. Every write's
// count is checked (Open MPI's OMPIO returns MPI_SUCCESS with a short count
// where write(2) fails). The file is synced (MPI_File_sync) and closed, and
// renamed to <out> by rank 0 after every rank has closed it (replacing an
// existing file only with --force; without it a file that appeared meanwhile
// is kept and the run fails). MPI-IO needs the output directory on a file
// system every rank sees (docs/cluster.md); rank 0 alone reads the spec and
// broadcasts it.
//
// HUGGING FACE MODE (--hf CONFIG.json --out DIR [--dtype D] [--max-shard-size
// SIZE]): the checkpoint directory of `fanfill hf` (tools/fanfill_cli/hf_model.h:
// the same tensor list, shard split, headers, index and config.json), byte
// for byte, for any number of ranks. Each shard file is cut into 16 MiB chunks
// of its tensors (PreparedInit::RunRange, as the fanfill command's chunk
// writer); rank r fills and writes (MPI_File_write_at) the r-th contiguous
// share of them; rank 0 writes the header. Each file is written under a
// unique temporary name DIR/.<file>.tmp-mpi.XXXXXX made and reserved by rank
// 0 as above, synced, closed and renamed by rank 0 after every rank closed it;
// rank 0 writes the index and config.json last. DIR and its missing parents
// are created; a non-empty DIR is refused without --force. As `fanfill hf`
// (and save_pretrained), after a successful run the weight files of an
// earlier save that this run did not write are removed (only with --force can
// there be any; only model.safetensors, model.safetensors.index.json and
// model-NNNNN-of-NNNNN.safetensors: fanfill::hf::IsHfWeightFileName); a spec
// argument, --plan, --row-parallel and --chunk-kib do not apply (errors).
//
// ERRORS. A bad argument, spec or output path is found identically on every
// rank (or by rank 0 and broadcast); rank 0 alone prints "fanfill_mpi_init:
// error: <message>" and calls MPI_Abort(MPI_COMM_WORLD, 2). A failure to
// create or reserve the temporary file is printed by rank 0 the same way, and
// every rank exits with status 1. A failure on one rank while the files are
// written (I/O, memory) is printed by that rank with its number
// ("error (rank R): ..."); the ranks learn of it at the next agreement point
// (an MPI_Allreduce after every collective write call, and in --hf mode after
// every round of 16 MiB chunks), stop together, close the file, and rank 0
// removes the temporary file, and in --hf mode every file this run renamed
// into DIR and every directory it created (innermost first, each only if
// empty), as `fanfill hf` does; then every rank exits with status 1 (mpirun
// exits non-zero). Only what the ranks cannot agree on (an MPI_File_open that
// failed on some ranks only; rank 0 removes what it made first) or an
// exception outside the write loop ends the job with MPI_Abort(..., 1).
// SIGXFSZ is ignored, so a file-size limit (RLIMIT_FSIZE) is reported as
// "File too large" instead of killing the rank.
#include <fcntl.h>
#include <fnmatch.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <unistd.h>

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
#include <functional>
#include <memory>
#include <new>
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

namespace fs = std::filesystem;

constexpr const char* kProg = "fanfill_mpi_init";
constexpr const char* kDefaultRowParallel =
    "*.proj.weight,*.o_proj.weight,*.out_proj.weight,*.c_proj.weight,*.fc2.weight,"
    "*.down_proj.weight,*.dense_4h_to_h.weight,*.attention.dense.weight";

constexpr const char* kUsage =
    "usage: fanfill_mpi_init SPEC.json --seed S --out FILE.safetensors [--threads N] [--force]\n"
    "                        [--plan] [--row-parallel PATTERNS] [--chunk-kib N]\n"
    "       fanfill_mpi_init --hf CONFIG.json --seed S --out DIR [--dtype bf16|f16|f32]\n"
    "                        [--max-shard-size SIZE] [--threads N] [--force]\n";

// The process's umask (read once at start-up): the mode of the files made.
mode_t g_umask = 022;

// An error every rank finds identically (arguments, spec, plan).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args {
  std::string spec_path, out_path;
  bool hf = false;  // spec_path is a Hugging Face config.json, out_path a directory
  std::string dtype, max_shard_size = fanfill::hf::kDefaultMaxShardSize;
  bool max_shard_size_given = false;
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
  std::string spec;        // the positional argument (model mode's spec)
  std::string model_only;  // the first model-mode option given (an error with --hf)
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
      if (model_only.empty()) model_only = arg;
      a.chunk_bytes = ParseNumber<uint64_t>(value(), "--chunk-kib", 1, uint64_t{1} << 30) << 10;
    } else if (arg == "--row-parallel") {
      if (model_only.empty()) model_only = arg;
      a.row_parallel = SplitCommas(value());
    } else if (arg == "--hf") {
      if (a.hf) throw UsageError("--hf given twice");
      a.hf = true;
      a.spec_path = value();
    } else if (arg == "--dtype") {
      a.dtype = value();
    } else if (arg == "--max-shard-size") {
      a.max_shard_size = value();
      a.max_shard_size_given = true;
    } else if (arg == "--force") {
      a.force = true;
    } else if (arg == "--plan") {
      if (model_only.empty()) model_only = arg;
      a.plan = true;
    } else if (arg.starts_with("-")) {
      throw UsageError("unknown option '" + std::string(arg) + "'");
    } else if (spec.empty()) {
      spec = arg;
    } else {
      throw UsageError("unexpected argument '" + std::string(arg) + "' (one spec file only)");
    }
  }
  if (a.hf && !spec.empty()) {
    throw UsageError("unexpected argument '" + spec +
                     "' (--hf reads its CONFIG.json in place of a model spec)");
  }
  if (!a.hf) a.spec_path = spec;
  if (a.spec_path.empty()) throw UsageError("the model spec (JSON) is required");
  if (!a.seed) throw UsageError("--seed is required");
  if (a.out_path.empty()) throw UsageError("--out is required");
  if (a.hf) {
    if (!model_only.empty()) throw UsageError(model_only + " does not apply to --hf");
    return a;
  }
  if (!a.dtype.empty()) throw UsageError("--dtype needs --hf");
  if (a.max_shard_size_given) throw UsageError("--max-shard-size needs --hf");
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

// A failure of this rank alone that the ranks cannot agree on: print and abort the job.
[[noreturn]] void RankFailure(int rank, const std::string& message) {
  std::fprintf(stderr, "%s: error (rank %d): %s\n", kProg, rank, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

// An error of the job that rank 0 found or every rank learned: rank 0 prints it.
void PrintError(int rank, const std::string& message) {
  if (rank != 0) return;
  std::fprintf(stderr, "%s: error: %s\n", kProg, message.c_str());
  std::fflush(stderr);
}

std::string MpiErrorText(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return std::string(text, static_cast<size_t>(len));
}

void CheckMpi(int rc, const char* what, int rank) {
  if (rc == MPI_SUCCESS) return;
  RankFailure(rank, std::string(what) + ": " + MpiErrorText(rc));
}

std::runtime_error SystemError(const std::string& what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Whether a block is one contiguous range of the row-major tensor: every
// dimension after the last partial one is whole and every dimension before it
// has extent 1.
bool IsContiguous(std::span<const int64_t> shape, const fanfill::Block& block) {
  size_t last_partial = 0;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (block.extent[k] != shape[k]) last_partial = k;
  }
  for (size_t k = 0; k < last_partial; ++k) {
    if (block.extent[k] != 1) return false;
  }
  return true;
}

// Types for one tensor's file view: the element type, and the file type
// (the element type when the block is contiguous in the tensor, else a
// subarray). Freed by the destructor. (CollectiveCalls has checked that the
// subarray's dimensions fit MPI's int.)
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
    const size_t r = shape.size();
    if (IsContiguous(shape, *block)) {
      uint64_t linear = 0;
      for (size_t k = 0; k < r; ++k) {
        linear = linear * static_cast<uint64_t>(shape[k]) + static_cast<uint64_t>(block->offset[k]);
      }
      disp_ += static_cast<MPI_Offset>(linear * static_cast<uint64_t>(esize));
      return;
    }
    std::vector<int> sizes(r), subsizes(r), starts(r);
    for (size_t k = 0; k < r; ++k) {
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
    throw std::invalid_argument("a block row of " + std::to_string(c.row_elems) +
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

// The number of collective write calls of each tensor (the most chunks any
// rank has), the same on every rank. Throws std::invalid_argument (a spec
// error, found by every rank before anything is written) where a block
// cannot be written with MPI's int counts and subarray dimensions.
std::vector<int64_t> CollectiveCalls(const fanfill::ModelSpec& model,
                                     const std::vector<fanfill::TensorDescription>& descs,
                                     const std::vector<Placement>& plan, int ranks,
                                     uint64_t chunk_bytes) {
  std::vector<int64_t> calls(descs.size(), 0);
  for (size_t i = 0; i < descs.size(); ++i) {
    if (descs[i].bytes == 0) continue;
    const fanfill::TensorSpec& t = model.tensors[i];
    const size_t esize = fanfill::DTypeSize(descs[i].dtype);
    for (int k = 0; k < ranks; ++k) {
      const std::optional<fanfill::Block> block = BlockOf(t, plan[i], k, ranks);
      try {
        calls[i] = std::max(calls[i], ChunkingOf(block, esize, chunk_bytes).chunks);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("tensor '" + t.name + "': " + e.what());
      }
      if (!block || IsContiguous(t.shape, *block)) continue;
      for (int64_t s : t.shape) {
        if (s > INT_MAX) {
          throw std::invalid_argument("tensor '" + t.name + "': a dimension of " +
                                      std::to_string(s) +
                                      " exceeds MPI's int for a subarray file view");
        }
      }
    }
  }
  return calls;
}

// A temporary file that rank 0 made for a final path.
struct TempFile {
  std::string path;
  int fd = -1;
};

// Creates a new file beside `final_path`, ".<name>.tmp-mpi.XXXXXX" (mkstemp:
// unique, so concurrent runs to one output never share it, and no file is
// ever replaced or deleted by it), with the mode open(O_CREAT, 0666) would
// give, and reserves `size` bytes as the fanfill command's OutputFile does:
// fallocate, so that a full disk or a file-size limit is reported now, before
// anything is computed ("cannot write N bytes to 'X': No space left on
// device"). Where the file system cannot reserve space the file is only
// extended (sparse), and the checked writes report a full disk. Throws
// std::runtime_error; nothing remains then.
TempFile CreateTemp(const std::string& final_path, uint64_t size) {
  const std::string dir = DirectoryOf(final_path);
  std::string templ = (dir == "/" ? "" : dir) + "/." + BaseName(final_path) + ".tmp-mpi.XXXXXX";
  TempFile t;
  t.fd = mkstemp(templ.data());
  if (t.fd < 0) {
    throw SystemError("cannot create a file in '" + dir + "' for '" + final_path + "'", errno);
  }
  t.path = templ;
  auto fail = [&](const std::string& what, int err) {
    close(t.fd);
    unlink(t.path.c_str());
    return SystemError(what, err);
  };
  if (fchmod(t.fd, 0666 & ~g_umask) != 0) {
    const int err = errno;
    throw fail("chmod '" + t.path + "'", err);
  }
  if (size > 0 && fallocate(t.fd, 0, 0, static_cast<off_t>(size)) != 0) {
    const int err = errno;
    if ((err != EOPNOTSUPP && err != ENOSYS) || ftruncate(t.fd, static_cast<off_t>(size)) != 0) {
      throw fail("cannot write " + std::to_string(size) + " bytes to '" + final_path + "'",
                 err == EOPNOTSUPP || err == ENOSYS ? errno : err);
    }
  }
  return t;
}

// CreateTemp, closed: the file every rank then opens with MPI-IO.
std::string CreateClosedTemp(const std::string& final_path, uint64_t size) {
  const TempFile t = CreateTemp(final_path, size);
  if (close(t.fd) != 0) {
    const int err = errno;
    unlink(t.path.c_str());
    throw SystemError("cannot write '" + final_path + "'", err);
  }
  return t.path;
}

// Renames the finished `temp` to `final_path`, replacing an existing file only
// with `overwrite`; without it atomically never (renameat2 RENAME_NOREPLACE,
// or link + unlink where the file system lacks it), as the fanfill command's
// OutputFile::Commit: a file that appeared since the check is kept. Throws
// std::runtime_error; `temp` then remains (the caller removes it).
void CommitRename(const std::string& temp, const std::string& final_path, bool overwrite) {
  int rc;
  if (overwrite) {
    rc = std::rename(temp.c_str(), final_path.c_str());
  } else {
    rc = renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {  // a file system without RENAME_NOREPLACE
      rc = link(temp.c_str(), final_path.c_str());
      if (rc == 0) unlink(temp.c_str());
    }
  }
  if (rc == 0) return;
  const int err = errno;
  if (err == EEXIST) {
    throw std::runtime_error("'" + final_path + "' exists (use --force to replace it)");
  }
  throw SystemError("cannot rename the finished file to '" + final_path + "'", err);
}

// A small file that rank 0 writes alone (--hf: the index and config.json):
// a temporary file, pwrite, fsync, CommitRename. Throws; nothing remains then.
void WriteWholeFile(const std::string& path, const std::string& text, bool overwrite) {
  TempFile t = CreateTemp(path, text.size());
  try {
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = pwrite(t.fd, text.data() + done, text.size() - done,
                               static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SystemError("cannot write '" + path + "'", errno);
      }
      done += static_cast<size_t>(n);
    }
    if (fsync(t.fd) != 0) throw SystemError("cannot write '" + path + "'", errno);
    const int fd = t.fd;
    t.fd = -1;
    if (close(fd) != 0) throw SystemError("cannot write '" + path + "'", errno);
    CommitRename(t.path, path, overwrite);
  } catch (...) {
    if (t.fd >= 0) close(t.fd);
    unlink(t.path.c_str());
    throw;
  }
}

// errno right after an MPI-IO call, where it names why the call failed
// (Open MPI's OMPIO leaves write(2)'s errno); empty where it says nothing.
std::string ErrnoReason(int err) {
  if (err == 0 || err == EINTR || err == EAGAIN || err == EINPROGRESS) return {};
  return std::strerror(err);
}

// "cannot write 'PATH': <why>" for an MPI-IO call `what` that returned rc.
std::string IoError(const std::string& path, const std::string& what, int rc, int err) {
  const std::string reason = ErrnoReason(err);
  const std::string mpi = what + ": " + MpiErrorText(rc);
  return "cannot write '" + path + "': " + (reason.empty() ? mpi : reason + " (" + mpi + ")");
}

// Why a write came back short where errno says nothing: a full file system,
// or a file-size limit (RLIMIT_FSIZE, ulimit -f) below the file's size.
std::string ShortWriteReason(const std::string& path, uint64_t file_size) {
  struct statvfs vfs {};
  if (statvfs(DirectoryOf(path).c_str(), &vfs) == 0 && vfs.f_bavail == 0) {
    return std::strerror(ENOSPC);
  }
  struct rlimit limit {};
  if (getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < file_size) {
    return std::string(std::strerror(EFBIG)) + " (the file-size limit is " +
           std::to_string(static_cast<uint64_t>(limit.rlim_cur)) + " bytes)";
  }
  return "short write";
}

// "cannot write 'PATH': <why> (D of N bytes written)" for a write into the
// file that becomes `path` (`file_size` bytes) that returned rc with `done` of
// `want` bytes written; `err`: errno right after the call.
std::string WriteError(const std::string& path, uint64_t file_size, int rc, int err,
                       uint64_t done, uint64_t want) {
  if (rc != MPI_SUCCESS) return IoError(path, "MPI-IO write", rc, err);
  std::string reason = ErrnoReason(err);
  if (reason.empty()) reason = ShortWriteReason(path, file_size);
  return "cannot write '" + path + "': " + reason + " (" + std::to_string(done) + " of " +
         std::to_string(want) + " bytes written)";
}

// Throws unless a collective write of `count` elements of `type` (`esize`
// bytes each) wrote them all: both MPI's return code and the count written
// are checked, since Open MPI's OMPIO returns MPI_SUCCESS with a short count
// where write(2) fails (a full disk, a file-size limit). (A write through a
// file view cannot simply be resumed; the independent writes below are.)
void CheckWrite(const std::string& path, uint64_t file_size, int rc, const MPI_Status& status,
                MPI_Datatype type, int count, size_t esize, int err) {
  int written = 0;
  if (rc == MPI_SUCCESS) MPI_Get_count(&status, type, &written);
  if (rc == MPI_SUCCESS && written == count) return;
  const uint64_t done = written > 0 ? static_cast<uint64_t>(written) * esize : 0;
  throw std::runtime_error(WriteError(path, file_size, rc, err, done,
                                      static_cast<uint64_t>(count) * esize));
}

// An independent write of `bytes` (< 2^31) at byte `at` of the file's default
// view, resumed after a short count until all is written or a call writes
// nothing (then its errno is the reason). Throws.
void WriteBytesAt(MPI_File fh, MPI_Offset at, const void* data, size_t bytes,
                  const std::string& path, uint64_t file_size) {
  const char* p = static_cast<const char*>(data);
  size_t done = 0;
  while (done < bytes) {
    MPI_Status status;
    errno = 0;
    const int rc = MPI_File_write_at(fh, at + static_cast<MPI_Offset>(done), p + done,
                                     static_cast<int>(bytes - done), MPI_BYTE, &status);
    const int err = errno;
    int written = 0;
    if (rc == MPI_SUCCESS) MPI_Get_count(&status, MPI_BYTE, &written);
    if (rc != MPI_SUCCESS || written <= 0) {
      throw std::runtime_error(WriteError(path, file_size, rc, err, done, bytes));
    }
    done += static_cast<size_t>(written);
  }
}

// This rank's failure while the files are written. The rank goes on making
// the same collective calls as the others (with nothing to write) until the
// next Any(), where every rank learns of it and all stop together: so no
// rank waits forever in a collective call, rank 0 can remove what the run
// made, and every rank exits non-zero.
class Errors {
 public:
  explicit Errors(int rank) : rank_(rank) {}

  // Records and prints (with the rank's number) this rank's first failure.
  void Fail(const std::string& message) {
    if (failed_) return;
    failed_ = true;
    std::fprintf(stderr, "%s: error (rank %d): %s\n", kProg, rank_, message.c_str());
    std::fflush(stderr);
  }
  bool failed() const { return failed_; }

  // Runs f unless this rank has failed; an exception is this rank's failure.
  template <class F>
  void Try(F&& f) {
    if (failed_) return;
    try {
      f();
    } catch (const std::bad_alloc&) {  // rather than "std::bad_alloc"
      Fail("out of memory");
    } catch (const std::exception& e) {
      Fail(e.what());
    }
  }

  // Collective: whether any rank has failed.
  bool Any() const {
    int mine = failed_ ? 1 : 0, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any != 0;
  }

 private:
  int rank_;
  bool failed_ = false;
};

// Collective: every rank opens the temporary file `temp` that rank 0 made
// for `path`. False (each failing rank has printed why) where it failed on
// every rank. Where it failed on some ranks only they cannot close it
// together: rank 0 runs `cleanup` and aborts the job.
bool OpenShared(const std::string& temp, const std::string& path, MPI_File* fh, Errors& errors,
                int rank, int ranks, const std::function<void()>& cleanup) {
  errno = 0;
  const int rc = MPI_File_open(MPI_COMM_WORLD, temp.c_str(), MPI_MODE_WRONLY, MPI_INFO_NULL, fh);
  const int err = errno;
  if (rc != MPI_SUCCESS) {
    std::string message = "cannot open '" + temp + "', made by rank 0 for '" + path + "': ";
    const std::string reason = ErrnoReason(err);
    message += reason.empty() ? MpiErrorText(rc) : reason + " (" + MpiErrorText(rc) + ")";
    if (rank != 0) {
      message += " (is '" + DirectoryOf(path) +
                 "' on a file system every rank sees? see docs/cluster.md)";
    }
    errors.Fail(message);
  }
  int mine = rc != MPI_SUCCESS ? 1 : 0, failed = 0;
  MPI_Allreduce(&mine, &failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (failed == 0) return true;
  if (failed == ranks) return false;
  if (rank == 0) {
    cleanup();
    MPI_Abort(MPI_COMM_WORLD, 1);
  } else {
    MPI_Barrier(MPI_COMM_WORLD);  // never completes: rank 0 aborts
  }
  std::abort();
}

// Collective MPI_File_sync (unless `stopped`: every rank agreed to stop) and
// MPI_File_close, their errors this rank's failure.
void SyncAndClose(MPI_File* fh, bool stopped, const std::string& path, Errors& errors) {
  if (!stopped) {  // on disk before the rename, as the fanfill command's fsync
    errno = 0;
    const int rc = MPI_File_sync(*fh);
    const int err = errno;
    if (rc != MPI_SUCCESS) errors.Fail(IoError(path, "MPI_File_sync", rc, err));
  }
  errno = 0;
  const int rc = MPI_File_close(fh);
  const int err = errno;
  if (rc != MPI_SUCCESS) errors.Fail(IoError(path, "MPI_File_close", rc, err));
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

// An error every rank found (or rank 0 found and broadcast) before anything
// was written: rank 0 prints it and aborts the job; the others wait to be
// ended by that abort.
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

// Model mode: one .safetensors file (see FILE above). Returns the exit status.
int Run(const Args& args, const std::string& spec_text, int rank, int ranks) {
  // Identical on every rank: UsageError.
  fanfill::ModelSpec model;
  std::vector<fanfill::PreparedInit> plans;
  std::vector<fanfill::TensorDescription> descs;
  fanfill::cli::SafetensorsModelLayout layout;
  std::vector<Placement> plan;
  std::vector<int64_t> calls;
  try {
    model = fanfill::ParseModelSpec(spec_text);
    plans = fanfill::PrepareModel(model, *args.seed);
    descs = fanfill::DescribeModel(model, plans);
    // E.g. a tensor "w_scale" beside tensor w's scale.
    layout = fanfill::cli::ModelLayout(model, descs, *args.seed);
    plan = Plan(model, plans, args.row_parallel, ranks);
    calls = CollectiveCalls(model, descs, plan, ranks, args.chunk_bytes);
  } catch (const std::invalid_argument& e) {
    throw UsageError(args.spec_path + ": " + e.what());
  }

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

  const auto start = std::chrono::steady_clock::now();
  // Rank 0 makes the temporary file and reserves its size; every rank learns its name.
  std::string temp, error;
  if (rank == 0) {
    try {
      temp = CreateClosedTemp(args.out_path, layout.size);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = Broadcast(error, rank);
  if (!error.empty()) {
    PrintError(rank, error);
    return 1;
  }
  temp = Broadcast(temp, rank);
  const auto cleanup = [&] {
    if (rank == 0) unlink(temp.c_str());
  };
  Errors errors(rank);
  MPI_File fh;
  if (!OpenShared(temp, args.out_path, &fh, errors, rank, ranks, cleanup)) {
    cleanup();
    return 1;
  }
  if (rank == 0) {
    errors.Try([&] {
      WriteBytesAt(fh, 0, layout.header.data(), layout.header.size(), args.out_path, layout.size);
      for (const fanfill::cli::SafetensorsModelLayout::Scale& s : layout.scales) {  // <name>_scale
        WriteBytesAt(fh, static_cast<MPI_Offset>(s.offset), &s.value, 4, args.out_path,
                     layout.size);
      }
    });
  }

  std::vector<std::byte> buffer;
  uint64_t my_bytes = 0;
  bool stopped = false;  // every rank agreed to stop (a rank failed)
  for (size_t i = 0; i < descs.size() && !stopped; ++i) {
    const fanfill::TensorDescription& td = descs[i];
    const fanfill::TensorSpec& t = model.tensors[i];
    if (td.bytes == 0) continue;  // nothing to write (every rank knows)
    const fanfill::PreparedInit& init = plans[i];
    const size_t esize = fanfill::DTypeSize(td.dtype);
    const bool whole = !init.is_pointwise();  // made whole, in memory
    const std::optional<fanfill::Block> block = BlockOf(t, plan[i], rank, ranks);
    const Chunking mine = ChunkingOf(block, esize, args.chunk_bytes);  // checked: no throw

    View view(td.dtype, t.shape, block ? &*block : nullptr, layout.offsets[i], rank);
    const int view_rc = MPI_File_set_view(fh, view.disp(), view.etype(), view.filetype(),
                                          "native", MPI_INFO_NULL);
    if (view_rc != MPI_SUCCESS) errors.Fail("MPI_File_set_view: " + MpiErrorText(view_rc));

    std::unique_ptr<std::byte[]> whole_values;
    if (whole && block) {
      errors.Try([&] {
        whole_values.reset(new std::byte[td.bytes]);
        init.Run(whole_values.get(), {.max_threads = args.threads});
      });
    }
    for (int64_t c = 0; c < calls[i]; ++c) {
      const void* data = nullptr;
      int count = 0;
      MPI_Offset at = 0;
      if (c < mine.chunks) {
        errors.Try([&] {
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
        });
      }
      if (errors.failed()) count = 0;  // still in the collective call, with nothing
      MPI_Status status;
      errno = 0;
      const int rc = MPI_File_write_at_all(fh, at, data, count, view.etype(), &status);
      const int err = errno;
      errors.Try([&] {
        CheckWrite(args.out_path, layout.size, rc, status, view.etype(), count, esize, err);
        my_bytes += static_cast<uint64_t>(count) * esize;
      });
      if (errors.Any()) {
        stopped = true;
        break;
      }
    }
  }
  SyncAndClose(&fh, stopped, args.out_path, errors);
  if (errors.Any()) {  // also: every rank's data is in the file
    cleanup();
    return 1;
  }
  uint64_t max_bytes = 0;
  MPI_Reduce(&my_bytes, &max_bytes, 1, MPI_UINT64_T, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) errors.Try([&] { CommitRename(temp, args.out_path, args.force); });
  if (errors.Any()) {
    cleanup();
    return 1;
  }
  if (rank == 0) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: wrote %s (%llu bytes, %zu tensors) with %d ranks (rank 0: %d threads) "
                "in %.3f s (%.1f MB/s; the busiest rank wrote %llu bytes)\n",
                kProg, args.out_path.c_str(), static_cast<unsigned long long>(layout.size),
                descs.size(), ranks, tbb::this_task_arena::max_concurrency(), seconds,
                layout.size / seconds / 1e6,
                static_cast<unsigned long long>(max_bytes));
  }
  return 0;
}

// Creates `dir` and its missing parents (as `fanfill hf`, and save_pretrained's
// os.makedirs), each recorded in `created`, innermost first. Returns an
// error message (the directories made so far are removed again), or "".
std::string CreateDirectories(const fs::path& dir, std::vector<fs::path>* created) {
  std::error_code ec;
  std::vector<fs::path> missing;
  for (fs::path d = dir; !d.empty() && !fs::exists(d, ec); d = d.parent_path()) {
    missing.push_back(d);
    if (d == d.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (!fs::create_directory(*it, ec)) {
      const std::string why = ec ? ec.message() : "it exists and is not a directory";
      for (const fs::path& d : *created) fs::remove(d, ec);
      created->clear();
      return "cannot create directory '" + it->string() + "': " + why;
    }
    created->insert(created->begin(), *it);
  }
  return {};
}

// --hf: the `fanfill hf` directory (see HUGGING FACE MODE above). Returns the exit status.
int RunHf(const Args& args, const std::string& config_text, int rank, int ranks) {
  namespace hf = fanfill::hf;
  hf::HfModel model;
  std::vector<fanfill::PreparedInit> plans;
  std::vector<hf::HfShard> shards;
  std::string config_out;
  try {  // identical on every rank, before anything is created
    model = hf::BuildHfModel(config_text, args.dtype);
    const uint64_t max_shard = hf::ParseShardSize(args.max_shard_size);
    plans = fanfill::PrepareModel(model.sources, *args.seed);
    shards = hf::SplitShards(model, max_shard);
    config_out = hf::OutputConfigJson(config_text, model);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  fs::path dir(args.out_path);
  if (!dir.has_filename()) dir = dir.parent_path();  // "out/" is "out"

  // Rank 0's record of what this run made, removed again if it fails: the
  // directories it created (innermost first, each removed only if empty), the
  // files it renamed into dir, the temporary file of the shard being written.
  std::vector<fs::path> created;
  std::vector<std::string> renamed;  // names in dir
  std::string temp;
  const auto cleanup = [&] {
    if (rank != 0) return;
    std::error_code ec;
    if (!temp.empty()) fs::remove(temp, ec);
    for (const std::string& name : renamed) fs::remove(dir / name, ec);
    for (const fs::path& d : created) fs::remove(d, ec);
  };
  std::string error;
  if (rank == 0) error = CreateDirectories(dir, &created);
  error = Broadcast(error, rank);
  if (!error.empty()) CommonFailure(rank, error);

  const size_t esize = fanfill::DTypeSize(model.dtype);
  const uint64_t per_chunk = (uint64_t{16} << 20) / esize;
  const auto start = std::chrono::steady_clock::now();
  uint64_t total = 0;
  Errors errors(rank);
  std::vector<std::byte> buffer;
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
    const std::string final_path = (dir / shard.file).string();
    error.clear();
    if (rank == 0) {
      try {
        temp = CreateClosedTemp(final_path, layout.size);
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    error = Broadcast(error, rank);
    if (!error.empty()) {
      PrintError(rank, error);
      cleanup();
      return 1;
    }
    const std::string shard_temp = Broadcast(temp, rank);
    MPI_File fh;
    if (!OpenShared(shard_temp, final_path, &fh, errors, rank, ranks, cleanup)) {
      cleanup();
      return 1;
    }
    if (rank == 0) {
      errors.Try([&] {
        WriteBytesAt(fh, 0, layout.header.data(), layout.header.size(), final_path, layout.size);
      });
    }
    // Rank r's share: chunks [begin, end), written in rounds of one chunk per
    // rank, each round ended by an agreement.
    const size_t n_ranks = static_cast<size_t>(ranks), r = static_cast<size_t>(rank);
    const size_t begin = chunks.size() * r / n_ranks;
    const size_t end = chunks.size() * (r + 1) / n_ranks;
    const size_t rounds = (chunks.size() + n_ranks - 1) / n_ranks;
    bool stopped = false;
    for (size_t round = 0; round < rounds; ++round) {
      if (begin + round < end) {
        errors.Try([&] {
          const Chunk& ch = chunks[begin + round];
          const hf::HfTensor& t = model.tensors[shard.tensors[ch.k]];
          buffer.resize(per_chunk * esize);
          plans[t.source].RunRange(buffer.data(), t.source_first + ch.first, ch.count);
          const uint64_t z0 = std::max(ch.first, t.zero_first);
          const uint64_t z1 = std::min(ch.first + ch.count, t.zero_first + t.zero_count);
          if (z0 < z1) std::memset(buffer.data() + (z0 - ch.first) * esize, 0, (z1 - z0) * esize);
          WriteBytesAt(fh, static_cast<MPI_Offset>(layout.offsets[ch.k] + ch.first * esize),
                       buffer.data(), ch.count * esize, final_path, layout.size);
        });
      }
      if (errors.Any()) {
        stopped = true;
        break;
      }
    }
    SyncAndClose(&fh, stopped, final_path, errors);
    if (errors.Any()) {
      cleanup();
      return 1;
    }
    if (rank == 0) {
      errors.Try([&] {
        CommitRename(temp, final_path, args.force);
        temp.clear();
        renamed.push_back(shard.file);
      });
    }
    if (errors.Any()) {
      cleanup();
      return 1;
    }
    total += layout.size;
  }
  if (rank == 0) {
    errors.Try([&] {
      auto write_text = [&](const std::string& name, const std::string& text) {
        WriteWholeFile((dir / name).string(), text, args.force);
        renamed.push_back(name);
      };
      if (shards.size() > 1) {
        write_text("model.safetensors.index.json", hf::IndexJson(model, shards));
      }
      write_text("config.json", config_out);
    });
  }
  if (errors.Any()) {
    cleanup();
    return 1;
  }
  if (rank != 0) return 0;
  // As `fanfill hf` and save_pretrained: weight files of an earlier save that
  // this one did not write are removed (only with --force can there be any):
  // only the names hf::IsHfWeightFileName accepts; every other file stays.
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    std::error_code type_ec;
    if (hf::IsHfWeightFileName(name) && e.is_regular_file(type_ec) &&
        std::find(renamed.begin(), renamed.end(), name) == renamed.end()) {
      fs::remove(e.path(), type_ec);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: wrote %s/ (%zu files, %llu bytes, %zu tensors) with %d ranks in %.3f s\n", kProg,
              args.out_path.c_str(), shards.size(), static_cast<unsigned long long>(total),
              model.tensors.size(), ranks, seconds);
  return 0;
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
// writes to): the file must not exist unless --force, and never be a
// directory; a link counts as a file (lstat: a dangling one too), as for
// `fanfill model`; its directory must exist.
void CheckOutput(const Args& args) {
  struct stat st {};
  if (args.hf) {  // a directory: created; refused if not empty unless --force
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
  if (lstat(args.out_path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw UsageError("'" + args.out_path + "' is a directory");
    if (!args.force) throw UsageError("'" + args.out_path + "' exists (use --force to replace it)");
  }
  const std::string dir = DirectoryOf(args.out_path);
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UsageError("the directory of '" + args.out_path + "' does not exist");
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (RLIMIT_FSIZE) a write fails with EFBIG and is
  // reported like any other error instead of killing the rank, as in the
  // fanfill command.
  signal(SIGXFSZ, SIG_IGN);
  g_umask = umask(0);
  umask(g_umask);
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
  int status = 0;
  try {
    status = args.hf ? RunHf(args, spec_text, rank, ranks) : Run(args, spec_text, rank, ranks);
  } catch (const UsageError& e) {
    CommonFailure(rank, e.what());
  } catch (const std::bad_alloc&) {  // rather than "std::bad_alloc"
    RankFailure(rank, "out of memory");
  } catch (const std::exception& e) {
    RankFailure(rank, e.what());
  }
  threads.reset();
  MPI_Finalize();
  return status;
}
