// File formats the fanfill command writes: .npy (numpy), .safetensors and
// .bin (raw little-endian values, no header). Only the headers are made here;
// the values are written by tensor_writer.h straight from the fill.
#ifndef FANFILL_TOOLS_CLI_FORMATS_H_
#define FANFILL_TOOLS_CLI_FORMATS_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"

namespace fanfill::cli {

enum class Format { kNpy, kSafetensors, kBin };

// `name` for a message: as it is if it is UTF-8 without control characters,
// else with each byte outside printable ASCII (and the backslash) as \xHH.
std::string PrintableName(const std::string& name);

// By extension (case-sensitive, as the tools that read them); throws
// std::invalid_argument naming the extensions it knows.
Format FormatOfPath(std::string_view path);

// The size of a file made of parts (header, tensors, scales), added up
// without wrapping. Total() throws std::invalid_argument ("<what> would be N
// bytes, more than the largest file size ...") once the sum exceeds the
// largest file, 2^63 - 1 bytes (off_t and MPI_Offset are int64_t), so that
// such a request is refused before anything is created.
class FileSize {
 public:
  FileSize& Add(uint64_t bytes) {
    bytes_ += bytes;  // 128 bits: no sum of 64-bit sizes this program makes wraps
    return *this;
  }
  uint64_t Total(std::string_view what = "the file") const;

 private:
  unsigned __int128 bytes_ = 0;
};

// numpy format version 1.0, little-endian, C order, padded so that the data
// starts at a multiple of 64 bytes. Throws for bf16 and FP8, which have no
// numpy dtype, and for more than 64 dimensions (numpy's NPY_MAXDIMS).
std::string NpyHeader(DType dtype, std::span<const int64_t> shape);

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
};

// The 8-byte little-endian header length, then the JSON header padded with
// spaces to a multiple of 8 bytes; the data section follows. Entries appear
// in the given order; `metadata` becomes "__metadata__" (string values only,
// as the format requires). Throws std::invalid_argument on a tensor named
// "__metadata__" and on a name that is not UTF-8 (the header is JSON text).
std::string SafetensorsHeader(std::span<const SafetensorsEntry> entries,
                              const std::map<std::string, std::string>& metadata);

// The safetensors file of a whole model, as `fanfill model` writes it (and
// examples/mpi_init writes it with MPI-IO, byte for byte): tensors ordered
// widest dtype first, otherwise in spec order (stable), packed, so that every
// tensor's data starts at a multiple of its element size, as the safetensors
// writers do it; metadata "generator" = "fanfill <version>", "seed" = seed.
// A tensor with a scale (TensorSpec::has_scale(): one other than 1, or one
// given explicitly, 1 included) gets a 0-d F32 tensor "<name>_scale" holding
// float(scale), placed with the 4-byte tensors (after them, in spec order);
// the writer writes those 4 bytes (`scales`). Throws std::invalid_argument
// when the file would exceed the largest file size (FileSize).
struct SafetensorsModelLayout {
  struct Scale {
    uint64_t offset = 0;  // of its 4 bytes in the file
    float value = 1;
  };
  std::string header;             // SafetensorsHeader(...)
  std::vector<uint64_t> offsets;  // tensor i (spec order): its first byte in the file
  std::vector<Scale> scales;      // the "<name>_scale" tensors, to be written
  uint64_t size = 0;              // header + every tensor's bytes
};
// descs = DescribeModel(model).
SafetensorsModelLayout ModelLayout(const ModelSpec& model,
                                   std::span<const TensorDescription> descs, uint64_t seed);

}  // namespace fanfill::cli

#endif  // FANFILL_TOOLS_CLI_FORMATS_H_
