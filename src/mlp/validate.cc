#include "src/mlp/validate.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <system_error>

namespace fanfill::mlp {

bool ValidationSummary::ok() const {
  for (const Check& c : checks) {
    if (!c.passed) return false;
  }
  return true;
}

namespace {

void Emit(const ExperimentReport& report, const std::filesystem::path& dir, std::ostream& log,
          ValidationSummary* summary) {
  log << FormatTable(report.table);
  if (!report.notes.empty()) log << report.notes << "\n";
  if (!report.table.columns.empty()) {
    const std::string csv = report.name + ".csv";
    WriteTextFile(dir / csv, ToCsv(report.table));
    summary->files.push_back(csv);
  }
  for (const auto& [suffix, plot] : report.plots) {
    const std::string stem = report.name + "_" + suffix;
    WriteTextFile(dir / (stem + ".svg"), RenderSvg(plot));
    WriteTextFile(dir / (stem + ".csv"), SeriesCsv(plot));
    summary->files.push_back(stem + ".svg");
    summary->files.push_back(stem + ".csv");
  }
  for (const Check& c : report.checks) {
    log << (c.passed ? "  [ok]   " : "  [FAIL] ") << c.name << ": " << c.detail << "\n";
    summary->checks.push_back(c);
  }
  log << "\n" << std::flush;
}

template <class O>
O Sized(bool quick, uint64_t seed) {
  O o = quick ? O::Quick() : O::Full();
  o.seed += seed;
  return o;
}

}  // namespace

ValidationSummary RunValidation(const ValidateOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::ostream& log = options.log != nullptr ? *options.log : std::cout;
  const std::filesystem::path dir(options.out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    throw std::runtime_error("validate: cannot create output directory '" + options.out_dir + "'" +
                             (ec ? ": " + ec.message() : std::string()));
  }
  ValidationSummary summary;
  log << "fanfill validate (" << (options.quick ? "quick" : "full") << ", seed " << options.seed
      << ") -> " << options.out_dir << "\n\n";
  auto timed = [&](const char* name, auto run) {
    const auto t0 = Clock::now();
    const ExperimentReport report = run();
    Emit(report, dir, log, &summary);
    log << "  (" << name << ": " << std::chrono::duration<double>(Clock::now() - t0).count()
        << " s)\n\n";
  };
  timed("symmetry", [&] {
    return ReportSymmetry(RunSymmetry(Sized<SymmetryOptions>(options.quick, options.seed)));
  });
  timed("signal",
        [&] { return ReportSignal(RunSignal(Sized<SignalOptions>(options.quick, options.seed))); });
  timed("depth",
        [&] { return ReportDepth(RunDepth(Sized<DepthOptions>(options.quick, options.seed))); });
  timed("digits", [&] {
    DigitsOptions o = Sized<DigitsOptions>(options.quick, options.seed);
    o.path = options.digits_path;
    const DigitsResult result = RunDigits(o);
    if (result.skipped) summary.skipped.push_back(result.skip_reason);
    return ReportDigits(result);
  });
  timed("linear",
        [&] { return ReportLinear(RunLinear(Sized<LinearOptions>(options.quick, options.seed))); });
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  int failed = 0;
  for (const Check& c : summary.checks) failed += c.passed ? 0 : 1;
  log << "Summary: " << summary.checks.size() - failed << " of " << summary.checks.size()
      << " expected behaviours showed up";
  if (!summary.skipped.empty()) log << "; skipped: " << summary.skipped.size();
  log << "; " << summary.files.size() << " files in " << options.out_dir << "; " << summary.seconds
      << " s\n";
  for (const std::string& s : summary.skipped) log << "SKIPPED " << s << "\n";
  for (const Check& c : summary.checks) {
    if (!c.passed) log << "FAILED " << c.name << ": " << c.detail << "\n";
  }
  return summary;
}

}  // namespace fanfill::mlp
