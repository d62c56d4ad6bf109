#include "shm/fifo.hpp"

#include "shm/fifo_layout.hpp"
#include "shm/fifo_segment.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace actorstack::shm {

using detail::chunk;
using detail::fifo_header;
using detail::ooo_range;

namespace {

constexpr std::uint32_t max_chunk_bytes = 4u << 20;  // 4 MiB
constexpr std::uint32_t min_chunk_bytes = 4096;

}  // namespace

// The other side of a fifo may be another process that writes anything
// into the segment: every chunk offset is checked against this process's
// own bounds before it is followed, a chunk's length is read once and
// clipped to the mapping, and every walk along the list is bounded. A fifo
// found inconsistent stops (bad_layout, or nothing freed); it never makes
// this process touch memory outside the segment or loop forever.

block_allocator fifo::blocks() const noexcept { return fifo_segment::blocks_of(base(), end()); }

// On every step of every walk: the bounds straight from the handle, no
// allocator built for them.
chunk* fifo::chunk_at(offset_t off) const noexcept {
  return block_allocator::holds(off, sizeof(chunk), fifo_segment::first_block, end())
             ? reinterpret_cast<chunk*>(base() + off)
             : nullptr;
}

// The data bytes of `c` this process may touch: its length as read now,
// never past the mapping.
std::uint64_t fifo::data_length(const chunk* c) const noexcept {
  const std::uint64_t room = end() - off_of(c) - sizeof(chunk);
  return std::min<std::uint64_t>(c->length, room);
}

bool fifo::contains(const chunk* c, std::uint64_t pos) const noexcept { return pos - c->start < data_length(c); }

// More steps than a list within the segment can have.
std::size_t fifo::max_walk() const noexcept { return (end() - fifo_segment::first_block) / sizeof(chunk) + 1; }

// Calls `piece(data, k)` for each stretch of the stream bytes [pos, pos +
// n) as the chunks from `c` on hold them, in order. False when the list
// ends, leaves the segment or runs longer than it can before all n bytes
// were found.
template <class Piece>
bool fifo::walk_range(chunk* c, std::uint64_t pos, std::size_t n, std::memory_order link_order,
                      Piece&& piece) const noexcept {
  for (std::size_t steps = max_walk(); n > 0; --steps) {
    if (c == nullptr || steps == 0) return false;
    const std::uint64_t at = pos - c->start;
    const std::uint64_t len = data_length(c);
    if (at < len) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, len - at));
      piece(c->data() + at, k);
      pos += k;
      n -= k;
      if (n == 0) break;
    }
    c = chunk_at(c->next.load(link_order));
  }
  return true;
}

offset_t fifo::off_of(const chunk* c) const noexcept {
  return static_cast<offset_t>(reinterpret_cast<const std::byte*>(c) - base());
}

offset_t fifo::offset() const noexcept {
  return static_cast<offset_t>(reinterpret_cast<const std::byte*>(hdr_) - base());
}

// Chunk size for growth: four times what the fifo will hold with this
// write (its backlog), at least 4 KiB, at most the logical size (4 MiB at
// most). A busy fifo (bulk) gets chunks as large as itself: measured on the
// 2-vCPU machine, 64 KiB writes through a 1 MiB fifo: chunks of size/8
// gave 8 GiB/s, size/2 12-13, size 16-29 — fewer, larger chunks mean fewer
// boundary splits and less churn through the segment's free lists. A fifo
// that holds little (request/response) gets small chunks: each new
// message lands on the next cache line, and a 1 MiB chunk swept 64 bytes
// at a time touches a cold line per message, while a 4 KiB one comes back
// from its free list still in cache (tcp rr_64_32 with 32 connections:
// docs/performance.md). The price of large chunks: while the consumer
// finishes one chunk the producer may already fill the next, so a busy
// fifo can hold up to twice its size.
std::uint32_t fifo::min_alloc(std::uint64_t backlog) const noexcept {
  const std::uint32_t size = hdr_->size.load(std::memory_order_relaxed);
  const std::uint32_t cap = std::clamp<std::uint32_t>(std::bit_floor(size), min_chunk_bytes, max_chunk_bytes);
  // The backlog is computed from the consumer's head, which another
  // process may write at any moment: bounded before it is multiplied, so
  // that no value of it can overflow bit_ceil (at most 4 x 4 MiB here).
  const std::uint64_t wanted = std::bit_ceil(std::clamp<std::uint64_t>(backlog, 1, cap) * 4);
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(wanted, min_chunk_bytes, cap));
}

