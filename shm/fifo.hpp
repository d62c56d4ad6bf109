#pragma once
/// \file
/// Single-producer single-consumer byte fifo stored in a fifo segment.
///
/// `fifo` is a small process-local handle over shared state; copies of it
/// refer to the same fifo. Exactly one thread (in any process) produces —
/// the enqueue family — and exactly one consumes — dequeue, peek, drop.
/// The two meet only through the head/tail atomics and the chunk links.
///
/// Storage is a list of chunks taken from the segment: the producer appends
/// chunks as data arrives, the consumer returns chunks it has fully read.
/// The logical size (the most bytes the fifo accepts) can grow or shrink at
/// run time between 4 KiB and the fifo's max size; shrinking below the
/// queued bytes only stops new enqueues until the data drains — no byte is
/// ever dropped by a resize.

#include "shm/block_allocator.hpp"

#include <actorstack/fifo_ref.hpp>
#include <actorstack/result.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace actorstack::shm {

namespace detail {
struct fifo_header;
struct chunk;
}  // namespace detail

/// Smallest logical fifo size.
inline constexpr std::uint32_t min_fifo_size = 4096;

/// When the consumer should tell the producer it freed space.
enum class deq_ntf : std::uint32_t {
  none = 0,
  on_every_dequeue = 1,  ///< each dequeue (above the threshold), one-shot
  if_full = 2,           ///< when a dequeue takes the fifo out of "full"
  if_empty = 4,          ///< when a dequeue leaves the fifo empty
  /// The producer tunes this fifo's size (SPEC 4): the consumer reports
  /// every dequeue. Persistent (clear_deq_ntf keeps it); needs_deq_ntf
  /// ignores it — the tuning callback is its own notification.
  tuning = 8,
};

/// Who owns a fifo in the session layer: the session index and the worker
/// (thread) index, read together.
struct fifo_owner {
  std::uint32_t session_index = 0;
  std::uint32_t worker_index = 0;
  friend bool operator==(const fifo_owner&, const fifo_owner&) = default;
};

class fifo {
 public:
  fifo() noexcept = default;

  bool valid() const noexcept { return hdr_ != nullptr; }

