// The fuzzers' checks (fuzz/fuzz_checks.h) over every saved input, in the
// normal build: the crash inputs the fuzzers found (fuzz/regressions/<target>/)
// and the seed corpus (fuzz/corpus/<target>/). A fixed bug that comes back
// fails here without clang or libFuzzer; under scripts/sanitize.sh asan the
// same inputs run with AddressSanitizer and UBSan.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_checks.h"
#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> Inputs(const std::string& kind, const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(FANFILL_FUZZ_DIR) / kind / target;
  if (!fs::is_directory(dir)) return files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <class Check>
void RunAll(const std::string& target, Check check, size_t min_files) {
  size_t count = 0;
  for (const char* kind : {"regressions", "corpus"}) {
    for (const fs::path& file : Inputs(kind, target)) {
      ++count;
      SCOPED_TRACE(file.string());
      try {
        check(Read(file));
      } catch (const std::exception& e) {
        ADD_FAILURE() << file << ": " << e.what();
      }
    }
  }
  // The directories are committed: finding nothing means a wrong path, not a pass.
  EXPECT_GE(count, min_files) << "inputs under " << FANFILL_FUZZ_DIR << " for " << target;
}

TEST(FuzzRegressions, SchemeSpec) {
  RunAll("scheme_spec", [](const std::string& s) { fanfill::fuzz::CheckSchemeSpec(s); }, 30);
}

TEST(FuzzRegressions, ModelSpec) {
  RunAll("model_spec", [](const std::string& s) { fanfill::fuzz::CheckModelSpec(s); }, 5);
}

// The checks can fail: a spec whose ToString does not parse back is caught.
TEST(FuzzRegressions, ChecksDetectABrokenRoundTrip) {
  EXPECT_THROW(fanfill::fuzz::ReparseScheme("kaiming_normal(mode=sideways)", "test"),
               fanfill::fuzz::FuzzCheckFailure);
  EXPECT_THROW(fanfill::fuzz::Require(false, "test"), fanfill::fuzz::FuzzCheckFailure);
}

}  // namespace