// ---------------------------------------------------------------------------
// producer

// Makes sure chunks cover stream positions up to `end` (tail <= end).
// Returns the position storage now reaches (may fall short of `end` when
// the segment is exhausted).
std::size_t fifo::reserve_storage(std::uint64_t tail, std::uint64_t end) noexcept {
  chunk* last = chunk_at(hdr_->last_chunk);
  if (last == nullptr) return tail;  // inconsistent: no storage
  std::uint64_t last_end = last->start + data_length(last);
  while (end - tail > last_end - tail) {
    const std::uint64_t need = (end - last_end) + sizeof(chunk);
    // What will be queued once this write is in (the consumer's head may
    // move meanwhile: an estimate is all the size needs).
    const std::uint64_t backlog = end - hdr_->head.load(std::memory_order_relaxed);
    const std::uint64_t want = std::clamp<std::uint64_t>(need, min_alloc(backlog), max_chunk_bytes);
    unsigned cls = block_class_for(want);
    offset_t off = 0;
    for (;;) {
      off = blocks().allocate(cls);
      if (off != 0 || block_class_bytes(cls) <= min_chunk_bytes) break;
      --cls;  // settle for a smaller chunk: partial progress beats none
    }
    if (off == 0) break;
    auto* c = new (base() + off) chunk{};
    c->start = last_end;
    c->length = static_cast<std::uint32_t>(block_class_bytes(cls) - sizeof(chunk));
    c->size_class = cls;
    hdr_->chunk_bytes.fetch_add(block_class_bytes(cls), std::memory_order_relaxed);
    // Decide before linking: once `last->next` is set, the consumer may
    // free `last` if the head has passed it, so it must not be read again.
    const bool cursor_at_end = hdr_->tail_chunk == hdr_->last_chunk && tail == last_end;
    last->next.store(off, std::memory_order_release);
    if (cursor_at_end) hdr_->tail_chunk = off;
    hdr_->last_chunk = off;
    last = c;
    last_end = c->start + c->length;
  }
  return end - tail <= last_end - tail ? end : last_end;
}

bool fifo::copy_in(chunk* c, std::uint64_t pos, const std::byte* src, std::size_t n) noexcept {
  return walk_range(c, pos, n, std::memory_order_relaxed, [&](std::byte* at, std::size_t k) {
    std::memcpy(at, src, k);
    src += k;
  });
}

// Moves the producer's cursor to the chunk holding `tail`, before `tail` is
// published: until then the consumer cannot free anything the walk reads.
void fifo::advance_tail_cursor(std::uint64_t tail) noexcept {
  chunk* c = chunk_at(hdr_->tail_chunk);
  if (c == nullptr) return;
  for (std::size_t steps = max_walk(); steps > 0 && !contains(c, tail); --steps) {
    chunk* next = chunk_at(c->next.load(std::memory_order_relaxed));
    if (next == nullptr) break;  // tail sits at the end of the last chunk
    c = next;
  }
  hdr_->tail_chunk = off_of(c);
}

// Inserts (commit) or checks room for (dry run) the range [start, start +
// length), merging every range it overlaps or touches. False when the
// result would exceed the tracking capacity.
bool fifo::track_ooo(std::uint64_t start, std::uint64_t length, bool commit) noexcept {
  const std::uint64_t tail = hdr_->tail.load(std::memory_order_relaxed);
  std::uint64_t lo = start - tail;  // distances from the tail keep order across wrap
  std::uint64_t hi = lo + length;
  std::array<ooo_range, detail::max_ooo_segments + 1> out{};
  std::size_t m = 0;
  bool placed = false;
  for (std::uint32_t i = 0; i < ooo_count(); ++i) {
    const ooo_range r = hdr_->ooo[i];
    const std::uint64_t rlo = r.start - tail;
    const std::uint64_t rhi = rlo + r.length;
    if (rhi < lo) {
      out[m++] = r;
    } else if (rlo > hi) {
      if (!placed) {
        out[m++] = {tail + lo, hi - lo};
        placed = true;
      }
      out[m++] = r;
    } else {
      lo = std::min(lo, rlo);
      hi = std::max(hi, rhi);
    }
    if (m > detail::max_ooo_segments) return false;
  }
  if (!placed) out[m++] = {tail + lo, hi - lo};
  if (m > detail::max_ooo_segments) return false;
  if (commit) {
    std::copy_n(out.begin(), m, hdr_->ooo.begin());
    hdr_->n_ooo = static_cast<std::uint32_t>(m);
  }
  return true;
}