  /// A handle keeps its segment's size in whole units of this many bytes
  /// (fifo_segment's blocks end at the last whole one).
  static constexpr std::uint64_t mapping_granule = 4096;
  /// Segments a handle can name are smaller than this: their size in
  /// granules fits the 29 bits the handle keeps for it (2 TiB).
  static constexpr std::uint64_t mapping_size_limit = mapping_granule << 29;
  /// Whether a handle can name fifos of a segment mapped at `base`, `size`
  /// bytes long (fifo_segment refuses to map one it cannot).
  static bool can_name(const std::byte* base, std::uint64_t size) noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(base);
    return at % page_bytes == 0 && (at >> page_shift) <= base_page_mask &&
           size < mapping_size_limit;
  }

  /// This handle as the public API carries it, and back (a copy of the
  /// same handle: no state moves).
  fifo_ref to_ref() const noexcept;
  static fifo from_ref(const fifo_ref& r) noexcept;
  /// Where this fifo lives in its segment: the identity that travels
  /// between processes (see fifo_segment::fifo_at).
  offset_t offset() const noexcept;
  /// Where this process maps the fifo's segment: with offset(), names the
  /// fifo to another process that maps the same segment.
  const std::byte* segment_base() const noexcept { return base(); }

  // ---- producer -----------------------------------------------------------
  /// Appends up to `data.size()` bytes; returns how many were taken.
  /// Any out-of-order ranges the new tail reaches become readable too.
  /// Errors: fifo_full (no room at all), fifo_no_memory (room, but the
  /// segment could not provide storage for a single byte).
  result<std::size_t> enqueue(std::span<const std::byte> data) noexcept;
  /// Appends every part of `parts`, in order, all or nothing, published
  /// with one tail update: the consumer sees all of them or none. Datagram
  /// transports use it so a header and its payload never appear apart.
  /// Returns the bytes taken (the sum of the parts). Errors: fifo_full (not
  /// room for all), fifo_no_memory.
  result<std::size_t> enqueue_gather(std::span<const std::span<const std::byte>> parts) noexcept;
  /// Writes `data` at `offset` bytes past the tail, all or nothing, and
  /// records the range; it becomes readable once the gap before it fills.
  /// Errors: fifo_full (offset + size beyond free space), ooo_full (too many
  /// disjoint ranges), fifo_no_memory.
  result<std::size_t> enqueue_with_offset(std::size_t offset,
                                          std::span<const std::byte> data) noexcept;
  /// Bytes an enqueue may take now.
  std::size_t max_enqueue() const noexcept;
  /// Number of tracked out-of-order ranges.
  std::size_t ooo_segment_count() const noexcept;
  /// Out-of-order range `i` (< ooo_segment_count()), as stream positions,
  /// ascending. A TCP receiver builds its SACK blocks from them. Read on
  /// the producer side; a range whose bounds another process scribbled is
  /// clipped to the fifo's size past the tail.
  struct ooo_span {
    std::uint64_t start = 0;
    std::uint64_t length = 0;
  };
  ooo_span ooo_segment(std::size_t i) const noexcept;

  // ---- consumer -----------------------------------------------------------
  /// Moves up to `out.size()` bytes out. Errors: fifo_empty.
  result<std::size_t> dequeue(std::span<std::byte> out) noexcept;
  /// Copies up to `out.size()` bytes starting `offset` past the head,
  /// without consuming. Returns 0 when offset is at or past the data.
  /// Errors: fifo_empty (nothing queued at all).
  result<std::size_t> peek(std::size_t offset, std::span<std::byte> out) const noexcept;
  /// Discards up to `n` bytes from the head; returns how many.
  std::size_t drop(std::size_t n) noexcept;
  /// Discards everything queued; returns how many bytes.
  std::size_t drop_all() noexcept;
  /// Bytes a dequeue may take now.
  std::size_t max_dequeue() const noexcept;
  bool empty() const noexcept { return max_dequeue() == 0; }
  bool full() const noexcept { return max_enqueue() == 0; }

  // ---- size ---------------------------------------------------------------
  std::uint32_t size() const noexcept;
  std::uint32_t max_size() const noexcept;
  /// Sets the logical size. Errors: invalid_argument outside
  /// [min_fifo_size, max_size()].
  result<void> set_size(std::uint32_t new_size) noexcept;
  /// Restarts an empty fifo's byte positions at `pos` (a transport may map
  /// them onto its sequence space; tests use it to cross 2^64). Only while
  /// no other thread uses the fifo. Errors: invalid_argument if not empty.
  result<void> reset_positions(std::uint64_t pos) noexcept;
  /// Stream position of the next byte to read (consumer side).
  std::uint64_t head_position() const noexcept;
  /// Stream position of the next in-order byte to write (producer side).
  std::uint64_t tail_position() const noexcept;
  /// Bytes of segment memory the fifo's chunks occupy right now.
  std::size_t allocated_bytes() const noexcept;

  // ---- event flag (coalesces notifications: post only if newly set) -------
  /// Sets the flag; true if it was clear (the caller should post an event).
  bool set_event() noexcept;
  void unset_event() noexcept;
  bool has_event() const noexcept;
  /// A consumer that polls the fifo (an app in another process spinning on
  /// its sessions) says so: while set, a producer need not post events, the
  /// consumer will see the data anyway. It clears it before it sleeps and
  /// then looks once more; with the producer's check after its enqueue
  /// (both sequentially consistent) one of the two always sees the other.
  void set_consumer_polling(bool on) noexcept;
  bool consumer_polling() const noexcept;

  // ---- dequeue notifications ----------------------------------------------
  /// A producer that found the fifo full asks, then looks at max_enqueue()
  /// again; a consumer dequeues, then reads want_deq_ntf(). Both calls
  /// carry a full fence, so one of the two always sees the other.
  void add_want_deq_ntf(deq_ntf mode) noexcept;
  void del_want_deq_ntf(deq_ntf mode) noexcept;
  std::uint32_t want_deq_ntf() const noexcept;
  /// Only notify for on_every_dequeue once at least this many bytes are free.
  void set_deq_thresh(std::uint32_t bytes) noexcept;
  /// After a dequeue of `n_last_deq` bytes, does the producer want to know?
  bool needs_deq_ntf(std::size_t n_last_deq) const noexcept;
  /// Call once the notification was sent: clears the one-shot mode and
  /// latches if_full / if_empty until reset_has_deq_ntf().
  void clear_deq_ntf() noexcept;
  void reset_has_deq_ntf() noexcept;

  // ---- subscribers (other app workers told about this fifo's events) ------
  /// Errors: subscribers_full (at most 7).
  result<void> add_subscriber(std::uint32_t app_worker) noexcept;
  void del_subscriber(std::uint32_t app_worker) noexcept;
  std::size_t subscriber_count() const noexcept;
  std::uint32_t subscriber(std::size_t i) const noexcept;

  // ---- ownership ----------------------------------------------------------
  void set_owner(fifo_owner o) noexcept;
  fifo_owner owner() const noexcept;
  std::uint32_t refcount() const noexcept;
  void add_ref() noexcept;

 private:
  friend class fifo_segment;
  fifo(const block_allocator& alloc, detail::fifo_header* hdr) noexcept
      : mapping_((reinterpret_cast<std::uintptr_t>(alloc.base()) >> page_shift) |
                 ((alloc.end() >> page_shift) << base_bits)),
        hdr_(hdr) {}

  // The mapping packed into mapping_: the base's page number (user-space
  // addresses lie below 2^47) and, above it, the size in whole pages
  // (below 2 TiB). A size that is no whole number of pages loses its last
  // part page: blocks there are refused, never reached.
  static constexpr unsigned page_shift = 12;
  static constexpr std::uint64_t page_bytes = std::uint64_t{1} << page_shift;
  static_assert(page_bytes == mapping_granule);
  static constexpr unsigned base_bits = 35;
  static constexpr unsigned size_bits = 64 - base_bits;
  static constexpr std::uint64_t base_page_mask = (std::uint64_t{1} << base_bits) - 1;
  static_assert((page_bytes << size_bits) == mapping_size_limit);
  std::byte* base() const noexcept { return reinterpret_cast<std::byte*>((mapping_ & base_page_mask) << page_shift); }
  std::uint64_t end() const noexcept { return (mapping_ >> base_bits) << page_shift; }
  /// The segment's block allocator with this process's bounds.
  block_allocator blocks() const noexcept;

  detail::chunk* chunk_at(offset_t off) const noexcept;  // nullptr: not a chunk this process may touch
  offset_t off_of(const detail::chunk* c) const noexcept;
  std::uint64_t data_length(const detail::chunk* c) const noexcept;
  bool contains(const detail::chunk* c, std::uint64_t pos) const noexcept;
  std::size_t max_walk() const noexcept;
  template <class Piece>
  bool walk_range(detail::chunk* c, std::uint64_t pos, std::size_t n, std::memory_order link_order,
                  Piece&& piece) const noexcept;
  std::uint32_t ooo_count() const noexcept;
  void release_chunk(detail::chunk* c) noexcept;
  std::uint32_t min_alloc(std::uint64_t backlog) const noexcept;
  std::size_t reserve_storage(std::uint64_t from, std::uint64_t end) noexcept;
  bool copy_in(detail::chunk* c, std::uint64_t pos, const std::byte* src, std::size_t n) noexcept;
  bool copy_out(detail::chunk* c, std::uint64_t pos, std::byte* dst, std::size_t n) const noexcept;
  void advance_tail_cursor(std::uint64_t tail) noexcept;
  void release_consumed_chunks(std::uint64_t head) noexcept;
  void free_all_chunks() noexcept;
  bool track_ooo(std::uint64_t start, std::uint64_t length, bool commit) noexcept;
  std::uint64_t collect_ooo(std::uint64_t tail, std::uint64_t new_tail) noexcept;
  std::uint32_t refcount_release() noexcept;

  // This process's mapping of the fifo's segment (base and size, see
  // base() and end()), never read from the segment: the bounds every
  // offset found in shared memory is checked against. One word, not a
  // block allocator's three: a handle is 16 bytes, and every layer's record
  // of a connection holds two (fifo_ref).
  std::uint64_t mapping_ = 0;
  detail::fifo_header* hdr_ = nullptr;
};

}  // namespace actorstack::shm

namespace actorstack {

/// The shared-memory layer's view of a fifo_ref's bytes.
struct fifo_ref_access {
  static std::byte* bytes(fifo_ref& r) noexcept { return r.raw_; }
  static const std::byte* bytes(const fifo_ref& r) noexcept { return r.raw_; }
};

namespace shm {

static_assert(std::is_trivially_copyable_v<fifo> && sizeof(fifo) <= fifo_ref::storage_size,
              "fifo_ref must be able to hold a fifo handle");

inline fifo_ref fifo::to_ref() const noexcept {
  fifo_ref r;
  std::memcpy(fifo_ref_access::bytes(r), this, sizeof(fifo));
  return r;
}

inline fifo fifo::from_ref(const fifo_ref& r) noexcept {
  fifo f;
  std::memcpy(static_cast<void*>(&f), fifo_ref_access::bytes(r), sizeof(fifo));
  return f;
}

}  // namespace shm
}  // namespace actorstack
