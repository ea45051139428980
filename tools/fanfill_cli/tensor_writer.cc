#include "tools/fanfill_cli/tensor_writer.h"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace fanfill::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit ? "%.1f %s" : "%.0f %s", bytes, kUnits[unit]);
  return text;
}

std::string HumanSeconds(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

// Bytes done, rate and ETA on stderr; Add() may be called from any thread.
class Progress {
 public:
  Progress(uint64_t total, ProgressStyle style)
      : total_(total),
        style_(total > 0 ? style : ProgressStyle::kNone),
        interval_(style == ProgressStyle::kTerminal ? std::chrono::milliseconds(100)
                                                    : std::chrono::milliseconds(1000)),
        start_(Clock::now()),
        last_draw_ns_(0) {}

  void Add(uint64_t bytes) {
    const uint64_t done = done_.fetch_add(bytes) + bytes;
    if (style_ == ProgressStyle::kNone) return;
    const int64_t now = (Clock::now() - start_).count();
    int64_t last = last_draw_ns_.load();
    // One thread draws per interval.
    if (now - last < std::chrono::nanoseconds(interval_).count()) return;
    if (!last_draw_ns_.compare_exchange_strong(last, now)) return;
    Draw(done, false);
  }

  void Finish() {
    if (style_ != ProgressStyle::kNone) Draw(done_.load(), true);
  }

 private:
  void Draw(uint64_t done, bool final) const {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = seconds > 0 ? done / seconds : 0;
    std::string line = style_ == ProgressStyle::kTerminal ? "\r" : "";
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%3d%%", static_cast<int>(100.0 * done / total_));
    line += std::string(pct) + "  " + HumanBytes(done) + " / " + HumanBytes(total_) + "  " +
            HumanBytes(rate) + "/s";
    if (final) {
      line += "  done in " + HumanSeconds(seconds);
    } else if (rate > 0) {
      line += "  ETA " + HumanSeconds((total_ - done) / rate);
    }
    line += style_ == ProgressStyle::kTerminal && !final ? "   " : "\n";
    // One write() per line, so that lines from a redraw never interleave.
    [[maybe_unused]] const ssize_t n = write(STDERR_FILENO, line.data(), line.size());
  }

  const uint64_t total_;
  const ProgressStyle style_;
  const std::chrono::milliseconds interval_;
  const Clock::time_point start_;
  std::atomic<uint64_t> done_{0};
  std::atomic<int64_t> last_draw_ns_;
};

// The message when a tensor that is not pointwise (made whole in memory
// before it is written) does not fit in memory.
std::string NoMemoryForWholeTensor(const PreparedInit& plan) {
  const Description& d = plan.description();
  std::string shape;
  for (int64_t dim : plan.shape()) shape += (shape.empty() ? "" : ", ") + std::to_string(dim);
  const std::string qr =
      d.kind == Description::Kind::kOrthogonal
          ? ", and its f64 QR, " + HumanBytes(8.0 * static_cast<double>(plan.count())) + ","
          : "";
  return "not enough memory for " + d.scheme + " on shape [" + shape + "] (" +
         DTypeName(plan.dtype()) + "): it is not pointwise, so the whole tensor, " +
         std::to_string(plan.bytes()) + " bytes (" + HumanBytes(static_cast<double>(plan.bytes())) +
         ")" + qr + " is made in memory before it is written";
}

struct Chunk {
  const TensorJob* job;
  uint64_t first;  // element index in the tensor
  uint64_t count;
};

}  // namespace

void WriteTensors(const OutputFile& file, std::span<const TensorJob> jobs,
                  const WriteOptions& options) {
  uint64_t total = 0;
  for (const TensorJob& job : jobs) {
    if (job.first > job.plan->count() || job.Count() > job.plan->count() - job.first) {
      throw std::invalid_argument("WriteTensors: slice beyond the tensor");
    }
    if (!job.plan->is_pointwise() && job.Count() != job.plan->count()) {
      throw std::invalid_argument("WriteTensors: only pointwise plans can be written in slices");
    }
    if (job.zero_count > job.Count() || job.zero_first > job.Count() - job.zero_count) {
      throw std::invalid_argument("WriteTensors: zero range beyond the tensor");
    }
    total += job.Bytes();
  }
  Progress progress(total, options.progress);

  // Whole tensors first, before the chunk buffers exist.
  for (const TensorJob& job : jobs) {
    const PreparedInit& plan = *job.plan;
    if (plan.is_pointwise() || plan.bytes() == 0) continue;
    std::unique_ptr<std::byte[]> values;
    try {
      values.reset(new std::byte[plan.bytes()]);
      plan.Run(values.get(), {.max_threads = options.max_threads});
    } catch (const std::bad_alloc&) {
      throw std::runtime_error(NoMemoryForWholeTensor(plan));
    }
    const size_t size = DTypeSize(plan.dtype());
    std::memset(values.get() + job.zero_first * size, 0, job.zero_count * size);
    for (uint64_t done = 0; done < plan.bytes(); done += kChunkBytes) {
      const uint64_t n = std::min<uint64_t>(kChunkBytes, plan.bytes() - done);
      file.WriteAt(values.get() + done, n, job.offset + done);
      progress.Add(n);
    }
  }

  std::vector<Chunk> chunks;
  for (const TensorJob& job : jobs) {
    const PreparedInit& plan = *job.plan;
    if (!plan.is_pointwise()) continue;
    const uint64_t per_chunk = kChunkBytes / DTypeSize(plan.dtype());
    const uint64_t count = job.Count();
    for (uint64_t first = 0; first < count; first += per_chunk) {
      chunks.push_back({&job, first, std::min(per_chunk, count - first)});
    }
  }
  tbb::enumerable_thread_specific<std::vector<std::byte>> buffers(kChunkBytes);
  auto write_chunks = [&](const tbb::blocked_range<size_t>& range) {
    std::vector<std::byte>& buffer = buffers.local();
    for (size_t i = range.begin(); i != range.end(); ++i) {
      const Chunk& chunk = chunks[i];
      const PreparedInit& plan = *chunk.job->plan;
      const size_t size = DTypeSize(plan.dtype());
      plan.RunRange(buffer.data(), chunk.job->first + chunk.first, chunk.count, {.max_threads = 1});
      // The part of the zero range inside this chunk.
      const uint64_t z0 = std::max(chunk.first, chunk.job->zero_first);
      const uint64_t z1 = std::min(chunk.first + chunk.count, chunk.job->zero_first + chunk.job->zero_count);
      if (z0 < z1) std::memset(buffer.data() + (z0 - chunk.first) * size, 0, (z1 - z0) * size);
      file.WriteAt(buffer.data(), chunk.count * size, chunk.job->offset + chunk.first * size);
      progress.Add(chunk.count * size);
    }
  };
  if (options.max_threads == 1) {
    write_chunks(tbb::blocked_range<size_t>(0, chunks.size(), 1));
  } else {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, chunks.size(), 1), write_chunks);
  }
  progress.Finish();
}

}  // namespace fanfill::cli