// Extends the new tail over every tracked range it reaches and forgets them.
std::uint64_t fifo::collect_ooo(std::uint64_t tail, std::uint64_t new_tail) noexcept {
  std::uint32_t used = 0;
  const std::uint32_t n_ooo = ooo_count();
  while (used < n_ooo) {
    const ooo_range r = hdr_->ooo[used];
    const std::uint64_t rlo = r.start - tail;
    if (rlo > new_tail - tail) break;
    const std::uint64_t rhi = rlo + r.length;
    if (rhi > new_tail - tail) new_tail = tail + rhi;
    ++used;
  }
  if (used > 0) {
    std::copy(hdr_->ooo.begin() + used, hdr_->ooo.begin() + n_ooo, hdr_->ooo.begin());
    hdr_->n_ooo = n_ooo - used;
  }
  return new_tail;
}

result<std::size_t> fifo::enqueue(std::span<const std::byte> data) noexcept {
  if (data.empty()) return std::size_t{0};
  const std::size_t room = max_enqueue();
  if (room == 0) return unexpected{errc::fifo_full};
  const std::uint64_t tail = hdr_->tail.load(std::memory_order_relaxed);
  std::size_t n = std::min(data.size(), room);
  n = std::min<std::size_t>(n, reserve_storage(tail, tail + n) - tail);
  if (n == 0) return unexpected{errc::fifo_no_memory, "segment exhausted"};
  if (!copy_in(chunk_at(hdr_->tail_chunk), tail, data.data(), n)) return unexpected{errc::bad_layout, "fifo chunks"};
  std::uint64_t new_tail = tail + n;
  if (hdr_->n_ooo > 0) new_tail = collect_ooo(tail, new_tail);
  advance_tail_cursor(new_tail);
  hdr_->tail.store(new_tail, std::memory_order_release);
  return n;
}

result<std::size_t> fifo::enqueue_gather(
    std::span<const std::span<const std::byte>> parts) noexcept {
  std::size_t total = 0;
  for (const auto& p : parts) total += p.size();
  if (total == 0) return std::size_t{0};
  if (total > max_enqueue()) return unexpected{errc::fifo_full};
  const std::uint64_t tail = hdr_->tail.load(std::memory_order_relaxed);
  if (reserve_storage(tail, tail + total) != tail + total)
    return unexpected{errc::fifo_no_memory, "segment exhausted"};
  std::uint64_t pos = tail;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (!copy_in(chunk_at(hdr_->tail_chunk), pos, p.data(), p.size()))
      return unexpected{errc::bad_layout, "fifo chunks"};
    pos += p.size();
  }
  std::uint64_t new_tail = tail + total;
  if (hdr_->n_ooo > 0) new_tail = collect_ooo(tail, new_tail);
  advance_tail_cursor(new_tail);
  hdr_->tail.store(new_tail, std::memory_order_release);
  return total;
}

result<std::size_t> fifo::enqueue_with_offset(std::size_t offset,
                                              std::span<const std::byte> data) noexcept {
  if (data.empty()) return std::size_t{0};
  const std::size_t room = max_enqueue();
  if (offset > room || data.size() > room - offset) return unexpected{errc::fifo_full};
  const std::uint64_t tail = hdr_->tail.load(std::memory_order_relaxed);
  const std::uint64_t start = tail + offset;
  if (offset > 0 && !track_ooo(start, data.size(), false)) return unexpected{errc::ooo_full};
  const std::uint64_t end = start + data.size();
  if (reserve_storage(tail, end) != end)
    return unexpected{errc::fifo_no_memory, "segment exhausted"};
  if (!copy_in(chunk_at(hdr_->tail_chunk), start, data.data(), data.size()))
    return unexpected{errc::bad_layout, "fifo chunks"};
  if (offset > 0) {
    track_ooo(start, data.size(), true);
    return data.size();
  }
  // No gap before it: the data is in order and readable at once.
  std::uint64_t new_tail = collect_ooo(tail, end);
  advance_tail_cursor(new_tail);
  hdr_->tail.store(new_tail, std::memory_order_release);
  return data.size();
}

