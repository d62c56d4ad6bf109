#pragma once
/// \file
/// A lock-free power-of-two block allocator whose entire state lives inside
/// a shared-memory segment. Several threads in several processes allocate
/// and free concurrently: a fifo's producer grows it while its consumer
/// releases drained chunks, and control threads carve and free fifos.
///
/// Layout: a bump pointer carves fresh blocks from the segment; freed blocks
/// go to one Treiber stack per size class (64 B .. 1 GiB). Stack heads are
/// tagged (24-bit generation + 40-bit block index) so a pop that raced with
/// a pop/push/pop of the same block fails its CAS instead of corrupting the
/// list (the ABA problem). Blocks are never coalesced; a request whose class
/// is empty and that the bump pointer cannot serve splits a larger free
/// block instead.
///
/// The state is shared with other processes, so it is input: every offset
/// read from it (a free-list head, the bump pointer) is checked against
/// bounds this process knows on its own (its mapping), never against the
/// `begin`/`end` stored in the segment. A corrupted list or bump pointer
/// makes allocations of that class fail; it never makes this process read
/// or write outside [begin, end) of the segment.

#include "shm/segment.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace actorstack::shm {

inline constexpr unsigned min_block_log2 = 6;   // 64 B: one cache line
inline constexpr unsigned max_block_log2 = 30;  // 1 GiB
inline constexpr unsigned block_class_count = max_block_log2 - min_block_log2 + 1;

/// Size class of the smallest block holding `bytes`, or block_class_count
/// if no class is big enough.
unsigned block_class_for(std::size_t bytes) noexcept;
inline constexpr std::size_t block_class_bytes(unsigned cls) noexcept {
  return std::size_t{1} << (cls + min_block_log2);
}

/// The allocator's shared state, embedded in a segment header.
struct block_allocator_state {
  std::uint64_t begin = 0;  ///< first carvable offset (64-aligned); informational, never trusted
  std::uint64_t end = 0;    ///< one past the last carvable offset; informational, never trusted
  alignas(64) std::atomic<std::uint64_t> bump{0};
  std::atomic<std::uint64_t> cached_bytes{0};  ///< bytes sitting on free lists
  alignas(64) std::array<std::atomic<std::uint64_t>, block_class_count> free_heads{};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "shared-memory atomics must be address-free");

/// Process-local view over a block_allocator_state inside a mapping.
class block_allocator {
 public:
  block_allocator() noexcept = default;
  /// Over the mapping at `base`, blocks within [begin, end): bounds the
  /// caller knows (the header size, its mapping's size).
  /// Bounds are packed into one word (begin below 4 MiB, end below 256
  /// TiB): the allocator is three words wherever it is kept.
  block_allocator(std::byte* base, block_allocator_state* state, std::uint64_t begin, std::uint64_t end) noexcept
      : base_(base), state_(state), bounds_((((begin + 63) >> 6) & 0xffff) | (end << 16)) {}

  /// Where this process maps the segment.
  std::byte* base() const noexcept { return base_; }
  /// This process's bounds of the blocks: [begin, end) of the mapping.
  std::uint64_t begin() const noexcept { return (bounds_ & 0xffff) << 6; }
  std::uint64_t end() const noexcept { return bounds_ >> 16; }
  /// Whether `bytes` at `off` (64-aligned) lie within [begin, end): the one
  /// test every offset read from shared memory passes before it is used.
  bool holds(offset_t off, std::size_t bytes) const noexcept { return holds(off, bytes, begin(), end()); }
  /// The same test against bounds kept elsewhere (a fifo handle's).
  static bool holds(offset_t off, std::size_t bytes, std::uint64_t begin, std::uint64_t end) noexcept {
    return off >= begin && (off & 63) == 0 && off <= end && end - off >= bytes;
  }

  /// Initialises fresh state covering [begin, end) of the segment.
  static void init(block_allocator_state& st, std::uint64_t begin, std::uint64_t end) noexcept;

  /// Allocates a block of class `cls`; returns its offset, or 0 when the
  /// segment is exhausted (or its shared state is corrupt). A returned
  /// block always lies within [begin, end).
  offset_t allocate(unsigned cls) noexcept;
  /// Returns a block of class `cls` to its free list (ignored unless it
  /// lies within [begin, end), 64-aligned).
  void deallocate(offset_t off, unsigned cls) noexcept;

  /// Bytes never carved yet.
  std::size_t free_bytes() const noexcept;
  /// Bytes on free lists (carved, then freed).
  std::size_t cached_bytes() const noexcept;
  /// Bytes a future allocation may still obtain: free + cached.
  std::size_t available_bytes() const noexcept { return free_bytes() + cached_bytes(); }
  /// Carvable bytes in total.
  std::size_t capacity() const noexcept;

 private:
  offset_t pop(unsigned cls) noexcept;
  void push(offset_t off, unsigned cls) noexcept;
  offset_t carve(unsigned cls) noexcept;

  /// Whether a block of class `cls` at `off` lies in bounds.
  bool in_bounds(offset_t off, unsigned cls) const noexcept {
    return cls < block_class_count && holds(off, block_class_bytes(cls));
  }

  std::byte* base_ = nullptr;
  block_allocator_state* state_ = nullptr;
  std::uint64_t bounds_ = 0;  // this process's begin / 64 (16 bits) and end (48 bits), not the shared state's
};

}  // namespace actorstack::shm
