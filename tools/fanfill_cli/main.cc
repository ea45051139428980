// fanfill: the command-line tool. Subcommands:
//   fill      one tensor to .npy / .safetensors / .bin
//   model     every tensor of a model spec (JSON) to one .safetensors file
//   describe  fans, gain, distribution and moments of a tensor or a model, as JSON
//   bench     fill throughput beside memset, per distribution, dtype and thread count
//   hf        a Hugging Face checkpoint directory from a config.json (as save_pretrained)
// Run `fanfill <subcommand> --help` for the options. Errors are printed as
// "fanfill: error: <message>" and exit non-zero; no partial output file is
// ever left under the requested name (see output_file.h).
#include <tbb/global_control.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fanfill/fanfill.hpp"
#include "fanfill/schemes.hpp"
#include "src/mlp/validate.h"
#include "tools/fanfill_cli/bench.h"
#include "tools/fanfill_cli/formats.h"
#include "tools/fanfill_cli/hf_model.h"
#include "tools/fanfill_cli/output_file.h"
#include "tools/fanfill_cli/tensor_writer.h"

namespace fanfill::cli {
namespace {

constexpr const char* kPointwiseNote =
    "Uniform, normal, truncated-normal and constant schemes are written in parallel 16 MiB "
    "chunks straight from the fill (bit for bit the whole-tensor result); orthogonal, sparse, "
    "eye and dirac are not pointwise, so each such tensor is made whole in memory first. The "
    "file is written under a temporary name in the same directory and renamed when complete. "
    "--threads N and --target T (see fanfill --help) may come before or after the subcommand.";

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string VersionText() {
  return std::string("fanfill ") + Version() + "\ncompiled targets: " + Join(CompiledTargets()) +
         "\nsupported targets: " + Join(SupportedTargets());
}

// "4096,4096" -> {4096, 4096}. Spaces around the numbers are allowed.
std::vector<int64_t> ParseShape(const std::string& text) {
  std::vector<int64_t> shape;
  size_t begin = 0;
  while (true) {
    const size_t comma = std::min(text.find(',', begin), text.size());
    std::string_view item(text.data() + begin, comma - begin);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    int64_t dim = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), dim);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || dim < 0) {
      throw std::invalid_argument("bad --shape '" + text +
                                  "': expected comma-separated non-negative integers such as "
                                  "4096,4096 (got '" +
                                  std::string(item) + "')");
    }
    shape.push_back(dim);
    if (comma == text.size()) break;
    begin = comma + 1;
  }
  return shape;
}

// An integer in [0, 2^64) in decimal digits only (no sign, no spaces, no
// exponent), as the model spec's "stream": CLI11's own uint64_t parsing
// wraps "-1" to 2^64 - 1 and clamps what is too large.
uint64_t ParseU64(const std::string& option, const std::string& text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end) {
    throw std::invalid_argument(option + " '" + text + "': expected an integer in [0, 2^64) " +
                                "in decimal digits" +
                                (ec == std::errc::result_out_of_range ? " (it is 2^64 or more)"
                                                                      : ""));
  }
  return value;
}