std::size_t fifo::max_enqueue() const noexcept {
  const std::uint64_t used = hdr_->tail.load(std::memory_order_acquire) -
                             hdr_->head.load(std::memory_order_acquire);
  const std::uint32_t size = hdr_->size.load(std::memory_order_relaxed);
  return used >= size ? 0 : size - used;
}

std::size_t fifo::ooo_segment_count() const noexcept { return ooo_count(); }

fifo::ooo_span fifo::ooo_segment(std::size_t i) const noexcept {
  if (i >= ooo_count()) return {};
  const ooo_range r = hdr_->ooo[i];
  const std::uint64_t tail = hdr_->tail.load(std::memory_order_relaxed);
  const std::uint64_t size = hdr_->size.load(std::memory_order_relaxed);
  const std::uint64_t lo = r.start - tail;
  if (lo >= size) return {};
  return {r.start, std::min(r.length, size - lo)};
}

std::uint32_t fifo::ooo_count() const noexcept {
  return std::min<std::uint32_t>(hdr_->n_ooo, detail::max_ooo_segments);
}

// ---------------------------------------------------------------------------
// consumer

bool fifo::copy_out(chunk* c, std::uint64_t pos, std::byte* dst, std::size_t n) const noexcept {
  return walk_range(c, pos, n, std::memory_order_acquire, [&](const std::byte* at, std::size_t k) {
    std::memcpy(dst, at, k);
    dst += k;
  });
}

// Returns every chunk the head has fully passed to the segment, except the
// last one (the producer may still append after it).
void fifo::release_consumed_chunks(std::uint64_t head) noexcept {
  chunk* c = chunk_at(hdr_->head_chunk);
  if (c == nullptr) return;
  for (std::size_t steps = max_walk(); steps > 0 && !contains(c, head); --steps) {
    chunk* next = chunk_at(c->next.load(std::memory_order_acquire));
    if (next == nullptr) break;  // the last chunk stays (or the list is broken: keep it)
    release_chunk(c);
    c = next;
  }
  hdr_->head_chunk = off_of(c);
}

// Gives one chunk back to the segment (the allocator ignores a class or
// offset that does not fit).
void fifo::release_chunk(chunk* c) noexcept {
  const std::uint32_t cls = c->size_class;
  if (cls >= block_class_count) return;
  hdr_->chunk_bytes.fetch_sub(block_class_bytes(cls), std::memory_order_relaxed);
  blocks().deallocate(off_of(c), cls);
}

result<std::size_t> fifo::dequeue(std::span<std::byte> out) noexcept {
  if (out.empty()) return std::size_t{0};
  const std::uint64_t head = hdr_->head.load(std::memory_order_relaxed);
  const std::uint64_t avail = hdr_->tail.load(std::memory_order_acquire) - head;
  if (avail == 0) return unexpected{errc::fifo_empty};
  const std::size_t n = std::min<std::uint64_t>(out.size(), avail);
  if (!copy_out(chunk_at(hdr_->head_chunk), head, out.data(), n)) return unexpected{errc::bad_layout, "fifo chunks"};
  hdr_->head.store(head + n, std::memory_order_release);
  release_consumed_chunks(head + n);
  return n;
}

result<std::size_t> fifo::peek(std::size_t offset, std::span<std::byte> out) const noexcept {
  const std::uint64_t head = hdr_->head.load(std::memory_order_relaxed);
  const std::uint64_t avail = hdr_->tail.load(std::memory_order_acquire) - head;
  if (avail == 0) return unexpected{errc::fifo_empty};
  if (offset >= avail || out.empty()) return std::size_t{0};
  const std::size_t n = std::min<std::uint64_t>(out.size(), avail - offset);
  if (!copy_out(chunk_at(hdr_->head_chunk), head + offset, out.data(), n))
    return unexpected{errc::bad_layout, "fifo chunks"};
  return n;
}

std::size_t fifo::drop(std::size_t n) noexcept {
  const std::uint64_t head = hdr_->head.load(std::memory_order_relaxed);
  const std::uint64_t avail = hdr_->tail.load(std::memory_order_acquire) - head;
  const std::size_t k = std::min<std::uint64_t>(n, avail);
  if (k == 0) return 0;
  hdr_->head.store(head + k, std::memory_order_release);
  release_consumed_chunks(head + k);
  return k;
}

