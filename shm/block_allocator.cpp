#include "shm/block_allocator.hpp"

#include <bit>

namespace actorstack::shm {

namespace {

// A free block stores the index of the next free block in its first word.
// The word is atomic because a racing pop may read it while the block is
// being handed out again; the tagged CAS then discards that read.
struct free_block {
  std::atomic<std::uint64_t> next;
};

constexpr unsigned index_bits = 40;
constexpr std::uint64_t index_mask = (std::uint64_t{1} << index_bits) - 1;

// Blocks are 64-byte aligned, so an index (offset / 64) of 40 bits spans
// 64 TiB; the remaining 24 bits count pushes to defeat ABA.
constexpr std::uint64_t pack(std::uint64_t tag, offset_t off) noexcept {
  return (tag << index_bits) | ((off >> min_block_log2) & index_mask);
}
constexpr offset_t unpack_offset(std::uint64_t head) noexcept {
  return (head & index_mask) << min_block_log2;
}
constexpr std::uint64_t unpack_tag(std::uint64_t head) noexcept { return head >> index_bits; }

}  // namespace

unsigned block_class_for(std::size_t bytes) noexcept {
  if (bytes <= block_class_bytes(0)) return 0;
  unsigned log2 = static_cast<unsigned>(std::bit_width(bytes - 1));
  if (log2 > max_block_log2) return block_class_count;
  return log2 - min_block_log2;
}

void block_allocator::init(block_allocator_state& st, std::uint64_t begin,
                           std::uint64_t end) noexcept {
  begin = (begin + 63) & ~std::uint64_t{63};
  st.begin = begin;
  st.end = end;
  st.bump.store(begin, std::memory_order_relaxed);
  st.cached_bytes.store(0, std::memory_order_relaxed);
  for (auto& h : st.free_heads) h.store(0, std::memory_order_relaxed);
}

offset_t block_allocator::pop(unsigned cls) noexcept {
  auto& head = state_->free_heads[cls];
  std::uint64_t h = head.load(std::memory_order_acquire);
  for (;;) {
    offset_t off = unpack_offset(h);
    if (off == 0) return 0;
    // A head another process wrote: this class is unusable, never followed.
    if (!in_bounds(off, cls)) return 0;
    auto* blk = reinterpret_cast<free_block*>(base_ + off);
    std::uint64_t next = blk->next.load(std::memory_order_relaxed);
    if (head.compare_exchange_weak(h, pack(unpack_tag(h) + 1, next), std::memory_order_acquire,
                                   std::memory_order_acquire)) {
      state_->cached_bytes.fetch_sub(block_class_bytes(cls), std::memory_order_relaxed);
      return off;
    }
  }
}

void block_allocator::push(offset_t off, unsigned cls) noexcept {
  if (!in_bounds(off, cls)) return;
  auto& head = state_->free_heads[cls];
  auto* blk = reinterpret_cast<free_block*>(base_ + off);
  state_->cached_bytes.fetch_add(block_class_bytes(cls), std::memory_order_relaxed);
  std::uint64_t h = head.load(std::memory_order_relaxed);
  for (;;) {
    blk->next.store(unpack_offset(h), std::memory_order_relaxed);
    if (head.compare_exchange_weak(h, pack(unpack_tag(h) + 1, off), std::memory_order_release,
                                   std::memory_order_relaxed))
      return;
  }
}

offset_t block_allocator::carve(unsigned cls) noexcept {
  const std::uint64_t bytes = block_class_bytes(cls);
  std::uint64_t cur = state_->bump.load(std::memory_order_relaxed);
  for (;;) {
    // The bump pointer is shared: only a value within this process's own
    // bounds is carved from.
    if (cur < begin() || cur > end() || (cur & 63) != 0 || end() - cur < bytes) return 0;
    if (state_->bump.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed))
      return cur;
  }
}

offset_t block_allocator::allocate(unsigned cls) noexcept {
  if (cls >= block_class_count) return 0;
  if (offset_t off = pop(cls)) return off;
  if (offset_t off = carve(cls)) return off;
  // Split the smallest larger free block: keep its first half-by-half
  // pieces down to `cls` on the free lists, hand out the last piece.
  for (unsigned big = cls + 1; big < block_class_count; ++big) {
    offset_t off = pop(big);
    if (off == 0) continue;
    for (unsigned c = big; c > cls; --c) push(off + block_class_bytes(c - 1), c - 1);
    return off;
  }
  return 0;
}

void block_allocator::deallocate(offset_t off, unsigned cls) noexcept {
  if (off == 0 || cls >= block_class_count) return;
  push(off, cls);
}

std::size_t block_allocator::free_bytes() const noexcept {
  const std::uint64_t cur = state_->bump.load(std::memory_order_relaxed);
  return cur >= begin() && cur <= end() ? end() - cur : 0;
}

std::size_t block_allocator::cached_bytes() const noexcept {
  return state_->cached_bytes.load(std::memory_order_relaxed);
}

std::size_t block_allocator::capacity() const noexcept { return end() > begin() ? end() - begin() : 0; }

}  // namespace actorstack::shm