// The shortest decimal that reads back as v.
std::string Number(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

std::string ReadFile(const std::string& path) {
  // A directory opens and then reads as empty (whose JSON error would be
  // "unexpected end of input").
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw std::runtime_error("cannot read '" + path + "': it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read '" + path + "'");
  return text.str();
}

// Options shared by `fill` and `describe --shape`.
struct TensorOptions {
  std::string shape, layout = "oi", scheme, dtype = "f32", name;
  std::optional<std::string> stream;
  double scale = 1.0;
  CLI::Option* scale_option = nullptr;

  // The per-tensor options, which describe --spec refuses.
  static constexpr const char* kNames[] = {"--shape", "--layout", "--scheme", "--dtype",
                                           "--scale", "--name",   "--stream"};

  void AddTo(CLI::App& cmd) {
    cmd.add_option("--shape", shape, "Tensor shape, comma-separated: 64,32,3,3");
    cmd.add_option("--layout", layout,
                   "Axis order: oi = PyTorch [out, in, *spatial], io = Keras [*spatial, in, out]")
        ->capture_default_str();
    cmd.add_option("--scheme", scheme,
                   "Initialization scheme, e.g. 'kaiming_normal(mode=fan_in)' (docs/schemes.md)");
    cmd.add_option("--dtype", dtype,
                   "f32, f64, bf16, f16, f8e4m3 (float8_e4m3fn) or f8e5m2 (float8_e5m2); FP8 "
                   "goes to .safetensors (F8_E4M3, F8_E5M2) or .bin, not .npy")
        ->capture_default_str();
    scale_option =
        cmd.add_option("--scale", scale,
                       "Per-tensor scale (FP8): stored = value / scale; written beside the tensor "
                       "as the 0-d F32 tensor <name>_scale (.safetensors only), 1 included")
            ->capture_default_str();
    auto* name_opt =
        cmd.add_option("--name", name, "Tensor name; its hash (StreamId) is the stream");
    auto* stream_opt = cmd.add_option("--stream", stream, "Stream id (instead of --name)");
    name_opt->excludes(stream_opt);
  }

  // A one-tensor model, so that fill/describe go through the same checks as
  // `model`. `stream_required`: fill needs --name or --stream.
  ModelSpec ToModel(bool stream_required) const {
    if (shape.empty()) throw std::invalid_argument("--shape is required");
    if (scheme.empty()) throw std::invalid_argument("--scheme is required");
    if (stream_required && name.empty() && !stream) {
      throw std::invalid_argument(
          "--name or --stream is required: it picks the tensor's random stream");
    }
    TensorSpec t;
    t.name = name.empty() ? "tensor" : name;
    t.shape = ParseShape(shape);
    t.layout = ParseLayout(layout);
    Scheme::Parse(scheme);  // the scheme's own message, without the model's tensor label
    t.scheme = scheme;
    t.dtype = ParseDType(dtype);
    if (stream) t.stream = ParseU64("--stream", *stream);
    t.scale = scale;  // checked where every scale is (PreparedInit, DescribeModel)
    t.scale_given = scale_option->count() > 0;
    ModelSpec model;
    model.tensors.push_back(std::move(t));
    return model;
  }

  // Runs f, which uses the model of ToModel, with its errors labeled as
  // these options' own: the model functions start theirs "model spec:
  // tensor #0 'NAME': " (schemes.hpp), which names a spec no one wrote. The
  // messages name the scheme and shape; --name is added where given.
  template <class F>
  auto Labeled(F&& f) const {
    try {
      return f();
    } catch (const std::invalid_argument& e) {
      constexpr std::string_view kModelLabel = "model spec: tensor #0 '";
      const std::string_view what = e.what();
      if (!what.starts_with(kModelLabel)) throw;
      const std::string exact =
          std::string(kModelLabel) + (name.empty() ? "tensor" : name) + "': ";
      size_t end = exact.size();
      if (!what.starts_with(exact)) {  // a long name is shown shortened: up to its first "': "
        const size_t quote = what.find("': ", kModelLabel.size());
        if (quote == std::string_view::npos) throw;
        end = quote + 3;
      }
      throw std::invalid_argument((name.empty() ? std::string() : "--name " + PrintableName(name) + ": ") +
                                  std::string(what.substr(end)));
    }
  }
};

// Writes the model's tensors to `path` (.npy and .bin: exactly one tensor).
void WriteModel(const ModelSpec& model, const std::string& path, uint64_t seed, bool force,
                ProgressStyle progress, int threads) {
  const Format format = FormatOfPath(path);
  for (const TensorSpec& t : model.tensors) {
    // Only .safetensors has a place for "<name>_scale"; elsewhere a scaled
    // tensor would lose its scale.
    if (t.has_scale() && format != Format::kSafetensors) {
      throw std::invalid_argument("tensor '" + t.name + "' has scale " + Number(t.scale) +
                                  ": only .safetensors stores the scale (as '" + t.name +
                                  "_scale')");
    }
  }
  OutputFile::CheckCreatable(path, force);
  const std::vector<PreparedInit> plans = PrepareModel(model, seed);
  const std::vector<TensorDescription> descs = DescribeModel(model, plans);
  std::vector<TensorJob> jobs;
  for (const PreparedInit& plan : plans) jobs.push_back({&plan, 0});

  std::string header;
  std::vector<SafetensorsModelLayout::Scale> scales;
  switch (format) {
    case Format::kNpy:
      header = NpyHeader(descs[0].dtype, model.tensors[0].shape);
      break;
    case Format::kBin:
      break;
    case Format::kSafetensors: {
      const SafetensorsModelLayout layout = ModelLayout(model, descs, seed);
      header = layout.header;
      scales = layout.scales;
      // WriteTensors takes offsets from the end of the header.
      for (size_t i = 0; i < jobs.size(); ++i) jobs[i].offset = layout.offsets[i] - header.size();
      break;
    }
  }
  FileSize size;  // refused past the largest file, before the file is created
  size.Add(header.size());
  for (TensorJob& job : jobs) {
    job.offset += header.size();
    size.Add(job.plan->bytes());
  }
  for (size_t k = 0; k < scales.size(); ++k) size.Add(4);
  OutputFile file(path, force, size.Total());
  file.WriteAt(header.data(), header.size(), 0);
  for (const SafetensorsModelLayout::Scale& s : scales) {
    unsigned char bytes[4];
    std::memcpy(bytes, &s.value, 4);  // little-endian hosts only (as the tensors)
    file.WriteAt(bytes, 4, s.offset);
  }
  WriteTensors(file, jobs, {.max_threads = threads, .progress = progress});
  file.Commit();
}

// DescribeModelJson plus each tensor's core distribution (the one Fill that
// makes it, with its "scale" where not 1; null for constant, eye and dirac,
// and for a zero-element tensor whose parameters are unknown, NaN, for want
// of fans). A tensor whose values its dtype cannot hold (normal std=1e6 as
// f16, FP8 without the scale it needs), which `fill` and `model` refuse, is
// refused here too, with their message: DescribeModel describes it,
// PrepareModel validates what InitModel validates (the seed does not enter
// any check). The file's own checks (format, size) are not made.
std::string DescribeJson(const ModelSpec& model) {
  PrepareModel(model, /*seed=*/0);
  auto out = nlohmann::ordered_json::parse(DescribeModelJson(model));
  const std::vector<TensorDescription> descs = DescribeModel(model);
  for (size_t i = 0; i < descs.size(); ++i) {
    const Description& d = descs[i].description;
    nlohmann::ordered_json dist = nullptr;
    const bool has_distribution =
        d.kind == Description::Kind::kUniform || d.kind == Description::Kind::kNormal ||
        d.kind == Description::Kind::kTruncatedNormal || d.kind == Description::Kind::kSparse ||
        d.kind == Description::Kind::kOrthogonal;
    if (has_distribution && !std::isnan(d.distribution.mean)) {
      const Distribution& x = d.distribution;
      switch (x.kind) {
        case Distribution::Kind::kUniform:
          dist = {{"kind", "uniform"}, {"low", x.low}, {"high", x.high}};
          break;
        case Distribution::Kind::kNormal:
          dist = {{"kind", "normal"}, {"mean", x.mean}, {"stddev", x.stddev}};
          break;
        case Distribution::Kind::kTruncatedNormal:
          dist = {{"kind", "truncated_normal"},
                  {"mean", x.mean},
                  {"stddev", x.stddev},
                  {"low", x.low},
                  {"high", x.high}};
          break;
      }
      if (x.scale != 1) dist["scale"] = x.scale;
    }
    out[i]["distribution"] = dist;
  }
  return out.dump(2);
}


std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

struct HfOptions {
  std::string config, out, dtype, max_shard_size = hf::kDefaultMaxShardSize;
  bool dry_run = false, json = false;
};

void PrintHfDryRun(const hf::HfModel& model, const std::vector<hf::HfShard>& shards,
                   const std::vector<PreparedInit>& plans, bool json) {
  std::vector<std::string> file_of(model.tensors.size());
  for (const hf::HfShard& s : shards) {
    for (size_t i : s.tensors) file_of[i] = s.file;
  }
  if (json) {
    nlohmann::ordered_json out;
    out["model_type"] = model.model_type;
    out["architecture"] = model.architecture;
    out["dtype"] = DTypeName(model.dtype);
    out["total_parameters"] = model.total_parameters;
    out["total_size"] = model.total_size;
    out["files"] = nlohmann::ordered_json::array();
    for (const hf::HfShard& s : shards) out["files"].push_back(s.file);
    out["tensors"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < model.tensors.size(); ++i) {
      const hf::HfTensor& t = model.tensors[i];
      const TensorSpec& src = model.sources.tensors[t.source];
      nlohmann::ordered_json row = {{"name", t.name},
                                    {"shape", t.shape},
                                    {"dtype", DTypeName(model.dtype)},
                                    {"scheme", plans[t.source].description().scheme},
                                    {"stream_name", src.name},
                                    {"stream", StreamId(src.name)},
                                    {"source_first", t.source_first},
                                    {"file", file_of[i]}};
      if (t.zero_count) row["zero_elements"] = {t.zero_first, t.zero_first + t.zero_count};
      out["tensors"].push_back(std::move(row));
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  size_t name_w = 4, shape_w = 5;
  for (const hf::HfTensor& t : model.tensors) {
    name_w = std::max(name_w, t.name.size());
    shape_w = std::max(shape_w, ShapeText(t.shape).size());
  }
  auto pad = [](std::string s, size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); };
  std::cout << model.architecture << " (" << model.model_type << "), " << DTypeName(model.dtype) << ", "
            << shards.size() << (shards.size() == 1 ? " file" : " files") << "\n";
  std::cout << pad("name", name_w) << "  " << pad("shape", shape_w) << "  dtype  scheme\n";
  for (const hf::HfTensor& t : model.tensors) {
    std::cout << pad(t.name, name_w) << "  " << pad(ShapeText(t.shape), shape_w) << "  "
              << pad(DTypeName(model.dtype), 5) << "  " << hf::TensorScheme(model, t) << "\n";
  }
  std::cout << "total parameters: " << model.total_parameters << "\n";
  std::cout << "total size: " << model.total_size << " bytes\n";
}

// Writes the checkpoint directory. Each file is written under a temporary
// name and renamed when complete (OutputFile); the shards first, then the
// index and config.json, so a directory without config.json is an
// interrupted run. On an error the files this run renamed are removed.
void WriteHf(const HfOptions& opts, uint64_t seed, bool force, ProgressStyle progress, int threads) {
  namespace fs = std::filesystem;
  const std::string config_text = ReadFile(opts.config);
  const hf::HfModel model = hf::BuildHfModel(config_text, opts.dtype);
  const uint64_t max_shard = hf::ParseShardSize(opts.max_shard_size);
  const std::vector<PreparedInit> plans = PrepareModel(model.sources, seed);  // validates all first
  const std::vector<hf::HfShard> shards = hf::SplitShards(model, max_shard);
  if (opts.dry_run) {
    PrintHfDryRun(model, shards, plans, opts.json);
    return;
  }
  if (opts.out.empty()) throw std::invalid_argument("--out DIR is required (or --dry-run)");
  const std::string config_out = hf::OutputConfigJson(config_text, model);
  fs::path dir(opts.out);
  if (!dir.has_filename()) dir = dir.parent_path();  // "out/" is "out"
  std::error_code ec;
  // The directories this run creates, innermost first: removed again if it
  // fails (each only if empty: nothing else is ever deleted).
  std::vector<fs::path> created;
  auto remove_created = [&] {
    for (const fs::path& d : created) fs::remove(d, ec);
  };
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      throw std::runtime_error("'" + opts.out + "' exists and is not a directory");
    }
    if (!fs::is_empty(dir, ec) && !force) {
      throw std::runtime_error("'" + opts.out + "' is not empty (use --force to write into it)");
    }
  } else {
    // Missing parents too, as save_pretrained (os.makedirs) creates them.
    std::vector<fs::path> missing;
    for (fs::path d = dir; !d.empty() && !fs::exists(d, ec); d = d.parent_path()) {
      missing.push_back(d);
      if (d == d.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (!fs::create_directory(*it, ec)) {
        const std::string why = ec ? ec.message() : "it exists and is not a directory";
        remove_created();
        throw std::runtime_error("cannot create directory '" + it->string() + "': " + why);
      }
      created.insert(created.begin(), *it);
    }
  }
  std::vector<std::string> written;
  try {
    for (const hf::HfShard& shard : shards) {
      const hf::HfShardLayout layout = hf::ShardLayout(model, shard);
      std::vector<TensorJob> jobs;
      for (size_t k = 0; k < shard.tensors.size(); ++k) {
        const hf::HfTensor& t = model.tensors[shard.tensors[k]];
        jobs.push_back({.plan = &plans[t.source], .offset = layout.offsets[k], .first = t.source_first,
                        .count = ElementCount(t.shape), .zero_first = t.zero_first,
                        .zero_count = t.zero_count});
      }
      const std::string& header = layout.header;
      const std::string path = (dir / shard.file).string();
      OutputFile file(path, force, layout.size);
      file.WriteAt(header.data(), header.size(), 0);
      WriteTensors(file, jobs, {.max_threads = threads, .progress = progress});
      file.Commit();
      written.push_back(path);
    }
    auto write_text = [&](const std::string& name, const std::string& text) {
      const std::string path = (dir / name).string();
      OutputFile file(path, force, text.size());
      file.WriteAt(text.data(), text.size(), 0);
      file.Commit();
      written.push_back(path);
    };
    if (shards.size() > 1) write_text("model.safetensors.index.json", hf::IndexJson(model, shards));
    write_text("config.json", config_out);
  } catch (...) {
    for (const std::string& path : written) fs::remove(path, ec);
    remove_created();
    throw;
  }
  // As save_pretrained: weight files of an earlier save that this one does
  // not replace are removed (only with --force can there be any). Only the
  // names this command writes: model.safetensors, its index and the shards
  // model-NNNNN-of-NNNNN.safetensors; other files (model_ema.safetensors...)
  // stay.
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (hf::IsHfWeightFileName(name) && e.is_regular_file() &&
        std::find(written.begin(), written.end(), e.path().string()) == written.end()) {
      fs::remove(e.path(), ec);
    }
  }
}