std::size_t fifo::drop_all() noexcept { return drop(max_dequeue()); }

std::size_t fifo::max_dequeue() const noexcept {
  return hdr_->tail.load(std::memory_order_acquire) - hdr_->head.load(std::memory_order_acquire);
}

// ---------------------------------------------------------------------------
// size

std::uint32_t fifo::size() const noexcept { return hdr_->size.load(std::memory_order_relaxed); }
std::uint32_t fifo::max_size() const noexcept { return hdr_->max_size; }

result<void> fifo::set_size(std::uint32_t new_size) noexcept {
  if (new_size < min_fifo_size || new_size > hdr_->max_size)
    return unexpected{errc::invalid_argument, "fifo size outside [4 KiB, max size]"};
  hdr_->size.store(new_size, std::memory_order_relaxed);
  return {};
}

result<void> fifo::reset_positions(std::uint64_t pos) noexcept {
  if (max_dequeue() != 0 || hdr_->n_ooo != 0)
    return unexpected{errc::invalid_argument, "fifo not empty"};
  chunk* first = chunk_at(hdr_->head_chunk);
  if (first == nullptr) return unexpected{errc::bad_layout, "fifo chunks"};
  chunk* c = chunk_at(first->next.load(std::memory_order_acquire));
  for (std::size_t steps = max_walk(); c != nullptr && steps > 0; --steps) {  // keep one chunk; the rest is re-taken on demand
    chunk* next = chunk_at(c->next.load(std::memory_order_acquire));
    release_chunk(c);
    c = next;
  }
  first->next.store(0, std::memory_order_relaxed);
  first->start = pos;
  hdr_->tail_chunk = hdr_->last_chunk = hdr_->head_chunk;
  hdr_->head.store(pos, std::memory_order_relaxed);
  hdr_->tail.store(pos, std::memory_order_release);
  return {};
}

std::uint64_t fifo::head_position() const noexcept {
  return hdr_->head.load(std::memory_order_acquire);
}
std::uint64_t fifo::tail_position() const noexcept {
  return hdr_->tail.load(std::memory_order_acquire);
}

std::size_t fifo::allocated_bytes() const noexcept {
  return hdr_->chunk_bytes.load(std::memory_order_relaxed);
}

void fifo::free_all_chunks() noexcept {
  chunk* c = chunk_at(hdr_->head_chunk);
  for (std::size_t steps = max_walk(); c != nullptr && steps > 0; --steps) {
    chunk* next = chunk_at(c->next.load(std::memory_order_acquire));
    release_chunk(c);
    c = next;
  }
  hdr_->head_chunk = hdr_->tail_chunk = hdr_->last_chunk = 0;
}

// ---------------------------------------------------------------------------
// event flag and dequeue notifications

bool fifo::set_event() noexcept {
  return hdr_->has_event.exchange(1, std::memory_order_acq_rel) == 0;
}
void fifo::unset_event() noexcept { hdr_->has_event.exchange(0, std::memory_order_acq_rel); }
void fifo::set_consumer_polling(bool on) noexcept {
  hdr_->consumer_polling.store(on ? 1 : 0, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // before the consumer looks at the tail again
}
bool fifo::consumer_polling() const noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // after the producer published its tail
  return hdr_->consumer_polling.load(std::memory_order_seq_cst) != 0;
}
bool fifo::has_event() const noexcept {
  return hdr_->has_event.load(std::memory_order_acquire) != 0;
}

// The request and the consumer's head are a Dekker pair: the producer
// asks, then looks at the head (max_enqueue); the consumer moves the head,
// then looks at the request. Without the fences both may read the old
// value (x86 lets a load pass an earlier store) and a producer waiting for
// room sleeps forever.
void fifo::add_want_deq_ntf(deq_ntf mode) noexcept {
  hdr_->want_deq_ntf.fetch_or(static_cast<std::uint32_t>(mode), std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);  // before the producer looks at the head again
}
void fifo::del_want_deq_ntf(deq_ntf mode) noexcept {
  hdr_->want_deq_ntf.fetch_and(~static_cast<std::uint32_t>(mode), std::memory_order_acq_rel);
}
std::uint32_t fifo::want_deq_ntf() const noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // after the consumer published its head
  return hdr_->want_deq_ntf.load(std::memory_order_seq_cst);
}
void fifo::set_deq_thresh(std::uint32_t bytes) noexcept {
  hdr_->deq_thresh.store(bytes, std::memory_order_relaxed);
}

