// Buffer: 2 MiB-aligned mmap memory with transparent huge pages, first
// touched by the fill.
#include "fanfill/buffer.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <stdexcept>
#include <utility>

#include "src/core/fill_params.h"

namespace fanfill {

Buffer::~Buffer() {
  if (data_ != nullptr) munmap(data_, mapped_);
}

Buffer::Buffer(Buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      huge_(std::exchange(other.huge_, false)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    Buffer old(std::move(*this));  // frees the old mapping on scope exit
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    huge_ = std::exchange(other.huge_, false);
  }
  return *this;
}

Buffer Buffer::Allocate(size_t bytes) {
  Buffer b;
  if (bytes == 0) return b;
  constexpr size_t kAlign = kBufferAlignment;
  if (bytes > std::numeric_limits<size_t>::max() - 2 * kAlign) throw std::bad_alloc();
  const size_t length = (bytes + kAlign - 1) / kAlign * kAlign;
  // Over-map by one alignment unit, then trim the unaligned head and the tail.
  const size_t over = length + kAlign;
  void* p = mmap(nullptr, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const auto raw = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (raw + kAlign - 1) / kAlign * kAlign;
  const size_t head = aligned - raw;
  const size_t tail = over - head - length;
  if (head > 0) munmap(p, head);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + length), tail);
  b.data_ = reinterpret_cast<void*>(aligned);
  b.bytes_ = bytes;
  b.mapped_ = length;
#ifdef MADV_HUGEPAGE
  b.huge_ = madvise(b.data_, length, MADV_HUGEPAGE) == 0;  // refusal is fine
#endif
  return b;
}

Buffer AllocateAndFill(DType dtype, uint64_t count, const Distribution& dist, StreamKey key,
                       const FillOptions& options) {
  // Everything Fill checks, once, before anything is mapped.
  const size_t elem = DTypeSize(dtype);
  if (count > std::numeric_limits<size_t>::max() / elem) {
    throw std::invalid_argument("AllocateAndFill: " + std::to_string(count) +
                                " elements do not fit in memory");
  }
  if (count > 0 && options.first_index > std::numeric_limits<uint64_t>::max() - (count - 1)) {
    throw std::invalid_argument("AllocateAndFill: first_index + count overflows 2^64");
  }
  internal::CheckMaxThreads(options.max_threads);
  const internal::FillParams params = internal::MakeFillParams(dtype, dist);
  Buffer b = Buffer::Allocate(static_cast<size_t>(count) * elem);
  // The fill is the first touch.
  if (count > 0) internal::Run(params, key, b.data(), options.first_index, count, options.max_threads);
  return b;
}

}  // namespace fanfill