ProgressStyle ChooseProgress(bool requested) {
  if (isatty(STDERR_FILENO)) return ProgressStyle::kTerminal;
  return requested ? ProgressStyle::kLines : ProgressStyle::kNone;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "fanfill: reproducible random weight initialization (Philox4x32-10, SIMD, "
      "multi-core). Element i of a tensor depends only on (seed, stream, i, scheme, "
      "dtype): never on threads, chunking or the SIMD target."};
  app.set_version_flag("--version", VersionText(), "Print the version and the SIMD targets");
  app.require_subcommand(1);
  app.fallthrough();  // the common options also work after the subcommand
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("fanfill: error: ") + e.what() + "\nRun with --help for more information.\n";
  });
  int threads = 0;
  std::string target;
  app.add_option("--threads", threads, "Use at most N threads (default: all cores)")
      ->check(CLI::Validator(
          [](const std::string& text) {
            // CLI11's PositiveNumber prints the range up to DBL_MAX in full.
            int n = 0;  // what does not fit an int is out of range too
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
            const bool ok = ec == std::errc() && end == text.data() + text.size() && n >= 1;
            return ok ? std::string() : "must be a positive integer, got '" + text + "'";
          },
          "POSITIVE"));
  app.add_option("--target", target,
                 "Force a SIMD target (avx3, avx2, sse4, emu128, scalar...; see --version); "
                 "values do not depend on it");

  TensorOptions fill_opts;
  std::string seed_text;  // ParseU64 after parsing
  std::string out_path;
  bool force = false, progress = false;
  CLI::App* fill = app.add_subcommand("fill", "Write one tensor to .npy, .safetensors or .bin");
  fill->footer(std::string("The format follows the extension of --out: .npy (numpy; bf16 has no "
                           "numpy dtype and is refused), .safetensors (tensor name: --name, or "
                           "\"tensor\"), .bin (raw little-endian values). ") +
               kPointwiseNote);
  fill_opts.AddTo(*fill);
  fill->add_option("--seed", seed_text, "Seed, an integer in [0, 2^64)")->required();
  fill->add_option("--out", out_path, "Output file: .npy, .safetensors or .bin")->required();
  fill->add_flag("--force", force, "Overwrite an existing output file");
  fill->add_flag("--progress", progress, "Show progress on stderr even when it is not a terminal");

  std::string spec_path;
  CLI::App* model = app.add_subcommand(
      "model", "Initialize every tensor of a model spec (JSON) into one .safetensors file");
  model->footer(std::string("Each tensor's stream is StreamId(name) unless the spec sets "
                            "\"stream\"; the file's tensors are those of the spec. ") +
                kPointwiseNote);
  model->add_option("spec", spec_path, "Model spec (JSON, see fanfill/schemes.hpp)")->required();
  model->add_option("--seed", seed_text, "Seed, an integer in [0, 2^64)")->required();
  model->add_option("--out", out_path, "Output file (.safetensors)")->required();
  model->add_flag("--force", force, "Overwrite an existing output file");
  model->add_flag("--progress", progress,
                  "Show progress (bytes done, rate, ETA) on stderr even when it is not a terminal");

  TensorOptions describe_opts;
  std::string describe_spec;
  CLI::App* describe = app.add_subcommand(
      "describe",
      "Print fans, gain, distribution, mean, std, low and high as JSON; what fill or model "
      "would refuse (values the dtype cannot hold) is refused with their message");
  describe_opts.AddTo(*describe);
  CLI::Option* spec_option = describe->add_option(
      "--spec", describe_spec,
      "Describe every tensor of a model spec (JSON); the per-tensor options are the spec's");
  for (const char* name : TensorOptions::kNames) spec_option->excludes(name);

  std::string bench_size = std::to_string(uint64_t{1} << 24);  // ParseU64 after parsing
  int bench_reps = 5;
  CLI::App* bench = app.add_subcommand(
      "bench", "Print this machine's fill throughput beside memset of the same buffer");
  bench->add_option("--size", bench_size, "Elements per fill")->capture_default_str();
  bench->add_option("--reps", bench_reps, "Timed runs per figure (the best is shown)")
      ->capture_default_str();

  mlp::ValidateOptions validate_opts;
  CLI::App* validate = app.add_subcommand(
      "validate",
      "Train small MLPs to show what the init schemes do: symmetry, signal propagation at "
      "depth 50, training through depth, digits, deep linear nets (docs/mlp.md)");
  validate->footer(
      "Prints a table per experiment, writes <name>.csv and <name>_<plot>.svg/.csv into --out, "
      "and exits with status 1 if an expected behaviour did not show up.");
  validate->add_flag("--quick", validate_opts.quick, "Small sizes (under a minute on 2 cores)");
  validate->add_option("--out", validate_opts.out_dir, "Directory for the CSV and SVG files")
      ->capture_default_str();
  validate->add_option("--digits", validate_opts.digits_path,
                       std::string("scikit-learn's digits.csv.gz (default ") +
                           mlp::kDefaultDigitsPath + "; skipped if missing)");
  std::string validate_seed = "0";
  validate->add_option("--seed", validate_seed, "Added to every experiment's seed")
      ->capture_default_str();

  HfOptions hf_opts;
  CLI::App* hf = app.add_subcommand(
      "hf", "Write a Hugging Face checkpoint directory (config.json, safetensors shards, index) "
            "from a config.json, as transformers' save_pretrained of from_config(config)");
  hf->footer(
      "Families (model_type): llama, mistral, qwen2, qwen3, qwen3_moe, gemma, gemma2, "
      "gemma3_text, phi3, olmo2, starcoder2, mixtral, gpt2, gpt_neox, bert; the class follows "
      "architectures[0] "
      "(the causal LM, or BertForMaskedLM, by default; the bare XModel too). Each tensor follows its family's _init_weights (docs/hf.md) and is drawn from "
      "(seed, StreamId(parameter name)): the files do not depend on --threads or the shard size "
      "split. FP8 is refused.");
  hf->add_option("config", hf_opts.config, "config.json of the model")->required();
  hf->add_option("--seed", seed_text, "Seed, an integer in [0, 2^64)")->required();
  hf->add_option("--out", hf_opts.out, "Output directory (created, with missing parents; must be empty unless --force)");
  hf->add_option("--dtype", hf_opts.dtype,
                 "bf16, f16 or f32 (default: the config's dtype / torch_dtype, else f32)");
  hf->add_option("--max-shard-size", hf_opts.max_shard_size,
                 "Largest shard, as save_pretrained: 5GB = 5*10^9 bytes (KB, MB, GB, TB) or bytes")
      ->capture_default_str();
  hf->add_flag("--dry-run", hf_opts.dry_run,
               "Write nothing; print the tensors (name, shape, dtype, scheme) and the total");
  hf->add_flag("--json", hf_opts.json, "With --dry-run: print it as JSON");
  hf->add_flag("--force", force, "Write into a non-empty directory, replacing its files");
  hf->add_flag("--progress", progress, "Show progress on stderr even when it is not a terminal");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // An unknown first word is left over, and CLI11 only says that a
    // subcommand is required.
    const std::vector<std::string> rest = app.remaining();
    if (app.get_subcommands().empty() && !rest.empty() && !rest.front().starts_with("-") &&
        dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      std::string known;
      for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        known += (known.empty() ? "" : ", ") + sub->get_name();
      }
      std::fprintf(stderr,
                   "fanfill: error: unknown command '%s' (expected %s)\nRun with --help for more "
                   "information.\n",
                   rest.front().c_str(), known.c_str());
      return e.get_exit_code();
    }
    return app.exit(e);
  }

  if (!target.empty()) ForceTarget(target);
  // fill, model and hf require --seed (describe, bench and validate have none of theirs).
  const uint64_t seed = *fill || *model || *hf ? ParseU64("--seed", seed_text) : 0;
  std::optional<tbb::global_control> thread_limit;
  if (threads > 0) thread_limit.emplace(tbb::global_control::max_allowed_parallelism, threads);

  if (*fill) {
    const ModelSpec one = fill_opts.ToModel(/*stream_required=*/true);
    fill_opts.Labeled(
        [&] { WriteModel(one, out_path, seed, force, ChooseProgress(progress), threads); });
  } else if (*model) {
    const ModelSpec spec = ParseModelSpec(ReadFile(spec_path));
    if (FormatOfPath(out_path) != Format::kSafetensors) {
      throw std::invalid_argument("model writes one .safetensors file; '" + out_path +
                                  "' does not end in .safetensors");
    }
    WriteModel(spec, out_path, seed, force, ChooseProgress(progress), threads);
  } else if (*describe) {
    const std::string json =
        describe_spec.empty()
            ? describe_opts.Labeled([&] { return DescribeJson(describe_opts.ToModel(false)); })
            : DescribeJson(ParseModelSpec(ReadFile(describe_spec)));
    std::cout << json << "\n";
  } else if (*hf) {
    if (hf_opts.json && !hf_opts.dry_run) throw std::invalid_argument("--json needs --dry-run");
    WriteHf(hf_opts, seed, force, ChooseProgress(progress), threads);
  } else if (*bench) {
    RunBench(ParseU64("--size", bench_size), bench_reps, std::cout);
  } else if (*validate) {
    validate_opts.seed = ParseU64("--seed", validate_seed);
    return mlp::RunValidation(validate_opts).exit_status();
  }
  return 0;
}

}  // namespace
}  // namespace fanfill::cli

int main(int argc, char** argv) {
  fanfill::cli::OutputFile::InstallSignalCleanup();
  try {
    return fanfill::cli::Main(argc, argv);
  } catch (const std::bad_alloc&) {  // rather than "std::bad_alloc"
    std::fprintf(stderr, "fanfill: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fanfill: error: %s\n", e.what());
    return 1;
  }
}