bool fifo::needs_deq_ntf(std::size_t n_last_deq) const noexcept {
  const std::uint32_t want = want_deq_ntf();
  if (want == 0) return false;
  if ((want & static_cast<std::uint32_t>(deq_ntf::on_every_dequeue)) &&
      max_enqueue() >= hdr_->deq_thresh.load(std::memory_order_relaxed))
    return true;
  const bool latched = hdr_->has_deq_ntf.load(std::memory_order_acquire) != 0;
  if (latched) return false;
  const std::size_t queued = max_dequeue();
  if ((want & static_cast<std::uint32_t>(deq_ntf::if_full)) && n_last_deq > 0 &&
      queued < size() && queued + n_last_deq >= size())
    return true;
  if ((want & static_cast<std::uint32_t>(deq_ntf::if_empty)) && queued == 0) return true;
  return false;
}

void fifo::clear_deq_ntf() noexcept {
  const std::uint32_t before = hdr_->want_deq_ntf.fetch_and(
      ~static_cast<std::uint32_t>(deq_ntf::on_every_dequeue), std::memory_order_acq_rel);
  if (before & (static_cast<std::uint32_t>(deq_ntf::if_full) |
                static_cast<std::uint32_t>(deq_ntf::if_empty)))
    hdr_->has_deq_ntf.store(1, std::memory_order_release);
}

void fifo::reset_has_deq_ntf() noexcept { hdr_->has_deq_ntf.store(0, std::memory_order_release); }

// ---------------------------------------------------------------------------
// subscribers: changed by the control plane of the owning worker only;
// read by anyone posting events.

result<void> fifo::add_subscriber(std::uint32_t app_worker) noexcept {
  const std::uint32_t n = static_cast<std::uint32_t>(subscriber_count());
  for (std::uint32_t i = 0; i < n; ++i)
    if (hdr_->subscribers[i].load(std::memory_order_relaxed) == app_worker) return {};
  if (n >= detail::max_subscribers) return unexpected{errc::subscribers_full};
  hdr_->subscribers[n].store(app_worker, std::memory_order_relaxed);
  hdr_->n_subscribers.store(n + 1, std::memory_order_release);
  return {};
}

void fifo::del_subscriber(std::uint32_t app_worker) noexcept {
  const std::uint32_t n = static_cast<std::uint32_t>(subscriber_count());
  for (std::uint32_t i = 0; i < n; ++i) {
    if (hdr_->subscribers[i].load(std::memory_order_relaxed) != app_worker) continue;
    hdr_->subscribers[i].store(hdr_->subscribers[n - 1].load(std::memory_order_relaxed),
                               std::memory_order_relaxed);
    hdr_->n_subscribers.store(n - 1, std::memory_order_release);
    return;
  }
}

// The count is shared memory: never more than the array holds.
std::size_t fifo::subscriber_count() const noexcept {
  return std::min<std::size_t>(hdr_->n_subscribers.load(std::memory_order_acquire), detail::max_subscribers);
}
std::uint32_t fifo::subscriber(std::size_t i) const noexcept {
  return i < detail::max_subscribers ? hdr_->subscribers[i].load(std::memory_order_relaxed) : 0;
}

// ---------------------------------------------------------------------------
// ownership

void fifo::set_owner(fifo_owner o) noexcept {
  hdr_->owner.store((std::uint64_t{o.worker_index} << 32) | o.session_index,
                    std::memory_order_release);
}
fifo_owner fifo::owner() const noexcept {
  const std::uint64_t v = hdr_->owner.load(std::memory_order_acquire);
  return {static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(v >> 32)};
}
std::uint32_t fifo::refcount() const noexcept {
  return hdr_->refcount.load(std::memory_order_acquire);
}
void fifo::add_ref() noexcept { hdr_->refcount.fetch_add(1, std::memory_order_acq_rel); }
std::uint32_t fifo::refcount_release() noexcept {
  return hdr_->refcount.fetch_sub(1, std::memory_order_acq_rel) - 1;
}

}  // namespace actorstack::shm
