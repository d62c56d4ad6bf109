#pragma once
/// \file
/// The shared-memory representation of a fifo. Internal to shm/: users go
/// through `shm::fifo`. Everything here is position-independent (offsets
/// relative to the segment base) and split into cache lines by writer:
/// control fields (rarely written), consumer fields, producer fields.
///
/// Byte positions (head, tail, chunk starts) are free-running 64-bit
/// counters compared only through differences, so they wrap modulo 2^64
/// without special cases.

#include "shm/segment.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace actorstack::shm::detail {

inline constexpr std::uint32_t fifo_magic = 0x41534646;  // "ASFF"
inline constexpr std::size_t max_ooo_segments = 32;
inline constexpr std::size_t max_subscribers = 7;

/// One piece of a fifo's storage. A fifo's chunks form a singly linked list
/// ordered by position: [start, start + length) of the byte stream.
struct chunk {
  std::atomic<offset_t> next{0};  ///< written by the producer (release), read by the consumer (acquire)
  std::uint64_t start = 0;        ///< stream position of data[0]
  std::uint32_t length = 0;       ///< usable data bytes
  std::uint32_t size_class = 0;   ///< block class, to free it
  std::uint64_t reserved[5]{};
  // data follows (the header is one cache line)
  std::byte* data() noexcept { return reinterpret_cast<std::byte*>(this + 1); }
};
static_assert(sizeof(chunk) == 64);

/// A received range beyond the tail, waiting for the gap before it to fill.
struct ooo_range {
  std::uint64_t start;
  std::uint64_t length;
};

struct fifo_header {
  // ---- control: written at allocation and by size/ntf/subscriber calls ----
  std::uint32_t magic = fifo_magic;
  std::uint32_t header_class = 0;          ///< block class of this header
  std::atomic<std::uint32_t> size{0};      ///< logical capacity
  std::uint32_t max_size = 0;              ///< ceiling for set_size
  std::atomic<std::uint32_t> refcount{1};
  std::atomic<std::uint64_t> owner{0};     ///< worker << 32 | session
  std::atomic<std::uint64_t> chunk_bytes{0};  ///< segment bytes held by chunks
  std::atomic<std::uint32_t> has_event{0};
  std::atomic<std::uint32_t> want_deq_ntf{0};
  std::atomic<std::uint32_t> has_deq_ntf{0};
  std::atomic<std::uint32_t> deq_thresh{0};
  std::atomic<std::uint32_t> n_subscribers{0};
  std::atomic<std::uint32_t> consumer_polling{0};  ///< the consumer looks without being told
  std::array<std::atomic<std::uint32_t>, max_subscribers> subscribers{};

  // ---- consumer ----
  alignas(64) std::atomic<std::uint64_t> head{0};
  offset_t head_chunk = 0;  ///< chunk holding `head` (consumer-owned cursor)

  // ---- producer ----
  alignas(64) std::atomic<std::uint64_t> tail{0};
  offset_t tail_chunk = 0;  ///< chunk holding `tail` (producer-owned cursor)
  offset_t last_chunk = 0;  ///< end of the chunk list (producer appends here)
  std::uint32_t n_ooo = 0;
  std::array<ooo_range, max_ooo_segments> ooo{};  ///< sorted by distance from tail
};

}  // namespace actorstack::shm::detail
