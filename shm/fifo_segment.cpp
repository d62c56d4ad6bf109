#include "shm/fifo_segment.hpp"

#include "shm/fifo_layout.hpp"

#include <cstddef>
#include <new>

namespace actorstack::shm {

struct fifo_segment::header {
  static constexpr std::uint64_t magic_value = 0x41535345474d4e54;  // "ASSEGMNT"
  std::uint64_t magic = magic_value;
  std::uint32_t version = 1;
  std::uint32_t reserved = 0;
  std::uint64_t size = 0;
  alignas(64) std::atomic<std::uint64_t> fifos{0};
  alignas(64) block_allocator_state blocks;
};

namespace {
constexpr std::uint32_t first_chunk_bytes = 4096;

// A fifo handle packs this process's mapping of its segment into one word
// (fifo.hpp): the segment must fit it.
result<void> packable(const segment& mem) {
  if (mem.size() >= fifo_segment::segment_size_limit)
    return unexpected{errc::invalid_argument, "segment of 2 TiB or more"};
  if (!fifo::can_name(mem.base(), mem.size()))
    return unexpected{errc::segment_map, "segment mapped where a fifo handle cannot name it"};
  return {};
}
}  // namespace

fifo_segment::header* fifo_segment::hdr() const noexcept { return mem_.at<header>(0); }

// Bounds from this process's own knowledge (the header's size, the
// mapping's), never from the shared header another process can write.
block_allocator fifo_segment::allocator() const noexcept {
  static_assert(sizeof(header) == first_block && offsetof(header, blocks) == blocks_state_offset,
                "blocks_of must match the header's layout");
  return blocks_of(mem_.base(), mem_.size());
}

result<fifo_segment> fifo_segment::create(const std::string& name, std::size_t size) {
  const std::size_t minimum = sizeof(header) + 4 * first_chunk_bytes;
  if (size < minimum) return unexpected{errc::invalid_argument, "segment too small for fifos"};
  if (size >= segment_size_limit) return unexpected{errc::invalid_argument, "segment of 2 TiB or more"};
  auto mem = segment::create(name, size);
  if (!mem) return unexpected{mem.error()};
  if (auto ok = packable(*mem); !ok) return unexpected{ok.error()};
  auto* h = new (mem->base()) header{};
  h->size = mem->size();
  block_allocator::init(h->blocks, sizeof(header), mem->size());
  return fifo_segment{std::move(*mem)};
}

result<fifo_segment> fifo_segment::attach(int fd, std::string name) {
  auto mem = segment::map(fd, std::move(name));
  if (!mem) return unexpected{mem.error()};
  if (mem->size() < sizeof(header)) return unexpected{errc::bad_layout, "segment too small"};
  if (auto ok = packable(*mem); !ok) return unexpected{ok.error()};
  const auto* h = mem->at<header>(0);
  if (h->magic != header::magic_value || h->version != 1 || h->size != mem->size())
    return unexpected{errc::bad_layout, "not a fifo segment"};
  return fifo_segment{std::move(*mem)};
}

result<fifo> fifo_segment::alloc_fifo(std::uint32_t size, std::uint32_t max_size) {
  if (max_size == 0) max_size = size;
  if (size < min_fifo_size || size > max_size || max_size > max_fifo_size_limit)
    return unexpected{errc::invalid_argument, "fifo size outside [4 KiB, max size]"};
  auto blocks = allocator();
  const unsigned hdr_cls = block_class_for(sizeof(detail::fifo_header));
  const unsigned chunk_cls = block_class_for(first_chunk_bytes);
  const offset_t hdr_off = blocks.allocate(hdr_cls);
  if (hdr_off == 0) return unexpected{errc::fifo_alloc, "segment exhausted"};
  const offset_t chunk_off = blocks.allocate(chunk_cls);
  if (chunk_off == 0) {
    blocks.deallocate(hdr_off, hdr_cls);
    return unexpected{errc::fifo_alloc, "segment exhausted"};
  }
  auto* c = new (mem_.base() + chunk_off) detail::chunk{};
  c->length = static_cast<std::uint32_t>(block_class_bytes(chunk_cls) - sizeof(detail::chunk));
  c->size_class = chunk_cls;
  auto* h = new (mem_.base() + hdr_off) detail::fifo_header{};
  h->header_class = hdr_cls;
  h->size.store(size, std::memory_order_relaxed);
  h->max_size = max_size;
  h->chunk_bytes.store(block_class_bytes(chunk_cls), std::memory_order_relaxed);
  h->head_chunk = h->tail_chunk = h->last_chunk = chunk_off;
  // No fence: the offset reaches another thread or process only through a
  // message, queue or fd handoff, which already orders these writes.
  hdr()->fifos.fetch_add(1, std::memory_order_relaxed);
  return fifo{blocks, h};
}

result<fifo_pair> fifo_segment::alloc_fifo_pair(std::uint32_t rx_size, std::uint32_t tx_size,
                                                std::uint32_t max_size) {
  auto rx = alloc_fifo(rx_size, max_size == 0 ? rx_size : max_size);
  if (!rx) return unexpected{rx.error()};
  auto tx = alloc_fifo(tx_size, max_size == 0 ? tx_size : max_size);
  if (!tx) {
    free_fifo(*rx);
    return unexpected{tx.error()};
  }
  return fifo_pair{*rx, *tx};
}

std::uint32_t fifo_segment::free_fifo(fifo& f) noexcept {
  if (!f.valid()) return 0;
  const std::uint32_t left = f.refcount_release();
  if (left == 0) {
    f.free_all_chunks();
    f.hdr_->magic = 0;  // a stale offset now fails fifo_at()
    allocator().deallocate(f.offset(), f.hdr_->header_class);
    hdr()->fifos.fetch_sub(1, std::memory_order_relaxed);
  }
  f = fifo{};
  return left;
}

result<fifo> fifo_segment::fifo_at(offset_t off) const noexcept {
  if (!allocator().holds(off, sizeof(detail::fifo_header)))
    return unexpected{errc::bad_layout, "fifo offset outside segment"};
  auto* h = mem_.at<detail::fifo_header>(off);
  if (h->magic != detail::fifo_magic) return unexpected{errc::bad_layout, "no fifo at offset"};
  return fifo{allocator(), h};
}

result<offset_t> fifo_segment::alloc_block(std::size_t bytes) noexcept {
  const unsigned cls = block_class_for(bytes);
  const offset_t off = allocator().allocate(cls);
  if (off == 0) return unexpected{errc::segment_alloc, "segment exhausted"};
  return off;
}

void fifo_segment::free_block(offset_t off, std::size_t bytes) noexcept {
  allocator().deallocate(off, block_class_for(bytes));
}

std::size_t fifo_segment::fifo_count() const noexcept {
  return hdr()->fifos.load(std::memory_order_relaxed);
}

}  // namespace actorstack::shm
