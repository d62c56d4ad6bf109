#pragma once
/// \file
/// A segment carved into fifos. The segment's header holds the block
/// allocator, so any process that maps the segment (create in one, attach
/// in another from the memfd) allocates and frees from the same memory
/// without locks.

#include "shm/block_allocator.hpp"
#include "shm/fifo.hpp"
#include "shm/segment.hpp"

#include <actorstack/result.hpp>

#include <cstdint>
#include <string>

namespace actorstack::shm {

/// A receive and a transmit fifo allocated together.
struct fifo_pair {
  fifo rx;
  fifo tx;
};

class fifo_segment {
 public:
  /// Largest fifo size accepted anywhere (2 GiB - 1 fits the 32-bit size).
  static constexpr std::uint32_t max_fifo_size_limit = 0x7fffffffu;
  /// Segments are smaller than this: what a fifo handle can name (fifo.hpp).
  static constexpr std::uint64_t segment_size_limit = fifo::mapping_size_limit;
  /// Where the segment's header puts the block allocator's state, and
  /// where the blocks begin (checked against the header in
  /// fifo_segment.cpp).
  static constexpr std::uint64_t blocks_state_offset = 128;
  static constexpr std::uint64_t first_block = 512;

  /// The block allocator of a segment mapped at `base`, `size` bytes long
  /// as this process maps it: what a fifo handle rebuilds from its own
  /// record of the mapping.
  /// Whole pages only, as a handle keeps the size: a segment another
  /// process sized to a part page never has a block there that the
  /// handles would refuse.
  static block_allocator blocks_of(std::byte* base, std::uint64_t size) noexcept {
    return block_allocator{base, reinterpret_cast<block_allocator_state*>(base + blocks_state_offset), first_block,
                           size & ~(fifo::mapping_granule - 1)};
  }

  /// Creates a memfd segment of `size` bytes and initialises its header.
  /// Errors: those of segment::create; invalid_argument if `size` cannot
  /// hold the header plus one minimal fifo.
  static result<fifo_segment> create(const std::string& name, std::size_t size);
  /// Maps a segment created elsewhere from its fd (dup'ed; caller keeps
  /// `fd`). Errors: segment_map, bad_layout (not a fifo segment).
  static result<fifo_segment> attach(int fd, std::string name = {});

  fifo_segment() noexcept = default;
  fifo_segment(fifo_segment&&) noexcept = default;
  fifo_segment& operator=(fifo_segment&&) noexcept = default;

  /// A fifo of logical `size` bytes that may later grow to `max_size`
  /// (0 = same as size). Only its first chunk is taken now; the rest is
  /// taken as data arrives. Errors: invalid_argument (size outside
  /// [4 KiB, max_size], max_size over the limit), fifo_alloc (exhausted).
  result<fifo> alloc_fifo(std::uint32_t size, std::uint32_t max_size = 0);
  /// Both fifos or neither. Errors: as alloc_fifo.
  result<fifo_pair> alloc_fifo_pair(std::uint32_t rx_size, std::uint32_t tx_size,
                                    std::uint32_t max_size = 0);
  /// Drops one reference to `f`; when it was the last, returns the fifo's
  /// chunks and header to the segment. Returns the references left.
  std::uint32_t free_fifo(fifo& f) noexcept;
  /// The fifo stored at `off` (from fifo::offset(), possibly computed in
  /// another process). Errors: bad_layout if no fifo lives there.
  result<fifo> fifo_at(offset_t off) const noexcept;

  /// Raw block for other shared structures (event queues). Errors:
  /// segment_alloc. Free with the same byte count.
  result<offset_t> alloc_block(std::size_t bytes) noexcept;
  void free_block(offset_t off, std::size_t bytes) noexcept;

  /// Total mapped bytes.
  std::size_t size() const noexcept { return mem_.size(); }
  /// Bytes still obtainable: never carved + freed and cached for reuse.
  std::size_t available_bytes() const noexcept { return allocator().available_bytes(); }
  std::size_t free_bytes() const noexcept { return allocator().free_bytes(); }
  std::size_t cached_bytes() const noexcept { return allocator().cached_bytes(); }
  /// Fifos currently allocated.
  std::size_t fifo_count() const noexcept;

  const segment& memory() const noexcept { return mem_; }
  const std::string& name() const noexcept { return mem_.name(); }
  int fd() const noexcept { return mem_.fd(); }
  bool valid() const noexcept { return mem_.valid(); }

 private:
  explicit fifo_segment(segment mem) noexcept : mem_(std::move(mem)) {}
  block_allocator allocator() const noexcept;
  struct header;
  header* hdr() const noexcept;

  segment mem_;
};

}  // namespace actorstack::shm
