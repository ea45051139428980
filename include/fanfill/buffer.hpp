// fanfill/buffer.hpp: allocate fresh memory and fill it at full speed.
//
// Filling memory that was just allocated is dominated by page faults (4 KiB
// pages, each zeroed by the kernel on first touch). AllocateAndFill maps
// fresh anonymous memory with mmap, aligned to 2 MiB, asks for transparent
// huge pages with madvise(MADV_HUGEPAGE) where the OS offers it (refusal is
// not an error: the buffer then uses ordinary pages), and does NOT touch it
// before filling: the fill itself is the first touch, so every page is
// faulted by the thread that fills it (which also places it on that thread's
// NUMA node under the default first-touch policy).
//
// Example:
//   fanfill::Buffer w = fanfill::AllocateAndFill(
//       fanfill::DType::kF32, 4096 * 4096, fanfill::Distribution::Normal(0, 0.02),
//       {.seed = 42, .stream = 7});
//   std::span<float> values = w.span<float>();
//
// Values: exactly those of Fill(out, dtype, count, dist, key, options) into any
// other memory (the reproducibility contract of fanfill.hpp).
//
// Thread safety: a Buffer is an ordinary move-only value.
// Errors: std::invalid_argument as Fill (nothing is mapped then);
// std::bad_alloc when mmap fails.
#ifndef FANFILL_BUFFER_HPP_
#define FANFILL_BUFFER_HPP_

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "fanfill/fanfill.hpp"

namespace fanfill {

// Alignment of Buffer::data() (one x86-64 / arm64 transparent huge page).
inline constexpr size_t kBufferAlignment = size_t{2} << 20;

// Owning, move-only block of mmap'ed memory; freed with munmap.
class Buffer {
 public:
  Buffer() = default;  // empty: data() == nullptr, size_bytes() == 0
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // Maps `bytes` of fresh, untouched, 2 MiB-aligned memory (huge pages
  // requested). 0 bytes gives an empty buffer. Throws std::bad_alloc.
  static Buffer Allocate(size_t bytes);

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t size_bytes() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }
  // Whether madvise(MADV_HUGEPAGE) was accepted (the kernel may still back
  // some pages with 4 KiB ones).
  bool huge_pages_requested() const { return huge_; }

  // The contents as count elements of T; throws unless bytes divide evenly.
  template <class T>
  std::span<T> span() {
    if (bytes_ % sizeof(T) != 0) {
      throw std::invalid_argument("Buffer::span: size is not a multiple of the element size");
    }
    return {static_cast<T*>(data_), bytes_ / sizeof(T)};
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;    // requested size
  size_t mapped_ = 0;   // mapped length (a multiple of kBufferAlignment)
  bool huge_ = false;
};

// Allocates count elements of dtype (Buffer::Allocate) and fills them with
// Fill(dist, key, options); the fill is the first touch. The arguments are
// validated before anything is mapped.
Buffer AllocateAndFill(DType dtype, uint64_t count, const Distribution& dist, StreamKey key,
                       const FillOptions& options = {});

}  // namespace fanfill

#endif  // FANFILL_BUFFER_HPP_
