// `fanfill validate`: runs the five experiments of src/mlp/experiments.h,
// prints their tables, writes CSV + SVG into a directory and checks that the
// behaviour the literature predicts shows up (docs/mlp.md).
//
// Thread count and SIMD target are the caller's business (tbb::global_control,
// fanfill::ForceTarget): results do not depend on the thread count.
#ifndef FANFILL_SRC_MLP_VALIDATE_H_
#define FANFILL_SRC_MLP_VALIDATE_H_

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "src/mlp/data.h"  // kDefaultDigitsPath
#include "src/mlp/experiments.h"

namespace fanfill::mlp {

struct ValidateOptions {
  bool quick = false;                        // the quick sizes (< 1 min on 2 cores)
  std::string out_dir = "fanfill-validate";  // created if missing
  std::string digits_path;                   // empty: kDefaultDigitsPath
  uint64_t seed = 0;                         // added to each experiment's own seed
  std::ostream* log = nullptr;               // tables and checks; nullptr: std::cout
};

struct ValidationSummary {
  std::vector<Check> checks;
  std::vector<std::string> files;    // written, relative to out_dir
  std::vector<std::string> skipped;  // experiments skipped, with the reason
  double seconds = 0;
  bool ok() const;  // every check passed
  int exit_status() const { return ok() ? 0 : 1; }
};

// Throws std::runtime_error if out_dir cannot be created or a file cannot be
// written. A skipped experiment (digits file missing) is reported, not failed.
ValidationSummary RunValidation(const ValidateOptions& options);

}  // namespace fanfill::mlp

#endif  // FANFILL_SRC_MLP_VALIDATE_H_
